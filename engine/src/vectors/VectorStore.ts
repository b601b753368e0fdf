/**
 * How an {@link IvfIndex} keeps its vectors: `'float32'` (4 bytes a component, exact) or `'int8'`
 * (1 byte a component and one float32 scale per vector: a quarter of the memory).
 */
export type VectorPrecision = 'float32' | 'int8';

/** Largest magnitude of a quantized component. */
const INT8_MAX = 127;

/**
 * Unit vectors by slot, in one contiguous array, at one precision. The index, its neighbour table
 * build and item-to-item lookups all read this one copy.
 *
 * With `'int8'` each vector is stored as round(127 · x / max|x|) and a scale chosen so the stored
 * vector, read back, has L2 norm 1 again: cosine stays a plain dot product and a vector's similarity
 * to itself stays 1. The error per component is at most half a step (max|x| / 254), which at 256
 * dimensions moves a cosine by about 0.002: enough to swap near-ties in a neighbour list, not to
 * change which items are close.
 */
export class VectorStore {
  /** float32 components (`'float32'`), else undefined. */
  private f32: Float32Array | undefined;
  /** Quantized components (`'int8'`), else undefined. */
  private i8: Int8Array | undefined;
  /** Per slot, the factor turning quantized components back into the unit vector (`'int8'`). */
  private scales: Float32Array | undefined;

  constructor(
    readonly dim: number,
    readonly precision: VectorPrecision,
    private slots: number,
  ) {
    if (precision === 'int8') {
      this.i8 = new Int8Array(slots * dim);
      this.scales = new Float32Array(slots);
    } else {
      this.f32 = new Float32Array(slots * dim);
    }
  }

  /** Slots the store has room for. */
  get capacity(): number {
    return this.slots;
  }

  /** Bytes held by the vectors (and scales). */
  get byteLength(): number {
    return (this.f32?.byteLength ?? 0) + (this.i8?.byteLength ?? 0) + (this.scales?.byteLength ?? 0);
  }

  /** Stores `vector · factor` (the caller's normalisation) at `slot`. */
  put(slot: number, vector: ArrayLike<number>, factor: number): void {
    const { dim } = this;
    const off = slot * dim;
    if (this.f32 !== undefined) {
      for (let i = 0; i < dim; i++) this.f32[off + i] = vector[i]! * factor;
      return;
    }
    const i8 = this.i8!;
    let max = 0;
    for (let i = 0; i < dim; i++) max = Math.max(max, Math.abs(vector[i]!));
    if (!(max > 0) || !(factor > 0)) {
      i8.fill(0, off, off + dim);
      this.scales![slot] = 0;
      return;
    }
    const step = INT8_MAX / max;
    let norm = 0;
    for (let i = 0; i < dim; i++) {
      const q = Math.round(vector[i]! * step);
      i8[off + i] = q;
      norm += q * q;
    }
    this.scales![slot] = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  }

  /** Dot product of `q` (from `qOff`, `dim` long) with the vector at `slot`. */
  dot(q: Float32Array, qOff: number, slot: number): number {
    const { dim } = this;
    const off = slot * dim;
    // Four accumulators let V8 pipeline the multiply-adds.
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let i = 0;
    const a = this.f32 ?? this.i8!;
    for (; i + 3 < dim; i += 4) {
      s0 += q[qOff + i]! * a[off + i]!;
      s1 += q[qOff + i + 1]! * a[off + i + 1]!;
      s2 += q[qOff + i + 2]! * a[off + i + 2]!;
      s3 += q[qOff + i + 3]! * a[off + i + 3]!;
    }
    for (; i < dim; i++) s0 += q[qOff + i]! * a[off + i]!;
    const s = s0 + s1 + s2 + s3;
    return this.scales === undefined ? s : s * this.scales[slot]!;
  }

  /** Dot product of the vectors at slots `a` and `b`. */
  dotSlots(a: number, b: number): number {
    if (this.f32 !== undefined) return this.dot(this.f32, a * this.dim, b);
    const { dim } = this;
    const i8 = this.i8!;
    const aOff = a * dim;
    const bOff = b * dim;
    // Integer products: exact in doubles, so the order of the sum does not matter.
    let s = 0;
    for (let i = 0; i < dim; i++) s += i8[aOff + i]! * i8[bOff + i]!;
    return s * this.scales![a]! * this.scales![b]!;
  }

  /** Writes the (unit) vector at `slot` into `target` from `offset`. */
  read(slot: number, target: Float32Array, offset = 0): Float32Array {
    const { dim } = this;
    const off = slot * dim;
    if (this.f32 !== undefined) {
      target.set(this.f32.subarray(off, off + dim), offset);
      return target;
    }
    const i8 = this.i8!;
    const scale = this.scales![slot]!;
    for (let i = 0; i < dim; i++) target[offset + i] = i8[off + i]! * scale;
    return target;
  }

  /**
   * The float32 vector at `slot` itself when the store is float32 (no copy: valid until the next
   * write), else a fresh float32 copy of it.
   */
  view(slot: number): Float32Array {
    const { dim } = this;
    if (this.f32 !== undefined) return this.f32.subarray(slot * dim, (slot + 1) * dim);
    return this.read(slot, new Float32Array(dim));
  }

  /** Copies the vector at `from`'s slot `fromSlot` to this store's `toSlot` (same dim and precision). */
  copySlot(from: VectorStore, fromSlot: number, toSlot: number): void {
    const { dim } = this;
    if (this.f32 !== undefined) {
      this.f32.set(from.f32!.subarray(fromSlot * dim, (fromSlot + 1) * dim), toSlot * dim);
      return;
    }
    this.i8!.set(from.i8!.subarray(fromSlot * dim, (fromSlot + 1) * dim), toSlot * dim);
    this.scales![toSlot] = from.scales![fromSlot]!;
  }

  /** A store of `slots` slots holding this one's first slots. */
  resized(slots: number): VectorStore {
    const next = new VectorStore(this.dim, this.precision, slots);
    const n = Math.min(slots, this.slots);
    if (this.f32 !== undefined) next.f32!.set(this.f32.subarray(0, n * this.dim));
    else {
      next.i8!.set(this.i8!.subarray(0, n * this.dim));
      next.scales!.set(this.scales!.subarray(0, n));
    }
    return next;
  }

  /** The arrays a snapshot writes: the components and, for int8, the scales. */
  arrays(): { components: Float32Array | Int8Array; scales: Float32Array | undefined } {
    return { components: (this.f32 ?? this.i8)!, scales: this.scales };
  }
}
