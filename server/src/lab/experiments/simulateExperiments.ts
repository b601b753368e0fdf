import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import {
  compareArms,
  fixedHorizonSampleSize,
  phiInverse,
  proportionMoments,
  sequentialSampleSize,
} from '../../index';

/** Options of {@link simulateExperiments}. */
export interface SimulateExperimentsOptions {
  /** Simulated experiments. @default 1000 */
  runs?: number;
  /** Days each runs; results are read once a day. @default 30 */
  days?: number;
  /**
   * Relative lift planted in the treatment; 0 is an A/A test (both arms alike).
   * @default 0
   */
  effect?: number;
  /** The control's conversion rate. @default 0.05 */
  baseRate?: number;
  /**
   * Visitors per arm per day in an A/A run. With an effect, the planner's sample size spread over the
   * days is used instead.
   * @default 2000
   */
  visitorsPerDay?: number;
  /** The relative effect the always-valid test is tuned for (and, with `effect`, planned for). @default 0.05 */
  minimumDetectableEffect?: number;
  /** @default 0.05 */
  alpha?: number;
  /** @default 1 */
  seed?: number;
}

/** What a simulation found. */
export interface SimulateExperimentsResult {
  runs: number;
  days: number;
  effect: number;
  baseRate: number;
  visitorsPerArmPerDay: number;
  /** Units per arm the planner asked for (the always-valid test), when an effect was planted. */
  plannedPerArm: number | null;
  /** Units per arm a read-once fixed-horizon test would need, for comparison. */
  fixedHorizonPerArm: number | null;
  /** Share of runs the always-valid test declared significant on some day. */
  sequentialSignificantShare: number;
  /** Share of runs a fixed-horizon z-test, read every day, declared significant on some day. */
  peekedZTestSignificantShare: number;
  /** Median day the always-valid test first declared significance, among runs that did. */
  medianDayToSignificance: number | null;
  elapsedMs: number;
}

/** Binomial(n, p) by skipping geometric gaps between successes: O(n·p) draws, exact. */
function binomial(next: () => number, n: number, p: number): number {
  if (p <= 0) return 0;
  if (p >= 1) return n;
  const logQ = Math.log(1 - p);
  let count = 0;
  let position = 0;
  for (;;) {
    // 1 − U is in (0, 1], so the log is finite.
    position += Math.floor(Math.log(1 - next()) / logQ) + 1;
    if (position > n) return count;
    count++;
  }
}

/**
 * Runs many simulated experiments on a conversion metric, reading the results every day, and counts
 * how often each test declares a winner: with no effect (A/A) that is the false-positive rate under
 * daily peeking; with a planted effect, the power reached at the planned sample size.
 */
export function simulateExperiments(options: SimulateExperimentsOptions = {}): SimulateExperimentsResult {
  const started = performance.now();
  const runs = options.runs ?? 1000;
  const days = options.days ?? 30;
  const effect = options.effect ?? 0;
  const baseRate = options.baseRate ?? 0.05;
  const alpha = options.alpha ?? 0.05;
  const mde = options.minimumDetectableEffect ?? (effect !== 0 ? Math.abs(effect) : 0.05);
  const plan = { baseRate, minimumDetectableEffect: mde, alpha, power: 0.8 };
  const plannedPerArm = effect !== 0 ? sequentialSampleSize(plan) : null;
  const fixedHorizonPerArm = effect !== 0 ? fixedHorizonSampleSize(plan) : null;
  const perDay = plannedPerArm !== null ? Math.ceil(plannedPerArm / days) : (options.visitorsPerDay ?? 2000);
  const treatedRate = baseRate * (1 + effect);
  const zCritical = phiInverse(1 - alpha / 2);
  const rng = xoroshiro128plus(options.seed ?? 1);
  const next = () => uniformFloat64(rng);

  let sequentialHits = 0;
  let peekedHits = 0;
  const firstDays: number[] = [];
  for (let run = 0; run < runs; run++) {
    let convA = 0;
    let convB = 0;
    let n = 0;
    let sequentialFound = false;
    let peekedFound = false;
    for (let day = 1; day <= days; day++) {
      convA += binomial(next, perDay, baseRate);
      convB += binomial(next, perDay, treatedRate);
      n += perDay;
      const control = proportionMoments(n, convA);
      const treatment = proportionMoments(n, convB);
      if (!sequentialFound) {
        const cmp = compareArms(control, treatment, { minimumDetectableEffect: mde, alpha });
        if (cmp.lift?.significant) {
          sequentialFound = true;
          firstDays.push(day);
        }
      }
      if (!peekedFound) {
        const pA = convA / n;
        const pB = convB / n;
        const se = Math.sqrt((pA * (1 - pA)) / n + (pB * (1 - pB)) / n);
        if (se > 0 && Math.abs(pB - pA) / se > zCritical) peekedFound = true;
      }
      if (sequentialFound && peekedFound) break;
    }
    if (sequentialFound) sequentialHits++;
    if (peekedFound) peekedHits++;
  }
  firstDays.sort((a, b) => a - b);
  return {
    runs,
    days,
    effect,
    baseRate,
    visitorsPerArmPerDay: perDay,
    plannedPerArm,
    fixedHorizonPerArm,
    sequentialSignificantShare: sequentialHits / runs,
    peekedZTestSignificantShare: peekedHits / runs,
    medianDayToSignificance: firstDays.length ? (firstDays[Math.floor(firstDays.length / 2)] ?? null) : null,
    elapsedMs: performance.now() - started,
  };
}
