import type { VectorSource } from './api';
import type { Catalog } from './Catalog';

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
export function tagJaccard(a: Int32Array, b: Int32Array): number {
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
 * Item-item similarity for diversity: embedding cosine when both items have vectors, else tag
 * overlap, so MMR still spreads a list across brands/categories without embeddings.
 */
export function createItemSimilarity(
  catalog: Catalog,
  vectors: VectorSource | undefined,
): (a: number, b: number) => number {
  const cache = new Map<number, Float32Array | undefined>();
  const vectorOf = (id: number): Float32Array | undefined => {
    if (vectors === undefined) return undefined;
    if (!cache.has(id)) cache.set(id, vectors.get(catalog.ids.keyOf(id)));
    return cache.get(id);
  };
  return (a, b) => {
    const va = vectorOf(a);
    const vb = vectorOf(b);
    if (va !== undefined && vb !== undefined) return Math.max(0, cosine(va, vb));
    const ta = catalog.info(a)?.tagIds;
    const tb = catalog.info(b)?.tagIds;
    return ta !== undefined && tb !== undefined ? tagJaccard(ta, tb) : 0;
  };
}
