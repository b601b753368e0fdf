import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../util/random';
import { TransitionIndex, type TransitionIndexOptions } from './TransitionIndex';

const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = Date.UTC(2024, 0, 1);
const OPTS: TransitionIndexOptions = {
  halfLifeMs: 1e300, // no decay unless a test sets one
  steps: 3,
  maxGapMs: HOUR,
  smoothing: 0,
  maxStored: 1000,
  keepAfterPrune: 1000,
};

interface Click {
  session: string;
  item: number;
  ts: number;
  weight: number;
}

/** The definition, computed from whole sessions at once: the d-th earlier click within the gap adds w/d. */
function batchMasses(clicks: Click[], opts: TransitionIndexOptions): Map<string, number> {
  const bySession = new Map<string, Click[]>();
  for (const c of clicks) bySession.set(c.session, [...(bySession.get(c.session) ?? []), c]);
  const out = new Map<string, number>();
  for (const list of bySession.values()) {
    for (let j = 0; j < list.length; j++) {
      for (let d = 1; d <= Math.min(opts.steps, j); d++) {
        const prev = list[j - d]!;
        const gap = list[j]!.ts - prev.ts;
        if (gap < 0 || gap > opts.maxGapMs) continue;
        const key = `${prev.item}>${list[j]!.item}`;
        out.set(key, (out.get(key) ?? 0) + list[j]!.weight / d);
      }
    }
  }
  return out;
}

describe('TransitionIndex', () => {
  it('fed event by event, holds exactly the masses a batch computation over whole sessions gives', () => {
    const rng = mulberry32(7);
    const clicks: Click[] = [];
    let ts = T0;
    for (let i = 0; i < 3000; i++) {
      ts += Math.floor(rng() * 20 * MIN);
      clicks.push({
        session: `s${Math.floor(rng() * 40)}`,
        item: Math.floor(rng() * 30),
        ts,
        weight: rng() < 0.8 ? 0.05 : 1,
      });
    }
    const index = new TransitionIndex(OPTS);
    for (const c of clicks) index.add(c.session, 'owner', c.item, c.weight, c.ts);
    const expected = batchMasses(clicks, OPTS);
    for (let a = 0; a < 30; a++) {
      let out = 0;
      for (let b = 0; b < 30; b++) {
        const want = expected.get(`${a}>${b}`) ?? 0;
        expect(index.mass(a, b, ts)).toBeCloseTo(want, 9);
        out += want;
      }
      expect(index.outMass(a, ts)).toBeCloseTo(out, 9);
    }
  });

  it('is directed: B after A says nothing about A after B', () => {
    const index = new TransitionIndex(OPTS);
    index.add('s', 'u', 1, 1, T0);
    index.add('s', 'u', 2, 1, T0 + MIN);
    expect(index.mass(1, 2, T0 + MIN)).toBeCloseTo(1, 9);
    expect(index.mass(2, 1, T0 + MIN)).toBeCloseTo(0, 9);
    expect(index.successors(1, T0 + MIN, 10).map((n) => n.item)).toEqual([2]);
    expect(index.successors(2, T0 + MIN, 10)).toEqual([]);
  });

  it('counts a return to the same item as a transition to itself, and earlier clicks with 1/d', () => {
    const index = new TransitionIndex(OPTS);
    for (const [i, item] of [1, 2, 1].entries()) index.add('s', 'u', item, 1, T0 + i * MIN);
    // Third click (item 1): d=1 from item 2, d=2 from item 1 itself.
    expect(index.mass(2, 1, T0)).toBeCloseTo(1, 9);
    expect(index.mass(1, 1, T0)).toBeCloseTo(0.5, 9);
    expect(index.mass(1, 2, T0)).toBeCloseTo(1, 9);
    expect(index.outMass(1, T0)).toBeCloseTo(1.5, 9);
    const next = index.successors(1, T0, 10);
    expect(next.map((n) => n.item)).toEqual([2, 1]);
    expect(next[0]!.score).toBeCloseTo(1 / 1.5, 12);
    expect(next[1]!.score).toBeCloseTo(0.5 / 1.5, 12);
  });

  it('links no events further apart than maxGapMs, nor beyond `steps` clicks back', () => {
    const index = new TransitionIndex(OPTS);
    index.add('s', 'u', 1, 1, T0);
    index.add('s', 'u', 2, 1, T0 + 2 * HOUR); // after a break: no transition from 1
    for (const [i, item] of [3, 4, 5].entries()) index.add('s', 'u', item, 1, T0 + 2 * HOUR + (i + 1) * MIN);
    expect(index.mass(1, 2, T0)).toBeCloseTo(0, 9);
    expect(index.mass(2, 5, T0)).toBeCloseTo(1 / 3, 9);
    index.add('s', 'u', 6, 1, T0 + 2 * HOUR + 10 * MIN);
    expect(index.mass(2, 6, T0)).toBeCloseTo(0, 9); // 4 clicks back, steps = 3
  });

  it('rates returns per item against the shop-wide share, shrunk towards it for items with little data', () => {
    const index = new TransitionIndex(OPTS);
    // Item 1: 10 sessions go 1 → 2 → 1 (self 0.5 each, out 1.5 each); item 2 is never returned to.
    for (let s = 0; s < 10; s++) {
      for (const [i, item] of [1, 2, 1].entries()) index.add(`s${s}`, 'u', item, 1, T0 + i * MIN);
    }
    // Overall: self 5 of out 25 (item 1: 15, item 2: 10) → 0.2.
    expect(index.returnRate(1, 0)).toBe(1); // (5 / 15) / 0.2 > 1, capped
    expect(index.returnRate(2, 0)).toBe(0);
    expect(index.returnRate(2, 10)).toBeCloseTo((0 + 10 * 0.2) / (10 + 10) / 0.2, 9);
    expect(index.returnRate(99, 1)).toBeCloseTo(1, 9); // no data: the shop-wide share
  });

  it('decays transitions with their age', () => {
    const index = new TransitionIndex({ ...OPTS, halfLifeMs: 7 * 24 * HOUR });
    index.add('s', 'u', 1, 1, T0);
    index.add('s', 'u', 2, 1, T0 + MIN);
    expect(index.mass(1, 2, T0 + MIN + 7 * 24 * HOUR)).toBeCloseTo(0.5, 9);
  });

  it('forgets the pending trail of a forgotten owner, so their next event links to nothing', () => {
    const index = new TransitionIndex(OPTS);
    index.add('s', 'u', 1, 1, T0);
    index.dropOwner('u');
    index.add('s', 'u', 2, 1, T0 + MIN);
    expect(index.mass(1, 2, T0)).toBeCloseTo(0, 9);
  });
});
