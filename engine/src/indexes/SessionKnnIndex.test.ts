import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../util/random';
import { SessionKnnIndex, type SessionKnnIndexOptions, type SessionKnnQuery } from './SessionKnnIndex';

const MIN = 60_000;
const T0 = Date.UTC(2024, 0, 1);
const OPTS: SessionKnnIndexOptions = {
  maxSessions: 10_000,
  maxSessionItems: 50,
  maxSessionsPerItem: 1000,
  sessionGapMs: 30 * MIN,
};
const [a, b, c, d, x, y] = [0, 1, 2, 3, 4, 5];

function scoresOf(index: SessionKnnIndex, clicks: number[], q: SessionKnnQuery): Map<number, number> {
  const out = new Map<number, number>();
  index.scores(clicks, q, (item, score) => out.set(item, (out.get(item) ?? 0) + score));
  return out;
}

/** S1 = a b c (oldest), S2 = b d, S3 = x y (newest). */
function threeSessions(): SessionKnnIndex {
  const index = new SessionKnnIndex(OPTS);
  const sessions: Array<[string, number[]]> = [
    ['s1', [a, b, c]],
    ['s2', [b, d]],
    ['s3', [x, y]],
  ];
  sessions.forEach(([key, items], s) => {
    items.forEach((item, i) => {
      index.add(key, `u${s}`, item, T0 + s * 60 * MIN + i * MIN);
    });
  });
  return index;
}

describe('SessionKnnIndex', () => {
  it('scores the hand-computed V-SkNN votes: position-weighted similarity times 1/step', () => {
    // Current session a, b: weights a = 1/2, b = 2/2; two distinct items.
    // S1 shares a and b: sim = (0.5 + 1) / 2 = 0.75; S2 shares b: sim = 1 / 2 = 0.5; S3 shares nothing.
    // Both hold the latest click b, so step = 1 for both.
    const scores = scoresOf(threeSessions(), [a, b], { k: 100, sampleSize: 100 });
    expect([...scores].sort((p, q) => p[0] - q[0])).toEqual([
      [a, 0.75],
      [b, 1.25],
      [c, 0.75],
      [d, 0.5],
    ]);
  });

  it('keeps the k most similar neighbours and samples the most recent sessions first', () => {
    const index = threeSessions();
    expect(scoresOf(index, [a, b], { k: 1, sampleSize: 100 })).toEqual(
      new Map([
        [a, 0.75],
        [b, 0.75],
        [c, 0.75],
      ]),
    );
    // A sample of one: S2 is more recent than S1.
    expect(scoresOf(index, [a, b], { k: 100, sampleSize: 1 })).toEqual(
      new Map([
        [b, 0.5],
        [d, 0.5],
      ]),
    );
  });

  it('decays a neighbour vote by the step back to the latest shared click', () => {
    // Current a, x: S1 shares only a, one step before the end: sim = (1/2) / 2, vote / 2.
    const scores = scoresOf(threeSessions(), [a, x], { k: 100, sampleSize: 100 });
    expect(scores.get(c)).toBeCloseTo(0.25 / 2, 12);
    // S3 shares x, the latest click: sim = 1 / 2, step 1.
    expect(scores.get(y)).toBeCloseTo(0.5, 12);
  });

  it('with positionDecay, weighs a neighbour item by its distance from the shared click', () => {
    const scores = scoresOf(threeSessions(), [a, b], { k: 100, sampleSize: 100, positionDecay: 1 });
    // S1 = a b c, shared click b at position 1: a and c are one click away; S2 = b d, b at 0.
    expect(scores.get(c)).toBeCloseTo(0.75 * Math.exp(-1), 12);
    expect(scores.get(b)).toBeCloseTo(0.75 + 0.5, 12);
    expect(scores.get(d)).toBeCloseTo(0.5 * Math.exp(-1), 12);
  });

  it('fed event by event (sessions interleaved), scores as a batch computation over the finished sessions does', () => {
    const rng = mulberry32(11);
    const sessions = new Map<string, number[]>();
    const index = new SessionKnnIndex(OPTS);
    for (let i = 0; i < 2000; i++) {
      const key = `s${Math.floor(rng() * 150)}`;
      const item = Math.floor(rng() * 40);
      index.add(key, 'u', item, T0 + i * 1000);
      sessions.set(key, [...(sessions.get(key) ?? []), item]);
    }
    const current = [3, 7, 3, 12];
    const want = new Map<number, number>();
    const weight = new Map(current.map((item, i) => [item, (i + 1) / current.length]));
    for (const items of sessions.values()) {
      const set = new Set(items);
      let sum = 0;
      for (const [item, w] of weight) if (set.has(item)) sum += w;
      if (sum === 0) continue;
      let step = 1;
      while (!set.has(current[current.length - step]!)) step++;
      for (const item of set) want.set(item, (want.get(item) ?? 0) + sum / weight.size / step);
    }
    const got = scoresOf(index, current, { k: 1000, sampleSize: 1000 });
    expect(got.size).toBe(want.size);
    for (const [item, score] of want) expect(got.get(item)).toBeCloseTo(score, 9);
  });

  it('starts a new session after a silence and leaves the current session out of its own neighbours', () => {
    const index = new SessionKnnIndex(OPTS);
    index.add('u:1', 'u1', a, T0);
    index.add('u:1', 'u1', b, T0 + MIN);
    const first = index.sessionOf('u:1');
    index.add('u:1', 'u1', a, T0 + 2 * 60 * MIN);
    expect(index.sessionOf('u:1')).not.toBe(first);
    expect(index.clicksOf('u:1')).toEqual([a]);
    const own = index.sessionOf('u:1');
    expect(scoresOf(index, [a], { k: 10, sampleSize: 10, exclude: own })).toEqual(
      new Map([
        [a, 1],
        [b, 1],
      ]),
    );
  });

  it('forgets the sessions of a forgotten owner and the least recently active session beyond maxSessions', () => {
    const index = new SessionKnnIndex({ ...OPTS, maxSessions: 2 });
    index.add('s1', 'u1', a, T0);
    index.add('s2', 'u2', b, T0 + MIN);
    index.add('s1', 'u1', c, T0 + 2 * MIN); // s1 active again: s2 is now the least recent
    index.add('s3', 'u3', d, T0 + 3 * MIN);
    expect(index.size).toBe(2);
    expect(index.clicksOf('s2')).toEqual([]);
    index.dropOwner('u1');
    expect(index.clicksOf('s1')).toEqual([]);
    expect(scoresOf(index, [a], { k: 10, sampleSize: 10 }).size).toBe(0);
  });
});
