import { describe, expect, it } from 'vitest';
import { simulateExperiments } from './simulateExperiments';

/** Three binomial standard deviations of a share estimated from `runs` runs around `p`. */
const tolerance = (p: number, runs: number) => 3 * Math.sqrt((p * (1 - p)) / runs);

describe('simulated experiments read every day', () => {
  it('keeps the A/A false-positive share of the always-valid test at or under 5%, far under the peeked z-test', () => {
    const runs = 300;
    const result = simulateExperiments({ runs, days: 30, seed: 7 });
    expect(result.sequentialSignificantShare).toBeLessThanOrEqual(0.05 + tolerance(0.05, runs));
    // Thirty looks at a 5% test: about a quarter of A/A tests "win"; well above 10% in any case.
    expect(result.peekedZTestSignificantShare).toBeGreaterThan(0.1 + tolerance(0.1, runs));
  });

  it('reaches 80% power at the planned sample size for a planted +5% lift', () => {
    const runs = 200;
    const result = simulateExperiments({ runs, days: 30, effect: 0.05, seed: 11 });
    expect(result.plannedPerArm).toBeGreaterThan(result.fixedHorizonPerArm ?? Infinity);
    expect(result.sequentialSignificantShare).toBeGreaterThanOrEqual(0.8 - tolerance(0.8, runs));
  });

  it('is reproducible from its seed', () => {
    const a = simulateExperiments({ runs: 50, days: 10, seed: 3 });
    const b = simulateExperiments({ runs: 50, days: 10, seed: 3 });
    expect({ ...a, elapsedMs: 0 }).toEqual({ ...b, elapsedMs: 0 });
  });
});
