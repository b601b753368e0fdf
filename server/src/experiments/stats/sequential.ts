/**
 * Always-valid inference for a difference: the mixture sequential probability ratio test (mSPRT) with
 * a normal mixture, as in Johari, Pekelis & Walsh, "Always Valid Inference: Continuous Monitoring of
 * A/B Tests" (Operations Research 70(3), 2022; KDD 2017 "Peeking at A/B tests"), equivalently the
 * normal-mixture confidence sequence of Howard, Ramdas, McAuliffe & Sekhon (Annals of Statistics
 * 49(2), 2021, eq. 14).
 *
 * For an estimate θ̂ whose variance is V (V shrinks like 1/n) and a N(0, τ²) mixture over the true
 * effect, the likelihood ratio against θ = 0 is
 *
 *     Λ = sqrt(V / (V + τ²)) · exp(τ² θ̂² / (2 V (V + τ²)))
 *
 * and under θ = 0 it is a nonnegative martingale, so P(Λ ever reaches 1/α) ≤ α (Ville's
 * inequality). That is why p = min(1, 1/Λ) can be read after every day without inflating the error
 * rate, and why the interval below, which is every θ₀ the same test would not reject, covers the
 * true effect at all times at once with probability ≥ 1 − α.
 */

/** The outcome of one always-valid look at an estimate. */
export interface SequentialTest {
  /** The estimate θ̂. */
  estimate: number;
  /** Its standard error √V. */
  standardError: number;
  /** Always-valid p-value against "no difference": min(1, 1/Λ). */
  pValue: number;
  /** Always-valid (1 − α) interval for the true value. */
  ci: [number, number];
  /** Whether the interval excludes 0 (equivalently, pValue ≤ α). */
  significant: boolean;
}

/** The mixture likelihood ratio Λ of an estimate `estimate` with variance `variance` (see above). */
export function mixtureLikelihoodRatio(estimate: number, variance: number, tau: number): number {
  const t2 = tau * tau;
  return (
    Math.sqrt(variance / (variance + t2)) *
    Math.exp((t2 * estimate * estimate) / (2 * variance * (variance + t2)))
  );
}

/** Half-width of the always-valid (1 − α) interval: where Λ(θ̂ − θ₀) reaches 1/α. */
export function confidenceSequenceHalfWidth(variance: number, tau: number, alpha: number): number {
  const t2 = tau * tau;
  return Math.sqrt(
    ((variance * (variance + t2)) / t2) * (2 * Math.log(1 / alpha) + Math.log((variance + t2) / variance)),
  );
}

/**
 * One always-valid look at an estimate.
 *
 * @param tau - standard deviation of the mixture over effects, on the estimate's scale: the size of
 *   effect the test is most sensitive to (the planner's minimum detectable effect is a good choice).
 * @param alpha - error rate over all looks; default 0.05.
 */
export function alwaysValidTest(
  estimate: number,
  variance: number,
  tau: number,
  alpha = 0.05,
): SequentialTest {
  if (!(variance > 0) || !Number.isFinite(variance) || !Number.isFinite(estimate)) {
    return { estimate, standardError: Number.NaN, pValue: 1, ci: [-Infinity, Infinity], significant: false };
  }
  const lr = mixtureLikelihoodRatio(estimate, variance, tau);
  const pValue = Math.min(1, 1 / lr);
  const half = confidenceSequenceHalfWidth(variance, tau, alpha);
  return {
    estimate,
    standardError: Math.sqrt(variance),
    pValue,
    ci: [estimate - half, estimate + half],
    significant: pValue <= alpha,
  };
}
