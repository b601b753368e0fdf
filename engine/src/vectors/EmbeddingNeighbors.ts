import { cosine } from './similarity';
import type { Neighbor, VectorSource } from './types';

/** One item's cached neighbour list (dense ids, cosine scores, best first). */
export interface NeighborList {
  ids: Int32Array;
  scores: Float32Array;
}

interface Entry extends NeighborList {
  /** How many neighbours were asked for (a longer request is a miss). */
  n: number;
  version: number;
  generation: number;
  at: number;
  /** The source's `writeCount` when the list was last brought up to date. */
  writes: number;
}

/** Options of the per-item embedding neighbour cache. */
export interface NeighborCacheOptions {
  /**
   * Items whose neighbour lists are kept (least recently used evicted first). Each list holds
   * about 1.2 × `ranking.candidatesPerSignal` entries of 8 bytes (≈ 1 KB at the defaults).
   * @default 20_000
   * @example { maxItems: 50_000 }
   */
  maxItems?: number;
  /**
   * For sources without a change log (`changedSince`) only: engine-clock age after which a list is
   * recomputed, so items added to the source since can reach older items' lists. Sources with a
   * change log (like `IvfIndex`) patch cached lists with each added or changed vector instead.
   * @default 3_600_000 (1 hour)
   * @example { ttlMs: 60_000 }
   */
  ttlMs?: number;
}

const EMPTY: NeighborList = { ids: new Int32Array(0), scores: new Float32Array(0) };

/**
 * Per-item nearest-neighbour lists from a {@link VectorSource}, in a bounded LRU. An IVF query at
 * 100k × 256 costs milliseconds; a cached list costs microseconds. A list is reused while the
 * item's vector version and the source generation are unchanged. Vectors written to the source
 * since (its `changedSince` log) are scored against the item and merged in, so a new item shows up
 * in its neighbours' lists on the next request; when the log no longer reaches back (a bulk load)
 * the list is recomputed. Sources without a change log fall back to `ttlMs`; sources without
 * `versionOf` are never cached (nothing tells the engine when a list went stale).
 */
export class EmbeddingNeighbors {
  private readonly entries = new Map<number, Entry>();
  private readonly maxItems: number;
  private readonly ttlMs: number;
  /** Lookups served from the cache / computed, since creation (for monitoring and tests). */
  hits = 0;
  misses = 0;

  constructor(options: NeighborCacheOptions = {}) {
    this.maxItems = options.maxItems ?? 20_000;
    this.ttlMs = options.ttlMs ?? 3_600_000;
    if (!Number.isInteger(this.maxItems) || this.maxItems < 0) {
      throw new Error(`embeddingCache.maxItems must be an integer ≥ 0 (got ${String(options.maxItems)}).`);
    }
    if (!(this.ttlMs >= 0)) {
      throw new Error(`embeddingCache.ttlMs must be a number ≥ 0 (got ${String(options.ttlMs)}).`);
    }
  }

  /** Whether lists from `source` are cached (it reports vector versions and caching is on). */
  caches(source: VectorSource): boolean {
    return typeof source.versionOf === 'function' && this.maxItems > 0;
  }

  /** Drops every list (a new source was set). */
  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * The `n` items closest to `itemId` (never itself), best first, as dense ids (`idOf`); items the
   * catalog cannot show at all (`listable` false) are skipped when the list is built, request
   * filters are applied by the caller.
   */
  of(
    source: VectorSource,
    item: number,
    itemId: string,
    n: number,
    now: number,
    idOf: (itemId: string) => number | undefined,
    listable: (id: number) => boolean,
  ): NeighborList {
    const cacheable = this.caches(source);
    const version = source.versionOf?.(itemId) ?? 0;
    const generation = source.generation ?? 0;
    const writes = source.writeCount ?? 0;
    const held = cacheable ? this.entries.get(item) : undefined;
    const logged = typeof source.changedSince === 'function';
    if (
      held !== undefined &&
      held.version === version &&
      held.generation === generation &&
      held.n >= n &&
      (logged || Math.abs(now - held.at) <= this.ttlMs)
    ) {
      const changed = logged && held.writes !== writes ? source.changedSince!(held.writes) : [];
      if (changed !== undefined) {
        this.hits++;
        const current = changed.length > 0 ? this.patch(source, held, itemId, changed, idOf, listable) : held;
        current.writes = writes;
        // Re-insert: Map iteration order is insertion order, so the first key is the LRU one.
        this.entries.delete(item);
        this.entries.set(item, current);
        return current;
      }
    }
    this.misses++;
    const list = this.compute(source, itemId, n, idOf, listable);
    if (cacheable) {
      this.entries.delete(item);
      this.entries.set(item, { ...list, n, version, generation, at: now, writes });
      if (this.entries.size > this.maxItems) {
        const oldest = this.entries.keys().next();
        if (!oldest.done) this.entries.delete(oldest.value);
      }
    }
    return list;
  }

  /** Re-scores the items whose vectors changed since the list was built and merges them in. */
  private patch(
    source: VectorSource,
    held: Entry,
    itemId: string,
    changed: readonly string[],
    idOf: (itemId: string) => number | undefined,
    listable: (id: number) => boolean,
  ): Entry {
    const anchor = source.get(itemId);
    if (anchor === undefined) return held;
    const scores = new Map<number, number>();
    for (let j = 0; j < held.ids.length; j++) scores.set(held.ids[j]!, held.scores[j]!);
    for (const other of new Set(changed)) {
      if (other === itemId) continue;
      const id = idOf(other);
      if (id === undefined) continue;
      const v = source.get(other);
      if (v === undefined || !listable(id)) {
        scores.delete(id);
        continue;
      }
      const score = cosine(anchor, v);
      if (score > 0) scores.set(id, score);
      else scores.delete(id);
    }
    const merged = [...scores].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, held.n);
    return {
      ...held,
      ids: Int32Array.from(merged, (e) => e[0]),
      scores: Float32Array.from(merged, (e) => e[1]),
    };
  }

  private compute(
    source: VectorSource,
    itemId: string,
    n: number,
    idOf: (itemId: string) => number | undefined,
    listable: (id: number) => boolean,
  ): NeighborList {
    const keep = (other: string) => {
      if (other === itemId) return false;
      const id = idOf(other);
      return id !== undefined && listable(id);
    };
    let hits: Neighbor[];
    if (source.neighborsOf !== undefined) hits = source.neighborsOf(itemId, n, keep);
    else {
      const query = source.get(itemId);
      if (query === undefined || query.length !== source.dim) return EMPTY;
      hits = source.nearest(query, n, keep);
    }
    const ids = new Int32Array(hits.length);
    const scores = new Float32Array(hits.length);
    let m = 0;
    for (const h of hits) {
      const id = idOf(h.itemId);
      if (id === undefined || !(h.score > 0)) continue;
      ids[m] = id;
      scores[m] = h.score;
      m++;
    }
    return { ids: ids.subarray(0, m), scores: scores.subarray(0, m) };
  }
}
