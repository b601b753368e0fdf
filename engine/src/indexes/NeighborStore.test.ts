import { describe, expect, it } from 'vitest';
import { NeighborStore } from './NeighborStore';

describe('NeighborStore', () => {
  it('keeps every table exact while tables grow, release blocks and the pool compacts', () => {
    const store = new NeighborStore();
    const expected = new Map<string, number>();
    // Many items growing in interleaved order forces resizes, free-list reuse and compaction.
    for (let round = 0; round < 40; round++) {
      for (let item = 0; item < 300; item++) {
        const key = (item * 7 + round * 13) % 1000;
        store.add(item, key, round + 1);
        const k = `${item}:${key}`;
        expected.set(k, (expected.get(k) ?? 0) + round + 1);
      }
    }
    for (const [k, v] of expected) {
      const [item, key] = k.split(':').map(Number) as [number, number];
      expect(store.get(item, key)).toBe(v);
    }
    expect(store.totalSize).toBe(expected.size);
  });

  it('prunes a table to its heaviest entries, breaking ties by lower id', () => {
    const store = new NeighborStore();
    for (const [key, w] of [
      [5, 1],
      [3, 4],
      [9, 4],
      [1, 2],
      [7, 4],
    ] as const)
      store.add(0, key, w);
    store.prune(0, 2);
    const kept: number[] = [];
    store.forEach(0, (k) => {
      kept.push(k);
    });
    expect(kept.sort()).toEqual([3, 7]);
    expect(store.size(0)).toBe(2);
    expect(store.totalSize).toBe(2);
  });
});
