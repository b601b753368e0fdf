import jStat from 'jstat';
import { describe, expect, it } from 'vitest';
import {
  allocationWeights,
  clampToMinimums,
  initialWeights,
  probabilityBest,
  thompsonAllocation,
} from './thompson';

/**
 * P(B > A) for A ~ Beta(a, b), B ~ Beta(c, d) with integer c, in closed form (Evan Miller, "Formulas
 * for Bayesian A/B Testing", 2015): Σ_{i=0}^{c-1} B(a+i, b+d) / ((d+i) B(1+i, d) B(a, b)).
 */
function exactProbabilityBBeatsA(a: number, b: number, c: number, d: number): number {
  const lnB = (x: number, y: number) => jStat.betaln(x, y);
  let total = 0;
  for (let i = 0; i < c; i++) {
    total += Math.exp(lnB(a + i, b + d) - Math.log(d + i) - lnB(1 + i, d) - lnB(a, b));
  }
  return total;
}

describe('Thompson allocation', () => {
  it('gives each arm its probability of being best: 2/3 for Beta(2,1) against a uniform, 1/3 each for three uniforms', () => {
    // One success in one trial: Beta(2, 1), density 2x; P(X > U) = ∫ 2x · x dx = 2/3.
    const [better, uniform] = probabilityBest(
      [
        { trials: 1, successes: 1 },
        { trials: 0, successes: 0 },
      ],
      7,
      40_000,
    );
    expect(better).toBeCloseTo(2 / 3, 2);
    expect(uniform).toBeCloseTo(1 / 3, 2);
    const three = probabilityBest(
      [
        { trials: 0, successes: 0 },
        { trials: 0, successes: 0 },
        { trials: 0, successes: 0 },
      ],
      7,
      40_000,
    );
    for (const p of three) expect(Math.abs(p - 1 / 3)).toBeLessThan(0.01);
  });

  it("matches Evan Miller's closed form for P(B beats A) with 20/100 against 30/100", () => {
    const exact = exactProbabilityBBeatsA(21, 81, 31, 71);
    expect(exact).toBeGreaterThan(0.9);
    expect(exact).toBeLessThan(1);
    const [, b] = probabilityBest(
      [
        { trials: 100, successes: 20 },
        { trials: 100, successes: 30 },
      ],
      11,
      40_000,
    );
    // Monte-Carlo standard error ≈ √(p(1−p)/40 000) ≈ 0.0012: 4σ.
    expect(Math.abs((b ?? 0) - exact)).toBeLessThan(0.005);
  });

  it('sends most traffic to an arm that is clearly better, leaving the control its holdout', () => {
    const { probabilityBest: p, weights } = thompsonAllocation(
      [
        { trials: 1_000, successes: 50 },
        { trials: 1_000, successes: 100 },
      ],
      { seed: 1, holdout: 0.1, floor: 0.05 },
    );
    expect(p[1]).toBe(1);
    // The control keeps exactly its holdout (0.1 > the floor), the better arm the rest.
    expect(weights[0]).toBeCloseTo(0.1, 12);
    expect(weights[1]).toBeCloseTo(0.9, 12);
  });

  it('raises an arm with no chance to the floor and takes that traffic from the others, never from the holdout', () => {
    const { weights } = thompsonAllocation(
      [
        { trials: 2_000, successes: 100 },
        { trials: 2_000, successes: 100 },
        { trials: 2_000, successes: 300 },
      ],
      { seed: 3, holdout: 0.2, floor: 0.1 },
    );
    // By hand: P(best) ≈ (0, 0, 1) → raw (0.2, 0, 0.8); arm 1 to its floor 0.1 leaves 0.9 to share
    // as 0.2 : 0.8, which would put the control at 0.18 < 0.2, so the control is pinned at 0.2 and
    // arm 2 gets 0.7.
    expect(weights[0]).toBeCloseTo(0.2, 12);
    expect(weights[1]).toBeCloseTo(0.1, 12);
    expect(weights[2]).toBeCloseTo(0.7, 12);
  });

  it('keeps equal arms near an equal split, the holdout added to the control', () => {
    const arms = [
      { trials: 5_000, successes: 250 },
      { trials: 5_000, successes: 250 },
    ];
    const plain = thompsonAllocation(arms, { seed: 5 });
    expect(Math.abs((plain.weights[0] ?? 0) - 0.5)).toBeLessThan(0.02);
    const held = thompsonAllocation(arms, { seed: 5, holdout: 0.2 });
    // 0.2 pinned + 0.8 × ½ for the control, 0.8 × ½ for the other.
    expect(Math.abs((held.weights[0] ?? 0) - 0.6)).toBeLessThan(0.02);
    expect(Math.abs((held.weights[1] ?? 0) - 0.4)).toBeLessThan(0.02);
    for (const w of [...plain.weights, ...held.weights]) expect(w).toBeGreaterThan(0);
    expect(held.weights.reduce((s, w) => s + w, 0)).toBeCloseTo(1, 12);
  });

  it('gives the same allocation for the same evidence and seed, and a fresh draw for another seed', () => {
    const arms = [
      { trials: 300, successes: 30 },
      { trials: 300, successes: 33 },
      { trials: 300, successes: 28 },
    ];
    const a = thompsonAllocation(arms, { seed: 42, holdout: 0.1, floor: 0.05 });
    const b = thompsonAllocation(arms, { seed: 42, holdout: 0.1, floor: 0.05 });
    const c = thompsonAllocation(arms, { seed: 43, holdout: 0.1, floor: 0.05 });
    expect(b).toEqual(a);
    expect(c.probabilityBest).not.toEqual(a.probabilityBest);
    // The seeded source is only borrowed: jStat goes back to Math.random.
    expect(jStat._random_fn).toBe(Math.random);
  });

  it('starts a bandit with the holdout on the control and the rest split evenly', () => {
    const w = initialWeights(3, 0.1, 0.05);
    expect(w[0]).toBeCloseTo(0.1 + 0.9 / 3, 12);
    expect(w[1]).toBeCloseTo(0.3, 12);
    expect(w[2]).toBeCloseTo(0.3, 12);
  });

  it('water-fills minimums: arms below them are raised and the rest shrink in proportion', () => {
    expect(clampToMinimums([0.5, 0.5], [0.1, 0.1])).toEqual([0.5, 0.5]);
    const w = clampToMinimums([0.9, 0.1, 0], [0.05, 0.2, 0.2]);
    expect(w[1]).toBeCloseTo(0.2, 12);
    expect(w[2]).toBeCloseTo(0.2, 12);
    expect(w[0]).toBeCloseTo(0.6, 12);
    // Free arms without any share split what is left evenly.
    const even = clampToMinimums([1, 0, 0], [0.5, 0, 0]);
    expect(even[0]).toBeCloseTo(1, 12);
    const floors = allocationWeights([0, 0, 1], 0, 0.3);
    expect(floors.map((x) => Number(x.toFixed(12)))).toEqual([0.3, 0.3, 0.4]);
  });

  it('refuses a holdout and floor that need more than all the traffic', () => {
    expect(() => allocationWeights([0.5, 0.5, 0], 0.6, 0.3)).toThrow(/exceed 1/);
  });
});
