import type { Database } from '../db/client';
import type { Logger } from '../obs/logger';
import type { TraceEntry } from '../traces/storedTrace';
import { hashedId } from '../traces/traceStore';

export interface ServedList {
  namespaceId: string;
  requestId: string;
  surface: string;
  userId: string | null;
  anonymousId: string | null;
  items: ReadonlyArray<{ itemId: string; rank: number; score: number }>;
  fallback: boolean;
  configVersion: number | null;
  /** The experiment and variant it was served under; absent outside experiments. */
  experiment?: { id: string; variant: string } | undefined;
  /**
   * The request's `traits.segment`, for experiment results by segment; cut to
   * {@link SEGMENT_MAX_LENGTH} characters, and an empty one is none.
   */
  segment?: string | null | undefined;
  /** How long serving it took, ms (for the `p95LatencyMs` guardrail). */
  durationMs?: number | undefined;
  /**
   * The list's decision trace, when it was sampled: made when the writer takes the list, which it
   * does after the response has been sent (see {@link RecLogWriter.push}).
   */
  trace?: (() => TraceEntry | undefined) | undefined;
}

/** A recommendation request assigned to an experiment's variant that failed: counted, not listed. */
export interface FailedRequest {
  namespaceId: string;
  experiment: { id: string; variant: string };
}

/** Longest segment logged, in characters: as long as the request contract lets a trait value be. */
export const SEGMENT_MAX_LENGTH = 256;

/**
 * The segment as logged: null for none or empty, else at most {@link SEGMENT_MAX_LENGTH} UTF-16 units,
 * never ending in half a surrogate pair (which `jsonb` would refuse, losing the list).
 */
export function loggedSegment(segment: string | null | undefined): string | null {
  if (!segment) return null;
  if (segment.length <= SEGMENT_MAX_LENGTH) return segment;
  const cut = segment.slice(0, SEGMENT_MAX_LENGTH);
  const last = cut.charCodeAt(cut.length - 1);
  return last >= 0xd800 && last <= 0xdbff ? cut.slice(0, -1) : cut;
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
  /**
   * Longest wait between two attempts while the database refuses connections, ms (the wait doubles
   * from `flushIntervalMs` up to this).
   * @default 5_000
   */
  maxRetryDelayMs?: number;
  /**
   * Bytes of buffered lists beyond which new lists are kept without their decision trace (the list
   * itself is always kept); traces are also left out while the database is failing. Counted in
   * `tracesSkipped`.
   * @default 64 MiB
   */
  maxTraceBufferBytes?: number;
}

/** Traced lists waiting for the next turn beyond which they are encoded at once. */
const DEFERRED_MAX = 256;
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
 * SQLSTATE classes that blame the rows, not the connection: 22 (data exception) and 23 (integrity
 * constraint, e.g. a namespace deleted since the list was served). Anything else — a refused or cut
 * connection, a shutdown, a timeout — says nothing about the rows, so they are kept and retried.
 */
function blamesTheRows(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^2[23]/.test(code);
}

/**
 * Writes served lists in the background, batched, so logging never adds to
 * a recommendation's latency; a sampled list's decision trace goes into `rec_traces` by the same
 * statement. While the database is down, lists are kept and the write is retried
 * with backoff; only a full buffer drops the oldest, and counts them, rather than growing without
 * bound. A row the database refuses is found by halving its batch and is the only one lost
 * (counted in `rejected`): one bad list never takes other lists, or other namespaces', with it.
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
  private failures = 0;
  /** The batch an INSERT is running for: never dropped under it. */
  private inFlight: Batch | undefined;
  /** Served lists dropped because the buffer was full. */
  dropped = 0;
  /** Served lists the database refused as data (each one alone); the others of their batch are stored. */
  rejected = 0;
  /** Traced lists handed to {@link push} and not yet encoded (they wait for the next turn). */
  private deferred: ServedList[] = [];
  /** Bytes of the batch buffers held. */
  private bufferedBytes = 0;
  /** Traces left out to bound memory while the database is slow or down; their lists are kept. */
  tracesSkipped = 0;

  constructor(
    private readonly database: Database,
    private readonly log: Logger,
    private readonly options: RecLogWriterOptions = {},
  ) {}

  /** Served lists waiting to be written. */
  get pending(): number {
    return this.held + this.deferred.length;
  }

  /**
   * Takes a served list. A traced one is encoded on the event loop's next turn, once the response
   * it belongs to has been written: its trace is a few kilobytes of JSON that the request need not
   * wait for.
   */
  push(entry: ServedList): void {
    if (entry.trace === undefined) {
      this.append(entry);
      return;
    }
    // One turn takes every traced list pushed before it. A caller that never yields to the event
    // loop (an in-process loop of awaited calls) would pile them up, kept alive and copied by every
    // young-generation collection: past DEFERRED_MAX (a few MB), they are encoded at once.
    const waiting = this.deferred.push(entry);
    if (waiting === 1) setImmediate(() => this.appendDeferred());
    else if (waiting >= DEFERRED_MAX) this.appendDeferred();
  }

  private appendDeferred(): void {
    const lists = this.deferred;
    this.deferred = [];
    for (const entry of lists) this.append(entry);
  }

  /**
   * Counts a request that was assigned a variant and then failed (the `errorRate` guardrail's
   * numerator). Written with the served lists, batched and retried like them.
   */
  pushFailure(failure: FailedRequest): void {
    this.appendRow(
      JSON.stringify({
        ns: failure.namespaceId,
        exp: failure.experiment.id,
        var: failure.experiment.variant,
        at: Date.now(),
        failed: true,
      }),
    );
  }

  private append(entry: ServedList): void {
    let trace: TraceEntry | undefined;
    if (entry.trace) {
      // A trace is many times the size of its list: while lists pile up, keep the lists.
      if (this.failures > 0 || this.bufferedBytes > (this.options.maxTraceBufferBytes ?? 64 * 1024 * 1024))
        this.tracesSkipped++;
      else {
        try {
          trace = entry.trace();
        } catch (error) {
          // A trace that cannot be made never costs its list.
          this.tracesSkipped++;
          this.log.error(
            { err: error, requestId: entry.requestId },
            'making a decision trace failed; list kept',
          );
        }
      }
    }
    const row = JSON.stringify({
      ns: entry.namespaceId,
      rid: entry.requestId,
      surface: entry.surface,
      uid: entry.userId,
      aid: entry.anonymousId,
      items: entry.items.map(({ itemId, rank, score }) => ({ itemId, rank, score })),
      fallback: entry.fallback,
      cv: entry.configVersion,
      // When it was served, not when its batch is written (later, and much later while the
      // database is down): experiment results count a visitor's events from their first list on.
      at: Date.now(),
      exp: entry.experiment?.id,
      var: entry.experiment?.variant,
      seg: loggedSegment(entry.segment),
      ms: entry.durationMs !== undefined && Number.isFinite(entry.durationMs) ? entry.durationMs : null,
      tr: trace?.body ?? null,
      ti: trace?.itemIds ?? null,
      tru: trace?.ruleIds ?? null,
    });
    this.appendRow(row);
  }

  /** Appends one row's JSON to the batch being filled (a new one when it is full). */
  private appendRow(row: string): void {
    const bytes = Buffer.byteLength(row);
    const max = this.options.maxBuffer ?? 50_000;
    let batch = this.batches.at(-1);
    // Room for a separator and the closing `]` the flush adds.
    if (
      !batch ||
      batch === this.inFlight ||
      batch.count >= Math.min(BATCH, max) ||
      batch.used + bytes + 2 > batch.buf.length
    ) {
      batch = { buf: this.allocate(bytes + 2), used: 1, count: 0 };
      this.bufferedBytes += batch.buf.length;
      batch.buf[0] = 0x5b; // [
      this.batches.push(batch);
    }
    if (batch.count > 0) batch.buf[batch.used++] = 0x2c; // ,
    batch.used += batch.buf.write(row, batch.used);
    batch.count++;
    this.held++;
    // The oldest batch goes while it is neither the one just written to nor one being inserted.
    while (this.held > max) {
      const i = this.batches[0] === this.inFlight ? 1 : 0;
      if (i >= this.batches.length - 1) break;
      const [oldest] = this.batches.splice(i, 1) as [Batch];
      this.held -= oldest.count;
      this.bufferedBytes -= oldest.buf.length;
      this.dropped += oldest.count;
      this.release(oldest.buf);
    }
    this.schedule(this.options.flushIntervalMs ?? 250);
  }

  private schedule(delayMs: number): void {
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, delayMs);
  }

  /**
   * Writes everything buffered; resolves when stored, or when the database is unreachable (the lists
   * stay buffered and a retry is scheduled).
   */
  async flush(): Promise<void> {
    // Traced lists pushed before this call are taken first (immediates run in order).
    while (this.deferred.length > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    // One INSERT at a time: a flush started while another runs waits for it (and any after it).
    while (this.flushing) await this.flushing;
    const batch = this.batches[0];
    if (!batch) return;
    // Closed for this attempt; a batch that must wait gets its `]` taken back below.
    batch.buf[batch.used++] = 0x5d; // ]
    const json = batch.buf.toString('utf8', 0, batch.used);
    this.inFlight = batch;
    const writing: Promise<void> = this.write(json, batch.count)
      .then(
        () => {
          this.batches.splice(this.batches.indexOf(batch), 1);
          this.held -= batch.count;
          this.bufferedBytes -= batch.buf.length;
          this.release(batch.buf);
          this.failures = 0;
        },
        (error: unknown) => {
          batch.used--;
          this.failures++;
          const delay = Math.min(
            (this.options.flushIntervalMs ?? 250) * 2 ** this.failures,
            this.options.maxRetryDelayMs ?? 5_000,
          );
          this.log.warn(
            { err: error, pending: this.held, retryInMs: delay },
            'writing served lists failed; kept for a retry',
          );
          this.schedule(delay);
        },
      )
      .finally(() => {
        this.inFlight = undefined;
        if (this.flushing === writing) this.flushing = undefined;
      });
    this.flushing = writing;
    await writing;
    // Written: go on with the next batch; a failed one waits for its retry.
    if (this.failures === 0 && this.batches.length) await this.flush();
  }

  /**
   * Inserts a JSON array of served lists. A refusal that blames the rows is narrowed by halves to the
   * single lists at fault, which are dropped and counted; any other failure rejects, and the caller
   * keeps the whole batch.
   */
  private async write(json: string, count: number): Promise<void> {
    try {
      await this.database
        // One JSON parameter instead of eight arrays: the driver sends it as it is, where array
        // parameters were escaped element by element on the serving thread.
        // The served list and, when sampled, its trace: one statement, so neither is stored alone.
        // Trace rows hash the ids with the namespace's salt here, in the database.
        .query(
          `WITH r AS (
             SELECT * FROM jsonb_to_recordset($1::text::jsonb)
               AS r(ns text, rid text, surface text, uid text, aid text, items jsonb, fallback bool, cv int,
                    exp text, var text, seg text, ms float8, at float8, tr jsonb, ti text[], tru text[],
                    failed bool)
           ), logged AS (
             INSERT INTO rec_logs (namespace_id, request_id, surface, user_id, anonymous_id, items, fallback,
                                   config_version, experiment_id, variant, segment, duration_ms, created_at)
             SELECT r.ns, r.rid, r.surface, r.uid, r.aid, r.items, r.fallback, r.cv, r.exp, r.var, r.seg, r.ms,
                    to_timestamp(r.at / 1000.0) FROM r
             WHERE r.failed IS NOT TRUE
             ON CONFLICT DO NOTHING
           ), failures AS (
             -- Failed requests are counts per variant and UTC minute: one row per variant and minute of
             -- the batch (grouped, so the upsert never meets its own key twice).
             INSERT INTO experiment_failures (namespace_id, experiment_id, variant, minute, failed, last_failed_at)
             SELECT r.ns, r.exp, r.var, date_trunc('minute', to_timestamp(r.at / 1000.0)), count(*)::int,
                    to_timestamp(max(r.at) / 1000.0) FROM r
             WHERE r.failed IS TRUE
             GROUP BY r.ns, r.exp, r.var, 4
             ON CONFLICT (namespace_id, experiment_id, variant, minute) DO UPDATE
               SET failed = experiment_failures.failed + excluded.failed,
                   last_failed_at = greatest(experiment_failures.last_failed_at, excluded.last_failed_at)
           )
           INSERT INTO rec_traces (namespace_id, request_id, surface, user_hash, anonymous_hash, config_version,
                                   experiment, variant, item_ids, rule_ids, trace, created_at)
           SELECT r.ns, r.rid, r.surface, ${hashedId('n.trace_salt', 'u', 'r.uid')}, ${hashedId('n.trace_salt', 'a', 'r.aid')},
                  r.cv, r.exp, r.var, coalesce(r.ti, '{}'), coalesce(r.tru, '{}'), r.tr, to_timestamp(r.at / 1000.0)
           FROM r JOIN namespaces n ON n.id = r.ns
           WHERE r.tr IS NOT NULL AND r.failed IS NOT TRUE
           ON CONFLICT DO NOTHING`,
          [json],
        );
    } catch (error) {
      if (!blamesTheRows(error)) throw error;
      if (count === 1) {
        this.rejected++;
        this.log.error(
          { err: error, list: json.slice(0, 500) },
          'the database refused a served list; dropped',
        );
        return;
      }
      // Rare (the contracts keep bad values out), so re-parsing here costs nothing on the hot path.
      const rows = JSON.parse(json) as unknown[];
      const half = rows.length >> 1;
      await this.write(JSON.stringify(rows.slice(0, half)), half);
      await this.write(JSON.stringify(rows.slice(half)), rows.length - half);
    }
  }

  /** Writes what is buffered, once; lists the database could not take now are logged as lost. */
  async close(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.failures = 0;
    await this.flush();
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.held > 0) this.log.error({ lost: this.held }, 'served lists not written before shutdown');
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
