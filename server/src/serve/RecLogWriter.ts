import type { Database } from '../db/client';
import type { Logger } from '../obs/logger';

export interface ServedList {
  namespaceId: string;
  requestId: string;
  surface: string;
  userId: string | null;
  anonymousId: string | null;
  items: ReadonlyArray<{ itemId: string; rank: number; score: number }>;
  fallback: boolean;
  configVersion: number | null;
}

/** Options of {@link RecLogWriter}. */
export interface RecLogWriterOptions {
  /**
   * How long a served list waits before its batch is written, ms.
   * @default 250
   */
  flushIntervalMs?: number;
  /**
   * Most served lists held while the database is slow or down; beyond it the oldest are dropped
   * (a batch at a time) and counted in `dropped`.
   * @default 50_000
   */
  maxBuffer?: number;
}

/** Lists per INSERT. */
const BATCH = 1_000;
/** Bytes of a batch buffer; one that needs more gets a larger one of its own. */
const CHUNK_BYTES = 256 * 1024;

/** Served lists as the JSON text of one INSERT's parameter, in memory outside the JS heap. */
interface Batch {
  buf: Buffer;
  /** Bytes written, the opening `[` included. */
  used: number;
  count: number;
}

/**
 * Writes served lists in the background, batched, so logging never adds to
 * a recommendation's latency. A full buffer drops the oldest entries and
 * counts them rather than growing without bound when the database is slow.
 *
 * Each list is written as JSON into a Buffer when it is pushed. Why: at 1,000 lists/s, lists kept
 * as objects until the next flush outlived a young-generation collection, so each of those copied
 * and promoted about a megabyte, and the promoted garbage brought a full mark-compact every few
 * seconds — pauses that every request in flight waits for. Bytes in a Buffer are not on the JS
 * heap and are neither copied nor marked.
 */
export class RecLogWriter {
  private batches: Batch[] = [];
  private spare: Buffer | undefined;
  private held = 0;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  /** Served lists dropped because the buffer was full. */
  dropped = 0;

  constructor(
    private readonly database: Database,
    private readonly log: Logger,
    private readonly options: RecLogWriterOptions = {},
  ) {}

  /** Served lists waiting to be written. */
  get pending(): number {
    return this.held;
  }

  push(entry: ServedList): void {
    const row = JSON.stringify({
      ns: entry.namespaceId,
      rid: entry.requestId,
      surface: entry.surface,
      uid: entry.userId,
      aid: entry.anonymousId,
      items: entry.items.map(({ itemId, rank, score }) => ({ itemId, rank, score })),
      fallback: entry.fallback,
      cv: entry.configVersion,
    });
    const bytes = Buffer.byteLength(row);
    const max = this.options.maxBuffer ?? 50_000;
    let batch = this.batches.at(-1);
    // Room for a separator and the closing `]` the flush adds.
    if (!batch || batch.count >= Math.min(BATCH, max) || batch.used + bytes + 2 > batch.buf.length) {
      batch = { buf: this.allocate(bytes + 2), used: 1, count: 0 };
      batch.buf[0] = 0x5b; // [
      this.batches.push(batch);
    }
    if (batch.count > 0) batch.buf[batch.used++] = 0x2c; // ,
    batch.used += batch.buf.write(row, batch.used);
    batch.count++;
    this.held++;
    // The oldest batch goes while it is not the one just written to.
    while (this.batches.length > 1 && this.held > max) {
      const oldest = this.batches.shift()!;
      this.held -= oldest.count;
      this.dropped += oldest.count;
      this.release(oldest.buf);
    }
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.options.flushIntervalMs ?? 250);
  }

  /** Writes everything buffered; resolves when stored. */
  async flush(): Promise<void> {
    // One INSERT at a time: a flush started while another runs waits for it (and any after it).
    while (this.flushing) await this.flushing;
    const batch = this.batches.shift();
    if (!batch) return;
    this.held -= batch.count;
    batch.buf[batch.used++] = 0x5d; // ]
    const json = batch.buf.toString('utf8', 0, batch.used);
    this.release(batch.buf);
    const writing: Promise<void> = this.database
      // One JSON parameter instead of eight arrays: the driver sends it as it is, where array
      // parameters were escaped element by element on the serving thread.
      .query(
        `INSERT INTO rec_logs (namespace_id, request_id, surface, user_id, anonymous_id, items, fallback, config_version)
         SELECT r.ns, r.rid, r.surface, r.uid, r.aid, r.items, r.fallback, r.cv
         FROM jsonb_to_recordset($1::text::jsonb)
           AS r(ns text, rid text, surface text, uid text, aid text, items jsonb, fallback bool, cv int)
         ON CONFLICT DO NOTHING`,
        [json],
      )
      .then(
        () => undefined,
        (error: unknown) => this.log.error({ err: error, lost: batch.count }, 'writing served lists failed'),
      )
      .finally(() => {
        if (this.flushing === writing) this.flushing = undefined;
      });
    this.flushing = writing;
    await writing;
    if (this.batches.length) await this.flush();
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  /** A buffer of at least `bytes`: the spare one when it is large enough. */
  private allocate(bytes: number): Buffer {
    if (bytes <= CHUNK_BYTES && this.spare) {
      const buf = this.spare;
      this.spare = undefined;
      return buf;
    }
    // Not from Buffer's shared pool: a batch lives until its flush.
    return Buffer.allocUnsafeSlow(Math.max(CHUNK_BYTES, bytes));
  }

  /** Keeps one standard-size buffer for the next batch, so a steady load allocates none. */
  private release(buf: Buffer) {
    if (buf.length === CHUNK_BYTES) this.spare = buf;
  }
}
