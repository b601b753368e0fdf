import { createHmac } from 'node:crypto';
import { and, asc, desc, eq, sql } from 'drizzle-orm';
import { rowsOf } from '../../db/backup/backupFormat';
import type { Database } from '../../db/client';
import { experimentAllocations, experiments } from '../../db/schema';
import { UserError } from '../../errors';
import type { BanditMetric, BanditSettings } from '../contracts';
import { exposedVisitors, readVariantSums, type VariantSums } from '../results';
import { type Experiment, getExperiment, listRunningExperiments, type StoredVariant } from '../store';
import { type ArmOutcomes, thompsonAllocation } from './thompson';

/** One arm in one allocation. */
export interface ArmAllocation {
  key: string;
  /** Lists served (`ctr`) or visitors (`addToCartRate`, `conversionRate`) so far. */
  trials: number;
  /** Of those, clicked, or who added to cart or bought. */
  successes: number;
  /** Share of posterior draws in which this arm was best. */
  probabilityBest: number;
  /** Share of the experiment's traffic it was given. */
  weight: number;
}

/** One allocation of a bandit: in effect from `at` until the next one. */
export interface AllocationRecord {
  /** 0 at creation, then one more per reallocation; seeds the period's posterior draws. */
  seq: number;
  at: string;
  /** `job`, or the API key id / `cli` that created the experiment (seq 0) or asked for a reallocation. */
  actor: string;
  /** Share of traffic per variant key. */
  weights: Record<string, number>;
  arms: ArmAllocation[];
}

/** What `admin.experiments.allocations` returns. */
export interface BanditAllocations {
  experimentId: string;
  status: Experiment['status'];
  settings: BanditSettings;
  /** The variant every holdout visitor gets. */
  control: string;
  /** Oldest first; the last one is in effect. */
  history: AllocationRecord[];
}

/** What one reallocation did (or, in a dry run, would do). */
export interface Reallocation {
  namespaceId: string;
  experimentId: string;
  /**
   * `reallocated`: a new allocation is in effect. `unchanged`: no new outcomes since the last one, so
   * it stays. `skipped`: the experiment is not a running bandit.
   */
  outcome: 'reallocated' | 'unchanged' | 'skipped';
  /** Why it was skipped or unchanged. */
  reason?: string;
  /** The allocation made (or that a dry run would make); null when skipped or unchanged. */
  allocation: AllocationRecord | null;
  /** Weights before. */
  previous: Record<string, number>;
  dryRun: boolean;
}

/** Options of {@link reallocateExperiment}. */
export interface ReallocateOptions {
  /** Who asked: `job`, an API key id or `cli`. */
  actor: string;
  /** Compute and report; write nothing. @default false */
  dryRun?: boolean;
  /** Posterior draws (see `ThompsonOptions.draws`). @default 10_000 */
  draws?: number;
}

/**
 * The seed of allocation `seq`'s posterior draws: from the experiment's salt, so two bandits draw
 * independently, and from `seq`, so each period draws afresh but can be recomputed exactly.
 */
export function allocationSeed(salt: string, seq: number): number {
  return createHmac('sha256', salt).update(`bandit:${seq}`).digest().readInt32BE(0);
}

/** Trials and successes of `metric` from the sums the experiment's results use. */
export function armOutcomes(s: VariantSums, metric: BanditMetric): ArmOutcomes {
  switch (metric) {
    case 'ctr':
      return { trials: s.lists, successes: s.clicked };
    case 'addToCartRate':
      return { trials: s.visitors, successes: s.adders };
    case 'conversionRate':
      return { trials: s.visitors, successes: s.buyers };
  }
}

function toRecord(row: typeof experimentAllocations.$inferSelect): AllocationRecord {
  const arms = row.arms as ArmAllocation[];
  return {
    seq: row.seq,
    at: row.createdAt.toISOString(),
    actor: row.actor,
    // In the variants' order (jsonb keeps object keys in its own order).
    weights: Object.fromEntries(arms.map((a) => [a.key, row.weights[a.key] ?? 0])),
    arms,
  };
}

function banditOf(e: Experiment): BanditSettings {
  if (e.allocation !== 'bandit' || !e.bandit) {
    throw new UserError(
      'BAD_REQUEST',
      `Experiment "${e.id}" has fixed weights, not a bandit allocation; create one with allocation "bandit".`,
    );
  }
  return e.bandit;
}

/** The allocation history of a bandit experiment, oldest first (a 400 for a fixed one). */
export async function listAllocations(
  database: Database,
  namespaceId: string,
  id: string,
): Promise<BanditAllocations> {
  const experiment = await getExperiment(database, namespaceId, id);
  const settings = banditOf(experiment);
  const rows = await database.db
    .select()
    .from(experimentAllocations)
    .where(
      and(eq(experimentAllocations.namespaceId, namespaceId), eq(experimentAllocations.experimentId, id)),
    )
    .orderBy(asc(experimentAllocations.seq));
  return {
    experimentId: id,
    status: experiment.status,
    settings,
    control: experiment.variants[0]?.key ?? '',
    history: rows.map(toRecord),
  };
}

const sameEvidence = (a: readonly ArmAllocation[], b: readonly ArmAllocation[]) =>
  a.length === b.length &&
  a.every((x, i) => x.key === b[i]?.key && x.trials === b[i]?.trials && x.successes === b[i]?.successes);

/**
 * Recomputes a running bandit's allocation from the attributed outcomes so far: Beta posteriors per
 * arm from the same counts the results read, the share of seeded posterior draws in which each arm is
 * best, the holdout pinned to the control and the floor on every arm. The new weights replace the
 * variants' weights (what assignment reads) and are recorded as the next allocation, in one
 * transaction with the experiment row locked, so two replicas cannot interleave. When no outcome
 * arrived since the last allocation it is kept.
 */
export async function reallocateExperiment(
  database: Database,
  namespaceId: string,
  id: string,
  options: ReallocateOptions,
): Promise<Reallocation> {
  const experiment = await getExperiment(database, namespaceId, id);
  const settings = banditOf(experiment);
  const dryRun = options.dryRun ?? false;
  const previous = Object.fromEntries(experiment.variants.map((v) => [v.key, v.weight]));
  const base = { namespaceId, experimentId: id, previous, dryRun };
  if (experiment.status !== 'running') {
    return { ...base, outcome: 'skipped', reason: `it is ${experiment.status}`, allocation: null };
  }
  const sums = await readVariantSums(database, namespaceId, experiment);
  const outcomes = experiment.variants.map((v) =>
    armOutcomes(sums.get(v.key) as VariantSums, settings.metric),
  );
  return database.db.transaction(async (tx) => {
    const where = and(eq(experiments.namespaceId, namespaceId), eq(experiments.id, id));
    const [locked] = await tx
      .select({ status: experiments.status })
      .from(experiments)
      .where(where)
      .for('update');
    if (locked?.status !== 'running') {
      return { ...base, outcome: 'skipped', reason: `it is ${locked?.status ?? 'gone'}`, allocation: null };
    }
    const [last] = await tx
      .select()
      .from(experimentAllocations)
      .where(
        and(eq(experimentAllocations.namespaceId, namespaceId), eq(experimentAllocations.experimentId, id)),
      )
      .orderBy(desc(experimentAllocations.seq))
      .limit(1);
    const seq = (last?.seq ?? -1) + 1;
    const computed = thompsonAllocation(outcomes, {
      seed: allocationSeed(experiment.salt, seq),
      holdout: settings.holdout,
      floor: settings.floor,
      ...(options.draws === undefined ? {} : { draws: options.draws }),
    });
    const arms: ArmAllocation[] = experiment.variants.map((v, i) => ({
      key: v.key,
      trials: outcomes[i]?.trials ?? 0,
      successes: outcomes[i]?.successes ?? 0,
      probabilityBest: computed.probabilityBest[i] ?? 0,
      weight: computed.weights[i] ?? 0,
    }));
    if (last && sameEvidence(last.arms as ArmAllocation[], arms)) {
      return {
        ...base,
        outcome: 'unchanged',
        reason: 'no new outcomes since the last allocation',
        allocation: null,
      };
    }
    const weights = Object.fromEntries(arms.map((a) => [a.key, a.weight]));
    const at = new Date();
    const allocation: AllocationRecord = { seq, at: at.toISOString(), actor: options.actor, weights, arms };
    if (dryRun) return { ...base, outcome: 'reallocated', allocation };
    const variants: StoredVariant[] = experiment.variants.map((v) => ({ ...v, weight: weights[v.key] ?? 0 }));
    await tx.update(experiments).set({ variants, updatedAt: at }).where(where);
    await tx.insert(experimentAllocations).values({
      namespaceId,
      experimentId: id,
      seq,
      weights,
      arms,
      actor: options.actor,
      createdAt: at,
    });
    return { ...base, outcome: 'reallocated', allocation };
  });
}

/** Reallocates every running bandit of a namespace (what the `bandit-reallocate` job runs). */
export async function reallocateNamespace(
  database: Database,
  namespaceId: string,
  options: ReallocateOptions,
): Promise<Reallocation[]> {
  const out: Reallocation[] = [];
  for (const e of await listRunningExperiments(database, namespaceId)) {
    if (e.allocation !== 'bandit') continue;
    out.push(await reallocateExperiment(database, namespaceId, e.id, options));
  }
  return out;
}

/**
 * The share of visitors each variant should have had, given when they arrived: a visitor is counted
 * under the variant of their first list, which was drawn with the allocation in effect then, so the
 * expectation is each period's weights times the visitors first served in it. This is what a bandit's
 * sample-ratio check compares against (its weights move, so the current ones would not do).
 */
export async function expectedVisitorShares(
  database: Database,
  namespaceId: string,
  experiment: Experiment,
  history: readonly AllocationRecord[],
): Promise<number[]> {
  const current = experiment.variants.map((v) => v.weight);
  if (history.length === 0) return current;
  // Bucket 0 (before the first allocation) cannot happen; it is read as the first period.
  const starts = `{${history.map((h) => `"${h.at}"`).join(',')}}`;
  const rows = rowsOf<{ variant: string; period: number; n: number }>(
    await database.db.execute(
      sql`WITH ${exposedVisitors(namespaceId, experiment.id)}
          SELECT width_bucket(first_at, ${starts}::timestamptz[]) AS period, count(*)::int AS n
          FROM exposed GROUP BY 1`,
    ),
  );
  const expected = new Array<number>(experiment.variants.length).fill(0);
  for (const row of rows) {
    const period = history[Math.max(0, Number(row.period) - 1)] ?? history[0];
    experiment.variants.forEach((v, i) => {
      expected[i] = (expected[i] ?? 0) + Number(row.n) * (period?.weights[v.key] ?? 0);
    });
  }
  return expected.some((x) => x > 0) ? expected : current;
}
