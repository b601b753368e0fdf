/**
 * `@recsys/engine/random`: the one implementation of every deterministic hash and seeded
 * pseudo-random generator in Recsys. Zero dependencies (safe to import from the engine, the server,
 * fixtures and examples alike). The same input gives the same output on every machine and Node
 * version, unlike `Math.random`, so seeded fixtures, rankings and evaluations replay exactly.
 * Not for secrets: use `node:crypto` for keys and tokens.
 *
 * Several algorithms live here because stored outputs depend on each one (generated fixtures, the
 * built-in encoder's sign table, seeded tie-breaks, evaluation splits); each keeps its own name.
 *
 * Hashes of strings (over UTF-16 code units), 32-bit unsigned results:
 * - {@link fnv1a32}: FNV-1a; cheap and stable, low bits poorly mixed.
 * - {@link fmix32}: the murmur3 finaliser, to mix any 32-bit value (e.g. `fmix32(fnv1a32(s))` before
 *   `% buckets`).
 * - {@link seededUnit}: a (seed, key) pair hashed to a float in [0, 1).
 * - {@link hashSeed}: any seed plus salts to a 32-bit seed for a generator.
 *
 * Generators (each call returns the next draw):
 * - {@link mulberry32}: floats in [0, 1); small and fast.
 * - {@link splitmix32}: 32-bit integers; used to seed other generators.
 * - {@link xorshift32}: 32-bit integers; the cheapest, 32 random bits per draw.
 * - {@link createRng}: sfc32 seeded through splitmix32, with helpers for common distributions.
 *
 * @example
 * import { createRng, fnv1a32, mulberry32 } from '@recsys/engine/random';
 * const next = mulberry32(42);
 * next(); // 0.6011037519201636 on every run
 * const rng = createRng('shop', 'sessions');
 * rng.int(10); // the same integer in [0, 10) on every run
 * fnv1a32('socks') % 5; // a stable bucket
 */

/** 2^32, to turn a 32-bit unsigned integer into a float in [0, 1). */
const UINT32 = 4_294_967_296;

/**
 * 32-bit FNV-1a over the UTF-16 code units of `text`, returned unsigned. `seed` is XORed into the
 * offset basis, so `fnv1a32(text)` is plain FNV-1a.
 * @example fnv1a32('abc') // 440920331
 */
export function fnv1a32(text: string, seed = 0): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * The murmur3 32-bit finaliser: mixes every input bit into every output bit, so `fmix32(h) % n`
 * is well spread even for power-of-two `n`. Returned unsigned.
 * @example fmix32(fnv1a32('w\u0001shoe', seed)) % buckets
 */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * A deterministic hash of (seed, key) in [0, 1): FNV-1a followed by the murmur3 finaliser. Every
 * bit of `seed` counts, up to 2^53 (timestamps and large ids are fine).
 * @example seededUnit(7, 'sku-1') // the same float in [0, 1) on every run
 */
export function seededUnit(seed: number, key: string): number {
  return fmix32(fnv1a32(key, Math.imul(seed | 0, 0x9e3779b1) ^ Math.floor(seed / UINT32))) / UINT32;
}

/**
 * mulberry32: a small, fast seeded generator of floats in [0, 1); same seed, same sequence.
 * @example const next = mulberry32(42); next(); // 0.6011037519201636
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / UINT32;
  };
}

/**
 * splitmix32: 32-bit unsigned integers from a counter stepped by the golden ratio and finalised
 * with {@link fmix32}. Good for turning one seed into several well-separated seeds.
 * @example const seeds = splitmix32(1); const [a, b] = [seeds(), seeds()];
 */
export function splitmix32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    return fmix32(state);
  };
}

/**
 * xorshift32 (shifts 13, 17, 5): 32-bit unsigned integers, 32 usable random bits per draw. `seed`
 * must not be 0 (the sequence would stay 0); mix a seed with {@link fmix32} first.
 * @example const bits = xorshift32(fmix32(fnv1a32('table', 3)) || 0x9e3779b9);
 */
export function xorshift32(seed: number): () => number {
  let s = seed;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
}

/**
 * Hashes a seed and optional salts to a 32-bit unsigned seed: FNV-1a of the values joined with
 * U+0000, then one {@link splitmix32} step.
 * @example hashSeed('shop', 'sessions', 3)
 */
export function hashSeed(seed: number | string, ...salt: Array<number | string>): number {
  return splitmix32(fnv1a32([seed, ...salt].join('\u0000')))();
}

/** A seeded generator with helpers for common distributions; see {@link createRng}. */
export interface Rng {
  /** Uniform float in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Uniform integer in [min, max]. */
  range(min: number, max: number): number;
  /** True with probability p. */
  chance(p: number): boolean;
  /** A uniformly chosen element; throws on an empty array. */
  pick<T>(values: readonly T[]): T;
  /** An element chosen with the given relative weights (same length as values). */
  weighted<T>(values: readonly T[], weights: readonly number[]): T;
  /** Standard normal draw (Box–Muller). */
  normal(): number;
  /** Exponential draw with the given mean. */
  exponential(mean: number): number;
  /** Geometric count ≥ 1 with the given mean. */
  geometric(mean: number): number;
}

/**
 * Creates a seeded generator (sfc32, seeded through splitmix32), fast enough to draw tens of
 * millions of numbers a second. Extra `salt` values derive independent streams from one seed
 * (e.g. one per session), so adding draws in one place never shifts the numbers drawn elsewhere.
 *
 * @example
 * const rng = createRng(42, 'catalog');
 * rng.int(10); // same value on every run
 */
export function createRng(seed: number | string, ...salt: Array<number | string>): Rng {
  const sm = splitmix32(hashSeed(seed, ...salt));
  let a = sm();
  let b = sm();
  let c = sm();
  let d = sm();
  const next = (): number => {
    // sfc32
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    let t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    t = (t + d) | 0;
    c = (c + t) | 0;
    return (t >>> 0) / UINT32;
  };
  for (let i = 0; i < 12; i++) next();
  const rng: Rng = {
    next,
    int: (n) => Math.floor(next() * n),
    range: (min, max) => min + Math.floor(next() * (max - min + 1)),
    chance: (p) => next() < p,
    pick<T>(values: readonly T[]): T {
      if (values.length === 0) throw new Error('pick: empty array');
      return values[Math.floor(next() * values.length)] as T;
    },
    weighted<T>(values: readonly T[], weights: readonly number[]): T {
      let total = 0;
      for (const w of weights) total += w;
      let r = next() * total;
      for (let i = 0; i < values.length; i++) {
        r -= weights[i] ?? 0;
        if (r < 0) return values[i] as T;
      }
      if (values.length === 0) throw new Error('weighted: empty array');
      return values[values.length - 1] as T;
    },
    normal() {
      const u = 1 - next();
      const v = next();
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    },
    exponential: (mean) => -Math.log(1 - next()) * mean,
    geometric(mean) {
      if (mean <= 1) return 1;
      const p = 1 / mean;
      return 1 + Math.floor(Math.log(1 - next()) / Math.log(1 - p));
    },
  };
  return rng;
}
