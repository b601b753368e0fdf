/**
 * Vectors are stored as bytea (little-endian float32), because the target
 * PostgreSQL has no pgvector. These helpers fix the byte order explicitly so
 * rows written on one host read back the same on any other.
 */

/** Encodes a vector as little-endian float32 bytes (4 bytes per component). */
export function vectorToBytes(vector: Float32Array): Uint8Array {
  const out = new Uint8Array(vector.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < vector.length; i++) view.setFloat32(i * 4, vector[i]!, true);
  return out;
}

/**
 * Decodes little-endian float32 bytes. Copies, so the result never aliases a
 * driver buffer.
 *
 * @param expectedDim When given, a length mismatch throws instead of returning a wrong-sized vector.
 * @example bytesToVector(row.embedding, encoder.dim)
 */
export function bytesToVector(bytes: Uint8Array, expectedDim?: number): Float32Array {
  if (bytes.length % 4 !== 0) {
    throw new RangeError(`bytesToVector: ${bytes.length} bytes is not a whole number of float32 values`);
  }
  const dim = bytes.length / 4;
  if (expectedDim !== undefined && dim !== expectedDim) {
    throw new RangeError(
      `bytesToVector: got ${dim} floats but expected ${expectedDim}; the vector was made by another model — re-embed it`,
    );
  }
  const out = new Float32Array(dim);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < dim; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}
