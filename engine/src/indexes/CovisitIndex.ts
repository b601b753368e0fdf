import { GrowableFloat64 } from '../util/GrowableFloat64';
import { DecayClock } from './DecayClock';
import { NeighborStore } from './NeighborStore';

/** Settings of one co-occurrence index (co-visitation or bought-together). */
export interface CovisitIndexOptions {
  halfLifeMs: number;
  /** Two entries of a context pair only when at most this far apart. */
  windowMs: number;
  /** Entries remembered per context; the oldest is evicted. */
  maxContextItems: number;
  /** Neighbours stored per item before pruning. */
  maxStored: number;
  /** Neighbours kept per item after pruning. */
  keepAfterPrune: number;
  /** Additive smoothing in the normalisation. */
  smoothing: number;
}

let scratchIds = new Int32Array(256);
let scratchScores = new Float64Array(256);

/** One session/user/basket: the recent items that new items pair with. */
interface Context {
  owner: string;
  items: number[];
  /** Strongest event weight seen for the entry within this context. */
  weights: number[];
  ts: number[];
  lastTs: number;
}

/** A co-visitation neighbour: an interned item number (not an item id) and its normalised score. */
export interface CovisitNeighbor {
  item: number;
  score: number;
}

/**
 * Incremental item→item co-occurrence: the `covisit` signal (config section `covisit`), and the same
 * index over baskets for `boughtTogether`.
 *
 * Within a context, each item counts with the strongest weight it reached there (a view that turns
 * into a purchase upgrades, repeat views add nothing). Pair mass c(i,j) accumulates
 * min(w_i, w_j) per context, item mass n(i) accumulates w_i per context, both decayed by event time.
 * The neighbour score is `c(i,j) / sqrt((n(i) + s)(n(j) + s))` — cosine-like, so items that are simply
 * popular everywhere do not dominate every list, and `s` keeps one-off pairs of rare items modest.
 */
export class CovisitIndex {
  private readonly clock: DecayClock;
  private readonly tables = new NeighborStore();
  private readonly mass = new GrowableFloat64();
  private readonly contexts = new Map<string, Context>();
  private maxTs = Number.NEGATIVE_INFINITY;
  /** Per-item change counter: bumped when the item's pairs or mass change. */
  private readonly versions = new GrowableFloat64();
  private readonly cache = new Map<
    number,
    { version: number; now: number; limit: number; list: CovisitNeighbor[] }
  >();
  private addsSinceSweep = 0;

  constructor(private readonly opts: CovisitIndexOptions) {
    this.clock = new DecayClock(opts.halfLifeMs);
  }

  /** Records that `item` was seen with weight `weight` at `ts` in `contextKey` (owned by `owner`). */
  add(contextKey: string, owner: string, item: number, weight: number, ts: number): void {
    if (!(weight > 0)) return;
    if (ts > this.maxTs) this.maxTs = ts;
    if (++this.addsSinceSweep >= 100_000) this.sweep();
    let ctx = this.contexts.get(contextKey);
    if (ctx === undefined) {
      ctx = { owner, items: [], weights: [], ts: [], lastTs: ts };
      this.contexts.set(contextKey, ctx);
    }
    if (ts > ctx.lastTs) ctx.lastTs = ts;
    const { windowMs } = this.opts;
    let pos = ctx.items.indexOf(item);
    // An occurrence outside the window is a fresh visit: count it again from zero.
    if (pos >= 0 && Math.abs(ts - ctx.ts[pos]!) > windowMs) {
      this.removeAt(ctx, pos);
      pos = -1;
    }
    const old = pos >= 0 ? ctx.weights[pos]! : 0;
    if (weight <= old) {
      if (ts > ctx.ts[pos]!) ctx.ts[pos] = ts;
      return;
    }
    if (this.clock.needsRebase(ts)) this.rebase(ts);
    this.versions.add(item, 1);
    const f = this.clock.storeFactor(ts);
    this.mass.add(item, (weight - old) * f);
    for (let j = 0; j < ctx.items.length; j++) {
      if (j === pos || Math.abs(ts - ctx.ts[j]!) > windowMs) continue;
      const wj = ctx.weights[j]!;
      const delta = Math.min(weight, wj) - Math.min(old, wj);
      if (delta <= 0) continue;
      const other = ctx.items[j]!;
      this.versions.add(other, 1);
      this.bump(item, other, delta * f);
      this.bump(other, item, delta * f);
    }
    if (pos >= 0) {
      ctx.weights[pos] = weight;
      if (ts > ctx.ts[pos]!) ctx.ts[pos] = ts;
    } else {
      ctx.items.push(item);
      ctx.weights.push(weight);
      ctx.ts.push(ts);
      if (ctx.items.length > this.opts.maxContextItems) this.removeAt(ctx, this.oldestIndex(ctx));
    }
  }

  /**
   * Up to `limit` neighbours of `item`, best first (ties by id). A list is cached until the item's
   * own pairs or mass change, or `now` moves by more than halfLife/1000. Between those, a neighbour's
   * mass may grow from its other pairs: the cached normalisation then lags slightly — a deliberate
   * trade so a live shop does not recompute every list after every event.
   * The returned array is shared: do not mutate it.
   */
  neighbors(item: number, now: number, limit: number): CovisitNeighbor[] {
    const hit = this.cache.get(item);
    if (
      hit !== undefined &&
      hit.version === this.versions.get(item) &&
      hit.limit >= limit &&
      Math.abs(hit.now - now) <= this.opts.halfLifeMs / 1000
    ) {
      return hit.list.length > limit ? hit.list.slice(0, limit) : hit.list;
    }
    const list = this.computeNeighbors(item, now, limit);
    if (this.cache.size >= 50_000) this.cache.clear();
    this.cache.set(item, { version: this.versions.get(item), now, limit, list });
    return list;
  }

  private computeNeighbors(item: number, now: number, limit: number): CovisitNeighbor[] {
    const n = this.tables.size(item);
    if (n === 0) return [];
    const f = this.clock.readFactor(now);
    const s = this.opts.smoothing;
    const ni = this.mass.get(item) * f + s;
    if (scratchIds.length < n) {
      scratchIds = new Int32Array(n * 2);
      scratchScores = new Float64Array(n * 2);
    }
    const ids = scratchIds;
    const scores = scratchScores;
    let m = 0;
    this.tables.forEach(item, (other, c) => {
      const denom = Math.sqrt(ni * (this.mass.get(other) * f + s));
      if (denom > 0 && c > 0) {
        ids[m] = other;
        scores[m++] = (c * f) / denom;
      }
    });
    // Only the best `limit` become objects: find the cut on a typed copy (numeric sort, no comparator).
    let cut = Number.NEGATIVE_INFINITY;
    if (m > limit) {
      const sorted = scores.slice(0, m).sort();
      cut = sorted[m - limit]!;
    }
    const out: CovisitNeighbor[] = [];
    for (let i = 0; i < m; i++) if (scores[i]! >= cut) out.push({ item: ids[i]!, score: scores[i]! });
    out.sort((a, b) => b.score - a.score || a.item - b.item);
    if (out.length > limit) out.length = limit;
    return out;
  }

  /** Decayed pair mass c(a,b) at `now` (for inspection and tests). */
  pairMass(a: number, b: number, now: number): number {
    return this.tables.get(a, b) * this.clock.readFactor(now);
  }

  /** Decayed item mass n(a) at `now`. */
  itemMass(a: number, now: number): number {
    return this.mass.get(a) * this.clock.readFactor(now);
  }

  /** Stored neighbour links, counting both directions once (i.e. halved). */
  pairCount(): number {
    return Math.round(this.tables.totalSize / 2);
  }

  /**
   * Hands `fromOwner`'s pending contexts to `toOwner` (profile merge); the context keyed `fromKey`
   * becomes `toKey` unless that one already exists.
   */
  reassignOwner(fromOwner: string, toOwner: string, fromKey: string, toKey: string): void {
    for (const ctx of this.contexts.values()) if (ctx.owner === fromOwner) ctx.owner = toOwner;
    const own = this.contexts.get(fromKey);
    if (own !== undefined && !this.contexts.has(toKey)) {
      this.contexts.delete(fromKey);
      this.contexts.set(toKey, own);
    }
  }

  /** Forgets every pending context owned by `owner` (aggregate pair counts are not personal). */
  dropOwner(owner: string): void {
    for (const [key, ctx] of this.contexts) if (ctx.owner === owner) this.contexts.delete(key);
  }

  /** Drops contexts whose newest entry is out of the window of the newest event seen. */
  sweep(): void {
    this.addsSinceSweep = 0;
    const cutoff = this.maxTs - this.opts.windowMs;
    for (const [key, ctx] of this.contexts) if (ctx.lastTs < cutoff) this.contexts.delete(key);
  }

  /** Returns the neighbour tables' room to grow (see {@link NeighborStore.trim}). */
  trim(): void {
    this.tables.trim();
  }

  /** Live contexts (for tests and monitoring). */
  get contextCount(): number {
    return this.contexts.size;
  }

  private bump(item: number, other: number, delta: number): void {
    this.tables.add(item, other, delta);
    if (this.tables.size(item) > this.opts.maxStored) this.tables.prune(item, this.opts.keepAfterPrune);
  }

  private rebase(ts: number): void {
    const factor = this.clock.rebase(ts);
    this.mass.scale(factor);
    this.tables.scale(factor);
  }

  private oldestIndex(ctx: Context): number {
    let best = 0;
    for (let j = 1; j < ctx.ts.length; j++) if (ctx.ts[j]! < ctx.ts[best]!) best = j;
    return best;
  }

  private removeAt(ctx: Context, pos: number): void {
    ctx.items.splice(pos, 1);
    ctx.weights.splice(pos, 1);
    ctx.ts.splice(pos, 1);
  }
}
