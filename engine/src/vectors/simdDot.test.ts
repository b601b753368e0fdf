import { describe, expect, it } from 'vitest';
import { simdDotArena } from './simdDot';

const vector = (seed: number, length: number) =>
  Float32Array.from({ length }, (_, i) => Math.sin(seed * 12.9898 + i * 78.233) * 0.5);
const exactDot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i]!, 0);

describe('simdDotArena', () => {
  it('is available on this Node (WebAssembly SIMD)', () => {
    expect(simdDotArena()).not.toBeNull();
  });

  it('computes dot products equal to a float64 sum within float32 rounding, across memory growth', () => {
    const arena = simdDotArena()!;
    arena.reset();
    // 300 × 384 floats = 450 KB: several pages past the first, so the memory grows while putting.
    const vectors = Array.from({ length: 300 }, (_, i) => vector(i + 1, 384));
    const offsets = vectors.map((v) => arena.put(v));
    for (const [i, j] of [
      [0, 1],
      [0, 299],
      [150, 151],
      [299, 298],
      [7, 7],
    ] as const) {
      const expected = exactDot(vectors[i]!, vectors[j]!);
      expect(Math.abs(arena.dot(offsets[i]!, offsets[j]!, 384) - expected)).toBeLessThan(1e-4);
    }
  });

  it('starts over on reset and says so through its generation', () => {
    const arena = simdDotArena()!;
    arena.reset();
    const before = arena.generation;
    const first = arena.put(vector(1, 8));
    arena.reset();
    expect(arena.generation).toBe(before + 1);
    expect(arena.put(vector(2, 8))).toBe(first);
  });
});
