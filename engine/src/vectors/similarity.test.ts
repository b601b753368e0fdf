import { describe, expect, it } from 'vitest';
import { Catalog } from '../indexes/Catalog';
import { item } from '../testShop';
import { IvfIndex } from './IvfIndex';
import { cosine, createItemSimilarity } from './similarity';
import type { VectorSource } from './types';

function catalogOf(...ids: string[]): Catalog {
  const catalog = new Catalog();
  catalog.upsert(ids.map((id, i) => item(id, { tags: ['tag:shared', `tag:${i}`] })));
  return catalog;
}

/** A source that counts reads and serves vectors as given (not normalised). */
function countingSource(vectors: Record<string, number[]>, withView: boolean) {
  const reads = { get: 0, view: 0 };
  const stored = new Map(Object.entries(vectors).map(([id, v]) => [id, Float32Array.from(v)]));
  const source: VectorSource = {
    dim: 2,
    get(id) {
      reads.get++;
      return stored.get(id)?.slice();
    },
    nearest: () => [],
    ...(withView
      ? {
          view(id: string) {
            reads.view++;
            return stored.get(id);
          },
        }
      : {}),
  };
  return { source, reads };
}

describe('createItemSimilarity', () => {
  it('reads each vector once through view() when the source has it, else through get()', () => {
    const catalog = catalogOf('a', 'b');
    const [a, b] = [catalog.ids.intern('a'), catalog.ids.intern('b')];
    for (const withView of [true, false]) {
      const { source, reads } = countingSource({ a: [3, 4], b: [4, 3] }, withView);
      const similarity = createItemSimilarity(catalog, source);
      expect(similarity(a, b)).toBeCloseTo(24 / 25, 12);
      expect(similarity(b, a)).toBeCloseTo(24 / 25, 12);
      expect(reads).toEqual(withView ? { get: 0, view: 2 } : { get: 2, view: 0 });
    }
  });

  it('takes the dot product of a normalised source as its cosine, clamped at 0', () => {
    const catalog = catalogOf('a', 'b', 'c');
    const [a, b, c] = ['a', 'b', 'c'].map((id) => catalog.ids.intern(id)) as [number, number, number];
    const index = new IvfIndex({ dim: 8 });
    const raw = {
      a: Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]),
      b: Float32Array.from([8, -1, 6, 5, 4, 3, 2, 1]),
      c: Float32Array.from([-1, -2, -3, -4, -5, -6, -7, -8]),
    };
    for (const [id, v] of Object.entries(raw)) index.add(id, v);
    const similarity = createItemSimilarity(catalog, index);
    expect(similarity(a, b)).toBeCloseTo(cosine(raw.a, raw.b), 6);
    expect(similarity(a, c)).toBe(0);
  });

  it('gives the scalar values through the SIMD arena, also once another request reset the arena', () => {
    const ids = Array.from({ length: 12 }, (_, i) => `i${i}`);
    const catalog = catalogOf(...ids);
    const index = new IvfIndex({ dim: 256 });
    const raw = ids.map((_, n) => Float32Array.from({ length: 256 }, (_, d) => Math.cos(n * 1.7 + d * 0.31)));
    ids.forEach((id, n) => {
      index.add(id, raw[n]!);
    });
    const dense = ids.map((id) => catalog.ids.intern(id));
    const first = createItemSimilarity(catalog, index);
    const expected = (x: number, y: number) => Math.max(0, cosine(raw[x]!, raw[y]!));
    for (let x = 0; x < 12; x++)
      expect(first(dense[x]!, dense[(x * 5) % 12]!)).toBeCloseTo(expected(x, (x * 5) % 12), 5);
    // A later request resets the shared arena; the earlier function must not read its new contents.
    const second = createItemSimilarity(catalog, index);
    expect(second(dense[3]!, dense[4]!)).toBeCloseTo(expected(3, 4), 5);
    for (let x = 0; x < 12; x++)
      expect(first(dense[x]!, dense[(x + 1) % 12]!)).toBeCloseTo(expected(x, (x + 1) % 12), 5);
  });

  it('falls back to tag overlap when either item has no vector', () => {
    const catalog = catalogOf('a', 'b');
    const index = new IvfIndex({ dim: 2 });
    index.add('a', Float32Array.from([1, 0]));
    const similarity = createItemSimilarity(catalog, index);
    // Tags {shared, 0} and {shared, 1}: one of three in common.
    expect(similarity(catalog.ids.intern('a'), catalog.ids.intern('b'))).toBeCloseTo(1 / 3, 12);
  });
});
