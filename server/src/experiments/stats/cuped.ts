/**
 * CUPED (Deng, Xu, Kohavi & Walker, "Improving the Sensitivity of Online Controlled Experiments by
 * Utilizing Pre-Experiment Data", WSDM 2013): y' = y − θ(x − x̄) with θ = cov(x, y)/var(x), where x
 * is the same unit's behaviour before the experiment. The mean is unchanged and the variance falls by
 * the share ρ² the pre-period explains, so the same test needs fewer units.
 */

/** Sums over the units of one arm, of the metric y and its pre-period covariate x. */
export interface CovariateMoments {
  n: number;
  sumY: number;
  sumYY: number;
  sumX: number;
  sumXX: number;
  sumXY: number;
}

/** Adds one unit's (y, x) to the sums. */
export function addUnit(m: CovariateMoments, y: number, x: number): void {
  m.n += 1;
  m.sumY += y;
  m.sumYY += y * y;
  m.sumX += x;
  m.sumXX += x * x;
  m.sumXY += x * y;
}

export function emptyCovariateMoments(): CovariateMoments {
  return { n: 0, sumY: 0, sumYY: 0, sumX: 0, sumXX: 0, sumXY: 0 };
}

/** θ from the arms pooled (the same θ for every arm keeps the difference unbiased). */
export function cupedTheta(arms: CovariateMoments[]): number {
  let n = 0;
  let sx = 0;
  let sy = 0;
  let sxx = 0;
  let sxy = 0;
  for (const a of arms) {
    n += a.n;
    sx += a.sumX;
    sy += a.sumY;
    sxx += a.sumXX;
    sxy += a.sumXY;
  }
  const varX = sxx - (sx * sx) / n;
  if (!(n > 1) || !(varX > 0)) return 0;
  return (sxy - (sx * sy) / n) / varX;
}

/**
 * The arm's adjusted moments (n, Σy', Σy'²) ready for {@link compareArms}, centring x on the pooled
 * mean `meanX`.
 */
export function cupedAdjustedMoments(
  arm: CovariateMoments,
  theta: number,
  meanX: number,
): { n: number; sum: number; sumSq: number } {
  // y' = y − θ(x − m): expand Σy' and Σy'² from the sums.
  const sum = arm.sumY - theta * (arm.sumX - arm.n * meanX);
  const sumSq =
    arm.sumYY -
    2 * theta * (arm.sumXY - meanX * arm.sumY) +
    theta * theta * (arm.sumXX - 2 * meanX * arm.sumX + arm.n * meanX * meanX);
  return { n: arm.n, sum, sumSq };
}

/** Pooled mean of x over the arms. */
export function pooledMeanX(arms: CovariateMoments[]): number {
  const n = arms.reduce((s, a) => s + a.n, 0);
  return n > 0 ? arms.reduce((s, a) => s + a.sumX, 0) / n : 0;
}
