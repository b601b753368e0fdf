import { hostname } from 'node:os';
import { and, desc, eq, gte, isNull, lt, or, type SQL } from 'drizzle-orm';
import type { Database } from '../db/client';
import { type JobOutcome, jobRuns } from '../db/schema';
import { UserError } from '../errors';
import type { JobContext, JobDefinition } from './definitions';

/** One run of a job, as history shows it. */
export interface JobRun {
  id: number;
  job: string;
  /** The scheduled occurrence (ISO-8601); null for a manual run. */
  slot: string | null;
  trigger: 'schedule' | 'manual';
  /** The namespace a manual run was limited to; null = every namespace. */
  namespaceId: string | null;
  dryRun: boolean;
  outcome: JobOutcome;
  runner: string;
  startedAt: string;
  finishedAt: string | null;
  durationMs: number | null;
  summary: string | null;
  error: string | null;
}

/** How long runs stay alive in the table's eyes; see {@link RunTimings}. */
export interface RunTimings {
  /**
   * How often a running job moves its heartbeat forward, ms.
   * @default 15_000
   */
  heartbeatMs?: number;
  /**
   * A `running` row whose heartbeat is older than this was abandoned (its process died): it is marked
   * failed, and it no longer holds back the job's later slots.
   * @default 60_000
   */
  staleAfterMs?: number;
}

export const DEFAULT_HEARTBEAT_MS = 15_000;
export const DEFAULT_STALE_AFTER_MS = 60_000;

/** `<host>:<pid>`: which process ran a job. */
export const defaultRunner = () => `${hostname()}:${process.pid}`;

type Row = typeof jobRuns.$inferSelect;

function toRun(row: Row): JobRun {
  return {
    id: row.id,
    job: row.job,
    slot: row.slot?.toISOString() ?? null,
    trigger: row.trigger,
    namespaceId: row.namespaceId,
    dryRun: row.dryRun,
    outcome: row.outcome,
    runner: row.runner,
    startedAt: row.startedAt.toISOString(),
    finishedAt: row.finishedAt?.toISOString() ?? null,
    durationMs: row.durationMs,
    summary: row.summary,
    error: row.error,
  };
}

/** Marks the job's runs whose heartbeat stopped as failed, so they hold nothing back. */
async function abandonStale(database: Database, job: string, now: Date, staleAfterMs: number) {
  const stale = await database.db
    .select({
      id: jobRuns.id,
      runner: jobRuns.runner,
      heartbeatAt: jobRuns.heartbeatAt,
      startedAt: jobRuns.startedAt,
    })
    .from(jobRuns)
    .where(
      and(
        eq(jobRuns.job, job),
        eq(jobRuns.outcome, 'running'),
        lt(jobRuns.heartbeatAt, new Date(now.getTime() - staleAfterMs)),
      ),
    );
  for (const run of stale) {
    await database.db
      .update(jobRuns)
      .set({
        outcome: 'failed',
        finishedAt: run.heartbeatAt,
        durationMs: run.heartbeatAt.getTime() - run.startedAt.getTime(),
        error: `abandoned: no heartbeat since ${run.heartbeatAt.toISOString()} (the process ${run.runner} stopped while running it)`,
      })
      .where(and(eq(jobRuns.id, run.id), eq(jobRuns.outcome, 'running')));
  }
}

/** The job's run in progress, if one is alive. */
async function liveRun(database: Database, job: string, now: Date, staleAfterMs: number) {
  const [run] = await database.db
    .select()
    .from(jobRuns)
    .where(
      and(
        eq(jobRuns.job, job),
        eq(jobRuns.outcome, 'running'),
        gte(jobRuns.heartbeatAt, new Date(now.getTime() - staleAfterMs)),
      ),
    )
    .orderBy(jobRuns.id)
    .limit(1);
  return run;
}

const describeLive = (run: Row) =>
  `run ${run.id}${run.slot ? ` (slot ${run.slot.toISOString()})` : ''} on ${run.runner} is still going, started ${run.startedAt.toISOString()}`;

/**
 * Claims one scheduled occurrence of a job for this process. The unique index on `(job, slot)` lets
 * exactly one replica's INSERT through; the others get nothing back and do nothing. While an earlier
 * run of the job is alive, the slot is claimed as `skipped` (recorded once, by whoever claimed it),
 * so a slow run is never doubled; a run whose heartbeat stopped does not count.
 */
export async function claimSlot(
  database: Database,
  claim: { job: string; slot: Date; now: Date; runner: string; staleAfterMs: number },
): Promise<{ id: number; outcome: 'running' | 'skipped'; startedAt: Date } | undefined> {
  await abandonStale(database, claim.job, claim.now, claim.staleAfterMs);
  const busy = await liveRun(database, claim.job, claim.now, claim.staleAfterMs);
  const [row] = await database.db
    .insert(jobRuns)
    .values({
      job: claim.job,
      slot: claim.slot,
      trigger: 'schedule',
      outcome: busy ? 'skipped' : 'running',
      runner: claim.runner,
      startedAt: claim.now,
      heartbeatAt: claim.now,
      ...(busy ? { finishedAt: claim.now, durationMs: 0, summary: `skipped: ${describeLive(busy)}` } : {}),
    })
    .onConflictDoNothing({ target: [jobRuns.job, jobRuns.slot] })
    .returning({ id: jobRuns.id, outcome: jobRuns.outcome, startedAt: jobRuns.startedAt });
  return row as { id: number; outcome: 'running' | 'skipped'; startedAt: Date } | undefined;
}

/**
 * Records a manual run (no slot) about to start. A real run is refused with 409 while another run of
 * the job is alive (two guardrail evaluations at once would count one breach twice); a dry run,
 * which changes nothing, always goes ahead.
 */
export async function beginManualRun(
  database: Database,
  run: {
    job: string;
    namespaceId: string | undefined;
    dryRun: boolean;
    now: Date;
    runner: string;
    staleAfterMs: number;
  },
): Promise<{ id: number; startedAt: Date }> {
  if (!run.dryRun) {
    await abandonStale(database, run.job, run.now, run.staleAfterMs);
    const busy = await liveRun(database, run.job, run.now, run.staleAfterMs);
    if (busy) {
      throw new UserError(
        'CONFLICT',
        `${run.job} is running: ${describeLive(busy)}. Try again once it has finished (recsys jobs history --job ${run.job}), or pass dryRun.`,
      );
    }
  }
  const [row] = await database.db
    .insert(jobRuns)
    .values({
      job: run.job,
      trigger: 'manual',
      namespaceId: run.namespaceId ?? null,
      dryRun: run.dryRun,
      outcome: 'running',
      runner: run.runner,
      startedAt: run.now,
      heartbeatAt: run.now,
    })
    .returning({ id: jobRuns.id, startedAt: jobRuns.startedAt });
  return row!;
}

/**
 * Runs a claimed or manual run to its end and records how it ended: `ok` with the job's summary, or
 * `failed` with its error (an abort at shutdown says so). The heartbeat moves every `heartbeatMs`
 * meanwhile. Never throws for the job's own failure: that is the history's to tell.
 */
export async function executeRun(
  database: Database,
  run: { id: number; startedAt: Date },
  job: JobDefinition,
  context: JobContext,
  options: { heartbeatMs: number; clock: () => Date },
): Promise<JobRun> {
  const t0 = performance.now();
  const heartbeat = setInterval(() => {
    database.db
      .update(jobRuns)
      .set({ heartbeatAt: options.clock() })
      .where(and(eq(jobRuns.id, run.id), eq(jobRuns.outcome, 'running')))
      .catch((error: unknown) => context.log.warn({ err: error, job: job.name }, 'job heartbeat failed'));
  }, options.heartbeatMs);
  heartbeat.unref();
  let ended: Partial<Row>;
  try {
    // Claimed just as the process began to shut down: record the interruption rather than start.
    context.signal.throwIfAborted();
    const report = await job.run(context);
    ended = { outcome: 'ok', summary: report.summary, detail: { byNamespace: report.byNamespace } };
  } catch (error) {
    const message = context.signal.aborted
      ? 'interrupted: the server shut down; what was done before stays done'
      : error instanceof Error
        ? error.message
        : String(error);
    context.log.error({ err: error, job: job.name, runId: run.id }, `job ${job.name} failed`);
    ended = { outcome: 'failed', error: message.slice(0, 2_000) };
  } finally {
    clearInterval(heartbeat);
  }
  const durationMs = Math.round(performance.now() - t0);
  // The run's own result is the truth, also over an "abandoned" mark another replica may have made
  // while this process was too busy to beat.
  const [row] = await database.db
    .update(jobRuns)
    .set({ ...ended, durationMs, finishedAt: new Date(run.startedAt.getTime() + durationMs) })
    .where(eq(jobRuns.id, run.id))
    .returning();
  return toRun(row!);
}

/** What {@link listRuns} returns. */
export interface RunQuery {
  job?: string | undefined;
  /** @default 20 */
  limit?: number | undefined;
  /**
   * The view of one namespace's key: its own manual runs, and the runs over every namespace with
   * their summary cut down to this namespace's part (other namespaces' counts are not its to see).
   */
  namespaceId?: string | undefined;
}

/** Job runs, newest first. */
export async function listRuns(database: Database, query: RunQuery = {}): Promise<JobRun[]> {
  const where: Array<SQL | undefined> = [];
  if (query.job !== undefined) where.push(eq(jobRuns.job, query.job));
  const ns = query.namespaceId;
  if (ns !== undefined) where.push(or(isNull(jobRuns.namespaceId), eq(jobRuns.namespaceId, ns)));
  const rows = await database.db
    .select()
    .from(jobRuns)
    .where(and(...where))
    .orderBy(desc(jobRuns.startedAt), desc(jobRuns.id))
    .limit(query.limit ?? 20);
  return rows.map((row) => (ns === undefined || row.namespaceId !== null ? toRun(row) : narrow(row, ns)));
}

/** A run over every namespace as one namespace's key sees it. */
function narrow(row: Row, namespaceId: string): JobRun {
  const run = toRun(row);
  if (row.outcome === 'ok') {
    const parts = (row.detail as { byNamespace?: Record<string, string> }).byNamespace ?? {};
    run.summary = parts[namespaceId] ?? 'nothing to do in this namespace';
  }
  if (row.outcome === 'failed') {
    run.error = 'failed; the server log has the cause';
  }
  return run;
}
