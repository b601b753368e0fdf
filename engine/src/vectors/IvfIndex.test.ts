import { describe, expect, it, vi } from 'vitest';
import { mulberry32 as rng } from '../util/random';
import { IvfIndex } from './IvfIndex';
import type { VectorSource } from './types';

const gauss = (r: () => number): number =>
  Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
function unit(v: Float32Array): Float32Array {
  const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return v.map((x) => x / n);
}
/** Topic-clustered vectors, the shape real text embeddings have. */
function clustered(n: number, dim: number, clusters: number, noise: number, seed: number): Float32Array[] {
  const r = rng(seed);
  const centers = Array.from({ length: clusters }, () =>
    unit(Float32Array.from({ length: dim }, () => gauss(r))),
  );
  return Array.from({ length: n }, () => {
    const c = centers[Math.floor(r() * clusters)]!;
    return unit(c.map((x) => x + (noise / Math.sqrt(dim)) * gauss(r)));
  });
}
function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}
function bruteForce(vs: Map<string, Float32Array>, q: Float32Array, k: number): string[] {
  const scored: Array<{ id: string; s: number }> = [];
  for (const [id, v] of vs) scored.push({ id, s: dot(v, q) });
  return scored
    .sort((a, b) => b.s - a.s)
    .slice(0, k)
    .map((x) => x.id);
}

describe('IvfIndex', () => {
  it('reaches recall@10 ≥ 0.9 against brute force once trained', async () => {
    const dim = 64;
    const data = clustered(12_000, dim, 300, 1.0, 1);
    const index = new IvfIndex({ dim, autoTrain: false });
    const all = new Map<string, Float32Array>();
    data.forEach((v, i) => {
      index.add(`item-${i}`, v);
      all.set(`item-${i}`, v);
    });
    await index.train();
    expect(index.trained).toBe(true);
    expect(index.nlist).toBe(Math.round(Math.sqrt(12_000)));
    const r = rng(2);
    let hits = 0;
    const queries = 100;
    for (let q = 0; q < queries; q++) {
      const base = data[Math.floor(r() * data.length)]!;
      const query = unit(base.map((x) => x + (0.5 / Math.sqrt(dim)) * gauss(r)));
      const truth = new Set(bruteForce(all, query, 10));
      const got = index.nearest(query, 10);
      expect(got).toHaveLength(10);
      hits += got.filter((g) => truth.has(g.itemId)).length;
    }
    expect(hits / (queries * 10)).toBeGreaterThanOrEqual(0.9);
  });

  it('returns exact results, best first, with cosine scores before training', () => {
    const index = new IvfIndex({ dim: 3 });
    index.add('x', new Float32Array([2, 0, 0]));
    index.add('xy', new Float32Array([1, 1, 0]));
    index.add('z', new Float32Array([0, 0, 5]));
    const res = index.nearest(new Float32Array([1, 0, 0]), 2);
    expect(res.map((r) => r.itemId)).toEqual(['x', 'xy']);
    expect(res[0]!.score).toBeCloseTo(1, 6);
    expect(res[1]!.score).toBeCloseTo(Math.SQRT1_2, 6);
    expect(index.trained).toBe(false);
  });

  it('updates, removes and re-adds items incrementally, before and after training', async () => {
    const dim = 16;
    const data = clustered(600, dim, 10, 0.8, 3);
    const index = new IvfIndex({ dim, trainThreshold: 100, autoTrain: false, nlist: 12 });
    data.forEach((v, i) => {
      index.add(String(i), v);
    });
    for (const trained of [false, true]) {
      if (trained) await index.train();
      const q = data[5]!;
      expect(index.nearest(q, 1)[0]!.itemId).toBe('5');

      expect(index.remove('5')).toBe(true);
      expect(index.remove('5')).toBe(false);
      expect(index.get('5')).toBeUndefined();
      expect(index.nearest(q, 600).some((r) => r.itemId === '5')).toBe(false);
      expect(index.size).toBe(599);

      // Update: item 7 moves to where item 5 was.
      index.add('7', q);
      expect(index.nearest(q, 1)[0]!.itemId).toBe('7');
      expect(dot(index.get('7')!, q)).toBeCloseTo(1, 5);
      expect(index.size).toBe(599);

      index.add(
        '5',
        q.map((x) => x * 3),
      );
      expect(index.size).toBe(600);
      expect(index.get('5')!.reduce((s, x) => s + x * x, 0)).toBeCloseTo(1, 5);
      index.add('7', data[7]!);
    }
  });

  it('applies the filter and keeps probing until k items pass it', async () => {
    const dim = 16;
    const data = clustered(5_000, dim, 50, 0.5, 4);
    const index = new IvfIndex({ dim, autoTrain: false, nprobe: 1 });
    data.forEach((v, i) => {
      index.add(String(i), v);
    });
    await index.train();
    // Only 20 items in the whole index pass; they are scattered across lists.
    const allowed = (id: string) => Number(id) % 250 === 0;
    const res = index.nearest(data[1]!, 20, allowed);
    expect(res).toHaveLength(20);
    expect(res.every((r) => allowed(r.itemId))).toBe(true);
    for (let i = 1; i < res.length; i++) expect(res[i - 1]!.score).toBeGreaterThanOrEqual(res[i]!.score);
  });

  it('trains in the background once the threshold is passed and keeps answering meanwhile', async () => {
    const dim = 8;
    const data = clustered(300, dim, 6, 0.5, 5);
    const index = new IvfIndex({ dim, trainThreshold: 200, nlist: 6 });
    data.slice(0, 199).forEach((v, i) => {
      index.add(String(i), v);
    });
    expect(index.needsTraining()).toBe(false);
    index.add('199', data[199]!);
    // Mutations while the run is in flight must survive the swap of lists.
    index.remove('0');
    index.add('1', data[2]!);
    data.slice(200).forEach((v, i) => {
      index.add(String(200 + i), v);
    });
    expect(index.nearest(data[3]!, 1)[0]!.itemId).toBe('3');
    await index.train();
    expect(index.trained).toBe(true);
    expect(index.lastTrainingError).toBeUndefined();
    expect(index.size).toBe(299);
    expect(index.get('0')).toBeUndefined();
    const all = index.nearest(data[2]!, 300);
    expect(all).toHaveLength(299);
    expect(
      all
        .slice(0, 2)
        .map((r) => r.itemId)
        .sort(),
    ).toEqual(['1', '2']);
  });

  it('retrains with more lists when a bulk load outgrew the run it triggered', async () => {
    const dim = 8;
    const data = clustered(2_100, dim, 20, 0.5, 6);
    const index = new IvfIndex({ dim, trainThreshold: 100 });
    data.forEach((v, i) => {
      index.add(String(i), v);
    });
    await index.train(); // the run started at 100 vectors
    await index.train(); // the chained run for 2,100 vectors
    expect(index.nlist).toBe(Math.round(Math.sqrt(2_100)));
    expect(index.needsTraining()).toBe(false);
    expect(index.nearest(data[42]!, 1)[0]!.itemId).toBe('42');
  });

  it('rejects vectors of the wrong dimension or with NaN, naming the item', () => {
    const index = new IvfIndex({ dim: 4 });
    expect(() => index.add('a', new Float32Array(3))).toThrow(/"a".*3 dims, index expects 4/);
    expect(() => index.add('b', new Float32Array([1, Number.NaN, 0, 0]))).toThrow(/"b".*NaN/);
    expect(() => index.nearest(new Float32Array(5), 3)).toThrow(/5 dims/);
    expect(() => new IvfIndex({ dim: 0 })).toThrow(/"dim"/);
  });

  it('satisfies the VectorSource interface the engine consumes', () => {
    const source: VectorSource = new IvfIndex({ dim: 2 });
    expect(source.dim).toBe(2);
    expect(source.nearest(new Float32Array([1, 0]), 5)).toEqual([]);
    expect(source.get('nothing')).toBeUndefined();
  });

  it('reports a new version for every change of an item and a new generation after training', async () => {
    const index = new IvfIndex({ dim: 2, autoTrain: false, trainThreshold: 2 });
    expect(index.versionOf('a')).toBe(-1);
    index.add('a', new Float32Array([1, 0]));
    index.add('b', new Float32Array([0, 1]));
    const first = index.versionOf('a');
    index.add('b', new Float32Array([1, 1]));
    expect(index.versionOf('a')).toBe(first);
    index.add('a', new Float32Array([1, 0.5]));
    const updated = index.versionOf('a');
    expect(updated).not.toBe(first);
    // Removing and re-adding never brings an old version back (a cache keyed on it stays stale).
    index.remove('a');
    expect(index.versionOf('a')).toBe(-1);
    index.add('a', new Float32Array([1, 0]));
    expect([first, updated]).not.toContain(index.versionOf('a'));
    const generation = index.generation;
    await index.train();
    expect(index.generation).toBe(generation + 1);
  });

  it('lists a stored item’s neighbours without the item itself, like nearest() on its vector', async () => {
    const index = new IvfIndex({ dim: 2, autoTrain: false, trainThreshold: 8, nlist: 2, itemNprobe: 2 });
    const points: Array<[string, number[]]> = [
      ['a', [1, 0]],
      ['b', [0.9, 0.1]],
      ['c', [0.8, 0.3]],
      ['d', [0, 1]],
      ['e', [0.1, 0.9]],
      ['f', [0.2, 0.8]],
      ['g', [0.7, 0.7]],
      ['h', [0.95, 0.05]],
    ];
    for (const [id, v] of points) index.add(id, Float32Array.from(v));
    await index.train();
    const viaQuery = index.nearest(index.get('a')!, 4).filter((n) => n.itemId !== 'a');
    expect(index.neighborsOf('a', 3)).toEqual(viaQuery.slice(0, 3));
    expect(index.neighborsOf('a', 2, (id) => id !== 'h').map((n) => n.itemId)).toEqual(['b', 'c']);
    expect(index.neighborsOf('zzz', 3)).toEqual([]);
  });

  it('lists the ids written since a write count, until its change log no longer reaches back', () => {
    const index = new IvfIndex({ dim: 2, autoTrain: false });
    index.add('a', new Float32Array([1, 0]));
    const mark = index.writeCount;
    index.add('b', new Float32Array([0, 1]));
    index.remove('a');
    expect(index.changedSince(mark)).toEqual(['b', 'a']);
    expect(index.changedSince(index.writeCount)).toEqual([]);
    for (let i = 0; i < 1_100; i++) index.add('c', new Float32Array([1, i]));
    expect(index.changedSince(mark)).toBeUndefined();
  });

  it('views a stored vector without copying it, with the same values get() copies', () => {
    const index = new IvfIndex({ dim: 3 });
    index.add('a', new Float32Array([3, 0, 4]));
    index.add('b', new Float32Array([0, 2, 0]));
    const a = index.view('a')!;
    const b = index.view('b')!;
    expect(Array.from(a)).toEqual(Array.from(index.get('a')!));
    expect(Array.from(b)).toEqual([0, 1, 0]);
    // Both views read the index's one storage buffer; get() hands out a copy of its own.
    expect(a.buffer).toBe(b.buffer);
    expect(index.get('a')!.buffer).not.toBe(a.buffer);
    expect(index.view('nothing')).toBeUndefined();
  });

  it('declares its vectors normalised, and they are (or all zeros)', () => {
    const index = new IvfIndex({ dim: 4 });
    expect(index.normalized).toBe(true);
    index.add('a', new Float32Array([1, 2, 3, 4]));
    index.add('zero', new Float32Array(4));
    const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
    expect(norm(index.view('a')!)).toBeCloseTo(1, 6);
    expect(norm(index.view('zero')!)).toBe(0);
  });
});

describe('IvfIndex neighbour table', () => {
  async function trainedIndex(options: { neighborTable?: number } = {}) {
    const dim = 32;
    const data = clustered(6_000, dim, 150, 0.8, 11);
    const index = new IvfIndex({ dim, autoTrain: false, ...options });
    const all = new Map<string, Float32Array>();
    data.forEach((v, i) => {
      index.add(`item-${i}`, v);
      all.set(`item-${i}`, v);
    });
    await index.train();
    return { index, all, dim };
  }
  const exactNeighbors = (all: Map<string, Float32Array>, id: string, k: number) =>
    bruteForce(new Map([...all].filter(([other]) => other !== id)), all.get(id)!, k);

  it('answers neighborsOf from precomputed rows with a search’s recall, best first', async () => {
    const { index, all } = await trainedIndex();
    const searched = new Map<string, string[]>();
    for (let i = 0; i < 6_000; i += 97) {
      searched.set(
        `item-${i}`,
        index.neighborsOf(`item-${i}`, 20).map((n) => n.itemId),
      );
    }
    expect(await index.buildNeighborTable(20)).toBe(true);
    expect(index.hasNeighborTable).toBe(true);
    let hits = 0;
    let agree = 0;
    for (const [id, before] of searched) {
      const fromTable = index.neighborsOf(id, 20);
      expect(fromTable.map((n) => n.itemId)).not.toContain(id);
      for (let j = 1; j < fromTable.length; j++) {
        expect(fromTable[j - 1]!.score).toBeGreaterThanOrEqual(fromTable[j]!.score);
      }
      const exact = new Set(exactNeighbors(all, id, 20));
      hits += fromTable.filter((n) => exact.has(n.itemId)).length;
      agree += fromTable.filter((n) => before.includes(n.itemId)).length;
    }
    expect(hits / (searched.size * 20)).toBeGreaterThanOrEqual(0.9);
    expect(agree / (searched.size * 20)).toBeGreaterThanOrEqual(0.9);
  });

  it('merges vectors added, changed or removed after the build into the rows at once', async () => {
    const { index, all, dim } = await trainedIndex();
    await index.buildNeighborTable(20);
    const anchor = all.get('item-5')!;
    const [closest] = index.neighborsOf('item-5', 1);
    // A near-copy of the anchor, added after the build, leads the anchor's list.
    index.add(
      'twin',
      anchor.map((x, d) => x + (d === 0 ? 1e-3 : 0)),
    );
    expect(index.neighborsOf('item-5', 20)[0]?.itemId).toBe('twin');
    // A removed item leaves every list.
    index.remove(closest!.itemId);
    expect(index.neighborsOf('item-5', 20).map((n) => n.itemId)).not.toContain(closest!.itemId);
    // An item moved elsewhere is re-scored, not served with its old score.
    const far = Float32Array.from({ length: dim }, (_, d) => -anchor[d]!);
    index.add('twin', far);
    expect(index.neighborsOf('item-5', 20).map((n) => n.itemId)).not.toContain('twin');
    // The moved item's own list is searched afresh around its new vector.
    const moved = index.neighborsOf('twin', 5);
    expect(moved[0]!.score).toBeCloseTo(Math.max(...[...all.values()].map((v) => dot(v, unit(far)))), 4);
    expect(index.hasNeighborTable).toBe(true);
  });

  it('falls back to a search when the filter rejects most of a full row', async () => {
    const { index } = await trainedIndex();
    await index.buildNeighborTable(10);
    const onlyOdd = (id: string) => Number(id.slice(5)) % 7 === 1;
    const found = index.neighborsOf('item-3', 10, onlyOdd);
    expect(found).toHaveLength(10);
    expect(found.every((n) => onlyOdd(n.itemId))).toBe(true);
  });

  it('drops the table when retraining renumbers the lists, and rebuilds it in the background', async () => {
    const { index } = await trainedIndex({ neighborTable: 16 });
    await vi.waitFor(() => expect(index.hasNeighborTable).toBe(true), { timeout: 60_000, interval: 50 });
    const retrained = index.train();
    await retrained;
    expect(index.hasNeighborTable).toBe(false);
    await vi.waitFor(() => expect(index.hasNeighborTable).toBe(true), { timeout: 60_000, interval: 50 });
    expect(index.neighborsOf('item-1', 16)).toHaveLength(16);
    index.dispose();
  });

  it('rebuilds a stale table within 30 s even when writes never pause for a second', async () => {
    const { index, all } = await trainedIndex({ neighborTable: 8 });
    await vi.waitFor(() => expect(index.hasNeighborTable).toBe(true), { timeout: 60_000, interval: 50 });
    const ids = [...all.keys()];
    const rewrite = (n: number) => {
      for (let i = 0; i < n; i++) {
        const id = ids[(rewrite.count++ * 7) % ids.length]!;
        index.add(id, all.get(id)!);
      }
    };
    rewrite.count = 0;
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      // Past half the change log: a rebuild is due, but a write arrives every half second.
      rewrite(520);
      for (let t = 0; t < 62; t++) {
        rewrite(10);
        await vi.advanceTimersByTimeAsync(500);
      }
    } finally {
      vi.useRealTimers();
    }
    // 1,140 writes since the first table: only a rebuild made meanwhile can still be in use.
    await vi.waitFor(() => expect(index.hasNeighborTable).toBe(true), { timeout: 60_000, interval: 50 });
    index.dispose();
  });

  it('stops keeping a table when turned off, even one being built', async () => {
    const { index } = await trainedIndex({ neighborTable: 8 });
    const building = index.buildNeighborTable();
    index.setNeighborTable(false);
    expect(await building).toBe(false);
    expect(index.hasNeighborTable).toBe(false);
    expect(index.neighborTableLength).toBe(false);
  });

  it('rejects a row length that is not a positive integer', () => {
    expect(() => new IvfIndex({ dim: 4, neighborTable: 0 })).toThrow(/neighborTable/);
    expect(() => new IvfIndex({ dim: 4 }).buildNeighborTable(2.5)).toThrow(/neighborTable/);
  });
});
