import { describe, expect, it } from 'vitest';
import {
  buildSessionIndex,
  rankAndFill,
  sequentialRules,
  type TrainSession,
  vsknnScores,
} from './sessionBaselines';

/** S1 = a b c (oldest), S2 = b d, S3 = x y (newest). */
const SESSIONS: TrainSession[] = [
  { items: ['a', 'b', 'c'], lastTs: 1 },
  { items: ['b', 'd'], lastTs: 2 },
  { items: ['x', 'y'], lastTs: 3 },
];
const all = { k: 100, sampleSize: 100 };

describe('V-SkNN', () => {
  it('weighs the prefix by position and votes sim / step (checked by hand)', () => {
    // Prefix a b: a = 1/2, b = 2/2. S1 shares both: (0.5 + 1) / 2 = 0.75; S2 shares b: 1 / 2 = 0.5.
    // Both hold the last click b (step 1); S3 shares nothing.
    const scores = vsknnScores(buildSessionIndex(SESSIONS), ['a', 'b'], all);
    expect(Object.fromEntries(scores)).toEqual({ a: 0.75, b: 1.25, c: 0.75, d: 0.5 });
    expect(rankAndFill(scores, 3, [])).toEqual(['b', 'a', 'c']);
  });

  it('gives a repeated item the weight of its latest click and decays votes by the step back', () => {
    // Prefix a b a (L = 3): a = 3/3, b = 2/3, two distinct items. S1: (1 + 2/3) / 2 = 5/6, holds the
    // last click a (step 1). S2: (2/3) / 2 = 1/3, its latest shared click b is 2 steps back → 1/6.
    const scores = vsknnScores(buildSessionIndex(SESSIONS), ['a', 'b', 'a'], all);
    expect(scores.get('a')).toBeCloseTo(5 / 6, 12);
    expect(scores.get('b')).toBeCloseTo(1, 12);
    expect(scores.get('c')).toBeCloseTo(5 / 6, 12);
    expect(scores.get('d')).toBeCloseTo(1 / 6, 12);
  });

  it('compares only the most recent sampled sessions and keeps the k most similar', () => {
    const index = buildSessionIndex(SESSIONS);
    // Sample of one: S2 (lastTs 2) is more recent than S1.
    expect(Object.fromEntries(vsknnScores(index, ['a', 'b'], { k: 100, sampleSize: 1 }))).toEqual({
      b: 0.5,
      d: 0.5,
    });
    // k = 1: only S1, the most similar.
    expect(Object.fromEntries(vsknnScores(index, ['a', 'b'], { k: 1, sampleSize: 100 }))).toEqual({
      a: 0.75,
      b: 0.75,
      c: 0.75,
    });
  });
});

describe('sequential rules', () => {
  it('adds 1/d from each of the previous clicks, self-rules included (checked by hand)', () => {
    const rules = sequentialRules(
      [
        { items: ['a', 'b', 'c'], lastTs: 1 },
        { items: ['b', 'c'], lastTs: 2 },
        { items: ['a', 'a'], lastTs: 3 },
      ],
      { steps: 10, pruning: 20 },
    );
    // a b c: a→b 1, b→c 1, a→c 1/2; b c: b→c 1; a a: a→a 1.
    expect(Object.fromEntries(rules.get('a')!)).toEqual({ b: 1, c: 0.5, a: 1 });
    expect(Object.fromEntries(rules.get('b')!)).toEqual({ c: 2 });
    expect(rules.has('c')).toBe(false);
  });

  it('reaches back at most `steps` clicks and keeps the `pruning` strongest rules per item', () => {
    const rules = sequentialRules([{ items: ['a', 'b', 'c', 'd'], lastTs: 1 }], { steps: 2, pruning: 1 });
    // a→b 1, a→c 1/2 (a→d is 3 steps back); pruning keeps a→b only.
    expect(Object.fromEntries(rules.get('a')!)).toEqual({ b: 1 });
    expect(Object.fromEntries(rules.get('b')!)).toEqual({ c: 1 });
  });
});
