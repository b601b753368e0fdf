import {
  bytesToVector,
  createEngine,
  type EmbeddingEncoder,
  EngineSnapshotError,
  itemText,
  type PartialEngineConfig,
  type RuleDefinition,
  textHash,
  validateRule,
} from '@recsys/engine';
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
  type RerankServeInput,
  type ServeInput,
} from '../serve/EngineService';
import { previewRules, type RulePreviewJob, type RulePreviewLists } from '../serve/previewRules';
import type { ResponseCache } from '../serve/ResponseCache';
import { serveBundle } from '../serve/serveBundle';
import { serveGroup, serveRerank } from '../serve/serveGroup';
import { serveList, serveListCached } from '../serve/serveList';
import { ChangeVersions } from './changeVersions';
import { EmbeddingJob } from './embeddingJob';
import { applyLearnedEncoder } from './learnedComplements';
import { createNamespaceRuntime, type NamespaceRuntime, neighborTableLength } from './namespaceRuntime';
import { EVERY_NAMESPACE, NamespaceNotPlacedError, type Placement, placesNamespace } from './placement';
import {
  countEventsBefore,
  countNamespaceEventsBefore,
  type EventPageCursor,
  type EventRow,
  readActiveConfig,
  readAliases,
  readChanges,
  readCurrentXmin,
  readEmbeddings,
  readEventPage,
  readEvents,
  readItems,
  readNamespaceIdentity,
  readNamespaceIds,
  readNextTransactionId,
  readRules,
  readUsers,
  type TxRange,
} from './reads';
import { toDisplay, toEngineEvent, toEngineItem } from './rows';
import {
  captureSnapshot,
  type NamespaceSnapshotFile,
  readSnapshotFile,
  restoreRuntimeState,
  SnapshotRefused,
  writeSnapshotFile,
} from './snapshotFiles';

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
 * `reads.ts`, bound to the schema.
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
  /** Namespaces changed since their last snapshot. */
  private readonly unsaved = new Set<string>();
  /** When each namespace's snapshot in use (loaded or last written) was taken, epoch ms. */
  private readonly snapshotTimes: Record<string, number> = {};
  private snapshotTimer: NodeJS.Timeout | undefined;
  private snapshotting: Promise<void> = Promise.resolve();
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

  constructor(options: EngineHostOptions) {
    this.options = {
      pollIntervalMs: 500,
      embeddingBatchSize: 256,
      loadPageSize: 50_000,
      placement: EVERY_NAMESPACE,
      snapshotIntervalMs: 600_000,
      ...options,
      encoder: options.encoder ?? null,
      cache: options.cache,
      onApplied: options.onApplied,
      snapshotDir: options.snapshotDir,
    };
    this.versionsKeepMs = options.cache ? options.cache.ttlMs + 60_000 : 0;
    const { encoder, database, log, embeddingBatchSize } = this.options;
    this.embeddings = encoder ? new EmbeddingJob(database, encoder, log, embeddingBatchSize) : undefined;
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
    this.scheduleSnapshots();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.snapshotTimer);
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
    return { appliedAt: Date.now(), lagSeconds: 0, namespaces, snapshots: { ...this.snapshotTimes } };
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
      rt = createNamespaceRuntime(namespaceId, this.options.encoder, new ChangeVersions(this.versionsKeepMs));
      this.namespaces.set(namespaceId, rt);
    }
    return rt;
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
      versions = new ChangeVersions(this.versionsKeepMs);
      versions.loaded(hi);
    }
    const rt = createNamespaceRuntime(namespaceId, this.options.encoder, versions);
    await this.applyConfig(rt);
    await this.applyRules(rt);
    const range: TxRange = { lo: 0, hi };
    for (const row of await readAliases(db, range, namespaceId)) rt.aliases.set(row.anonymousId, row.userId);
    await this.applyUsers(rt, range);
    await this.applyEmbeddings(rt, range);
    await this.applyItems(rt, range);
    await this.applyLearned(rt, this.namespaces.get(namespaceId)?.learned);
    let after: EventPageCursor | undefined;
    let events = 0;
    for (;;) {
      const rows = await readEventPage(db, namespaceId, hi, after, this.options.loadPageSize);
      this.applyEventRows(rt, rows);
      events += rows.length;
      const last = rows.at(-1);
      if (!last || rows.length < this.options.loadPageSize) break;
      after = { ts: last.tsText, eventId: last.eventId };
    }
    this.namespaces.set(namespaceId, rt);
    this.unsaved.add(namespaceId);
    return events;
  }

  /** Loads the namespace's learned encoder (reusing `previous` when it is the same model). */
  private async applyLearned(rt: NamespaceRuntime, previous: NamespaceRuntime['learned']): Promise<void> {
    if (!this.options.encoder) return;
    try {
      await applyLearnedEncoder(this.options.database, rt, previous);
    } catch (error) {
      // A broken model never stops a namespace from serving: it serves without cold complements.
      this.options.log.error({ err: error, namespaceId: rt.namespaceId }, 'learned encoder not loaded');
    }
  }

  private async applyConfig(rt: NamespaceRuntime): Promise<void> {
    this.unsaved.add(rt.namespaceId);
    const row = await readActiveConfig(this.options.database, rt.namespaceId);
    rt.configVersion = row?.version ?? null;
    rt.engine.setConfig((row?.config ?? {}) as PartialEngineConfig);
    // Every item's embedding neighbours are precomputed so no request pays for an index scan (see
    // IvfIndexOptions.neighborTable).
    rt.vectors?.setNeighborTable(neighborTableLength(rt.engine));
  }

  /** Reloads a namespace's merchandising rules; the engine compiles them once, here. */
  private async applyRules(rt: NamespaceRuntime): Promise<void> {
    const rows = await readRules(this.options.database, rt.namespaceId);
    const defs: RuleDefinition[] = [];
    for (const row of rows) {
      const def = { ...row.definition, enabled: row.enabled };
      const issues = validateRule(def);
      // Stored rules were checked when written; one a newer engine refuses must not stop the others.
      if (issues.length > 0) {
        this.options.log.error(
          { namespaceId: rt.namespaceId, ruleId: row.ruleId, issues },
          'stored rule skipped: invalid',
        );
        continue;
      }
      defs.push(def as unknown as RuleDefinition);
    }
    rt.engine.setRules(defs);
  }

  private async applyUsers(rt: NamespaceRuntime | undefined, range: TxRange): Promise<void> {
    for (const row of await readUsers(this.options.database, range, rt?.namespaceId)) {
      if (!rt && !this.places(row.namespaceId)) continue;
      const traits: Record<string, string> = {};
      for (const [k, v] of Object.entries(row.traits)) traits[k] = String(v);
      const target = rt ?? this.get(row.namespaceId);
      target.engine.setUserTraits(row.userId, traits);
      // A poll's change (a load has no versions to move: see ChangeVersions).
      if (!rt) target.versions.userChanged(row.userId, row.tx);
      this.unsaved.add(row.namespaceId);
    }
  }

  private async applyItems(rt: NamespaceRuntime | undefined, range: TxRange): Promise<void> {
    const rows = await readItems(this.options.database, range, rt?.namespaceId);
    const encoder = this.options.encoder;
    for (const [ns, nsRows] of groupBy(rows, (r) => r.namespaceId)) {
      if (!rt && !this.places(ns)) continue;
      const target = rt ?? this.get(ns);
      this.unsaved.add(ns);
      const items = nsRows.map(toEngineItem);
      target.engine.upsertItems(items);
      for (const row of nsRows) target.display.set(row.itemId, toDisplay(row));
      if (!rt) for (const row of nsRows) target.versions.namespaceChanged(row.tx);
      if (!encoder) continue;
      for (const item of items) {
        const text = itemText(item);
        target.learned?.queue(item.itemId, text);
        const hash = textHash(text, encoder.modelId);
        if (target.storedHashes.get(item.itemId) === hash) target.pendingEmbeddings.delete(item.itemId);
        else target.pendingEmbeddings.set(item.itemId, { text, hash });
      }
    }
  }

  private async applyEmbeddings(rt: NamespaceRuntime | undefined, range: TxRange): Promise<void> {
    const encoder = this.options.encoder;
    if (!encoder) return;
    for (const row of await readEmbeddings(this.options.database, range, encoder.modelId, rt?.namespaceId)) {
      if (!rt && !this.places(row.namespaceId)) continue;
      const target = rt ?? this.get(row.namespaceId);
      this.unsaved.add(row.namespaceId);
      target.storedHashes.set(row.itemId, row.textHash);
      if (target.pendingEmbeddings.get(row.itemId)?.hash === row.textHash) {
        target.pendingEmbeddings.delete(row.itemId);
      }
      target.vectors?.add(row.itemId, bytesToVector(row.vector));
      if (!rt) target.versions.namespaceChanged(row.tx);
    }
  }

  private applyEventRows(rt: NamespaceRuntime, rows: EventRow[]) {
    if (rows.length > 0) this.unsaved.add(rt.namespaceId);
    const events = [];
    for (const row of rows) {
      const event = toEngineEvent(row, rt.aliases);
      if (!event) continue;
      // An event carrying both ids is a login seen in the stream: fold the
      // anonymous profile in even before the alias row arrives.
      if (row.userId && row.anonymousId && !rt.aliases.has(row.anonymousId)) {
        rt.aliases.set(row.anonymousId, row.userId);
        rt.engine.mergeUsers(anonKey(row.anonymousId), row.userId);
      }
      events.push(event);
    }
    if (events.length) rt.engine.addEvents(events);
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
        await this.applyConfig(this.get(change.namespaceId));
      } else if (change.kind === 'rules') {
        await this.applyRules(this.get(change.namespaceId));
      } else if (change.kind === 'encoder') {
        const rt = this.get(change.namespaceId);
        await this.applyLearned(rt, rt.learned);
      } else {
        await this.load(change.namespaceId, hi);
        rebuilt.add(change.namespaceId);
      }
      // Only once the change is in the engine: see ChangeVersions.
      this.get(change.namespaceId).versions.namespaceChanged(change.tx);
    }

    await this.applyUsers(undefined, range);
    for (const row of await readAliases(db, range)) {
      if (rebuilt.has(row.namespaceId) || !this.places(row.namespaceId)) continue;
      const rt = this.get(row.namespaceId);
      this.applyAlias(rt, row);
      rt.versions.userChanged(row.userId, row.tx);
      rt.versions.userChanged(anonKey(row.anonymousId), row.tx);
    }
    await this.applyEmbeddings(undefined, range);
    await this.applyItems(undefined, range);
    const eventRows = await readEvents(db, range);
    for (const [ns, rows] of groupBy(eventRows, (r) => r.namespaceId)) {
      if (rebuilt.has(ns) || !this.places(ns)) continue;
      const rt = this.get(ns);
      this.applyEventRows(rt, rows);
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

  private applyAlias(rt: NamespaceRuntime, row: { anonymousId: string; userId: string }): void {
    rt.aliases.set(row.anonymousId, row.userId);
    rt.engine.mergeUsers(anonKey(row.anonymousId), row.userId);
    this.unsaved.add(rt.namespaceId);
  }

  /**
   * Starts a namespace from its snapshot and applies the rows written since (`watermark <= tx <
   * hi`), as a poll would. Returns the events read, or undefined (after logging why) when there is
   * no usable snapshot: the caller then builds from the database.
   */
  private async loadSnapshot(namespaceId: string, hi: number): Promise<number | undefined> {
    const dir = this.options.snapshotDir;
    if (dir === undefined) return undefined;
    const started = performance.now();
    const { log } = this.options;
    let file: NamespaceSnapshotFile | undefined;
    let rt: NamespaceRuntime;
    try {
      file = await readSnapshotFile(dir, namespaceId);
      if (file === undefined) {
        log.info({ namespaceId, snapshotDir: dir }, 'no engine snapshot; building from the database');
        return undefined;
      }
      await this.checkSnapshot(file, namespaceId, hi);
      // As a full load at start: the versions begin at `hi` (see ChangeVersions).
      const versions = new ChangeVersions(this.versionsKeepMs);
      versions.loaded(hi);
      rt = createNamespaceRuntime(namespaceId, this.options.encoder, versions);
      rt.engine = createEngine({ snapshot: file.engine });
      rt.engine.setVectors(rt.vectors);
      restoreRuntimeState(file, rt);
      if (file.vectors && rt.vectors) rt.vectors.restore(file.vectors);
    } catch (error) {
      // Whatever went wrong (an unreadable file included), a snapshot never stops a start.
      const expected = error instanceof SnapshotRefused || error instanceof EngineSnapshotError;
      log.warn(
        {
          namespaceId,
          snapshotDir: dir,
          reason: (error as Error).message,
          ...(expected ? {} : { err: error }),
        },
        'engine snapshot refused; building from the database',
      );
      return undefined;
    }
    const { meta } = file;
    await this.applyConfig(rt);
    await this.applyRules(rt);
    // The snapshot on disk stays good until a row is applied on top of it (the marks below).
    this.unsaved.delete(namespaceId);
    const range: TxRange = { lo: meta.watermark, hi };
    await this.applyUsers(rt, range);
    for (const row of await readAliases(this.options.database, range, namespaceId)) this.applyAlias(rt, row);
    // The vector index is in the snapshot: only the vectors stored since are read, as the other
    // rows (an item whose text changed since has its new vector among them, or is pending again
    // from its item row below). A snapshot written before vectors were kept: every stored one.
    await this.applyEmbeddings(rt, file.vectors ? range : { lo: 0, hi });
    await this.applyItems(rt, range);
    await this.applyLearned(rt, undefined);
    const rows = await readEvents(this.options.database, range, namespaceId);
    this.applyEventRows(rt, rows);
    this.namespaces.set(namespaceId, rt);
    this.snapshotTimes[namespaceId] = meta.createdAt;
    log.info(
      {
        namespaceId,
        snapshotAgeSeconds: Math.round((Date.now() - meta.createdAt) / 1000),
        snapshotEvents: meta.events,
        eventsSince: rows.length,
        ms: Math.round(performance.now() - started),
      },
      'engine restored from snapshot',
    );
    return rows.length;
  }

  /** Throws {@link SnapshotRefused} when a snapshot does not describe the database as it is now. */
  private async checkSnapshot(file: NamespaceSnapshotFile, namespaceId: string, hi: number): Promise<void> {
    const db = this.options.database;
    const { meta } = file;
    if (meta.namespaceId !== namespaceId) {
      throw new SnapshotRefused(`snapshot of namespace ${JSON.stringify(meta.namespaceId)}`);
    }
    const identity = await readNamespaceIdentity(db, namespaceId);
    if (meta.identity !== identity) {
      throw new SnapshotRefused(
        `snapshot of another incarnation of the namespace (${meta.identity}, the database holds ${identity}): it was deleted and created again, or the snapshot comes from another database`,
      );
    }
    if (!(meta.watermark <= hi)) {
      throw new SnapshotRefused(
        `snapshot watermark ${meta.watermark} is ahead of the database (${hi}): it comes from another database`,
      );
    }
    const config = await readActiveConfig(db, namespaceId);
    if ((config?.version ?? null) !== meta.configVersion) {
      throw new SnapshotRefused(
        `config version ${meta.configVersion} in the snapshot, ${config?.version ?? null} active`,
      );
    }
    const modelId = this.options.encoder?.modelId ?? null;
    if (meta.modelId !== modelId) {
      throw new SnapshotRefused(`embedding model ${meta.modelId} in the snapshot, ${modelId} in use`);
    }
    const dim = this.options.encoder?.dim;
    if (meta.vectors && meta.vectors.dim !== dim) {
      throw new SnapshotRefused(
        `vectors of ${meta.vectors.dim} dims in the snapshot, the encoder makes ${dim}`,
      );
    }
    for (const change of await readChanges(db, { lo: meta.watermark, hi })) {
      if (change.namespaceId !== namespaceId || change.kind === 'config' || change.kind === 'rules') continue;
      throw new SnapshotRefused(`a ${change.kind} since the snapshot changed rows it was built from`);
    }
    const rows = await countNamespaceEventsBefore(db, namespaceId, meta.watermark);
    if (rows !== meta.eventRows) {
      throw new SnapshotRefused(
        `the database holds ${rows} events below the snapshot's watermark, the snapshot was built from ${meta.eventRows} (a backup restored or events deleted since)`,
      );
    }
  }

  private scheduleSnapshots(): void {
    if (this.stopped || this.options.snapshotDir === undefined) return;
    this.snapshotTimer = setTimeout(async () => {
      await this.writeSnapshots();
      this.scheduleSnapshots();
    }, this.options.snapshotIntervalMs);
    this.snapshotTimer.unref();
  }

  /**
   * Writes a snapshot of every namespace changed since its last one. The engines are captured while
   * no poll runs (the poll slot is held), so each snapshot holds exactly the rows below one
   * watermark; the files are written after the slot is released. Failures are logged, not thrown:
   * a missing snapshot only makes the next start slower. `all`: every namespace held, changed or
   * not (engines filled in code rather than from the database: benchmarks).
   */
  writeSnapshots(options: { all?: boolean } = {}): Promise<void> {
    // One at a time: a shutdown's snapshot waits for a periodic one still writing its files.
    const run = this.snapshotting.then(() => this.writeSnapshotsNow(options));
    this.snapshotting = run.catch(() => undefined);
    return run;
  }

  private async writeSnapshotsNow(options: { all?: boolean }): Promise<void> {
    const dir = this.options.snapshotDir;
    if (dir === undefined || !this.loaded) return;
    const captured: Array<{ namespaceId: string; parts: Uint8Array[]; at: number; ms: number }> = [];
    // Wait for the running poll, then take the slot before anything else can (no await in between).
    while (this.polling) await this.polling;
    const capture = (async () => {
      const watermark = this.lastXmin;
      const todo = [...(options.all ? this.namespaces.keys() : this.unsaved)].filter(
        (id) => this.namespaces.has(id) && this.places(id),
      );
      if (todo.length === 0) return;
      const counts = await countEventsBefore(this.options.database, watermark);
      for (const namespaceId of todo) {
        const rt = this.namespaces.get(namespaceId)!;
        const identity = await readNamespaceIdentity(this.options.database, namespaceId);
        if (identity === null) continue; // deleted meanwhile
        const at = Date.now();
        const t0 = performance.now();
        const parts = captureSnapshot(rt, {
          namespaceId,
          identity,
          watermark,
          eventRows: counts.get(namespaceId) ?? 0,
          configVersion: rt.configVersion,
          modelId: this.options.encoder?.modelId ?? null,
        });
        this.unsaved.delete(namespaceId);
        captured.push({ namespaceId, parts, at, ms: performance.now() - t0 });
      }
    })();
    // Hold the poll slot: a poll started meanwhile waits (pollOnce returns this promise).
    this.polling = capture.then(
      () => undefined,
      () => undefined,
    );
    try {
      await capture;
    } catch (error) {
      this.options.log.error({ err: error }, 'engine snapshot failed');
    } finally {
      this.polling = undefined;
    }
    for (const { namespaceId, parts, at, ms } of captured) {
      const t0 = performance.now();
      try {
        await writeSnapshotFile(dir, namespaceId, parts);
        this.snapshotTimes[namespaceId] = at;
        this.fresh = { ...this.fresh, snapshots: { ...this.snapshotTimes } };
        this.options.log.info(
          {
            namespaceId,
            bytes: parts.reduce((n, p) => n + p.length, 0),
            captureMs: Math.round(ms),
            writeMs: Math.round(performance.now() - t0),
          },
          'engine snapshot written',
        );
      } catch (error) {
        this.unsaved.add(namespaceId);
        this.options.log.error({ err: error, namespaceId }, 'engine snapshot not written');
      }
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
