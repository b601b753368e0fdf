import { describe, expect, it } from 'vitest';
import { EngineSnapshotError } from '../snapshot/engineSnapshot';
import { mulberry32 as rng } from '../util/random';
import { IvfIndex, type IvfIndexOptions } from './IvfIndex';

const gauss = (r: () => number): number =>
  Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());

/** Topic-clustered vectors, the shape real text embeddings have. */
function clustered(n: number, dim: number, seed: number): Float32Array[] {
  const r = rng(seed);
  const centers = Array.from({ length: 20 }, () => Float32Array.from({ length: dim }, () => gauss(r)));
  return Array.from({ length: n }, () => {
    const c = centers[Math.floor(r() * centers.length)]!;
    return c.map((x) => x + 0.8 * gauss(r));
  });
}

/** Everything a caller can observe of an index, for the ids and queries given. */
function answers(index: IvfIndex, ids: string[], queries: Float32Array[]) {
  const odd = (id: string) => Number(id.slice(5)) % 2 === 1;
  return {
    size: index.size,
    trained: index.trained,
    nlist: index.nlist,
    generation: index.generation,
    writeCount: index.writeCount,
    hasNeighborTable: index.hasNeighborTable,
    changedSince: index.changedSince(Math.max(0, index.writeCount - 1024)),
    nearest: queries.map((q) => index.nearest(q, 10)),
    nearestFiltered: queries.map((q) => index.nearest(q, 5, odd)),
    neighborsOf: ids.map((id) => index.neighborsOf(id, 12)),
    neighborsOfFiltered: ids.map((id) => index.neighborsOf(id, 8, odd)),
    versions: ids.map((id) => index.versionOf(id)),
    vectors: ids.map((id) => index.get(id)),
  };
}

/** 3,000 vectors written, with updates and removals among them (free slots, a long change log). */
function filled(options: Omit<IvfIndexOptions, 'dim'> = {}): { index: IvfIndex; data: Float32Array[] } {
  const dim = 24;
  const data = clustered(3_600, dim, 5);
  const index = new IvfIndex({ dim, autoTrain: false, trainThreshold: 500, ...options });
  for (let i = 0; i < 3_000; i++) index.add(`item-${i}`, data[i]!);
  for (let i = 0; i < 3_000; i += 7) index.remove(`item-${i}`);
  for (let i = 1; i < 3_000; i += 11) index.add(`item-${i}`, data[i + 600]!);
  return { index, data };
}

function restored(from: IvfIndex, options: Omit<IvfIndexOptions, 'dim'> = {}): IvfIndex {
  const copy = new IvfIndex({ dim: from.dim, autoTrain: false, trainThreshold: 500, ...options });
  copy.restore(from.snapshot());
  return copy;
}

const ids = Array.from({ length: 3_000 }, (_, i) => `item-${i}`).filter(
  (_, i) => i % 13 === 0 || i % 7 === 0,
);
const queries = clustered(40, 24, 9);

describe('IvfIndex snapshot', () => {
  it('restores an untrained index that answers every query exactly as the original', () => {
    const { index } = filled();
    expect(index.trained).toBe(false);
    const copy = restored(index);
    expect(answers(copy, ids, queries)).toEqual(answers(index, ids, queries));
  });

  it('restores a trained index without a neighbour table: same lists, same answers, same later writes', async () => {
    const { index, data } = filled();
    await index.train();
    // Writes after the training sit outside the compacted order and in the change log.
    for (let i = 2; i < 3_000; i += 17) index.add(`item-${i}`, data[i + 300]!);
    index.remove('item-13');
    const copy = restored(index);
    expect(copy.trained).toBe(true);
    expect(answers(copy, ids, queries)).toEqual(answers(index, ids, queries));
    // Both go on the same way: a vector added to each lands in the same slot and list.
    for (const target of [index, copy]) {
      target.add('item-new', data[3_500]!);
      target.add('item-13', data[3_501]!);
    }
    expect(answers(copy, [...ids, 'item-new'], queries)).toEqual(
      answers(index, [...ids, 'item-new'], queries),
    );
  });

  it('restores the neighbour table with the writes made since its build merged in as before', async () => {
    const { index, data } = filled({ neighborTable: 16 });
    await index.train();
    expect(await index.buildNeighborTable()).toBe(true);
    for (let i = 3; i < 3_000; i += 29) index.add(`item-${i}`, data[i + 400]!);
    index.remove('item-26');
    const copy = restored(index, { neighborTable: 16 });
    try {
      expect(copy.hasNeighborTable).toBe(true);
      expect(answers(copy, ids, queries)).toEqual(answers(index, ids, queries));
    } finally {
      index.dispose();
      copy.dispose();
    }
  });

  it('trains a restored index into the same lists as the original', async () => {
    const { index } = filled();
    const copy = restored(index);
    await Promise.all([index.train(), copy.train()]);
    expect(answers(copy, ids, queries)).toEqual(answers(index, ids, queries));
  });

  it('refuses torn, altered or foreign bytes with a reason, and leaves the index empty', () => {
    const { index } = filled();
    const bytes = index.snapshot();
    const refusal = (input: Uint8Array, dim = 24) => {
      const target = new IvfIndex({ dim });
      try {
        target.restore(input);
      } catch (error) {
        expect(target.size).toBe(0);
        return error instanceof EngineSnapshotError ? error.reason : String(error);
      }
      return 'accepted';
    };
    expect(refusal(bytes.subarray(0, bytes.length - 1000))).toBe('truncated');
    expect(refusal(bytes.subarray(0, 20))).toBe('truncated');
    const altered = Uint8Array.from(bytes);
    altered[Math.floor(bytes.length / 2)]! ^= 1;
    expect(refusal(altered)).toBe('checksum');
    expect(refusal(Buffer.from('RECSYNSP'.repeat(20)))).toBe('not-a-snapshot');
    expect(refusal(bytes, 32)).toBe('dimension');
    expect(refusal(bytes)).toBe('accepted');
  });

  it('restores an int8 index with its neighbour table that answers exactly as the original', async () => {
    const { index, data } = filled({ precision: 'int8', neighborTable: 16 });
    await index.train();
    expect(await index.buildNeighborTable()).toBe(true);
    for (let i = 3; i < 3_000; i += 29) index.add(`item-${i}`, data[i + 400]!);
    const copy = restored(index, { precision: 'int8', neighborTable: 16 });
    try {
      expect(copy.precision).toBe('int8');
      expect(copy.hasNeighborTable).toBe(true);
      expect(answers(copy, ids, queries)).toEqual(answers(index, ids, queries));
    } finally {
      index.dispose();
      copy.dispose();
    }
  });

  it('refuses a snapshot of another precision, or of the format before precisions, with a reason', () => {
    const refusal = (input: Uint8Array, precision: 'float32' | 'int8') => {
      const target = new IvfIndex({ dim: 24, precision });
      try {
        target.restore(input);
      } catch (error) {
        expect(target.size).toBe(0);
        return error instanceof EngineSnapshotError ? `${error.reason}: ${error.message}` : String(error);
      }
      return 'accepted';
    };
    const float32 = filled().index.snapshot();
    const int8 = filled({ precision: 'int8' }).index.snapshot();
    expect(refusal(float32, 'int8')).toMatch(
      /^precision: vector index of float32 vectors, this index keeps int8/,
    );
    expect(refusal(int8, 'float32')).toMatch(
      /^precision: vector index of int8 vectors, this index keeps float32/,
    );
    expect(refusal(int8, 'int8')).toBe('accepted');
    // A snapshot written by the previous engine (format 1, float32 without a precision field).
    const previous = Uint8Array.from(float32);
    new DataView(previous.buffer).setUint32(8, 1, true);
    expect(refusal(previous, 'float32')).toMatch(
      /^format: vector index snapshot format 1, this engine reads format 2/,
    );
  });

  it('restores only into an empty index', () => {
    const { index } = filled();
    const target = new IvfIndex({ dim: 24 });
    target.add('x', new Float32Array(24).fill(1));
    expect(() => target.restore(index.snapshot())).toThrow(/must be empty/);
  });
});
