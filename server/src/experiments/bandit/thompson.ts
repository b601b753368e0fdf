import jStat from 'jstat';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';

/** One arm's evidence: trials (lists served, or visitors) and successes (clicked, added, bought). */
export interface ArmOutcomes {
  trials: number;
  successes: number;
}

/** Options of {@link thompsonAllocation}. */
export interface ThompsonOptions {
  /** Seeds the posterior draws, so the same evidence and seed give the same allocation. */
  seed: number;
  /**
   * Share of traffic pinned to the control (arm 0) before the bandit splits the rest.
   * @default 0
   */
  holdout?: number;
  /**
   * Least share every arm keeps.
   * @default 0
   */
  floor?: number;
  /**
   * Monte-Carlo draws from the joint posterior. 10,000 put the standard error of each
   * probability-of-being-best below 0.005.
   * @default 10_000
   */
  draws?: number;
}

/** What {@link thompsonAllocation} computed, per arm in the order given. */
export interface ThompsonAllocation {
  /** Share of posterior draws in which the arm had the highest rate. */
  probabilityBest: number[];
  /** Share of traffic per arm (sums to 1): holdout, Thompson shares, then floors. */
  weights: number[];
}

/**
 * Share of joint draws from the arms' Beta(1 + successes, 1 + failures) posteriors in which each arm
 * is best: the probability that it is the best arm, which Thompson sampling serves it with. Beta draws
 * come from jStat, fed by a seeded xoroshiro128+ so a period's allocation can be recomputed exactly.
 */
export function probabilityBest(arms: readonly ArmOutcomes[], seed: number, draws = 10_000): number[] {
  const wins = new Array<number>(arms.length).fill(0);
  if (arms.length === 0) return wins;
  const params = arms.map((a) => {
    const trials = Math.max(0, a.trials);
    const successes = Math.min(Math.max(0, a.successes), trials);
    return [1 + successes, 1 + trials - successes] as const;
  });
  const rng = xoroshiro128plus(seed);
  const previous = jStat._random_fn;
  // jStat reads one global uniform source; this loop is synchronous, so nothing else sees ours.
  jStat.setRandom(() => uniformFloat64(rng));
  try {
    for (let d = 0; d < draws; d++) {
      let best = 0;
      let bestValue = -1;
      for (let i = 0; i < params.length; i++) {
        const [alpha, beta] = params[i] as readonly [number, number];
        const x = jStat.beta.sample(alpha, beta);
        if (x > bestValue) {
          bestValue = x;
          best = i;
        }
      }
      wins[best] = (wins[best] ?? 0) + 1;
    }
  } finally {
    jStat.setRandom(previous);
  }
  return wins.map((w) => w / draws);
}

/**
 * Weights `w_i = max(min_i, s · raw_i)` with `s` chosen so they sum to 1: arms below their minimum
 * are raised to it and the rest shrink in proportion (water-filling). Needs `Σ min_i ≤ 1` and
 * `Σ raw_i = 1`.
 */
export function clampToMinimums(raw: readonly number[], minimums: readonly number[]): number[] {
  const n = raw.length;
  const fixed = new Array<boolean>(n).fill(false);
  for (let round = 0; round <= n; round++) {
    let freeMass = 1;
    let rawFree = 0;
    for (let i = 0; i < n; i++) {
      if (fixed[i]) freeMass -= minimums[i] ?? 0;
      else rawFree += raw[i] ?? 0;
    }
    const free = fixed.flatMap((f, i) => (f ? [] : [i]));
    if (free.length === 0) {
      // Every arm sits on its minimum; what is left over goes out in proportion to the minimums.
      const total = minimums.reduce((s, m) => s + m, 0);
      return minimums.map((m) => (total > 0 ? m / total : 1 / n));
    }
    if (rawFree <= 0) {
      // The free arms have no Thompson share at all: they split the remaining traffic evenly.
      return raw.map((_, i) => (fixed[i] ? (minimums[i] ?? 0) : Math.max(0, freeMass) / free.length));
    }
    const scale = freeMass / rawFree;
    let changed = false;
    for (const i of free) {
      if (scale * (raw[i] ?? 0) < (minimums[i] ?? 0)) {
        fixed[i] = true;
        changed = true;
      }
    }
    if (!changed) return raw.map((r, i) => (fixed[i] ? (minimums[i] ?? 0) : scale * r));
  }
  throw new Error('clampToMinimums did not settle');
}

/**
 * Turns each arm's probability of being best into traffic shares: `holdout` of the traffic always
 * goes to the control (arm 0), the rest in proportion to the probabilities; then every arm is raised
 * to `floor` (the control to `max(floor, holdout)`) and the others re-normalised.
 */
export function allocationWeights(
  probabilities: readonly number[],
  holdout: number,
  floor: number,
): number[] {
  const raw = probabilities.map((p, i) => (1 - holdout) * p + (i === 0 ? holdout : 0));
  const minimums = probabilities.map((_, i) => (i === 0 ? Math.max(floor, holdout) : floor));
  if (minimums.reduce((s, m) => s + m, 0) > 1 + 1e-12) {
    throw new Error(
      `a holdout of ${holdout} and a floor of ${floor} over ${probabilities.length} arms exceed 1`,
    );
  }
  return clampToMinimums(raw, minimums);
}

/**
 * Thompson sampling as an allocation: each arm's share of traffic is its posterior probability of
 * being the best arm (a seeded Monte-Carlo), with a holdout pinned to the control (arm 0) and a floor
 * on every arm.
 */
export function thompsonAllocation(
  arms: readonly ArmOutcomes[],
  options: ThompsonOptions,
): ThompsonAllocation {
  const probabilities = probabilityBest(arms, options.seed, options.draws);
  return {
    probabilityBest: probabilities,
    weights: allocationWeights(probabilities, options.holdout ?? 0, options.floor ?? 0),
  };
}

/** The allocation before any evidence: the holdout to the control and the rest split evenly. */
export function initialWeights(arms: number, holdout: number, floor: number): number[] {
  return allocationWeights(new Array<number>(arms).fill(1 / arms), holdout, floor);
}
