import { and, eq, inArray, lt, type SQL, sql } from 'drizzle-orm';
import type { NamespaceSettings } from '../auth/namespaces';
import type { Database } from './client';
import { experiments, namespaces, recLogs, recTraces } from './schema';

/** Retention of decision traces when a namespace sets none. */
export const DEFAULT_TRACE_RETENTION_DAYS = 30;
/** Retention of served lists (`rec_logs`) when a namespace sets none. */
export const DEFAULT_REC_LOG_RETENTION_DAYS = 90;

/** Options of {@link pruneTraces} and {@link pruneRecLogs}. */
export interface PruneOptions {
  /** Only this namespace; every namespace when absent. */
  namespaceId?: string | undefined;
  /** What "older than N days" is measured from. @default new Date() */
  now?: Date | undefined;
  /** Count what would be deleted and delete nothing. @default false */
  dryRun?: boolean | undefined;
  /**
   * Rows per DELETE: each statement holds its locks and writes its WAL for a bounded time, so a large
   * backlog never becomes one statement that blocks the served-list writer for minutes.
   * @default 5_000
   */
  batchSize?: number | undefined;
  /** Checked between batches: an abort stops the pruning there, with what was deleted so far kept. */
  signal?: AbortSignal | undefined;
}

/** What a prune deleted (or, in a dry run, would delete), in all and per namespace. */
export interface PruneResult {
  deleted: number;
  /** Namespaces with at least one row past their retention. */
  byNamespace: Record<string, number>;
}

/** One table whose old rows are deleted per namespace. */
interface RetentionTarget {
  table: typeof recTraces | typeof recLogs;
  key: typeof recTraces.requestId | typeof recLogs.requestId;
  namespaceColumn: typeof recTraces.namespaceId | typeof recLogs.namespaceId;
  createdAt: typeof recTraces.createdAt | typeof recLogs.createdAt;
  days(settings: NamespaceSettings): number;
  /** Rows kept whatever their age. */
  keep?: () => SQL;
}

const traceTarget: RetentionTarget = {
  table: recTraces,
  key: recTraces.requestId,
  namespaceColumn: recTraces.namespaceId,
  createdAt: recTraces.createdAt,
  days: (s) => s.traceRetentionDays ?? DEFAULT_TRACE_RETENTION_DAYS,
};

const recLogTarget: RetentionTarget = {
  table: recLogs,
  key: recLogs.requestId,
  namespaceColumn: recLogs.namespaceId,
  createdAt: recLogs.createdAt,
  days: (s) => s.recLogRetentionDays ?? DEFAULT_REC_LOG_RETENTION_DAYS,
  // A draft, running or paused experiment's exposures are its results: they age out once it completes.
  keep: () =>
    and(
      sql`${recLogs.experimentId} IS NOT NULL`,
      sql`EXISTS (SELECT 1 FROM ${experiments} WHERE ${experiments.namespaceId} = ${recLogs.namespaceId}
        AND ${experiments.id} = ${recLogs.experimentId} AND ${experiments.status} <> 'completed')`,
    )!,
};

async function prune(
  database: Database,
  target: RetentionTarget,
  options: PruneOptions,
): Promise<PruneResult> {
  const now = options.now ?? new Date();
  const batchSize = options.batchSize ?? 5_000;
  const scopes = await database.db
    .select({ id: namespaces.id, settings: namespaces.settings })
    .from(namespaces)
    .where(options.namespaceId === undefined ? undefined : eq(namespaces.id, options.namespaceId))
    .orderBy(namespaces.id);
  const result: PruneResult = { deleted: 0, byNamespace: {} };
  for (const scope of scopes) {
    const cutoff = new Date(now.getTime() - target.days(scope.settings as NamespaceSettings) * 86_400_000);
    const expired = and(
      eq(target.namespaceColumn, scope.id),
      lt(target.createdAt, cutoff),
      target.keep ? sql`NOT (${target.keep()})` : undefined,
    );
    let count = 0;
    if (options.dryRun) {
      count = await database.db.$count(target.table, expired);
    } else {
      for (;;) {
        options.signal?.throwIfAborted();
        const batch = database.db
          .select({ key: target.key })
          .from(target.table)
          .where(expired)
          .limit(batchSize);
        const deleted = await database.db
          .delete(target.table)
          .where(and(eq(target.namespaceColumn, scope.id), inArray(target.key, batch)))
          .returning({ key: target.key });
        count += deleted.length;
        if (deleted.length < batchSize) break;
      }
    }
    if (count > 0) result.byNamespace[scope.id] = count;
    result.deleted += count;
  }
  return result;
}

/**
 * Deletes decision traces older than their namespace's `traceRetentionDays` (default
 * {@link DEFAULT_TRACE_RETENTION_DAYS}), in batches; one namespace or all. Safe to run from any
 * process, at any time, as often as wanted (the `trace-retention` job runs it every hour).
 */
export function pruneTraces(database: Database, options: PruneOptions = {}): Promise<PruneResult> {
  return prune(database, traceTarget, options);
}

/**
 * Deletes served lists (`rec_logs`) older than their namespace's `recLogRetentionDays` (default
 * {@link DEFAULT_REC_LOG_RETENTION_DAYS}), in batches, except those of experiments that are not
 * completed (their exposures are the experiment's results). What the `rec-log-retention` job runs.
 */
export function pruneRecLogs(database: Database, options: PruneOptions = {}): Promise<PruneResult> {
  return prune(database, recLogTarget, options);
}
