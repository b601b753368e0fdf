/** A scored neighbour by item id; `score` is a similarity (cosine: higher is closer). */
export interface Neighbor {
  itemId: string;
  score: number;
}

/**
 * Item vectors (e.g. text embeddings) the engine can use for similarity, centroids and diversity.
 * Inject one with `engine.setVectors(source)`; without it, embedding signals contribute nothing.
 */
export interface VectorSource {
  /** Vector length. */
  readonly dim: number;
  /** The item's vector, or undefined when the item has none yet. */
  get(itemId: string): Float32Array | undefined;
  /**
   * The item's stored vector without a copy, or undefined when it has none. Read-only, and valid
   * only until the source's next write (an add, remove or retraining may reuse or move the memory).
   * Optional: when present the engine reads vectors through it on hot paths instead of `get`.
   */
  view?(itemId: string): Float32Array | undefined;
  /**
   * True when every stored vector has L2 norm 1 up to float32 rounding (or is all zeros), so cosine
   * similarity is a plain dot product. Optional; absent means the engine divides by the norms itself.
   */
  readonly normalized?: boolean;
  /**
   * The `k` items most similar to `query`, best first; `score` is a similarity (cosine: higher is closer).
   * `filter` returns false for items that must not be returned.
   */
  nearest(query: Float32Array, k: number, filter?: (itemId: string) => boolean): Neighbor[];
  /**
   * The `k` items most similar to the stored item `itemId`, never itself, best first (empty when it
   * has no vector). Optional: when present the engine uses it for per-item neighbour lists, letting
   * an approximate index search less than for an arbitrary query (see `IvfIndexOptions.itemNprobe`).
   */
  neighborsOf?(itemId: string, k: number, filter?: (itemId: string) => boolean): Neighbor[];
  /**
   * Change counter of one item's vector (any value that changes whenever the vector does). With
   * `versionOf` and {@link VectorSource.generation} the engine caches each item's neighbour list and
   * reuses it until either changes; without them every request queries `nearest`.
   */
  versionOf?(itemId: string): number;
  /**
   * Changes whenever every neighbour list may have changed (e.g. the index was retrained or cleared).
   */
  readonly generation?: number;
  /** Number of vector writes (adds, updates, removes) so far; see {@link VectorSource.changedSince}. */
  readonly writeCount?: number;
  /**
   * Ids whose vectors were written after write number `writes` (oldest first, repeats allowed), or
   * undefined when the source no longer remembers that far back. Lets cached neighbour lists take
   * in new items at once instead of waiting for a refresh.
   */
  changedSince?(writes: number): string[] | undefined;
}

/**
 * Complement lists of items without behaviour (e.g. from the learned cold-item encoder): the
 * `boughtTogether` signal reads an anchor's list only while the anchor has no bought-together
 * neighbours of its own, so real co-purchases take over as soon as they exist.
 */
export interface ColdComplements {
  /** The item's complements, best first, scores in (0, 1]; undefined when it has none. */
  get(itemId: string): readonly Neighbor[] | undefined;
}

/** A text → vector encoder backed by an onnxruntime-node session. */
export interface EmbeddingEncoder {
  /** Length of every vector `encode` returns. */
  readonly dim: number;
  /**
   * Stable id of the model *and* every setting that changes its vectors
   * (dimension, seed, pooling, truncation, weights digest). Store it next to
   * each vector: when it changes, stored vectors are stale.
   */
  readonly modelId: string;
  /**
   * Encodes texts in internal batches. Returns one L2-normalized vector per
   * text, in order (an empty text yields the zero vector). Vectors of one batch
   * may be views of one buffer: keeping a single vector keeps the batch's
   * buffer alive, so copy (`slice()`) a vector you hold on to alone.
   */
  encode(texts: readonly string[]): Promise<Float32Array[]>;
  /** Releases the ONNX session. The encoder must not be used afterwards. */
  dispose(): Promise<void>;
}
