import type { Catalog } from '../indexes/Catalog';
import { simdDotArena } from './simdDot';
import type { VectorSource } from './types';

/** Cosine similarity; 0 when either vector is all zeros or lengths differ. */
export function cosine(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return 0;
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
}

/** Jaccard overlap of two ascending tag-id arrays. */
export function tagJaccard(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length === 0 && b.length === 0) return 0;
  let i = 0;
  let j = 0;
  let both = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    if (x === y) {
      both++;
      i++;
      j++;
    } else if (x < y) i++;
    else j++;
  }
  return both / (a.length + b.length - both);
}

/**
 * Dot product of two equally long vectors. Four running sums instead of one let the CPU overlap the
 * additions (about 1.6× faster at 256 dims than a single chain).
 */
function dot(a: Float32Array, b: Float32Array): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = 0;
  for (; i + 3 < a.length; i += 4) {
    s0 += a[i]! * b[i]!;
    s1 += a[i + 1]! * b[i + 1]!;
    s2 += a[i + 2]! * b[i + 2]!;
    s3 += a[i + 3]! * b[i + 3]!;
  }
  for (; i < a.length; i++) s0 += a[i]! * b[i]!;
  return s0 + s1 + s2 + s3;
}

// Per item id, its byte offset in the SIMD arena (−1: no vector), valid while its stamp equals the
// arena's generation: one request's cache, reused by the next (requests are synchronous) instead of
// a Map per request.
let offsetStamps = new Float64Array(0);
let offsets = new Int32Array(0);

/**
 * Item-item similarity for diversity: embedding cosine (clamped at 0) when both items have vectors,
 * else tag overlap, so MMR still spreads a list across brands/categories without embeddings.
 *
 * Meant for one request: each item's vector is read once, through {@link VectorSource.view} when the
 * source has it (no copy; nothing writes to the source while a request runs), and a pair from a
 * source whose vectors are normalised costs one dot product instead of a full cosine — in
 * WebAssembly SIMD when available and the length is a multiple of 8 (see `simdDot.ts`).
 */
export function createItemSimilarity(
  catalog: Catalog,
  vectors: VectorSource | undefined,
): (a: number, b: number) => number {
  const normalized = vectors?.normalized === true;
  const read = (id: number): Float32Array | undefined => {
    if (vectors === undefined) return undefined;
    const key = catalog.ids.keyOf(id);
    return vectors.view !== undefined ? vectors.view(key) : vectors.get(key);
  };
  const tags = (a: number, b: number) => {
    const ta = catalog.info(a)?.tagIds;
    const tb = catalog.info(b)?.tagIds;
    return ta !== undefined && tb !== undefined ? tagJaccard(ta, tb) : 0;
  };
  const arena = normalized && vectors !== undefined && vectors.dim % 8 === 0 ? simdDotArena() : null;
  if (arena !== null) {
    arena.reset();
    const generation = arena.generation;
    const size = catalog.idCount;
    if (offsets.length < size) {
      offsets = new Int32Array(size * 2);
      offsetStamps = new Float64Array(size * 2);
    }
    /** Byte offset of the item's vector in the arena, −1 when it has none (of the index's length). */
    const offsetOf = (id: number): number => {
      if (id >= offsets.length) return -1;
      if (offsetStamps[id] === generation) return offsets[id]!;
      const v = read(id);
      const offset = v !== undefined && v.length === vectors!.dim ? arena.put(v) : -1;
      offsets[id] = offset;
      offsetStamps[id] = generation;
      return offset;
    };
    return (a, b) => {
      // Another request reset the arena: this function outlived its request; compute without it.
      if (arena.generation !== generation) {
        const va = read(a);
        const vb = read(b);
        if (va === undefined || vb === undefined) return tags(a, b);
        return va.length === vb.length ? Math.max(0, dot(va, vb)) : 0;
      }
      const oa = offsetOf(a);
      const ob = offsetOf(b);
      if (oa < 0 || ob < 0) return tags(a, b);
      return Math.max(0, arena.dot(oa, ob, vectors!.dim));
    };
  }
  const cache = new Map<number, Float32Array | undefined>();
  const vectorOf = (id: number): Float32Array | undefined => {
    if (!cache.has(id)) cache.set(id, read(id));
    return cache.get(id);
  };
  return (a, b) => {
    const va = vectorOf(a);
    const vb = vectorOf(b);
    if (va !== undefined && vb !== undefined) {
      if (!normalized) return Math.max(0, cosine(va, vb));
      return va.length === vb.length ? Math.max(0, dot(va, vb)) : 0;
    }
    return tags(a, b);
  };
}
