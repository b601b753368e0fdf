import { describe, expect, it } from 'vitest';
import { shouldTrace } from './storedTrace';

describe('trace sampling', () => {
  const share = (rate: number | undefined, forced = false) => {
    let traced = 0;
    for (let i = 0; i < 20_000; i++) if (shouldTrace(rate, forced)) traced++;
    return traced / 20_000;
  };

  it('traces every list when the namespace sets no rate, or a rate of 1', () => {
    expect(share(undefined)).toBe(1);
    expect(share(1)).toBe(1);
  });

  it('traces about the given share of lists, and none at 0', () => {
    expect(share(0)).toBe(0);
    expect(share(0.1)).toBeGreaterThan(0.08);
    expect(share(0.1)).toBeLessThan(0.12);
    expect(share(0.5)).toBeGreaterThan(0.47);
    expect(share(0.5)).toBeLessThan(0.53);
  });

  it('always traces a list asked for with explain or the x-recsys-trace header', () => {
    expect(share(0, true)).toBe(1);
    expect(share(0.01, true)).toBe(1);
  });
});
