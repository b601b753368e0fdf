import type { Database } from '../db/client';
import type { Logger } from '../obs/logger';

export interface ServedList {
  namespaceId: string;
  requestId: string;
  surface: string;
  userId: string | null;
  anonymousId: string | null;
  items: Array<{ itemId: string; rank: number; score: number }>;
  fallback: boolean;
  configVersion: number | null;
}

/**
 * Writes served lists in the background, batched, so logging never adds to
 * a recommendation's latency. A full buffer drops the oldest entries and
 * counts them rather than growing without bound when the database is slow.
 */
export class RecLogWriter {
  private buffer: ServedList[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  dropped = 0;

  constructor(
    private readonly database: Database,
    private readonly log: Logger,
    private readonly options: { flushIntervalMs?: number; maxBuffer?: number } = {},
  ) {}

  push(entry: ServedList): void {
    const max = this.options.maxBuffer ?? 50_000;
    if (this.buffer.length >= max) {
      this.buffer.shift();
      this.dropped++;
    }
    this.buffer.push(entry);
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.options.flushIntervalMs ?? 250);
  }

  /** Writes everything buffered; resolves when stored. */
  async flush(): Promise<void> {
    await this.flushing;
    if (this.buffer.length === 0) return;
    const batch = this.buffer.splice(0, 1_000);
    this.flushing = this.database
      .query(
        `INSERT INTO rec_logs (namespace_id, request_id, surface, user_id, anonymous_id, items, fallback, config_version)
         SELECT u.ns, u.rid, u.surface, u.uid, u.aid, u.items::jsonb, u.fallback, u.cv
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bool[], $8::int[])
           AS u(ns, rid, surface, uid, aid, items, fallback, cv)
         ON CONFLICT DO NOTHING`,
        [
          batch.map((b) => b.namespaceId),
          batch.map((b) => b.requestId),
          batch.map((b) => b.surface),
          batch.map((b) => b.userId),
          batch.map((b) => b.anonymousId),
          batch.map((b) => JSON.stringify(b.items)),
          batch.map((b) => b.fallback),
          batch.map((b) => b.configVersion),
        ],
      )
      .then(
        () => undefined,
        (error: unknown) => this.log.error({ err: error, lost: batch.length }, 'writing served lists failed'),
      )
      .finally(() => {
        this.flushing = undefined;
      });
    await this.flushing;
    if (this.buffer.length) await this.flush();
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    await this.flush();
  }
}
