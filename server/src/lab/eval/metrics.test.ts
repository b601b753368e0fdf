import { describe, expect, it } from 'vitest';
import {
  catalogCoverage,
  cosine,
  intraListDiversity,
  listAccuracy,
  longTailShare,
  novelty,
  popularityStats,
  tagJaccard,
} from './metrics';

describe('ranking metrics', () => {
  it('scores a single hit at rank 2 as NDCG 1/log2(3), recall 1, MRR 1/2, hit 1', () => {
    const a = listAccuracy(['a', 'b', 'c'], new Set(['b']), 3);
    expect(a.ndcg).toBeCloseTo(1 / Math.log2(3), 12);
    expect(a.recall).toBe(1);
    expect(a.mrr).toBe(0.5);
    expect(a.hit).toBe(1);
  });

  it('normalises by min(K, |relevant|) hits at the top for both NDCG and recall', () => {
    // 3 relevant, K = 2: ideal is 2 hits; only rank 1 is a hit.
    const a = listAccuracy(['a', 'b', 'd'], new Set(['a', 'd', 'x']), 2);
    expect(a.ndcg).toBeCloseTo(1 / (1 + 1 / Math.log2(3)), 12);
    expect(a.recall).toBe(0.5);
    expect(a.mrr).toBe(1);
    // The hit at rank 3 is beyond K.
    expect(listAccuracy(['b', 'c', 'a'], new Set(['a']), 2)).toEqual({ ndcg: 0, recall: 0, mrr: 0, hit: 0 });
  });

  it('reaches 1 when every top slot is relevant and counts a duplicated item once', () => {
    expect(listAccuracy(['a', 'b'], new Set(['a', 'b', 'c']), 2)).toEqual({
      ndcg: 1,
      recall: 1,
      mrr: 1,
      hit: 1,
    });
    const dup = listAccuracy(['a', 'a', 'b'], new Set(['a', 'b']), 3);
    expect(dup.ndcg).toBeCloseTo((1 + 1 / Math.log2(4)) / (1 + 1 / Math.log2(3)), 12);
  });

  it('refuses an empty relevant set instead of averaging in a meaningless zero', () => {
    expect(() => listAccuracy(['a'], new Set(), 10)).toThrow(/relevant set is empty/);
  });
});

describe('beyond-accuracy metrics', () => {
  const pop = popularityStats(
    new Map([
      ['a', 8],
      ['b', 1],
      ['c', 1],
    ]),
  );

  it('puts the items covering 80 % of interactions in the head and the rest in the long tail', () => {
    expect([...pop.head]).toEqual(['a']);
    expect(pop.total).toBe(10);
    expect(
      longTailShare(
        [
          ['a', 'b'],
          ['c', 'a'],
        ],
        2,
        pop,
      ),
    ).toBe(0.5);
    expect(longTailShare([['a', 'b']], 1, pop)).toBe(0);
  });

  it('measures novelty as mean −log2 popularity, an unseen item counting as seen once', () => {
    expect(novelty([['a', 'b']], 2, pop)).toBeCloseTo((-Math.log2(0.8) - Math.log2(0.1)) / 2, 12);
    expect(novelty([['z']], 1, pop)).toBeCloseTo(-Math.log2(0.1), 12);
  });

  it('counts catalog coverage as distinct recommended items over the catalog size at K', () => {
    const lists = [
      ['a', 'b'],
      ['b', 'c'],
    ];
    expect(catalogCoverage(lists, 2, 10)).toBe(0.3);
    expect(catalogCoverage(lists, 1, 10)).toBe(0.2);
  });

  it('computes intra-list diversity as 1 − mean pairwise similarity (tags or vectors)', () => {
    const tags: Record<string, string[]> = { a: ['x', 'y'], b: ['x'], c: ['z'] };
    const byTags = (p: string, q: string) => tagJaccard(tags[p]!, tags[q]!);
    // sim(a,b) = 1/2, sim(a,c) = sim(b,c) = 0.
    expect(intraListDiversity(['a', 'b', 'c'], 3, byTags)).toBeCloseTo(1 - 1 / 6, 12);
    const vectors: Record<string, Float32Array> = {
      a: new Float32Array([1, 0]),
      b: new Float32Array([0, 1]),
      c: new Float32Array([1, 1]),
    };
    const byVec = (p: string, q: string) => cosine(vectors[p]!, vectors[q]!);
    expect(intraListDiversity(['a', 'b'], 2, byVec)).toBeCloseTo(1, 12);
    expect(intraListDiversity(['a', 'b', 'c'], 3, byVec)).toBeCloseTo(1 - (0 + 2 * Math.SQRT1_2) / 3, 6);
    expect(intraListDiversity(['a'], 3, byVec)).toBeUndefined();
  });
});
