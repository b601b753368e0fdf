/*
 * Longer than the ~450-line guideline on purpose: the host's life in one class — start (load or
 * restore every namespace), the poll loop and what each poll applies, stop — plus the engine service
 * it offers, whose methods only pick the namespace. Its options with their TSDoc are a sixth of it.
 */
import type { EmbeddingEncoder } from '@recsys/engine';
import { anonKey, type Surface, userKeyOf } from '@recsys/engine/protocol';
import type { Database } from '../db/client';
import { compactHeap } from '../obs/compactHeap';
import type { Logger } from '../obs/logger';
import {
  type BundleServeInput,
  type EngineBundle,
  type EngineGroup,
  type EngineList,
  EngineNotReadyError,
  type EngineRerank,
  type EngineService,
  type GroupServeInput,
  type IndexFreshness,
  type LoadProgress,
  type NearCacheSource,
  type RerankServeInput,
  type ServeInput,
} from '../serve/EngineService';
import { previewRules, type RulePreviewJob, type RulePreviewLists } from '../serve/previewRules';
import type { ResponseCache } from '../serve/ResponseCache';
import { serveBundle } from '../serve/serveBundle';
import { serveGroup, serveRerank } from '../serve/serveGroup';
import { serveList, serveListCached } from '../serve/serveList';
import { groupBy, RowApplier } from './applyRows';
import { ChangeStamps } from './changeStamps';
import { ChangeVersions } from './changeVersions';
import { EmbeddingJob } from './embeddingJob';
import { createNamespaceRuntime, type NamespaceRuntime } from './namespaceRuntime';
import { EVERY_NAMESPACE, NamespaceNotPlacedError, type Placement, placesNamespace } from './placement';
import {
  type EventPageCursor,
  readAliases,
  readChanges,
  readCurrentXmin,
  readEventPage,
  readEvents,
  readNamespaceIds,
  readNextTransactionId,
  type TxRange,
} from './reads';
import { type SnapshotHost, SnapshotKeeper } from './snapshotKeeper';

export type { NamespaceRuntime } from './namespaceRuntime';

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
  /**
   * The namespaces whose engines this process holds (see {@link Placement}); the others' rows are
   * read by the polls and left alone.
   * @default every namespace
   */
  placement?: Placement;
  /**
   * The response cache of `recs.*` lists (see `createResponseCache`); each poll moves the versions
   * its keys carry. Absent: every list is ranked.
   * @default undefined
   */
  cache?: ResponseCache | undefined;
  /**
   * Another thread asks this host for lists and keeps those of the cache near it (`startHttpThread`):
   * changes are then also counted in shared memory for it (see `ChangeStamps`, `NearCache`). Off, no
   * request pays for counters nobody reads.
   * @default false
   */
  keepListsNear?: boolean;
  /**
   * Told after each poll that applied events: per namespace, the longest one of them had waited
   * since it was stored, in seconds (see `FreshnessRecorder`).
   */
  onApplied?: ((lagSecondsByNamespace: Record<string, number>) => void) | undefined;
  /**
   * Directory of engine snapshots, one file per namespace. At start a namespace is restored from its
   * snapshot when the snapshot is intact and still describes the database (same namespace, config
   * version and event rows; no user forgotten nor reset since), then only the rows written after it
   * are applied; otherwise the host logs why and builds from the database. Snapshots are written
   * every {@link snapshotIntervalMs} and on `stop()`. Unset: no snapshots.
   * @default undefined
   * @example { snapshotDir: '/var/lib/recsys/snapshots' }
   */
  snapshotDir?: string | undefined;
  /**
   * How often namespaces that changed are snapshotted (each write holds this thread, and the polls,
   * for as long as the engine takes to serialize: seconds per million events).
   * @default 600000 (10 minutes)
   */
  snapshotIntervalMs?: number;
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
 * load balancer agree within a poll interval. Every read goes through
 * `reads.ts`, bound to the schema; rows become engine state in `applyRows.ts`;
 * snapshots are kept by `snapshotKeeper.ts`.
 */
export class EngineHost implements EngineService {
  private readonly namespaces = new Map<string, NamespaceRuntime>();
  private lastXmin = 0;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private pollAgain = false;
  private readonly embeddings: EmbeddingJob | undefined;
  private stopped = false;
  private loaded = false;
  private fresh: IndexFreshness = { appliedAt: 0, lagSeconds: 0 };
  private loading: LoadProgress = { loaded: 0, total: undefined };
  private readonly apply: RowApplier;
  private readonly snapshots: SnapshotKeeper;
  readonly options: Required<Omit<EngineHostOptions, 'encoder' | 'cache' | 'onApplied' | 'snapshotDir'>> & {
    encoder: EmbeddingEncoder | null;
    cache: ResponseCache | undefined;
    onApplied: EngineHostOptions['onApplied'];
    snapshotDir: string | undefined;
  };
  /**
   * How long a change's version is kept (see `ChangeVersions`): the cache's TTL plus a minute for the
   * slowest replica to apply the same change.
   */
  private readonly versionsKeepMs: number;
  /** The change counters another thread reads to keep lists near it (`keepListsNear`, with a cache). */
  private readonly stamps: ChangeStamps | undefined;

  constructor(options: EngineHostOptions) {
    this.options = {
      pollIntervalMs: 500,
      embeddingBatchSize: 256,
      loadPageSize: 50_000,
      placement: EVERY_NAMESPACE,
      snapshotIntervalMs: 600_000,
      keepListsNear: false,
      ...options,
      encoder: options.encoder ?? null,
      cache: options.cache,
      onApplied: options.onApplied,
      snapshotDir: options.snapshotDir,
    };
    this.versionsKeepMs = options.cache ? options.cache.ttlMs + 60_000 : 0;
    this.stamps = options.cache && options.keepListsNear ? new ChangeStamps() : undefined;
    const { encoder, database, log, embeddingBatchSize } = this.options;
    this.embeddings = encoder ? new EmbeddingJob(database, encoder, log, embeddingBatchSize) : undefined;
    this.snapshots = new SnapshotKeeper({
      database,
      log,
      encoder,
      dir: this.options.snapshotDir,
      intervalMs: this.options.snapshotIntervalMs,
      runtimes: this.namespaces,
      places: (id) => this.places(id),
      inPollSlot: (capture) => this.inPollSlot(capture),
      onWritten: (times) => {
        this.fresh = { ...this.fresh, snapshots: { ...times } };
      },
    });
    this.apply = new RowApplier({
      database,
      log,
      encoder,
      get: (id) => this.get(id),
      places: (id) => this.places(id),
      changed: (id) => this.snapshots.changed(id),
    });
  }

  /** True once every namespace has been loaded. */
  get ready(): boolean {
    return this.loaded;
  }

  /** How far `start()` has got: namespaces loaded, of how many. */
  get progress(): LoadProgress {
    return this.loading;
  }

  /** When the indexes last caught up with the database, and how long the events applied then waited. */
  get freshness(): IndexFreshness {
    return this.fresh;
  }

  /** Loads every namespace, then polls for changes until `stop()`. */
  async start(): Promise<void> {
    const started = performance.now();
    const db = this.options.database;
    const hi = await readCurrentXmin(db);
    const ids = (await readNamespaceIds(db)).filter(({ id }) => this.places(id));
    /** Events in the loaded indexes, built or restored. */
    let events = 0;
    this.loading = { loaded: 0, total: ids.length };
    for (const { id } of ids) {
      events += (await this.loadSnapshot(id, hi)) ?? (await this.load(id, hi));
      this.loading = { loaded: this.loading.loaded + 1, total: ids.length };
    }
    this.lastXmin = hi;
    this.fresh = this.nothingWaiting();
    // A big load leaves the heap fragmented (see compactHeap) and the indexes with room to grow
    // they will not need at once (engine.trimMemory); give both back before serving. Small loads
    // (tests, new shops) skip the collections' pause.
    const rssBefore = process.memoryUsage().rss;
    if (events >= COMPACT_AFTER_EVENTS) for (const rt of this.namespaces.values()) rt.engine.trimMemory();
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
    this.snapshots.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.snapshots.stop();
    await this.polling;
    await this.embeddings?.current;
    // A clean shutdown leaves a snapshot as fresh as the indexes, so the next start replays nothing.
    if (this.loaded) await this.writeSnapshots();
    for (const rt of this.namespaces.values()) {
      rt.vectors?.dispose();
      await rt.learned?.dispose();
    }
  }

  /** The namespaces whose engines are in memory here, in the order they were loaded or created. */
  get namespaceIds(): string[] {
    return [...this.namespaces.keys()];
  }

  /** Freshness after a poll that applied no event: no namespace has one waiting. */
  private nothingWaiting(): IndexFreshness & { namespaces: Record<string, number> } {
    const namespaces: Record<string, number> = {};
    for (const id of this.namespaces.keys()) namespaces[id] = 0;
    return { appliedAt: Date.now(), lagSeconds: 0, namespaces, snapshots: { ...this.snapshots.times } };
  }

  /** Whether this host holds `namespaceId`'s engine (its {@link EngineHostOptions.placement}). */
  places(namespaceId: string): boolean {
    return placesNamespace(this.options.placement, namespaceId);
  }

  /** The runtime of a namespace to serve from; throws when it is placed on other replicas. */
  private placed(namespaceId: string): NamespaceRuntime {
    if (!this.places(namespaceId)) throw new NamespaceNotPlacedError(namespaceId, this.options.placement);
    return this.get(namespaceId);
  }

  /** The runtime of a namespace; an empty one for a namespace created since start. */
  get(namespaceId: string): NamespaceRuntime {
    let rt = this.namespaces.get(namespaceId);
    if (!rt) {
      rt = createNamespaceRuntime(namespaceId, this.options.encoder, this.newVersions(namespaceId));
      this.namespaces.set(namespaceId, rt);
    }
    return rt;
  }

  /** The change versions of a namespace's new runtime, bumping this host's shared counters. */
  private newVersions(namespaceId: string): ChangeVersions {
    return new ChangeVersions(this.versionsKeepMs, this.stamps && { table: this.stamps, namespaceId });
  }

  /** What a thread that asks this host for lists needs to keep them near it (see `NearCache`). */
  get nearCache(): NearCacheSource | undefined {
    const { cache } = this.options;
    return cache && this.stamps ? { stamps: this.stamps.buffer, maxEntries: cache.maxEntries } : undefined;
  }

  /** Ranks one list of `namespaceId` and maps it to what responses carry (display fields, reasons). */
  serve(namespaceId: string, surface: Surface, input: ServeInput): EngineList | Promise<EngineList> {
    if (!this.loaded) throw new EngineNotReadyError();
    const { cache } = this.options;
    const rt = this.placed(namespaceId);
    return cache ? serveListCached(rt, surface, input, cache) : serveList(rt, surface, input);
  }

  /** Suggests a product bundle from `namespaceId`'s engine, with display fields. */
  serveBundle(namespaceId: string, input: BundleServeInput): EngineBundle {
    if (!this.loaded) throw new EngineNotReadyError();
    return serveBundle(this.placed(namespaceId), input);
  }

  /** Ranks a group list from `namespaceId`'s engine, with display fields. */
  serveGroup(namespaceId: string, input: GroupServeInput): EngineGroup {
    if (!this.loaded) throw new EngineNotReadyError();
    return serveGroup(this.placed(namespaceId), input);
  }

  /** Reranks a caller's candidates with `namespaceId`'s engine, with display fields. */
  serveRerank(namespaceId: string, input: RerankServeInput): EngineRerank {
    if (!this.loaded) throw new EngineNotReadyError();
    return serveRerank(this.placed(namespaceId), input);
  }

  /** A dry run of a rule change on a namespace's engine (nothing is installed). */
  previewRules(namespaceId: string, job: RulePreviewJob): RulePreviewLists {
    if (!this.loaded) throw new EngineNotReadyError();
    return previewRules(this.placed(namespaceId), job);
  }

  /** Polls now instead of at the next tick (after this process ingested something). */
  nudge(): void {
    if (!this.loaded || this.stopped) return;
    void this.pollOnce();
  }

  /**
   * Applies every write committed before the call (a rule change its caller just made) before
   * resolving. One poll is not enough: a transaction open elsewhere on the database server holds the
   * poll's horizon back. After a few seconds it gives up quietly; the next polls apply the change.
   */
  async settle(): Promise<void> {
    if (!this.loaded || this.stopped) return;
    await this.catchUp(5_000).catch((error: unknown) => {
      this.options.log.warn({ err: error }, 'change not applied yet; the next polls will');
    });
  }

  /**
   * Resolves once every write committed before the call is applied here: polls until the poll's
   * horizon (`pg_snapshot_xmin`) passes the first transaction id not yet assigned when it was
   * called. One poll is not always enough: a transaction open anywhere on the database server, in
   * any database, holds the horizon back until it ends (see the README's Freshness). Tests and
   * seeding use it after a write; serving never waits on it.
   */
  async catchUp(timeoutMs = 60_000): Promise<void> {
    const target = await readNextTransactionId(this.options.database);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await this.pollOnce();
      if (this.lastXmin >= target || this.stopped) return;
      if (Date.now() > deadline) {
        throw new Error(
          `Timed out catching up with the database: applied up to transaction ${this.lastXmin}, waiting for ${target}; a long transaction elsewhere on the server holds the horizon back.`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
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
      if (!this.stopped) this.embeddings?.start(this.namespaces.values());
      this.schedule();
    }, this.options.pollIntervalMs);
    this.timer.unref();
  }

  /**
   * (Re)builds a namespace from every row with `tx < hi`; returns the number of events read. A
   * rebuild keeps the namespace's change versions (the change that caused it moves them).
   */
  private async load(namespaceId: string, hi: number): Promise<number> {
    const db = this.options.database;
    let versions = this.namespaces.get(namespaceId)?.versions;
    if (!versions) {
      versions = this.newVersions(namespaceId);
      versions.loaded(hi);
    }
    const rt = createNamespaceRuntime(namespaceId, this.options.encoder, versions);
    await this.apply.config(rt);
    await this.apply.rules(rt);
    const range: TxRange = { lo: 0, hi };
    for (const row of await readAliases(db, range, namespaceId)) rt.aliases.set(row.anonymousId, row.userId);
    await this.apply.users(rt, range);
    await this.apply.embeddings(rt, range);
    await this.apply.items(rt, range);
    await this.apply.learned(rt, this.namespaces.get(namespaceId)?.learned);
    let after: EventPageCursor | undefined;
    let events = 0;
    for (;;) {
      const rows = await readEventPage(db, namespaceId, hi, after, this.options.loadPageSize);
      this.apply.events(rt, rows);
      events += rows.length;
      const last = rows.at(-1);
      if (!last || rows.length < this.options.loadPageSize) break;
      after = { ts: last.tsText, eventId: last.eventId };
    }
    this.namespaces.set(namespaceId, rt);
    this.snapshots.changed(namespaceId);
    return events;
  }

  private async applyChanges(): Promise<void> {
    const db = this.options.database;
    const hi = await readCurrentXmin(db);
    const lo = this.lastXmin;
    if (hi <= lo) {
      this.fresh = this.nothingWaiting();
      return;
    }
    const range: TxRange = { lo, hi };

    // Structural changes first: a forgotten user or a reset namespace is rebuilt
    // from the database as of `hi`, so its rows in this range are already in.
    const rebuilt = new Set<string>();
    for (const change of await readChanges(db, range)) {
      if (rebuilt.has(change.namespaceId) || !this.places(change.namespaceId)) continue;
      if (change.kind === 'config') {
        await this.apply.config(this.get(change.namespaceId));
      } else if (change.kind === 'rules') {
        await this.apply.rules(this.get(change.namespaceId));
      } else if (change.kind === 'encoder') {
        const rt = this.get(change.namespaceId);
        await this.apply.learned(rt, rt.learned);
      } else {
        await this.load(change.namespaceId, hi);
        rebuilt.add(change.namespaceId);
      }
      // Only once the change is in the engine: see ChangeVersions.
      this.get(change.namespaceId).versions.namespaceChanged(change.tx);
    }

    await this.apply.users(undefined, range);
    for (const row of await readAliases(db, range)) {
      if (rebuilt.has(row.namespaceId) || !this.places(row.namespaceId)) continue;
      const rt = this.get(row.namespaceId);
      this.apply.alias(rt, row);
      rt.versions.userChanged(row.userId, row.tx);
      rt.versions.userChanged(anonKey(row.anonymousId), row.tx);
    }
    await this.apply.embeddings(undefined, range);
    await this.apply.items(undefined, range);
    const eventRows = await readEvents(db, range);
    for (const [ns, rows] of groupBy(eventRows, (r) => r.namespaceId)) {
      if (rebuilt.has(ns) || !this.places(ns)) continue;
      const rt = this.get(ns);
      this.apply.events(rt, rows);
      for (const row of rows) {
        const userKey = userKeyOf(row.userId, row.anonymousId, rt.aliases);
        if (userKey) rt.versions.userChanged(userKey, row.tx);
        if (row.userId && row.anonymousId) rt.versions.userChanged(anonKey(row.anonymousId), row.tx);
      }
    }
    this.lastXmin = hi;
    const { appliedAt, namespaces, snapshots } = this.nothingWaiting();
    let oldest = Number.POSITIVE_INFINITY;
    for (const row of eventRows) {
      if (!this.places(row.namespaceId)) continue;
      oldest = Math.min(oldest, row.receivedMs);
      const lag = Math.max(0, (appliedAt - row.receivedMs) / 1000);
      if (lag > (namespaces[row.namespaceId] ?? 0)) namespaces[row.namespaceId] = lag;
    }
    this.fresh = {
      appliedAt,
      lagSeconds: Number.isFinite(oldest) ? Math.max(0, (appliedAt - oldest) / 1000) : 0,
      namespaces,
      snapshots,
    };
    if (eventRows.length > 0) this.options.onApplied?.(namespaces);
  }

  /**
   * Starts a namespace from its snapshot and applies the rows written since (`watermark <= tx <
   * hi`), as a poll would. Returns the events its indexes now hold (the snapshot's and those read),
   * or undefined (after logging why) when there is no usable snapshot: the caller then builds from
   * the database.
   */
  private async loadSnapshot(namespaceId: string, hi: number): Promise<number | undefined> {
    const started = performance.now();
    const restored = await this.snapshots.restore(namespaceId, hi, this.newVersions(namespaceId));
    if (!restored) return undefined;
    const { rt, file } = restored;
    const { meta } = file;
    await this.apply.config(rt);
    await this.apply.rules(rt);
    // The snapshot on disk stays good until a row is applied on top of it (the marks below).
    this.snapshots.inStep(namespaceId);
    const range: TxRange = { lo: meta.watermark, hi };
    await this.apply.users(rt, range);
    for (const row of await readAliases(this.options.database, range, namespaceId)) this.apply.alias(rt, row);
    // The vector index is in the snapshot: only the vectors stored since are read, as the other
    // rows (an item whose text changed since has its new vector among them, or is pending again
    // from its item row below). A snapshot written before vectors were kept: every stored one.
    await this.apply.embeddings(rt, file.vectors ? range : { lo: 0, hi });
    await this.apply.items(rt, range);
    await this.apply.learned(rt, undefined);
    const rows = await readEvents(this.options.database, range, namespaceId);
    this.apply.events(rt, rows);
    this.namespaces.set(namespaceId, rt);
    this.options.log.info(
      {
        namespaceId,
        snapshotAgeSeconds: Math.round((Date.now() - meta.createdAt) / 1000),
        snapshotEvents: meta.events,
        eventsSince: rows.length,
        ms: Math.round(performance.now() - started),
      },
      'engine restored from snapshot',
    );
    // Decoding a large snapshot fragments the heap as a build does: it counts for the compaction.
    return meta.events + rows.length;
  }

  /**
   * Writes a snapshot of every namespace changed since its last one (see
   * {@link SnapshotKeeper.write}); nothing before the first load. `all`: every namespace held.
   */
  writeSnapshots(options: { all?: boolean } = {}): Promise<void> {
    if (!this.loaded) return Promise.resolve();
    return this.snapshots.write(options);
  }

  /** Runs `capture` while no poll runs (see {@link SnapshotHost.inPollSlot}). */
  private async inPollSlot(capture: (watermark: number) => Promise<void>): Promise<void> {
    // Wait for the running poll, then take the slot before anything else can (no await in between).
    while (this.polling) await this.polling;
    const run = capture(this.lastXmin);
    // Hold the poll slot: a poll started meanwhile waits (pollOnce returns this promise).
    this.polling = run.then(
      () => undefined,
      () => undefined,
    );
    try {
      await run;
    } finally {
      this.polling = undefined;
    }
  }

  /** Resolves when no item is waiting for an embedding or a learned complement list (tests, seeding). */
  async drainEmbeddings(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    // The items written before the call must be here first, or nothing would be waiting yet.
    await this.catchUp(timeoutMs);
    for (;;) {
      await this.pollOnce();
      const pending = [...this.namespaces.values()].some(
        (r) => r.pendingEmbeddings.size > 0 || (r.learned?.pending.size ?? 0) > 0,
      );
      if (!pending && !this.embeddings?.current) {
        // The vectors just stored are applied only once the poll's horizon passes them, which a
        // transaction open elsewhere on the database server can hold back for more than one poll.
        await this.catchUp(Math.max(0, deadline - Date.now()));
        return;
      }
      if (Date.now() > deadline) throw new Error('Timed out waiting for item embeddings.');
      this.embeddings?.start(this.namespaces.values());
      await this.embeddings?.current;
    }
  }
}
