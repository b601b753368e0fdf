import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../util/random';
import { IvfIndex } from './IvfIndex';

/**
 * 256-dim vectors around 200 topics (each component a sum of uniforms: close enough to normal),
 * with as much spread within a topic as between neighbouring ones, so neighbour lists have the
 * near-ties that quantization can reorder.
 */
function topicVectors(n: number, dim: number, seed: number): Float32Array[] {
  const r = mulberry32(seed);
  const noise = () => r() + r() + r() - 1.5;
  const topics = Array.from({ length: 200 }, () => Float32Array.from({ length: dim }, noise));
  return Array.from({ length: n }, () => {
    const topic = topics[Math.floor(r() * topics.length)]!;
    return topic.map((x) => x + 0.9 * noise());
  });
}

const ids = (list: { itemId: string }[]) => list.map((n) => n.itemId);

/** Share of `expected`'s items that `actual` holds too, over every pair of lists. */
function recall(actual: string[][], expected: string[][]): number {
  let found = 0;
  let total = 0;
  expected.forEach((list, i) => {
    const got = new Set(actual[i]);
    for (const id of list) if (got.has(id)) found++;
    total += list.length;
  });
  return found / total;
}

describe('IvfIndex with int8 vectors', () => {
  const dim = 256;
  const data = topicVectors(6_000, dim, 3);
  const fill = (precision: 'float32' | 'int8', neighborTable: number | false = false) => {
    const index = new IvfIndex({ dim, precision, autoTrain: false, neighborTable });
    data.forEach((v, i) => {
      index.add(`item-${i}`, v);
    });
    return index;
  };

  it('keeps vectors in a quarter of the float32 memory, read back as unit vectors close to the originals', () => {
    const exact = fill('float32');
    const small = fill('int8');
    expect(small.vectorBytes).toBe(exact.vectorBytes / 4 + exact.vectorBytes / dim);
    for (let i = 0; i < data.length; i += 97) {
      const a = exact.get(`item-${i}`)!;
      const b = small.get(`item-${i}`)!;
      let cos = 0;
      let norm = 0;
      for (let d = 0; d < dim; d++) {
        cos += a[d]! * b[d]!;
        norm += b[d]! * b[d]!;
      }
      expect(Math.sqrt(norm)).toBeCloseTo(1, 5);
      expect(cos).toBeGreaterThan(0.9995);
    }
    // view() hands out a copy at int8 (the stored bytes are not float32), with get()'s values.
    expect(Array.from(small.view('item-5')!)).toEqual(Array.from(small.get('item-5')!));
  });

  it('finds float32’s 10 nearest neighbours with recall ≥ 0.95, scored within 0.01', () => {
    const exact = fill('float32');
    const small = fill('int8');
    const probe = Array.from({ length: 200 }, (_, i) => `item-${i * 29}`);
    const expected = probe.map((id) => exact.neighborsOf(id, 10));
    const actual = probe.map((id) => small.neighborsOf(id, 10));
    expect(recall(actual.map(ids), expected.map(ids))).toBeGreaterThanOrEqual(0.95);
    expected.forEach((list, i) => {
      const scores = new Map(actual[i]!.map((n) => [n.itemId, n.score]));
      for (const n of list) {
        const score = scores.get(n.itemId);
        if (score !== undefined) expect(Math.abs(score - n.score)).toBeLessThan(0.01);
      }
    });
  });

  it('answers from its neighbour table with the recall of float32’s table', async () => {
    const exact = fill('float32', 20);
    const small = fill('int8', 20);
    try {
      await Promise.all([exact.train(), small.train()]);
      expect(await exact.buildNeighborTable()).toBe(true);
      expect(await small.buildNeighborTable()).toBe(true);
      const probe = Array.from({ length: 300 }, (_, i) => `item-${i * 19}`);
      const truth = fill('float32');
      const expected = probe.map((id) => ids(truth.neighborsOf(id, 10)));
      const fromExact = recall(
        probe.map((id) => ids(exact.neighborsOf(id, 10))),
        expected,
      );
      const fromSmall = recall(
        probe.map((id) => ids(small.neighborsOf(id, 10))),
        expected,
      );
      expect(fromSmall).toBeGreaterThanOrEqual(fromExact - 0.05);
    } finally {
      exact.dispose();
      small.dispose();
    }
  });

  it('scores a stored item as 1 against itself and keeps the zero vector at zero', () => {
    const index = new IvfIndex({ dim: 4, precision: 'int8' });
    index.add('a', new Float32Array([1, 2, 3, 4]));
    index.add('b', new Float32Array([1, 2, 3, 4.5]));
    index.add('zero', new Float32Array(4));
    expect(index.nearest(index.get('a')!, 1)[0]).toEqual({ itemId: 'a', score: expect.closeTo(1, 6) });
    expect(Array.from(index.get('zero')!)).toEqual([0, 0, 0, 0]);
    expect(() => new IvfIndex({ dim: 4, precision: 'int4' as 'int8' })).toThrow(/precision/);
  });
});
