import { describe, expect, it } from 'vitest';
import {
  addUnit,
  alwaysValidTest,
  compareArms,
  confidenceSequenceHalfWidth,
  cupedAdjustedMoments,
  cupedTheta,
  emptyCovariateMoments,
  fixedHorizonSampleSize,
  meanAndVariance,
  mixtureLikelihoodRatio,
  pooledMeanX,
  proportionMoments,
  sampleRatioMismatch,
  sequentialPowerLowerBound,
  sequentialSampleSize,
} from './index';

describe('the mixture SPRT (Johari et al. 2022, normal mixture)', () => {
  it('gives the likelihood ratio computed by hand', () => {
    // θ̂ = 0.02, V = 1e-4, τ = 0.01: Λ = sqrt(1/2) · exp(1e-4 · 4e-4 / (2 · 1e-4 · 2e-4)) = e / √2.
    expect(mixtureLikelihoodRatio(0.02, 1e-4, 0.01)).toBeCloseTo(Math.E / Math.SQRT2, 12);
    expect(alwaysValidTest(0.02, 1e-4, 0.01).pValue).toBeCloseTo(Math.SQRT2 / Math.E, 12); // 0.52026
  });

  it('puts the interval edge exactly where the ratio reaches 1/α', () => {
    // By hand: sqrt(2e-4 · (2 ln 20 + ln 2)) = sqrt(2e-4 · 6.684612) = 0.0365639.
    const half = confidenceSequenceHalfWidth(1e-4, 0.01, 0.05);
    expect(half).toBeCloseTo(0.0365639, 6);
    expect(mixtureLikelihoodRatio(half, 1e-4, 0.01)).toBeCloseTo(20, 9);
    const test = alwaysValidTest(half * 1.001, 1e-4, 0.01, 0.05);
    expect(test.significant).toBe(true);
    expect(test.ci[0]).toBeGreaterThan(0);
    expect(alwaysValidTest(half * 0.999, 1e-4, 0.01, 0.05).significant).toBe(false);
  });

  it('is wider than the fixed-horizon 95% interval, the price of reading it any day', () => {
    expect(confidenceSequenceHalfWidth(1e-4, 0.01, 0.05)).toBeGreaterThan(1.96 * 0.01);
  });
});

describe('comparing two arms', () => {
  it('reports the difference and the relative lift with the delta-method variance', () => {
    const cmp = compareArms(proportionMoments(10_000, 500), proportionMoments(10_000, 600));
    expect(cmp.controlMean).toBe(0.05);
    expect(cmp.difference.estimate).toBeCloseTo(0.01, 12);
    // Var(p̂B − p̂A) with sample variances: 0.05·0.95·10000/9999/10000 + 0.06·0.94·10000/9999/10000.
    expect(cmp.difference.standardError).toBeCloseTo(Math.sqrt((0.0475 + 0.0564) / 9_999), 12);
    expect(cmp.lift?.estimate).toBeCloseTo(0.2, 12);
  });

  it('has no lift (null, not zero) while the control has no data', () => {
    expect(compareArms(proportionMoments(0, 0), proportionMoments(1_000, 50)).lift).toBeNull();
    expect(compareArms(proportionMoments(1_000, 0), proportionMoments(1_000, 50)).lift).toBeNull();
  });

  it('computes a mean and its variance from sums', () => {
    // y = 1, 2, 3, 4: mean 2.5, sample variance 5/3, variance of the mean 5/12.
    const m = meanAndVariance({ n: 4, sum: 10, sumSq: 30 });
    expect(m.mean).toBe(2.5);
    expect(m.varianceOfMean).toBeCloseTo(5 / 12, 12);
  });
});

describe('sample-ratio mismatch', () => {
  it('matches the published example: 821,588 vs 815,482 users on a 50/50 split has p ≈ 1.8e-6', () => {
    // Kohavi, Tang & Xu, "Trustworthy Online Controlled Experiments" (2020), ch. 3.
    const check = sampleRatioMismatch([821_588, 815_482], [1, 1]);
    expect(check.pValue).toBeCloseTo(1.8e-6, 7);
    expect(check.mismatch).toBe(true);
  });

  it('computes χ² by hand for 50,000 vs 51,000 and does not flag it at 0.001', () => {
    // χ² = 2 · 500² / 50,500 = 9.90099; P(χ²₁ ≥ 9.90099) = 0.001652.
    const check = sampleRatioMismatch([50_000, 51_000], [50, 50]);
    expect(check.chiSquare).toBeCloseTo(9.90099, 5);
    expect(check.pValue).toBeCloseTo(0.001652, 6);
    expect(check.mismatch).toBe(false);
  });

  it('uses unequal weights and more than two variants', () => {
    // Expected 2000/1000/1000 for weights 2:1:1; observed exactly that → χ² = 0.
    expect(sampleRatioMismatch([2_000, 1_000, 1_000], [2, 1, 1]).chiSquare).toBe(0);
    expect(sampleRatioMismatch([2_000, 1_000, 1_000], [1, 1, 1]).mismatch).toBe(true);
  });
});

describe('planning a sample size', () => {
  it('gives the textbook fixed-horizon size: 10% → 12%, α 0.05, power 0.8 needs 3,839 per arm', () => {
    // (1.959964 + 0.841621)² · (0.1·0.9 + 0.12·0.88) / 0.02² = 7.848879 · 0.1956 / 0.0004 = 3838.1 → 3,839.
    expect(fixedHorizonSampleSize({ baseRate: 0.1, minimumDetectableEffect: 0.2 })).toBe(3_839);
  });

  it('asks the always-valid test for more units than the read-once test, and the bound holds there', () => {
    const plan = { baseRate: 0.05, minimumDetectableEffect: 0.05 };
    const n = sequentialSampleSize(plan);
    expect(n).toBeGreaterThan(fixedHorizonSampleSize(plan));
    expect(sequentialPowerLowerBound(plan, n)).toBeGreaterThanOrEqual(0.8);
    expect(sequentialPowerLowerBound(plan, n - 1)).toBeLessThan(0.8);
  });

  it('refuses a base rate outside (0, 1)', () => {
    expect(() => fixedHorizonSampleSize({ baseRate: 1.2, minimumDetectableEffect: 0.1 })).toThrow(/baseRate/);
  });
});

describe('CUPED', () => {
  it('adjusts by θ = cov(x, y)/var(x), computed by hand', () => {
    // x = 1, 2, 3, 4; y = 2, 4, 6, 9: cov = 11.5/3, var x = 5/3, θ = 2.3;
    // y' = y − 2.3(x − 2.5) = 5.45, 5.15, 4.85, 5.55 (mean 5.25, Σy'² = 110.42).
    const arm = emptyCovariateMoments();
    for (const [x, y] of [
      [1, 2],
      [2, 4],
      [3, 6],
      [4, 9],
    ] as const)
      addUnit(arm, y, x);
    const theta = cupedTheta([arm]);
    expect(theta).toBeCloseTo(2.3, 12);
    const adjusted = cupedAdjustedMoments(arm, theta, pooledMeanX([arm]));
    expect(adjusted.sum).toBeCloseTo(21, 10);
    expect(adjusted.sumSq).toBeCloseTo(5.45 ** 2 + 5.15 ** 2 + 4.85 ** 2 + 5.55 ** 2, 10);
    // Variance falls from 8.9167 to 0.0967 (ρ² of the pre-period explains the rest).
    expect(meanAndVariance(adjusted).varianceOfMean).toBeLessThan(
      meanAndVariance({ n: 4, sum: 21, sumSq: 137 }).varianceOfMean / 50,
    );
  });
});
