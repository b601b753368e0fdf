import { describe, expect, it } from 'vitest';
import { shouldTrace } from './storedTrace';

describe('trace sampling', () => {
  const share = (rate: number | undefined, forced = false) => {
    let traced = 0;
    for (let i = 0; i < 20_000; i++) if (shouldTrace(rate, forced)) traced++;
    return traced / 20_000;
  };

  it('traces every list at a rate of 1, however many', () => {
    expect(share(1)).toBe(1);
  });

  it('without a rate, traces every list of a small shop and at most 10 a second of a busy one', () => {
    const t0 = 1_000_000;
    // 10 lists a second: all traced.
    for (let i = 0; i < 50; i++) expect(shouldTrace(undefined, false, 'small', t0 + i * 100)).toBe(true);
    // 1,000 lists in one second: 10 traced (the bucket is one second deep), the rest not.
    let traced = 0;
    for (let i = 0; i < 1_000; i++) if (shouldTrace(undefined, false, 'busy', t0 + i)) traced++;
    expect(traced).toBeGreaterThanOrEqual(10);
    expect(traced).toBeLessThanOrEqual(20);
    // Namespaces have budgets of their own, and explain is always traced.
    expect(shouldTrace(undefined, false, 'other', t0 + 999)).toBe(true);
    expect(shouldTrace(undefined, true, 'busy', t0 + 999)).toBe(true);
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
