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
      // One JSON parameter instead of eight arrays: the driver sends it as it is, where array
      // parameters were escaped element by element on the serving thread.
      .query(
        `INSERT INTO rec_logs (namespace_id, request_id, surface, user_id, anonymous_id, items, fallback, config_version)
         SELECT r.ns, r.rid, r.surface, r.uid, r.aid, r.items, r.fallback, r.cv
         FROM jsonb_to_recordset($1::text::jsonb)
           AS r(ns text, rid text, surface text, uid text, aid text, items jsonb, fallback bool, cv int)
         ON CONFLICT DO NOTHING`,
        [
          JSON.stringify(
            batch.map((b) => ({
              ns: b.namespaceId,
              rid: b.requestId,
              surface: b.surface,
              uid: b.userId,
              aid: b.anonymousId,
              items: b.items,
              fallback: b.fallback,
              cv: b.configVersion,
            })),
          ),
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
