import chisquareCdf from '@stdlib/stats-base-dists-chisquare-cdf';
import normalCdf from '@stdlib/stats-base-dists-normal-cdf';
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';

/** Standard normal CDF, Φ(x). */
export const phi = (x: number): number => normalCdf(x, 0, 1);

/** Standard normal quantile, Φ⁻¹(p). */
export const phiInverse = (p: number): number => normalQuantile(p, 0, 1);

/** Upper tail of a chi-square distribution with `df` degrees of freedom: P(X ≥ x). */
export const chiSquareSurvival = (x: number, df: number): number => 1 - chisquareCdf(x, df);
