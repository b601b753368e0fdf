/**
 * Dot products of float32 vectors with WebAssembly SIMD (four lanes, two accumulators).
 *
 * MMR diversity compares each candidate with the items already picked: ~170 dot products of
 * 256 dims per request, the largest single cost of a recommendation. Scalar JavaScript does about
 * 1.6 ns per multiply-add there; f32x4 lanes do several times better. The module is a few dozen
 * bytes assembled below, so nothing is downloaded or built.
 *
 * Vectors are copied into the module's memory (an arena the caller resets per request) and
 * compared by byte offset. Sums are accumulated in float32, so results differ from a float64
 * accumulation in the last few bits.
 */

/** `(func (param $a i32) (param $b i32) (param $n i32) (result f32))`: Σ a[i]·b[i], n a multiple of 8. */
// biome-ignore format: one instruction per line
const DOT_BODY = [
  0x02, 0x01, 0x7f, 0x02, 0x7b,       // locals: $end i32; $acc0, $acc1 v128
  0x20, 0x00, 0x20, 0x02, 0x41, 0x02, 0x74, 0x6a, 0x21, 0x03, // $end = $a + ($n << 2)
  0x02, 0x40,                         // block
  0x03, 0x40,                         //   loop
  0x20, 0x00, 0x20, 0x03, 0x4f, 0x0d, 0x01, // br_if 1 ($a >= $end)
  0x20, 0x04,                         //     $acc0
  0x20, 0x00, 0xfd, 0x00, 0x02, 0x00, //     v128.load $a
  0x20, 0x01, 0xfd, 0x00, 0x02, 0x00, //     v128.load $b
  0xfd, 0xe6, 0x01, 0xfd, 0xe4, 0x01, //     f32x4.mul, f32x4.add
  0x21, 0x04,                         //     → $acc0
  0x20, 0x05,                         //     $acc1
  0x20, 0x00, 0xfd, 0x00, 0x02, 0x10, //     v128.load offset=16 $a
  0x20, 0x01, 0xfd, 0x00, 0x02, 0x10, //     v128.load offset=16 $b
  0xfd, 0xe6, 0x01, 0xfd, 0xe4, 0x01, //     f32x4.mul, f32x4.add
  0x21, 0x05,                         //     → $acc1
  0x20, 0x00, 0x41, 0x20, 0x6a, 0x21, 0x00, // $a += 32
  0x20, 0x01, 0x41, 0x20, 0x6a, 0x21, 0x01, // $b += 32
  0x0c, 0x00,                         //     br 0
  0x0b, 0x0b,                         //   end loop, end block
  0x20, 0x04, 0x20, 0x05, 0xfd, 0xe4, 0x01, 0x22, 0x04, // $acc0 = $acc0 + $acc1
  0xfd, 0x1f, 0x00,                   // lane 0
  0x20, 0x04, 0xfd, 0x1f, 0x01, 0x92, // + lane 1
  0x20, 0x04, 0xfd, 0x1f, 0x02, 0x92, // + lane 2
  0x20, 0x04, 0xfd, 0x1f, 0x03, 0x92, // + lane 3
  0x0b,                               // end
];

function section(id: number, body: number[]): number[] {
  return [id, body.length, ...body];
}

function moduleBytes(): Uint8Array<ArrayBuffer> {
  return Uint8Array.from([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, [0x01, 0x60, 0x03, 0x7f, 0x7f, 0x7f, 0x01, 0x7d]), // type: (i32, i32, i32) → f32
    ...section(3, [0x01, 0x00]), // one function of type 0
    ...section(5, [0x01, 0x00, 0x01]), // one memory, 1 page to start
    ...section(7, [0x02, 0x03, 0x64, 0x6f, 0x74, 0x00, 0x00, 0x03, 0x6d, 0x65, 0x6d, 0x02, 0x00]), // dot, mem
    ...section(10, [0x01, DOT_BODY.length, ...DOT_BODY]),
  ]);
}

/** A vector arena in WebAssembly memory with a SIMD dot product over it. */
export interface SimdDotArena {
  /** Forgets every vector put so far (their offsets become invalid). */
  reset(): void;
  /** Copies `vector` (length a multiple of 8) into the arena; returns its byte offset. */
  put(vector: Float32Array): number;
  /** Dot product of two vectors put since the last reset, `length` floats each. */
  dot(a: number, b: number, length: number): number;
  /** Bumped by every reset, so holders of offsets can tell theirs are stale. */
  readonly generation: number;
}

let arena: SimdDotArena | null | undefined;

/** The process-wide arena, or null where WebAssembly SIMD is unavailable (callers use scalar code). */
export function simdDotArena(): SimdDotArena | null {
  if (arena !== undefined) return arena;
  arena = null;
  const bytes = moduleBytes();
  if (typeof WebAssembly === 'undefined' || !WebAssembly.validate(bytes)) return arena;
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes));
  const memory = instance.exports.mem as WebAssembly.Memory;
  const dot = instance.exports.dot as (a: number, b: number, n: number) => number;
  let floats = new Float32Array(memory.buffer);
  let used = 0;
  let generation = 0;
  arena = {
    get generation() {
      return generation;
    },
    reset() {
      used = 0;
      generation++;
    },
    put(vector) {
      const bytes = vector.length * 4;
      if (used + bytes > memory.buffer.byteLength) {
        memory.grow(Math.ceil((used + bytes - memory.buffer.byteLength) / 65_536));
        // Growing detaches the old view.
        floats = new Float32Array(memory.buffer);
      }
      floats.set(vector, used / 4);
      const offset = used;
      used += bytes;
      return offset;
    },
    dot,
  };
  return arena;
}
