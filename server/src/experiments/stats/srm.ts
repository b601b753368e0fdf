import { chiSquareSurvival } from './distributions';

/** The result of a sample-ratio-mismatch check. */
export interface SampleRatioCheck {
  /** Pearson's χ² statistic of observed against expected counts. */
  chiSquare: number;
  degreesOfFreedom: number;
  pValue: number;
  /** True when pValue < threshold: the split is not what was configured, so do not trust the results. */
  mismatch: boolean;
}

/**
 * Sample-ratio mismatch: a χ² goodness-of-fit test of the units seen per variant against the
 * configured allocation. A strict threshold (0.001 by default, as Kohavi, Tang & Xu recommend in
 * "Trustworthy Online Controlled Experiments", ch. 21) because it runs on every look.
 *
 * @param observed - units per variant
 * @param weights - configured allocation per variant (any positive scale)
 */
export function sampleRatioMismatch(
  observed: number[],
  weights: number[],
  threshold = 0.001,
): SampleRatioCheck {
  if (observed.length !== weights.length || observed.length < 2) {
    throw new Error('sampleRatioMismatch: give one observed count and one weight per variant (two or more)');
  }
  const total = observed.reduce((s, x) => s + x, 0);
  const weightSum = weights.reduce((s, x) => s + x, 0);
  const df = observed.length - 1;
  if (total === 0) return { chiSquare: 0, degreesOfFreedom: df, pValue: 1, mismatch: false };
  let chiSquare = 0;
  for (let i = 0; i < observed.length; i++) {
    const expected = (total * (weights[i] ?? 0)) / weightSum;
    if (expected > 0) chiSquare += ((observed[i] ?? 0) - expected) ** 2 / expected;
  }
  const pValue = chiSquareSurvival(chiSquare, df);
  return { chiSquare, degreesOfFreedom: df, pValue, mismatch: pValue < threshold };
}
