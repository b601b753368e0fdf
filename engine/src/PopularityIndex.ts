import type { Catalog } from './Catalog';
import type { PopularityConfig } from './config';
import { DecayedVector } from './DecayedVector';
import { type Scored, topK } from './topK';

const DAY = 86_400_000;

/** Which ranked list to read. */
export type PopularityKind = 'popular' | 'bestseller' | 'trending';

interface CachedList {
  version: number;
  now: number;
  limit: number;
  list: Scored[];
}

/**
 * Decayed popularity (all event types, weighted), decayed sales (purchase quantity) and trending.
 *
 * Trending compares a short decayed counter S (half-life h_s) with a long one L (half-life h_l).
 * A decayed sum with half-life h approximates the count over the last h/ln2, so the per-day rates
 * are s = S·ln2·day/h_s and l = L·ln2·day/h_l, and
 *
 *     trend = (s − l) / sqrt(l + m)
 *
 * (a Poisson z-score of the short rate against the baseline, `m` = `trendingSmoothing`). A steady
 * seller scores ≈ 0; a sudden rise scores high, more so the more events back it; a couple of views
 * of an unknown item stay small because m dominates the denominator.
 */
export class PopularityIndex {
  private readonly popular: DecayedVector;
  private readonly sales: DecayedVector;
  private readonly short: DecayedVector;
  private readonly long: DecayedVector;
  private readonly cache = new Map<string, CachedList>();
  private version = 0;

  constructor(private readonly cfg: PopularityConfig) {
    this.popular = new DecayedVector(cfg.halfLifeMs);
    this.sales = new DecayedVector(cfg.halfLifeMs);
    this.short = new DecayedVector(cfg.trendingShortMs);
    this.long = new DecayedVector(cfg.trendingLongMs);
  }

  add(item: number, weight: number, soldQuantity: number, ts: number): void {
    this.version++;
    if (weight > 0) {
      this.popular.add(item, weight, ts);
      this.short.add(item, weight, ts);
      this.long.add(item, weight, ts);
    }
    if (soldQuantity > 0) this.sales.add(item, soldQuantity, ts);
  }

  popularity(item: number, now: number): number {
    return this.popular.get(item, now);
  }

  bestseller(item: number, now: number): number {
    return this.sales.get(item, now);
  }

  trending(item: number, now: number): number {
    const s = (this.short.get(item, now) * Math.LN2 * DAY) / this.cfg.trendingShortMs;
    const l = (this.long.get(item, now) * Math.LN2 * DAY) / this.cfg.trendingLongMs;
    return (s - l) / Math.sqrt(l + this.cfg.trendingSmoothing);
  }

  /**
   * The best eligible items of `kind` (overall, or within one category tag), best first.
   * Cached until new events or catalog changes; popular/bestseller order does not change with time
   * alone (one clock), trending is recomputed once `now` moves by 2% of the short half-life.
   */
  top(kind: PopularityKind, catalog: Catalog, now: number, limit: number, categoryTag?: number): Scored[] {
    const key = `${kind}:${categoryTag ?? ''}`;
    const version = this.version * 1_000_003 + catalog.version;
    const hit = this.cache.get(key);
    const fresh =
      hit !== undefined &&
      hit.version === version &&
      hit.limit >= limit &&
      (kind !== 'trending' || Math.abs(hit.now - now) <= this.cfg.trendingShortMs / 50);
    if (fresh) return hit.list.length > limit ? hit.list.slice(0, limit) : hit.list;
    const ids = categoryTag === undefined ? this.popular.length : catalog.membersOf(categoryTag);
    const vector = kind === 'popular' ? this.popular : kind === 'bestseller' ? this.sales : undefined;
    const scoreOf =
      vector !== undefined ? (id: number) => vector.raw(id) : (id: number) => this.trending(id, now);
    const list = topK(ids, scoreOf, limit, (id) => catalog.isEligible(id));
    // Raw scores are only comparable; report them decayed to `now`.
    if (vector !== undefined) for (const e of list) e.score = vector.get(e.id, now);
    this.cache.set(key, { version, now, limit, list });
    return list;
  }

  /** Uncached exact scan with a request predicate (used when cached lists run out). */
  scan(
    kind: PopularityKind,
    catalog: Catalog,
    now: number,
    limit: number,
    keep: (id: number) => boolean,
    categoryTag?: number,
  ): Scored[] {
    const ids = categoryTag === undefined ? this.popular.length : catalog.membersOf(categoryTag);
    const vector = kind === 'popular' ? this.popular : kind === 'bestseller' ? this.sales : undefined;
    const scoreOf =
      vector !== undefined ? (id: number) => vector.raw(id) : (id: number) => this.trending(id, now);
    const list = topK(ids, scoreOf, limit, keep);
    if (vector !== undefined) for (const e of list) e.score = vector.get(e.id, now);
    return list;
  }
}
