import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  createRng,
  fmix32,
  fnv1a32,
  hashSeed,
  mulberry32,
  seededUnit,
  splitmix32,
  xorshift32,
} from './random';

// Pinned outputs: fixtures, the built-in encoder's sign table, seeded tie-breaks and evaluation
// baselines depend on these exact numbers, so a change here must be deliberate.
describe('@recsys/engine/random', () => {
  it('keeps mulberry32 sequences identical for a seed', () => {
    const next = mulberry32(42);
    expect([next(), next(), next()]).toEqual([0.6011037519201636, 0.44829055899754167, 0.8524657934904099]);
  });

  it('hashes strings with plain FNV-1a, optionally seeded, as unsigned 32-bit integers', () => {
    expect(fnv1a32('')).toBe(2166136261);
    expect(fnv1a32('a')).toBe(3826002220);
    expect(fnv1a32('sku-1', 42)).toBe(2121447114);
  });

  it('mixes FNV-1a with the murmur3 finaliser into well-spread buckets', () => {
    expect(fmix32(fnv1a32('sku-1', 42))).toBe(1378448793);
    const counts = new Array(8).fill(0);
    for (let i = 0; i < 8000; i++) counts[fmix32(fnv1a32(`item-${i}`)) % 8]++;
    for (const c of counts) expect(c).toBeGreaterThan(900);
  });

  it('maps (seed, key) to the same float in [0, 1), with every bit of a large seed counting', () => {
    expect(seededUnit(42, 'sku-1')).toBe(0.35622512944974005);
    expect(seededUnit(1234567890123, 'sku-1')).toBe(0.9684352478943765);
    expect(seededUnit(2 ** 32 + 1, 'a')).not.toBe(seededUnit(1, 'a'));
  });

  it('derives generator seeds and createRng streams that replay exactly', () => {
    expect(hashSeed(42, 'sku-1')).toBe(1766941683);
    const rng = createRng(42, 'x', 3);
    expect([rng.next(), rng.int(100), rng.normal(), rng.exponential(2), rng.geometric(3)]).toEqual([
      0.8166675313841552, 40, -0.732222074023397, 0.5310008064624409, 3,
    ]);
  });

  it('draws 32-bit unsigned integers from splitmix32 and xorshift32', () => {
    for (const next of [splitmix32(7), xorshift32(7)]) {
      for (let i = 0; i < 1000; i++) {
        const x = next();
        expect(Number.isInteger(x) && x >= 0 && x < 2 ** 32).toBe(true);
      }
    }
  });

  it('imports nothing, so any package (and any browser bundle) can use it', () => {
    const source = readFileSync(new URL('./random.ts', import.meta.url), 'utf8');
    expect(source).not.toMatch(/^\s*(import|export)\s[^;]*\sfrom\s/m);
  });
});
