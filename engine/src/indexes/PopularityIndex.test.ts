import { describe, expect, it } from 'vitest';
import { defaultEngineConfig } from '../config/engineConfig';
import { Catalog } from './Catalog';
import { PopularityIndex } from './PopularityIndex';

const DAY = 86_400_000;
const T0 = Date.UTC(2024, 0, 1);
// No minimum support here: these tests are about the counters themselves (support: the engine tests).
const cfg = {
  halfLifeMs: 7 * DAY,
  trendingShortMs: DAY,
  trendingLongMs: 14 * DAY,
  trendingSmoothing: 2,
  trendingMinUsers: 0,
};

function catalogOf(...specs: Array<[string, string]>) {
  const catalog = new Catalog();
  catalog.upsert(
    specs.map(([itemId, category]) => ({
      itemId,
      available: true,
      archived: false,
      tags: [`category:${category}`],
      createdAt: 0,
    })),
  );
  return catalog;
}

describe('PopularityIndex', () => {
  it('decays popularity by half per half-life', () => {
    const pop = new PopularityIndex(cfg);
    pop.add(0, 1, 0, T0);
    pop.add(0, 0.05, 0, T0);
    expect(pop.popularity(0, T0)).toBeCloseTo(1.05, 12);
    expect(pop.popularity(0, T0 + 7 * DAY)).toBeCloseTo(0.525, 12);
  });

  it('counts sold quantity separately as best-seller mass', () => {
    const pop = new PopularityIndex(cfg);
    pop.add(0, 1, 3, T0);
    expect(pop.bestseller(0, T0)).toBe(3);
    expect(pop.bestseller(0, T0 + 7 * DAY)).toBeCloseTo(1.5, 12);
  });

  it('scores trending as (short rate − long rate) / sqrt(long rate + smoothing)', () => {
    const pop = new PopularityIndex(cfg);
    for (let i = 0; i < 10; i++) pop.add(0, 1, 0, T0);
    const s = 10 * Math.LN2; // per day: S·ln2·day/h_s with h_s = 1 day
    const l = (10 * Math.LN2) / 14;
    expect(pop.trending(0, T0)).toBeCloseTo((s - l) / Math.sqrt(l + 2), 12);
  });

  it('ranks a sudden burst above a steady seller with the same recent volume', () => {
    const pop = new PopularityIndex(cfg);
    // Item 0 sold 5 a day for 120 days; item 1 sold 5 today only.
    for (let d = 0; d < 120; d++) for (let i = 0; i < 5; i++) pop.add(0, 1, 0, T0 + d * DAY);
    for (let i = 0; i < 5; i++) pop.add(1, 1, 0, T0 + 119 * DAY);
    const now = T0 + 119 * DAY;
    expect(pop.trending(1, now)).toBeGreaterThan(2 * pop.trending(0, now));
  });

  it('keeps a single view of an unknown item from out-trending a real rise', () => {
    const pop = new PopularityIndex(cfg);
    pop.add(0, defaultEngineConfig.eventWeights.view, 0, T0);
    for (let i = 0; i < 20; i++) pop.add(1, 1, 0, T0);
    expect(pop.trending(1, T0)).toBeGreaterThan(10 * pop.trending(0, T0));
  });

  it('lists the most popular eligible items overall and per category', () => {
    const catalog = catalogOf(['a', 'shoes'], ['b', 'shoes'], ['c', 'hats']);
    catalog.upsert([
      { itemId: 'd', available: false, archived: false, tags: ['category:hats'], createdAt: 0 },
    ]);
    const id = (x: string) => catalog.ids.get(x)!;
    const pop = new PopularityIndex(cfg);
    pop.add(id('a'), 1, 0, T0);
    pop.add(id('b'), 2, 0, T0);
    pop.add(id('c'), 3, 0, T0);
    pop.add(id('d'), 9, 0, T0);
    const names = (list: Array<{ id: number }>) => list.map((e) => catalog.ids.keyOf(e.id));
    expect(names(pop.top('popular', catalog, T0, 10))).toEqual(['c', 'b', 'a']);
    expect(names(pop.top('popular', catalog, T0, 10, catalog.categoryTag('shoes')))).toEqual(['b', 'a']);
  });

  it('refreshes a cached list after new events', () => {
    const catalog = catalogOf(['a', 'x'], ['b', 'x']);
    const pop = new PopularityIndex(cfg);
    pop.add(0, 2, 0, T0);
    pop.add(1, 1, 0, T0);
    expect(pop.top('popular', catalog, T0, 1)[0]!.id).toBe(0);
    pop.add(1, 5, 0, T0);
    expect(pop.top('popular', catalog, T0, 1)[0]!.id).toBe(1);
  });
});
