import { alwaysValidTest, type SequentialTest } from './sequential';

/** Per-unit sums of one arm for a metric: enough for its mean and variance. */
export interface ArmMoments {
  /** Units (visitors, lists). */
  n: number;
  /** Σ y over units. */
  sum: number;
  /** Σ y² over units (for a 0/1 metric, equal to `sum`). */
  sumSq: number;
}

/** Mean and the variance of that mean. */
export function meanAndVariance(arm: ArmMoments): { mean: number; varianceOfMean: number } {
  if (arm.n <= 0) return { mean: Number.NaN, varianceOfMean: Number.NaN };
  const mean = arm.sum / arm.n;
  // Sample variance (n − 1); with one unit there is no spread to estimate.
  const variance = arm.n > 1 ? Math.max(0, (arm.sumSq - arm.n * mean * mean) / (arm.n - 1)) : Number.NaN;
  return { mean, varianceOfMean: variance / arm.n };
}

/** A 0/1 metric's moments from a count of successes. */
export function proportionMoments(n: number, successes: number): ArmMoments {
  return { n, sum: successes, sumSq: successes };
}

/** Treatment against control on one metric. */
export interface Comparison {
  controlMean: number;
  treatmentMean: number;
  /** Treatment − control, with an always-valid interval and p-value. */
  difference: SequentialTest;
  /**
   * Relative lift treatment/control − 1, with an always-valid interval (delta method for the ratio).
   * `null` while the control has no data (no units, or a mean of zero): a lift over nothing is not
   * zero, it is unknown.
   */
  lift: SequentialTest | null;
}

/** Options of {@link compareArms}. */
export interface CompareOptions {
  /**
   * The relative effect the test is tuned for (the mixture's spread, τ, on the lift's scale); the
   * absolute difference uses τ = this × the control mean.
   * @default 0.05
   */
  minimumDetectableEffect?: number;
  /** Error rate over every look. @default 0.05 */
  alpha?: number;
}

/**
 * Compares two arms with always-valid inference for the difference and the relative lift.
 *
 * @example
 * compareArms(proportionMoments(10_000, 500), proportionMoments(10_000, 560))
 */
export function compareArms(
  control: ArmMoments,
  treatment: ArmMoments,
  options: CompareOptions = {},
): Comparison {
  const mde = options.minimumDetectableEffect ?? 0.05;
  const alpha = options.alpha ?? 0.05;
  const a = meanAndVariance(control);
  const b = meanAndVariance(treatment);
  const diff = b.mean - a.mean;
  const diffVariance = a.varianceOfMean + b.varianceOfMean;
  const scale = Number.isFinite(a.mean) && a.mean !== 0 ? Math.abs(a.mean) : 1;
  const difference = alwaysValidTest(diff, diffVariance, mde * scale, alpha);
  let lift: SequentialTest | null = null;
  if (control.n > 0 && Number.isFinite(a.mean) && a.mean !== 0) {
    // Delta method for mB/mA: Var ≈ Var(mB)/mA² + mB²·Var(mA)/mA⁴.
    const liftVariance = b.varianceOfMean / a.mean ** 2 + (b.mean ** 2 * a.varianceOfMean) / a.mean ** 4;
    lift = alwaysValidTest(b.mean / a.mean - 1, liftVariance, mde, alpha);
  }
  return { controlMean: a.mean, treatmentMean: b.mean, difference, lift };
}
