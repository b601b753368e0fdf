import jStat from 'jstat';

/** Standard normal CDF, Φ(x). */
export const phi = (x: number): number => jStat.normal.cdf(x, 0, 1);

/** Standard normal quantile, Φ⁻¹(p). */
export const phiInverse = (p: number): number => jStat.normal.inv(p, 0, 1);

/** Upper tail of a chi-square distribution with `df` degrees of freedom: P(X ≥ x). */
export const chiSquareSurvival = (x: number, df: number): number => 1 - jStat.chisquare.cdf(x, df);
