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
