import { hostname } from 'node:os';
import { sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import type { Logger } from '../obs/logger';

/** How long the per-minute freshness rows are kept (the console's longest range is 7 days). */
const KEEP_MS = 8 * 86_400_000;
const MINUTE_MS = 60_000;

/** Options of {@link FreshnessRecorder}. */
export interface FreshnessRecorderOptions {
  /**
   * This replica's name in the rows, so replicas' figures are told apart (the overview shows the
   * slowest of them).
   * @default `${hostname()}:${process.pid}`
   */
  replica?: string;
  /** @default Date.now */
  now?: () => number;
}

/**
 * Keeps, per minute and namespace, the longest an event waited between being stored and being
 * applied to this replica's engines, and writes each finished minute to `index_freshness`: the
 * console's freshness chart over hours and days, which `/metrics` (one figure, now, per process)
 * cannot give. The engine host reports every poll that applied events ({@link observe}); writing
 * is one small statement a minute, and a failed write is logged and dropped (it is telemetry).
 */
export class FreshnessRecorder {
  private readonly replica: string;
  private readonly now: () => number;
  /** minute start (ms) → namespace → longest wait (ms) in that minute. */
  private readonly minutes = new Map<number, Map<string, number>>();
  private writing: Promise<void> = Promise.resolve();
  private lastPrune = 0;

  constructor(
    private readonly database: Database,
    private readonly log: Logger,
    options: FreshnessRecorderOptions = {},
  ) {
    this.replica = options.replica ?? `${hostname()}:${process.pid}`;
    this.now = options.now ?? Date.now;
  }

  /**
   * One poll's waits: per namespace, the longest an event it applied had waited, in seconds (0 or
   * absent: it applied none of that namespace's events). Finished minutes are written.
   */
  observe(lagSecondsByNamespace: Record<string, number>): void {
    const now = this.now();
    const minute = Math.floor(now / MINUTE_MS) * MINUTE_MS;
    for (const [namespaceId, lagSeconds] of Object.entries(lagSecondsByNamespace)) {
      if (!(lagSeconds > 0)) continue;
      const byNamespace = this.minutes.get(minute) ?? new Map<string, number>();
      this.minutes.set(minute, byNamespace);
      byNamespace.set(namespaceId, Math.max(byNamespace.get(namespaceId) ?? 0, lagSeconds * 1000));
    }
    if ([...this.minutes.keys()].some((m) => m < minute)) void this.flush(minute);
  }

  /** Writes every minute before `before` (all of them by default: at shutdown). */
  flush(before = Number.POSITIVE_INFINITY): Promise<void> {
    const rows: Array<{ namespaceId: string; minute: number; lagMs: number }> = [];
    for (const [minute, byNamespace] of this.minutes) {
      if (minute >= before) continue;
      for (const [namespaceId, lagMs] of byNamespace) rows.push({ namespaceId, minute, lagMs });
      this.minutes.delete(minute);
    }
    if (rows.length === 0) return this.writing;
    this.writing = this.writing.then(() => this.write(rows));
    return this.writing;
  }

  private async write(rows: Array<{ namespaceId: string; minute: number; lagMs: number }>): Promise<void> {
    try {
      const values = sql.join(
        rows.map(
          (r) =>
            sql`(${r.namespaceId}, ${new Date(r.minute).toISOString()}::timestamptz, ${this.replica}, ${r.lagMs})`,
        ),
        sql`, `,
      );
      // A minute written twice (a flush at shutdown, then the same minute from the next poll) keeps
      // the longer wait.
      await this.database.db.execute(sql`
        INSERT INTO index_freshness (namespace_id, minute, replica, max_lag_ms) VALUES ${values}
        ON CONFLICT (namespace_id, minute, replica)
        DO UPDATE SET max_lag_ms = greatest(index_freshness.max_lag_ms, excluded.max_lag_ms)`);
      const now = this.now();
      if (now - this.lastPrune >= 3_600_000) {
        this.lastPrune = now;
        await this.database.db.execute(
          sql`DELETE FROM index_freshness WHERE minute < ${new Date(now - KEEP_MS).toISOString()}::timestamptz`,
        );
      }
    } catch (error) {
      this.log.warn(
        { err: error, rows: rows.length },
        'could not record index freshness; those minutes are left out',
      );
    }
  }
}
