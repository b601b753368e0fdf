import { phi, phiInverse } from './distributions';
import { confidenceSequenceHalfWidth } from './sequential';

/** Options of the sample-size planners. */
export interface PlanOptions {
  /** The control's conversion rate, 0–1. */
  baseRate: number;
  /** Relative lift to detect, e.g. 0.05 for +5%. */
  minimumDetectableEffect: number;
  /** @default 0.05 */
  alpha?: number;
  /** @default 0.8 */
  power?: number;
}

/** Variance of the relative lift's estimate with `n` units per arm (delta method, as in compareArms). */
function liftVariance(baseRate: number, effect: number, n: number): number {
  const pA = baseRate;
  const pB = baseRate * (1 + effect);
  const varA = (pA * (1 - pA)) / n;
  const varB = (pB * (1 - pB)) / n;
  return varB / pA ** 2 + (pB ** 2 * varA) / pA ** 4;
}

function checkPlan(o: PlanOptions) {
  if (!(o.baseRate > 0 && o.baseRate < 1)) throw new Error('baseRate must be between 0 and 1 (exclusive)');
  const pB = o.baseRate * (1 + o.minimumDetectableEffect);
  if (!(o.minimumDetectableEffect !== 0 && pB > 0 && pB < 1)) {
    throw new Error('minimumDetectableEffect must be non-zero and keep the treated rate between 0 and 1');
  }
}

/**
 * Units per arm for a classic fixed-horizon two-sided z-test of two proportions (unpooled variance):
 * n = (z₁₋α/₂ + z_power)² · (p₁(1−p₁) + p₂(1−p₂)) / (p₂ − p₁)². Valid only if the result is read once.
 */
export function fixedHorizonSampleSize(o: PlanOptions): number {
  checkPlan(o);
  const alpha = o.alpha ?? 0.05;
  const power = o.power ?? 0.8;
  const p1 = o.baseRate;
  const p2 = o.baseRate * (1 + o.minimumDetectableEffect);
  const z = phiInverse(1 - alpha / 2) + phiInverse(power);
  return Math.ceil((z * z * (p1 * (1 - p1) + p2 * (1 - p2))) / (p2 - p1) ** 2);
}

/**
 * Power of the always-valid test (mixture τ = the effect) at `n` units per arm, counting only a
 * rejection at the last look; peeking earlier can only add rejections, so this is a lower bound.
 */
export function sequentialPowerLowerBound(o: PlanOptions, n: number): number {
  const alpha = o.alpha ?? 0.05;
  const effect = o.minimumDetectableEffect;
  const v = liftVariance(o.baseRate, effect, n);
  const half = confidenceSequenceHalfWidth(v, Math.abs(effect), alpha);
  const sd = Math.sqrt(v);
  return phi((Math.abs(effect) - half) / sd) + phi((-Math.abs(effect) - half) / sd);
}

/**
 * Units per arm at which the always-valid test reaches `power` for the effect, even when only the
 * last look is counted. Monitored daily, it usually stops earlier.
 */
export function sequentialSampleSize(o: PlanOptions): number {
  checkPlan(o);
  const power = o.power ?? 0.8;
  let lo = 2;
  let hi = Math.max(4, fixedHorizonSampleSize(o));
  while (sequentialPowerLowerBound(o, hi) < power) hi *= 2;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (sequentialPowerLowerBound(o, mid) >= power) hi = mid;
    else lo = mid;
  }
  return hi;
}
