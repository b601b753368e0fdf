import { GrowableFloat64 } from '../util/GrowableFloat64';
import { DecayClock } from './DecayClock';
import { NeighborStore } from './NeighborStore';

/** Settings of a {@link TransitionIndex}. */
export interface TransitionIndexOptions {
  /** Half-life of a transition: one seen this long ago counts half. */
  halfLifeMs: number;
  /** Earlier events of the session a new event links back to (the d-th back weighs 1/d). */
  steps: number;
  /** Two events further apart than this are not a transition (a return after a break is a new visit). */
  maxGapMs: number;
  /** Additive smoothing of the out-mass in `c(i→j) / (out(i) + s)`. */
  smoothing: number;
  /** Successors stored per item before pruning. */
  maxStored: number;
  /** Successors kept per item after pruning. */
  keepAfterPrune: number;
}

/** A successor of an item: an interned item number and its conditional score. */
export interface TransitionNeighbor {
  item: number;
  score: number;
}

interface TrailContext {
  owner: string;
  items: number[];
  ts: number[];
}

/**
 * Directed, order- and gap-aware item transitions: what is viewed, added or bought AFTER what.
 *
 * Each event j of a session links back to the previous `steps` events i of that session (repeats and
 * self-transitions included: a shopper returning to an item is a transition too) that happened at
 * most `maxGapMs` before it; the d-th event back adds `w_j / d` to c(i→j), where w_j is the later
 * event's type weight. Masses decay with event time. The successor score of j after i is
 * `c(i→j) / (out(i) + s)`: an estimate of how likely j follows i — sequential rules (Ludewig &
 * Jannach 2018) with decay, gaps and event types. Updated in place, event by event; feeding the same
 * events in any batching gives the same masses.
 */
export class TransitionIndex {
  private readonly clock: DecayClock;
  private readonly tables = new NeighborStore();
  private readonly out = new GrowableFloat64();
  private readonly contexts = new Map<string, TrailContext>();
  private readonly versions = new GrowableFloat64();
  private readonly cache = new Map<
    number,
    { version: number; now: number; limit: number; list: TransitionNeighbor[] }
  >();
  private maxTs = Number.NEGATIVE_INFINITY;
  private addsSinceSweep = 0;
  /** Stored (clock-relative) totals of all transitions and of returns (i→i), for {@link returnRate}. */
  private totalOut = 0;
  private totalSelf = 0;

  constructor(private readonly opts: TransitionIndexOptions) {
    this.clock = new DecayClock(opts.halfLifeMs);
  }

  /** Records `item` (weight `weight`, at `ts`) as the next event of `contextKey` (owned by `owner`). */
  add(contextKey: string, owner: string, item: number, weight: number, ts: number): void {
    if (!(weight > 0)) return;
    if (ts > this.maxTs) this.maxTs = ts;
    if (++this.addsSinceSweep >= 100_000) this.sweep();
    let ctx = this.contexts.get(contextKey);
    if (ctx === undefined) {
      ctx = { owner, items: [], ts: [] };
      this.contexts.set(contextKey, ctx);
    }
    if (this.clock.needsRebase(ts)) this.rebase(ts);
    const f = this.clock.storeFactor(ts);
    const n = ctx.items.length;
    for (let d = 1; d <= n; d++) {
      const gap = ts - ctx.ts[n - d]!;
      // Out of order (an earlier event arriving late) or after a break: no transition.
      if (gap < 0 || gap > this.opts.maxGapMs) continue;
      const prev = ctx.items[n - d]!;
      const delta = (weight / d) * f;
      this.tables.add(prev, item, delta);
      if (this.tables.size(prev) > this.opts.maxStored) this.tables.prune(prev, this.opts.keepAfterPrune);
      this.out.add(prev, delta);
      this.versions.add(prev, 1);
      this.totalOut += delta;
      if (prev === item) this.totalSelf += delta;
    }
    ctx.items.push(item);
    ctx.ts.push(ts);
    if (ctx.items.length > this.opts.steps) {
      ctx.items.shift();
      ctx.ts.shift();
    }
  }

  /**
   * Up to `limit` successors of `item`, best first (ties by id). Cached until the item's transitions
   * change or `now` moves by more than halfLife/1000. The returned array is shared: do not mutate it.
   */
  successors(item: number, now: number, limit: number): TransitionNeighbor[] {
    const hit = this.cache.get(item);
    if (
      hit !== undefined &&
      hit.version === this.versions.get(item) &&
      hit.limit >= limit &&
      Math.abs(hit.now - now) <= this.opts.halfLifeMs / 1000
    ) {
      return hit.list.length > limit ? hit.list.slice(0, limit) : hit.list;
    }
    const list: TransitionNeighbor[] = [];
    const f = this.clock.readFactor(now);
    const denom = this.out.get(item) * f + this.opts.smoothing;
    if (denom > 0) {
      this.tables.forEach(item, (next, c) => {
        if (c > 0) list.push({ item: next, score: (c * f) / denom });
      });
    }
    list.sort((a, b) => b.score - a.score || a.item - b.item);
    if (list.length > limit) list.length = limit;
    if (this.cache.size >= 50_000) this.cache.clear();
    this.cache.set(item, { version: this.versions.get(item), now, limit, list });
    return list;
  }

  /**
   * How likely shoppers return to `item` later in a session, relative to items in general: the item's
   * share of returns c(i→i) / out(i), shrunk towards the overall share with `prior` units of
   * out-mass, divided by the overall share and capped at 1. An item nobody came back to despite many
   * visits tends to 0; an item with little data keeps about 1.
   */
  returnRate(item: number, prior: number): number {
    if (!(this.totalOut > 0) || !(this.totalSelf > 0)) return 0;
    const overall = this.totalSelf / this.totalOut;
    // Stored masses share one clock: ratios need no decay factor.
    const scale = this.clock.readFactor(this.maxTs);
    const self = this.tables.get(item, item) * scale;
    const out = this.out.get(item) * scale;
    if (!(out + prior > 0)) return 1;
    const rate = (self + prior * overall) / (out + prior);
    return Math.min(1, rate / overall);
  }

  /** Decayed transition mass c(a→b) at `now` (inspection and tests). */
  mass(a: number, b: number, now: number): number {
    return this.tables.get(a, b) * this.clock.readFactor(now);
  }

  /** Decayed out-mass of `a` at `now`. */
  outMass(a: number, now: number): number {
    return this.out.get(a) * this.clock.readFactor(now);
  }

  /** Hands `fromOwner`'s pending trails to `toOwner`; the trail keyed `fromKey` becomes `toKey` when that is free. */
  reassignOwner(fromOwner: string, toOwner: string, fromKey: string, toKey: string): void {
    for (const ctx of this.contexts.values()) if (ctx.owner === fromOwner) ctx.owner = toOwner;
    const own = this.contexts.get(fromKey);
    if (own !== undefined && !this.contexts.has(toKey)) {
      this.contexts.delete(fromKey);
      this.contexts.set(toKey, own);
    }
  }

  /** Forgets every pending trail of `owner` (aggregate transition masses are not personal). */
  dropOwner(owner: string): void {
    for (const [key, ctx] of this.contexts) if (ctx.owner === owner) this.contexts.delete(key);
  }

  /** Returns the transition tables' room to grow (see {@link NeighborStore.trim}). */
  trim(): void {
    this.tables.trim();
  }

  /** Drops trails whose last event is more than `maxGapMs` before the newest event seen. */
  sweep(): void {
    this.addsSinceSweep = 0;
    const cutoff = this.maxTs - this.opts.maxGapMs;
    for (const [key, ctx] of this.contexts) {
      if ((ctx.ts[ctx.ts.length - 1] ?? Number.NEGATIVE_INFINITY) < cutoff) this.contexts.delete(key);
    }
  }

  /** Live trails (tests and monitoring). */
  get contextCount(): number {
    return this.contexts.size;
  }

  private rebase(ts: number): void {
    const factor = this.clock.rebase(ts);
    this.totalOut *= factor;
    this.totalSelf *= factor;
    this.out.scale(factor);
    this.tables.scale(factor);
  }
}
