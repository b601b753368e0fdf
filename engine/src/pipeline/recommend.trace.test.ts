import { describe, expect, it } from 'vitest';
import type { RecRequest } from '../api';
import { createEngine } from '../createEngine';
import { coViews, DAY, ev, item, T0 } from '../testShop';
import { replayTrace } from './traceRequest';

/**
 * An anchor co-viewed with six mugs and teas; one is out of stock, one archived, one a variant of
 * the anchor, two of brand acme; a visitor bought one of them yesterday.
 */
function shop() {
  const engine = createEngine({ now: () => T0 + 2 * DAY });
  engine.upsertItems([
    item('anchor', { tags: ['category:mugs'], parentId: 'family' }),
    item('variant', { tags: ['category:mugs'], parentId: 'family' }),
    item('mug1', { price: 10, tags: ['category:mugs', 'brand:acme'] }),
    item('mug2', { price: 12, tags: ['category:mugs', 'brand:acme'] }),
    item('tea1', { price: 40, tags: ['category:tea', 'brand:zen'] }),
    item('tea2', { price: 8, tags: ['category:tea', 'brand:zen', 'color:red'] }),
    item('gone', { tags: ['category:mugs'], archived: true }),
    item('sold', { tags: ['category:mugs'], available: false }),
    item('pop', { price: 9, tags: ['category:cutlery'] }),
  ]);
  engine.addEvents([
    ...coViews(['anchor', 'variant', 'mug1', 'mug2', 'tea1', 'tea2', 'gone', 'sold'], 5),
    ...coViews(['pop', 'tea2'], 9, 'p'),
    ev('purchase', 'pop', 'buyer', 24 * 60),
    ev('purchase', 'tea2', 'buyer', 24 * 60 + 1),
  ]);
  return engine;
}

const similar: RecRequest = {
  surface: 'similar',
  itemId: 'anchor',
  k: 4,
  overrides: { diversity: { lambda: 1, maxPerBrand: 1 }, fallback: false },
};

describe('recommend: decision traces', () => {
  it('returns no trace unless asked, and the same list with or without one', () => {
    const engine = shop();
    const plain = engine.recommend(similar);
    const traced = engine.recommend({ ...similar, trace: true });
    expect(plain.trace).toBeUndefined();
    expect(traced.trace).toBeDefined();
    expect(traced.items).toEqual(plain.items);
  });

  it('says why each removed item was removed: archived, unavailable, the anchor variant, the brand cap', () => {
    const { trace } = shop().recommend({ ...similar, trace: true });
    const why = Object.fromEntries(trace!.removed.map((r) => [r.itemId, [r.step, r.reason]]));
    expect(why).toMatchObject({
      gone: ['eligibility', 'archived'],
      sold: ['eligibility', 'unavailable'],
      variant: ['eligibility', 'anchor'],
    });
    expect(trace!.removedCounts).toMatchObject({ archived: 1, unavailable: 1, anchor: 1, 'brand-cap': 2 });
    // One acme mug and one zen tea are shown; the other of each brand is removed by the cap.
    const capped = trace!.removed.filter((r) => r.reason === 'brand-cap');
    expect(capped.map((r) => r.step)).toEqual(['diversity', 'diversity']);
    expect(capped[0]!.detail).toMatch(/maxPerBrand/);
    const shown = trace!.items.map((i) => i.itemId);
    for (const r of capped) expect(shown).not.toContain(r.itemId);
    expect(shown.filter((id) => id.startsWith('mug'))).toHaveLength(1);
  });

  it('names price, tag and recent-purchase filters with the values that excluded each item', () => {
    const { trace } = shop().recommend({
      surface: 'forUser',
      userKey: 'buyer',
      k: 5,
      contextItemIds: ['anchor'],
      filters: { priceMax: 30, excludeTagsAny: ['color:red'] },
      overrides: { excludePurchased: true, fallback: false },
      trace: true,
    });
    const detail = Object.fromEntries(trace!.removed.map((r) => [r.itemId, `${r.reason}: ${r.detail}`]));
    expect(detail.tea1).toBe('price: price 40 is above 30');
    expect(detail.pop).toMatch(/^purchased: bought on 2024-01-02/);
    // tea2 was bought too: the first filter that refuses it is the one named.
    expect(detail.tea2).toMatch(/^purchased/);
  });

  it('lists what each signal proposed, with its weight and normaliser, best first', () => {
    const { trace } = shop().recommend({ ...similar, trace: true });
    const covisit = trace!.signals.find((s) => s.signal === 'covisit')!;
    expect(covisit.generates).toBe(true);
    expect(covisit.proposed).toBeGreaterThanOrEqual(3);
    const scores = covisit.top.map((t) => t.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    expect(covisit.normalizer).toBe(scores[0]);
    expect(trace!.anchors).toEqual([{ itemId: 'anchor', title: 'ANCHOR', weight: 1 }]);
  });

  it('replays the list exactly from the trace: same items, ranks and scores', () => {
    const engine = shop();
    for (const req of [
      { ...similar, trace: true },
      // A seed with jitter: the jitter is part of the score and of the trace.
      { ...similar, seed: 7, trace: true },
      { surface: 'forUser', userKey: 'u1', k: 6, trace: true, explain: true } as RecRequest,
    ]) {
      const result = engine.recommend(req);
      const served = result.items.map((it, i) => ({ itemId: it.itemId, rank: i + 1, score: it.score }));
      expect(served.length).toBeGreaterThan(0);
      expect(replayTrace(result.trace!)).toEqual(served);
    }
    const jittery = createEngine({ now: () => T0 + DAY, config: { ranking: { seedJitter: 0.3 } } });
    jittery.upsertItems(['a', 'b', 'c', 'd'].map((id) => item(id)));
    jittery.addEvents(coViews(['a', 'b', 'c', 'd'], 3));
    const result = jittery.recommend({ surface: 'similar', itemId: 'a', k: 3, seed: 11, trace: true });
    expect(result.trace!.items.some((i) => i.jitter !== 0)).toBe(true);
    expect(replayTrace(result.trace!).map((i) => i.score)).toEqual(result.items.map((i) => i.score));
  });

  it('names candidates that outscored a shown item but were passed over for variety (MMR)', () => {
    const engine = createEngine({ now: () => T0 + DAY });
    engine.upsertItems([
      item('anchor', { tags: ['category:mugs'] }),
      item('mug1', { tags: ['category:mugs', 'color:red', 'brand:acme'] }),
      item('mug2', { tags: ['category:mugs', 'color:red', 'brand:acme'] }),
      item('mug3', { tags: ['category:mugs', 'color:red', 'brand:acme'] }),
      item('teapot', { tags: ['category:tea', 'color:white', 'brand:zen'] }),
    ]);
    engine.addEvents([
      ...coViews(['anchor', 'mug1', 'mug2', 'mug3'], 10, 'm'),
      ...coViews(['anchor', 'teapot'], 4, 't'),
    ]);
    const req = { surface: 'similar', itemId: 'anchor', k: 2, trace: true } as const;
    const diverse = engine.recommend({ ...req, overrides: { diversity: { lambda: 0.3 } } });
    expect(diverse.items.map((i) => i.itemId)).toContain('teapot');
    const passed = diverse.trace!.removed.filter((r) => r.reason === 'mmr');
    expect(passed.length).toBeGreaterThan(0);
    for (const r of passed) {
      expect(r.itemId).toMatch(/^mug/);
      expect(r.detail).toMatch(/passed over for variety \(MMR, diversity.lambda 0.3\)/);
    }
    const relevance = engine.recommend({ ...req, overrides: { diversity: { lambda: 1 } } });
    expect(relevance.trace!.removed.filter((r) => r.reason === 'mmr')).toEqual([]);
  });

  it('a replay of an altered trace differs from the list', () => {
    const result = shop().recommend({ ...similar, trace: true });
    const trace = structuredClone(result.trace!);
    trace.signals[0]!.weight *= 2;
    expect(replayTrace(trace).map((i) => i.score)).not.toEqual(result.items.map((i) => i.score));
  });

  it('records fallback fills with their source and reason, and reasons for ranked items in words', () => {
    const { trace } = shop().recommend({ surface: 'similar', itemId: 'anchor', k: 8, trace: true });
    const filled = trace!.items.filter((i) => i.source !== 'ranked');
    expect(trace!.fallback.used).toBe(true);
    expect(filled.length).toBe(trace!.fallback.filled);
    expect(filled[0]!.reasons[0]!.text).toMatch(/best-seller|popular/);
    const ranked = trace!.items.find((i) => i.source === 'ranked')!;
    expect(ranked.reasons[0]!.text).toBe('often viewed with ANCHOR');
    expect(ranked.contributions[0]).toMatchObject({ signal: 'covisit' });
  });
});
