import {
  bytesToVector,
  createEngine,
  type EmbeddingEncoder,
  type Engine,
  embeddingListLength,
  IvfIndex,
  itemText,
  type PartialEngineConfig,
  type RecFilters,
  type RecRequest,
  type Surface,
  textHash,
  vectorToBytes,
} from '@recsys/engine';
import type { Database } from '../db/client';
import { compactHeap } from '../obs/compactHeap';
import type { Logger } from '../obs/logger';
import {
  type EngineList,
  EngineNotReadyError,
  type EngineService,
  type ServeInput,
} from '../serve/EngineService';
import {
  anonKey,
  EVENT_COLUMNS,
  type EventRow,
  ITEM_COLUMNS,
  type ItemDisplay,
  type ItemRow,
  toDisplay,
  toEngineEvent,
  toEngineItem,
  userKeyOf,
} from './rows';

export interface EngineHostOptions {
  database: Database;
  log: Logger;
  /**
   * How often to look for writes made by any process sharing the database.
   * Freshness across replicas is bounded by this plus one query.
   * @default 500
   */
  pollIntervalMs?: number;
  /**
   * Text encoder for item embeddings; `null` disables embeddings (similarity,
   * MMR and cold-start items then use behaviour and tags only).
   * @default null
   */
  encoder?: EmbeddingEncoder | null;
  /**
   * Items embedded per encoder call.
   * @default 256
   */
  embeddingBatchSize?: number;
  /**
   * Rows read per query when loading a namespace.
   * @default 50000
   */
  loadPageSize?: number;
}

/** The in-memory state of one namespace in this process. */
export interface NamespaceRuntime {
  namespaceId: string;
  engine: Engine;
  /** anonymousId → userId */
  aliases: Map<string, string>;
  display: Map<string, ItemDisplay>;
  vectors: IvfIndex | undefined;
  configVersion: number | null;
  /** Text hash of each item's stored vector. */
  storedHashes: Map<string, string>;
  /** Items whose text changed since their vector was computed. */
  pendingEmbeddings: Map<string, { text: string; hash: string }>;
}

type Tx = { lo: number; hi: number };

/**
 * Row length of a namespace's precomputed embedding neighbours: what its config asks for plus a
 * quarter, because a row whose entries the request filters out (out of stock: 8% of a typical
 * catalog) below the asked length is answered by a full index scan instead.
 */
function neighborTableLength(engine: Engine): number {
  return Math.ceil(embeddingListLength(engine.getConfig().ranking.candidatesPerSignal) * 1.25);
}

/** Loads of at least this many events are followed by a heap compaction. */
const COMPACT_AFTER_EVENTS = 200_000;

/**
 * Keeps an engine per namespace in memory and in step with the database.
 *
 * Every write carries its transaction id (`tx`). Each poll reads the rows
 * with `lo <= tx < pg_snapshot_xmin(now)`: all of those transactions have
 * finished, so each committed row is seen exactly once, in every process,
 * whichever process wrote it. That is what lets several replicas behind a
 * load balancer agree within a poll interval.
 */
export class EngineHost implements EngineService {
  private readonly namespaces = new Map<string, NamespaceRuntime>();
  private lastXmin = 0;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private pollAgain = false;
  private embedding: Promise<void> | undefined;
  private stopped = false;
  private loaded = false;
  readonly options: Required<Omit<EngineHostOptions, 'encoder'>> & { encoder: EmbeddingEncoder | null };

  constructor(options: EngineHostOptions) {
    this.options = {
      pollIntervalMs: 500,
      embeddingBatchSize: 256,
      loadPageSize: 50_000,
      ...options,
      encoder: options.encoder ?? null,
    };
  }

  /** True once every namespace has been loaded. */
  get ready(): boolean {
    return this.loaded;
  }

  /** Loads every namespace, then polls for changes until `stop()`. */
  async start(): Promise<void> {
    const started = performance.now();
    const hi = await this.currentXmin();
    const ids = await this.options.database.query<{ id: string }>('SELECT id FROM namespaces ORDER BY id');
    let events = 0;
    for (const { id } of ids) events += await this.load(id, hi);
    this.lastXmin = hi;
    // A big load leaves the heap fragmented (see compactHeap); compact before serving. Small loads
    // (tests, new shops) skip the collections' pause.
    const rssBefore = process.memoryUsage().rss;
    const compacted = events >= COMPACT_AFTER_EVENTS && compactHeap();
    this.loaded = true;
    this.options.log.info(
      {
        namespaces: ids.length,
        events,
        ms: Math.round(performance.now() - started),
        rssMb: Math.round(process.memoryUsage().rss / 1_048_576),
        ...(compacted ? { rssBeforeCompactionMb: Math.round(rssBefore / 1_048_576) } : {}),
      },
      'engine indexes loaded',
    );
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.polling;
    await this.embedding;
    for (const rt of this.namespaces.values()) rt.vectors?.dispose();
  }

  /** The runtime of a namespace; an empty one for a namespace created since start. */
  get(namespaceId: string): NamespaceRuntime {
    let rt = this.namespaces.get(namespaceId);
    if (!rt) {
      rt = this.emptyRuntime(namespaceId);
      this.namespaces.set(namespaceId, rt);
    }
    return rt;
  }

  /** Ranks one list of `namespaceId` and maps it to what responses carry (display fields, reasons). */
  serve(namespaceId: string, surface: Surface, input: ServeInput): EngineList {
    if (!this.loaded) throw new EngineNotReadyError();
    const rt = this.get(namespaceId);
    const userKey = userKeyOf(input.userId, input.anonymousId, rt.aliases);
    // Assigned field by field rather than spread from conditional objects: this runs for every
    // request, and each `...(cond ? { x } : {})` is a temporary object.
    const filters: RecFilters = {};
    const f = input.filters;
    if (f?.priceBetween) {
      const [priceMin, priceMax] = f.priceBetween;
      if (priceMin !== null) filters.priceMin = priceMin;
      if (priceMax !== null) filters.priceMax = priceMax;
    }
    if (f?.includeTagsAny) filters.includeTagsAny = f.includeTagsAny;
    if (f?.excludeTagsAny) filters.excludeTagsAny = f.excludeTagsAny;
    if (f?.excludeIds) filters.excludeIds = f.excludeIds;
    const request: RecRequest = { surface, k: input.k, explain: input.explain, filters };
    if (userKey) request.userKey = userKey;
    if (input.sessionId) request.sessionId = input.sessionId;
    if (input.itemId) request.itemId = input.itemId;
    if (input.itemIds) request.cartItemIds = input.itemIds;
    if (input.category) request.category = input.category;
    if (input.seed !== undefined) request.seed = input.seed;
    if (input.traits) request.traits = input.traits;
    if (input.contextItemIds) request.contextItemIds = input.contextItemIds;
    if (input.overrides) request.overrides = input.overrides;
    const result = rt.engine.recommend(request);
    const items = result.items.map((item, i) => {
      const d = rt.display.get(item.itemId);
      const out: EngineList['items'][number] = {
        itemId: item.itemId,
        rank: i + 1,
        score: item.score,
        title: d?.title ?? null,
        price: d?.price ?? null,
        currency: d?.currency ?? null,
        url: d?.url ?? null,
        imageUrl: d?.imageUrl ?? null,
      };
      if (input.explain) out.reasons = item.reasons ?? [];
      return out;
    });
    return {
      items,
      fallback: result.fallback,
      userId: input.userId ?? (input.anonymousId ? (rt.aliases.get(input.anonymousId) ?? null) : null),
      configVersion: rt.configVersion,
    };
  }

  /** Polls now instead of at the next tick (after this process ingested something). */
  nudge(): void {
    if (!this.loaded || this.stopped) return;
    void this.pollOnce();
  }

  /** Runs one poll; resolves when the changes visible now are applied. */
  pollOnce(): Promise<void> {
    if (this.polling) {
      this.pollAgain = true;
      return this.polling;
    }
    this.polling = (async () => {
      try {
        do {
          this.pollAgain = false;
          await this.applyChanges();
        } while (this.pollAgain && !this.stopped);
      } catch (error) {
        this.options.log.error({ err: error }, 'engine poll failed; retrying at the next tick');
      } finally {
        this.polling = undefined;
      }
    })();
    return this.polling;
  }

  private schedule() {
    if (this.stopped) return;
    this.timer = setTimeout(async () => {
      await this.pollOnce();
      this.startEmbeddingJob();
      this.schedule();
    }, this.options.pollIntervalMs);
    this.timer.unref();
  }

  private async currentXmin(): Promise<number> {
    const [row] = await this.options.database.query<{ xmin: string }>(
      'SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin',
    );
    return Number(row?.xmin ?? 0);
  }

  private emptyRuntime(namespaceId: string): NamespaceRuntime {
    const encoder = this.options.encoder;
    const engine = createEngine();
    const vectors = encoder
      ? new IvfIndex({ dim: encoder.dim, neighborTable: neighborTableLength(engine) })
      : undefined;
    // The index is filled in place as vectors arrive; the engine reads it live.
    engine.setVectors(vectors);
    return {
      namespaceId,
      engine,
      aliases: new Map(),
      display: new Map(),
      vectors,
      configVersion: null,
      storedHashes: new Map(),
      pendingEmbeddings: new Map(),
    };
  }

  /** (Re)builds a namespace from every row with `tx < hi`; returns the number of events read. */
  private async load(namespaceId: string, hi: number): Promise<number> {
    const db = this.options.database;
    const rt = this.emptyRuntime(namespaceId);
    await this.applyConfig(rt);
    const range: Tx = { lo: 0, hi };
    for (const row of await db.query<{ anonymous_id: string; user_id: string }>(
      'SELECT anonymous_id, user_id FROM aliases WHERE namespace_id = $1 AND tx < $2',
      [namespaceId, hi],
    )) {
      rt.aliases.set(row.anonymous_id, row.user_id);
    }
    await this.applyUsers(rt, range);
    await this.applyEmbeddings(rt, range);
    await this.applyItems(rt, range);
    // Events in pages, oldest first, keyed on (ts, event_id) so pages never overlap.
    let after: [string, string] | undefined;
    let events = 0;
    for (;;) {
      const rows = await db.query<EventRow & { ts_text: string; event_id: string }>(
        `SELECT ${EVENT_COLUMNS}, ts::text AS ts_text, event_id FROM events
         WHERE namespace_id = $1 AND tx < $2 ${after ? 'AND (ts, event_id) > ($3::timestamptz, $4)' : ''}
         ORDER BY ts, event_id LIMIT ${this.options.loadPageSize}`,
        after ? [namespaceId, hi, after[0], after[1]] : [namespaceId, hi],
      );
      this.applyEventRows(rt, rows);
      events += rows.length;
      const last = rows.at(-1);
      if (!last || rows.length < this.options.loadPageSize) break;
      after = [last.ts_text, last.event_id];
    }
    this.namespaces.set(namespaceId, rt);
    return events;
  }

  private async applyConfig(rt: NamespaceRuntime): Promise<void> {
    const [row] = await this.options.database.query<{
      version: number | null;
      config: PartialEngineConfig | null;
    }>(
      `SELECT n.active_config_version AS version, c.config FROM namespaces n
       LEFT JOIN engine_configs c ON c.namespace_id = n.id AND c.version = n.active_config_version
       WHERE n.id = $1`,
      [rt.namespaceId],
    );
    rt.configVersion = row?.version ?? null;
    rt.engine.setConfig(row?.config ?? {});
    // Every item's embedding neighbours are precomputed so no request pays for an index scan (see
    // IvfIndexOptions.neighborTable).
    rt.vectors?.setNeighborTable(neighborTableLength(rt.engine));
  }

  private async applyUsers(rt: NamespaceRuntime | undefined, range: Tx): Promise<void> {
    const rows = await this.options.database.query<{
      namespace_id: string;
      user_id: string;
      traits: Record<string, unknown>;
    }>(
      `SELECT namespace_id, user_id, traits FROM users WHERE tx >= $1 AND tx < $2 ${rt ? 'AND namespace_id = $3' : ''}`,
      rt ? [range.lo, range.hi, rt.namespaceId] : [range.lo, range.hi],
    );
    for (const row of rows) {
      const traits: Record<string, string> = {};
      const raw =
        typeof row.traits === 'string' ? (JSON.parse(row.traits) as Record<string, unknown>) : row.traits;
      for (const [k, v] of Object.entries(raw)) traits[k] = String(v);
      (rt ?? this.get(row.namespace_id)).engine.setUserTraits(row.user_id, traits);
    }
  }

  private async applyItems(rt: NamespaceRuntime | undefined, range: Tx): Promise<void> {
    const rows = await this.options.database.query<ItemRow>(
      `SELECT ${ITEM_COLUMNS} FROM items WHERE tx >= $1 AND tx < $2 ${rt ? 'AND namespace_id = $3' : ''}`,
      rt ? [range.lo, range.hi, rt.namespaceId] : [range.lo, range.hi],
    );
    const byNs = groupBy(rows, (r) => r.namespace_id);
    const encoder = this.options.encoder;
    for (const [ns, nsRows] of byNs) {
      const target = rt ?? this.get(ns);
      const items = nsRows.map(toEngineItem);
      target.engine.upsertItems(items);
      for (const row of nsRows) target.display.set(row.item_id, toDisplay(row));
      if (!encoder) continue;
      for (const item of items) {
        const text = itemText(item);
        const hash = textHash(text, encoder.modelId);
        if (target.storedHashes.get(item.itemId) === hash) target.pendingEmbeddings.delete(item.itemId);
        else target.pendingEmbeddings.set(item.itemId, { text, hash });
      }
    }
  }

  private async applyEmbeddings(rt: NamespaceRuntime | undefined, range: Tx): Promise<void> {
    const encoder = this.options.encoder;
    if (!encoder) return;
    const rows = await this.options.database.query<{
      namespace_id: string;
      item_id: string;
      text_hash: string;
      vector: Uint8Array;
    }>(
      `SELECT namespace_id, item_id, text_hash, vector FROM item_embeddings
       WHERE model_id = $3 AND tx >= $1 AND tx < $2 ${rt ? 'AND namespace_id = $4' : ''}`,
      rt ? [range.lo, range.hi, encoder.modelId, rt.namespaceId] : [range.lo, range.hi, encoder.modelId],
    );
    for (const row of rows) {
      const target = rt ?? this.get(row.namespace_id);
      target.storedHashes.set(row.item_id, row.text_hash);
      if (target.pendingEmbeddings.get(row.item_id)?.hash === row.text_hash) {
        target.pendingEmbeddings.delete(row.item_id);
      }
      target.vectors?.add(row.item_id, bytesToVector(row.vector));
    }
  }

  private applyEventRows(rt: NamespaceRuntime, rows: EventRow[]) {
    const events = [];
    for (const row of rows) {
      const event = toEngineEvent(row, rt.aliases);
      if (!event) continue;
      // An event carrying both ids is a login seen in the stream: fold the
      // anonymous profile in even before the alias row arrives.
      if (row.user_id && row.anonymous_id && !rt.aliases.has(row.anonymous_id)) {
        rt.aliases.set(row.anonymous_id, row.user_id);
        rt.engine.mergeUsers(anonKey(row.anonymous_id), row.user_id);
      }
      events.push(event);
    }
    if (events.length) rt.engine.addEvents(events);
  }

  private async applyChanges(): Promise<void> {
    const db = this.options.database;
    const hi = await this.currentXmin();
    const lo = this.lastXmin;
    if (hi <= lo) return;
    const range: Tx = { lo, hi };

    // Structural changes first: a forgotten user or a reset namespace is rebuilt
    // from the database as of `hi`, so its rows in this range are already in.
    const changes = await db.query<{ namespace_id: string; kind: string }>(
      'SELECT namespace_id, kind FROM changes WHERE tx >= $1 AND tx < $2 ORDER BY id',
      [lo, hi],
    );
    const rebuilt = new Set<string>();
    for (const change of changes) {
      if (change.kind === 'config') {
        if (!rebuilt.has(change.namespace_id)) await this.applyConfig(this.get(change.namespace_id));
      } else if (!rebuilt.has(change.namespace_id)) {
        await this.load(change.namespace_id, hi);
        rebuilt.add(change.namespace_id);
      }
    }
    const skip = (ns: string) => rebuilt.has(ns);

    await this.applyUsers(undefined, range);
    const aliasRows = await db.query<{ namespace_id: string; anonymous_id: string; user_id: string }>(
      'SELECT namespace_id, anonymous_id, user_id FROM aliases WHERE tx >= $1 AND tx < $2',
      [lo, hi],
    );
    for (const row of aliasRows) {
      if (skip(row.namespace_id)) continue;
      const rt = this.get(row.namespace_id);
      rt.aliases.set(row.anonymous_id, row.user_id);
      rt.engine.mergeUsers(anonKey(row.anonymous_id), row.user_id);
    }
    await this.applyEmbeddings(undefined, range);
    await this.applyItems(undefined, range);
    const eventRows = await db.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM events WHERE tx >= $1 AND tx < $2 ORDER BY ts`,
      [lo, hi],
    );
    for (const [ns, rows] of groupBy(eventRows, (r) => r.namespace_id)) {
      if (!skip(ns)) this.applyEventRows(this.get(ns), rows);
    }
    this.lastXmin = hi;
  }

  /** Embeds items whose text changed, a batch at a time, off the request path. */
  private startEmbeddingJob() {
    const encoder = this.options.encoder;
    if (!encoder || this.embedding || this.stopped) return;
    const rt = [...this.namespaces.values()].find((r) => r.pendingEmbeddings.size > 0);
    if (!rt) return;
    this.embedding = (async () => {
      try {
        const batch = [...rt.pendingEmbeddings].slice(0, this.options.embeddingBatchSize);
        const vectors = await encoder.encode(batch.map(([, p]) => p.text));
        await this.options.database.query(
          `INSERT INTO item_embeddings (namespace_id, item_id, model_id, text_hash, vector)
           SELECT $1, u.item_id, $2, u.text_hash, decode(u.vector, 'base64')
           FROM unnest($3::text[], $4::text[], $5::text[]) AS u(item_id, text_hash, vector)
           ON CONFLICT (namespace_id, item_id, model_id) DO UPDATE
             SET text_hash = excluded.text_hash, vector = excluded.vector, updated_at = now(),
                 tx = (pg_current_xact_id()::text::bigint)
             WHERE item_embeddings.text_hash <> excluded.text_hash`,
          [
            rt.namespaceId,
            encoder.modelId,
            batch.map(([id]) => id),
            batch.map(([, p]) => p.hash),
            vectors.map((v) => Buffer.from(vectorToBytes(v)).toString('base64')),
          ],
        );
        // The poll applies the stored vectors (here and in every other process);
        // until then, do not embed the same items again.
        for (const [id, p] of batch) rt.storedHashes.set(id, p.hash);
        for (const [id] of batch) rt.pendingEmbeddings.delete(id);
      } catch (error) {
        this.options.log.error(
          { err: error, namespace: rt.namespaceId },
          'embedding batch failed; will retry',
        );
      } finally {
        this.embedding = undefined;
      }
    })();
  }

  /** Resolves when no item is waiting for an embedding (tests, seeding). */
  async drainEmbeddings(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await this.pollOnce();
      const pending = [...this.namespaces.values()].some((r) => r.pendingEmbeddings.size > 0);
      if (!pending && !this.embedding) {
        await this.pollOnce();
        return;
      }
      if (Date.now() > deadline) throw new Error('Timed out waiting for item embeddings.');
      this.startEmbeddingJob();
      await this.embedding;
    }
  }
}

function groupBy<T>(rows: T[], key: (row: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const row of rows) {
    const k = key(row);
    const list = out.get(k);
    if (list) list.push(row);
    else out.set(k, [row]);
  }
  return out;
}
