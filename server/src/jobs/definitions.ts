import { and, asc, eq } from 'drizzle-orm';
import { periodStart } from '../bundles/acceptance';
import { backfillBundleAcceptance, namespacesWithBundles } from '../bundles/backfill';
import type { Database } from '../db/client';
import { type PruneResult, pruneRecLogs, pruneTraces } from '../db/retention';
import { experiments } from '../db/schema';
import { reallocateNamespace } from '../experiments/bandit/allocations';
import { checkNamespaceGuardrails } from '../experiments/guardrails';
import type { Logger } from '../obs/logger';

/** What a job run gets. */
export interface JobContext {
  database: Database;
  log: Logger;
  /** The instant the run is for (its slot, or the moment a manual run was asked for). */
  now: Date;
  /** Report what would be done and change nothing. */
  dryRun: boolean;
  /** Only this namespace; every namespace when undefined. */
  namespaceId: string | undefined;
  /** Aborted when the process shuts down: a job stops at its next safe point (between batches). */
  signal: AbortSignal;
  /** Called after the guardrail job paused an experiment (the server drops its cached running ones). */
  onExperimentPaused?: ((namespaceId: string, experimentId: string) => void) | undefined;
  /** Called after the bandit job changed an experiment's weights (the server re-reads them at once). */
  onAllocationChanged?: ((namespaceId: string, experimentId: string) => void) | undefined;
}

/** What a job run did, as a sentence in all and per namespace. */
export interface JobReport {
  /** e.g. "deleted 1,204 traces", "would pause 1 experiment" */
  summary: string;
  /** The same for each namespace it touched (what that namespace's key is shown). */
  byNamespace: Record<string, string>;
}

/** A recurring job. */
export interface JobDefinition {
  name: string;
  description: string;
  /** Cron expression (5 fields, or 6 with seconds first), read in UTC. */
  defaultSchedule: string;
  run(context: JobContext): Promise<JobReport>;
}

const count = (n: number, one: string, many = `${one}s`) =>
  `${n.toLocaleString('en')} ${n === 1 ? one : many}`;

async function namespacesWithRunningExperiments(database: Database, namespaceId: string | undefined) {
  const rows = await database.db
    .selectDistinct({ namespaceId: experiments.namespaceId })
    .from(experiments)
    .where(
      and(
        eq(experiments.status, 'running'),
        namespaceId === undefined ? undefined : eq(experiments.namespaceId, namespaceId),
      ),
    )
    .orderBy(asc(experiments.namespaceId));
  return rows.map((r) => r.namespaceId);
}

/**
 * Evaluates the guardrails of every running experiment, namespace by namespace, with the same
 * check as `admin.experiments.checkGuardrails`: a breach that persists for the experiment's
 * `consecutive` evaluations pauses it and calls its webhook.
 */
export const guardrailsJob: JobDefinition = {
  name: 'guardrails',
  description:
    'evaluate the guardrails of every running experiment; a breach that persists pauses the experiment',
  defaultSchedule: '*/5 * * * *',
  async run(ctx) {
    const byNamespace: Record<string, string> = {};
    let evaluated = 0;
    let breaching = 0;
    const paused: string[] = [];
    for (const namespaceId of await namespacesWithRunningExperiments(ctx.database, ctx.namespaceId)) {
      // Between namespaces, never inside one experiment's check (a pause and its webhook go together).
      ctx.signal.throwIfAborted();
      const checks = await checkNamespaceGuardrails(ctx.database, namespaceId, {
        log: ctx.log,
        dryRun: ctx.dryRun,
        ...(ctx.onExperimentPaused ? { onPaused: ctx.onExperimentPaused } : {}),
      });
      const here = checks.filter((c) => c.paused || c.wouldPause).map((c) => c.experimentId);
      const breachingHere = checks.filter((c) => c.breaches.length > 0).length;
      evaluated += checks.length;
      breaching += breachingHere;
      paused.push(...here.map((id) => `${namespaceId}/${id}`));
      byNamespace[namespaceId] = describeGuardrails(ctx.dryRun, checks.length, breachingHere, here);
    }
    const namespaces = Object.keys(byNamespace).length;
    const summary =
      evaluated === 0
        ? 'no running experiments'
        : `${describeGuardrails(ctx.dryRun, evaluated, breaching, paused)} in ${count(namespaces, 'namespace')}`;
    return { summary, byNamespace };
  },
};

function describeGuardrails(dryRun: boolean, evaluated: number, breaching: number, paused: string[]) {
  const parts = [`evaluated ${count(evaluated, 'running experiment')}`];
  if (breaching) parts.push(`${breaching} breaching`);
  if (paused.length) parts.push(`${dryRun ? 'would pause' : 'paused'} ${paused.join(', ')}`);
  return parts.join(', ');
}

/**
 * Recomputes the allocation of every running bandit experiment from its attributed outcomes
 * (Thompson sampling with the holdout and floor), with the same step as
 * `admin.experiments.reallocate`. Servers read the new weights within their refresh interval.
 */
export const banditJob: JobDefinition = {
  name: 'bandit-reallocate',
  description:
    'recompute the traffic allocation of every running bandit experiment from its attributed clicks or purchases (Thompson sampling)',
  defaultSchedule: '*/30 * * * *',
  async run(ctx) {
    const byNamespace: Record<string, string> = {};
    const verb = ctx.dryRun ? 'would reallocate' : 'reallocated';
    let bandits = 0;
    const moved: string[] = [];
    for (const namespaceId of await namespacesWithRunningExperiments(ctx.database, ctx.namespaceId)) {
      ctx.signal.throwIfAborted();
      const done = await reallocateNamespace(ctx.database, namespaceId, { actor: 'job', dryRun: ctx.dryRun });
      if (done.length === 0) continue;
      const here = done.filter((r) => r.outcome === 'reallocated');
      if (!ctx.dryRun) for (const r of here) ctx.onAllocationChanged?.(namespaceId, r.experimentId);
      bandits += done.length;
      moved.push(...here.map((r) => `${namespaceId}/${r.experimentId}`));
      byNamespace[namespaceId] =
        `${count(done.length, 'running bandit')}, ${verb} ${here.length ? here.map((r) => `${r.experimentId} (${describeWeights(r.allocation?.weights ?? {})})`).join(', ') : 'none (no new outcomes)'}`;
    }
    const summary =
      bandits === 0
        ? 'no running bandits'
        : `${count(bandits, 'running bandit')}, ${verb} ${moved.length ? moved.join(', ') : 'none (no new outcomes)'}`;
    return { summary, byNamespace };
  },
};

const describeWeights = (weights: Record<string, number>) =>
  Object.entries(weights)
    .map(([k, w]) => `${k} ${(w * 100).toFixed(1)}%`)
    .join(' / ');

function retentionJob(
  name: string,
  noun: string,
  defaultSchedule: string,
  description: string,
  prune: (database: Database, options: Parameters<typeof pruneTraces>[1]) => Promise<PruneResult>,
): JobDefinition {
  return {
    name,
    description,
    defaultSchedule,
    async run(ctx) {
      const result = await prune(ctx.database, {
        namespaceId: ctx.namespaceId,
        now: ctx.now,
        dryRun: ctx.dryRun,
        signal: ctx.signal,
      });
      const verb = ctx.dryRun ? 'would delete' : 'deleted';
      const byNamespace: Record<string, string> = {};
      for (const [namespaceId, n] of Object.entries(result.byNamespace)) {
        byNamespace[namespaceId] = `${verb} ${count(n, noun)}`;
      }
      return { summary: `${verb} ${count(result.deleted, noun)}`, byNamespace };
    },
  };
}

/** Deletes decision traces past each namespace's `traceRetentionDays` (default 30), in batches. */
export const traceRetentionJob = retentionJob(
  'trace-retention',
  'trace',
  '10 * * * *',
  "delete decision traces older than each namespace's traceRetentionDays (default 30)",
  pruneTraces,
);

/** Deletes served lists past each namespace's `recLogRetentionDays` (default 90), in batches. */
export const recLogRetentionJob = retentionJob(
  'rec-log-retention',
  'served list',
  '40 * * * *',
  "delete served lists (rec_logs) older than each namespace's recLogRetentionDays (default 90), except those of experiments not completed",
  pruneRecLogs,
);

/** Days the nightly bundle backfill recomputes: the purchase window (7 days) and today. */
export const BUNDLE_BACKFILL_DAYS = 8;

/**
 * Recomputes the stored bundle acceptance of the last {@link BUNDLE_BACKFILL_DAYS} days in every
 * namespace that served bundles, as `recsys bundles backfill --lookback-days 8` does: a purchase can
 * still turn a bundle served a week ago into an accepted one.
 */
export const bundleBackfillJob: JobDefinition = {
  name: 'bundle-backfill',
  description: `recompute the stored bundle acceptance (shown → all added → purchased, per bundle per day) of the last ${BUNDLE_BACKFILL_DAYS} days from stored events`,
  defaultSchedule: '20 0 * * *',
  async run(ctx) {
    const byNamespace: Record<string, string> = {};
    const since = periodStart(ctx.now, BUNDLE_BACKFILL_DAYS);
    let rows = 0;
    let shown = 0;
    const verb = ctx.dryRun ? 'would store' : 'stored';
    for (const namespaceId of await namespacesWithBundles(ctx.database, since, ctx.namespaceId)) {
      ctx.signal.throwIfAborted();
      const result = await backfillBundleAcceptance(ctx.database, namespaceId, {
        lookbackDays: BUNDLE_BACKFILL_DAYS,
        dryRun: ctx.dryRun,
        now: ctx.now,
      });
      rows += result.rows;
      shown += result.totals.shown;
      byNamespace[namespaceId] =
        `${verb} ${count(result.rows, 'bundle-day')} (${count(result.totals.shown, 'bundle')} shown, ${result.totals.purchased.toLocaleString('en')} purchased) for ${result.from} … ${result.to}`;
    }
    const namespaces = Object.keys(byNamespace).length;
    const summary =
      namespaces === 0
        ? `no bundles served in the last ${BUNDLE_BACKFILL_DAYS} days`
        : `${verb} ${count(rows, 'bundle-day')} (${count(shown, 'bundle')} shown) in ${count(namespaces, 'namespace')}`;
    return { summary, byNamespace };
  },
};

/** The jobs every `recsys serve` schedules. */
export const BUILT_IN_JOBS: readonly JobDefinition[] = [
  guardrailsJob,
  traceRetentionJob,
  recLogRetentionJob,
  banditJob,
  bundleBackfillJob,
];

/** Their names, as `admin.jobs.*` and `recsys jobs` accept them. */
export const JOB_NAMES = [
  'guardrails',
  'trace-retention',
  'rec-log-retention',
  'bandit-reallocate',
  'bundle-backfill',
] as const;
export type JobName = (typeof JOB_NAMES)[number];
