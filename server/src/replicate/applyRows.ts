import {
  bytesToVector,
  type EmbeddingEncoder,
  itemText,
  type PartialEngineConfig,
  type RuleDefinition,
  textHash,
  validateRule,
} from '@recsys/engine';
import { anonKey } from '@recsys/engine/protocol';
import type { Database } from '../db/client';
import type { Logger } from '../obs/logger';
import { applyLearnedEncoder } from './learnedComplements';
import { type NamespaceRuntime, neighborTableLength } from './namespaceRuntime';
import {
  type EventRow,
  readActiveConfig,
  readEmbeddings,
  readItems,
  readRules,
  readUsers,
  type TxRange,
} from './reads';
import { toDisplay, toEngineEvent, toEngineItem } from './rows';

/** What a {@link RowApplier} needs of the engine host it works for. */
export interface ApplyHost {
  database: Database;
  log: Logger;
  encoder: EmbeddingEncoder | null;
  /** The runtime of a namespace (an empty one for a namespace created since start). */
  get(namespaceId: string): NamespaceRuntime;
  /** Whether this host holds the namespace's engine. */
  places(namespaceId: string): boolean;
  /** Told of every namespace a row was applied to (its snapshot is out of date). */
  changed(namespaceId: string): void;
}

/**
 * Applies stored rows to namespace runtimes: the one place where a database row becomes engine
 * state, shared by a full load, a restore from a snapshot (the rows written since) and a poll.
 * Methods taking `rt: undefined` read the rows of every namespace and skip those placed elsewhere.
 */
export class RowApplier {
  constructor(private readonly host: ApplyHost) {}

  /** Loads the namespace's learned encoder (reusing `previous` when it is the same model). */
  async learned(rt: NamespaceRuntime, previous: NamespaceRuntime['learned']): Promise<void> {
    if (!this.host.encoder) return;
    try {
      await applyLearnedEncoder(this.host.database, rt, previous);
    } catch (error) {
      // A broken model never stops a namespace from serving: it serves without cold complements.
      this.host.log.error({ err: error, namespaceId: rt.namespaceId }, 'learned encoder not loaded');
    }
  }

  /** Installs the namespace's active configuration version. */
  async config(rt: NamespaceRuntime): Promise<void> {
    this.host.changed(rt.namespaceId);
    const row = await readActiveConfig(this.host.database, rt.namespaceId);
    rt.configVersion = row?.version ?? null;
    rt.engine.setConfig((row?.config ?? {}) as PartialEngineConfig);
    // Every item's embedding neighbours are precomputed so no request pays for an index scan (see
    // IvfIndexOptions.neighborTable).
    rt.vectors?.setNeighborTable(neighborTableLength(rt.engine));
  }

  /** Reloads a namespace's merchandising rules; the engine compiles them once, here. */
  async rules(rt: NamespaceRuntime): Promise<void> {
    const rows = await readRules(this.host.database, rt.namespaceId);
    const defs: RuleDefinition[] = [];
    for (const row of rows) {
      const def = { ...row.definition, enabled: row.enabled };
      const issues = validateRule(def);
      // Stored rules were checked when written; one a newer engine refuses must not stop the others.
      if (issues.length > 0) {
        this.host.log.error(
          { namespaceId: rt.namespaceId, ruleId: row.ruleId, issues },
          'stored rule skipped: invalid',
        );
        continue;
      }
      defs.push(def as unknown as RuleDefinition);
    }
    rt.engine.setRules(defs);
  }

  /** Users' traits written in `range`: of `rt`'s namespace (a load), or of every namespace placed here (a poll). */
  async users(rt: NamespaceRuntime | undefined, range: TxRange): Promise<void> {
    for (const row of await readUsers(this.host.database, range, rt?.namespaceId)) {
      if (!rt && !this.host.places(row.namespaceId)) continue;
      const traits: Record<string, string> = {};
      for (const [k, v] of Object.entries(row.traits)) traits[k] = String(v);
      const target = rt ?? this.host.get(row.namespaceId);
      target.engine.setUserTraits(row.userId, traits);
      // A poll's change (a load has no versions to move: see ChangeVersions).
      if (!rt) target.versions.userChanged(row.userId, row.tx);
      this.host.changed(row.namespaceId);
    }
  }

  /** Items written in `range` (as {@link users}); their text is queued for embedding when it changed. */
  async items(rt: NamespaceRuntime | undefined, range: TxRange): Promise<void> {
    const rows = await readItems(this.host.database, range, rt?.namespaceId);
    const { encoder } = this.host;
    for (const [ns, nsRows] of groupBy(rows, (r) => r.namespaceId)) {
      if (!rt && !this.host.places(ns)) continue;
      const target = rt ?? this.host.get(ns);
      this.host.changed(ns);
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

  /** Item vectors stored in `range` (as {@link users}). */
  async embeddings(rt: NamespaceRuntime | undefined, range: TxRange): Promise<void> {
    const { encoder } = this.host;
    if (!encoder) return;
    for (const row of await readEmbeddings(this.host.database, range, encoder.modelId, rt?.namespaceId)) {
      if (!rt && !this.host.places(row.namespaceId)) continue;
      const target = rt ?? this.host.get(row.namespaceId);
      this.host.changed(row.namespaceId);
      target.storedHashes.set(row.itemId, row.textHash);
      if (target.pendingEmbeddings.get(row.itemId)?.hash === row.textHash) {
        target.pendingEmbeddings.delete(row.itemId);
      }
      target.vectors?.add(row.itemId, bytesToVector(row.vector));
      if (!rt) target.versions.namespaceChanged(row.tx);
    }
  }

  /** Events of one namespace, in the order read. */
  events(rt: NamespaceRuntime, rows: EventRow[]): void {
    if (rows.length > 0) this.host.changed(rt.namespaceId);
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

  /** A login: the anonymous visitor's profile is folded into the user's. */
  alias(rt: NamespaceRuntime, row: { anonymousId: string; userId: string }): void {
    rt.aliases.set(row.anonymousId, row.userId);
    rt.engine.mergeUsers(anonKey(row.anonymousId), row.userId);
    this.host.changed(rt.namespaceId);
  }
}

/** Rows grouped by a key, in the order read. */
export function groupBy<T>(rows: T[], key: (row: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const row of rows) {
    const k = key(row);
    const list = out.get(k);
    if (list) list.push(row);
    else out.set(k, [row]);
  }
  return out;
}
