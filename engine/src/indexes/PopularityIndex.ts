import type { PopularityConfig } from '../config/engineConfig';
import { type Scored, topK } from '../util/topK';
import type { Catalog } from './Catalog';
import { DecayedVector } from './DecayedVector';
import { RisingTop } from './RisingTop';
import type { TrendingClaim } from './TrendingSupport';

/** Candidates kept per catalog-wide rising-top set (lists up to half of it avoid full scans). */
const RISING_KEEP = 500;
/** Minimum candidates kept per category set. */
const CATEGORY_KEEP = 100;

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
  /** Distinct users per item, decayed with the short half-life: a trend's support. */
  private readonly supporters: DecayedVector;
  private readonly cache = new Map<string, CachedList>();
  private version = 0;
  /** Catalog-wide candidate sets, so overall lists never scan the whole catalog. */
  private readonly risingPopular: RisingTop;
  private readonly risingSales: RisingTop;
  private readonly risingShort: RisingTop;
  private readonly categorySets = new Map<string, { catalogVersion: number; top: RisingTop }>();

  constructor(private readonly cfg: PopularityConfig) {
    this.popular = new DecayedVector(cfg.halfLifeMs);
    this.sales = new DecayedVector(cfg.halfLifeMs);
    this.short = new DecayedVector(cfg.trendingShortMs);
    this.long = new DecayedVector(cfg.trendingLongMs);
    this.supporters = new DecayedVector(cfg.trendingShortMs);
    this.risingPopular = new RisingTop(RISING_KEEP, this.popular);
    this.risingSales = new RisingTop(RISING_KEEP, this.sales);
    this.risingShort = new RisingTop(RISING_KEEP, this.short);
  }

  /** A counter's clock rebased by `factor`: the candidate sets' thresholds on it follow. */
  private rescale(kind: PopularityKind, rising: RisingTop, factor: number): void {
    if (factor === 1) return;
    rising.scale(factor);
    for (const [key, set] of this.categorySets) if (key.startsWith(`${kind}:`)) set.top.scale(factor);
  }

  /**
   * `categories`: the item's category tag ids, to keep per-category candidate sets current. `trend`:
   * what the event adds to trending (see `TrendingSupport`); the event's weight when omitted.
   */
  add(
    item: number,
    weight: number,
    soldQuantity: number,
    ts: number,
    categories?: readonly number[],
    trend: TrendingClaim = { weight, newUser: 1 },
  ): void {
    this.version++;
    if (weight > 0) {
      this.rescale('popular', this.risingPopular, this.popular.add(item, weight, ts));
      this.risingPopular.offer(item, this.popular.raw(item));
    }
    if (trend.weight > 0) {
      this.rescale('trending', this.risingShort, this.short.add(item, trend.weight, ts));
      this.long.add(item, trend.weight, ts);
      this.risingShort.offer(item, this.short.raw(item));
    }
    if (trend.newUser === 1) this.supporters.add(item, 1, ts);
    if (soldQuantity > 0) {
      this.rescale('bestseller', this.risingSales, this.sales.add(item, soldQuantity, ts));
      this.risingSales.offer(item, this.sales.raw(item));
    }
    if (categories === undefined || this.categorySets.size === 0) return;
    for (const tag of categories) {
      if (weight > 0) this.categorySets.get(`popular:${tag}`)?.top.offer(item, this.popular.raw(item));
      if (trend.weight > 0) this.categorySets.get(`trending:${tag}`)?.top.offer(item, this.short.raw(item));
      if (soldQuantity > 0) this.categorySets.get(`bestseller:${tag}`)?.top.offer(item, this.sales.raw(item));
    }
  }

  /**
   * Candidate ids for a category list: a rising-top set over the category's members, built by one
   * scan and then kept current by `add`. Rebuilt when the catalog changed (membership may have).
   */
  private categoryIds(kind: PopularityKind, catalog: Catalog, tag: number, limit: number): Iterable<number> {
    const members = catalog.membersOf(tag);
    if (members.size <= 4 * limit) return members;
    const key = `${kind}:${tag}`;
    const held = this.categorySets.get(key);
    if (held !== undefined && held.catalogVersion === catalog.version && limit * 2 <= held.top.capacity) {
      return [...held.top.ids()].filter((id) => members.has(id));
    }
    const vector = this.vectorOf(kind);
    const top = new RisingTop(Math.max(CATEGORY_KEEP, limit * 2), vector);
    for (const id of members) top.offer(id, vector.raw(id));
    this.categorySets.set(key, { catalogVersion: catalog.version, top });
    return top.ids();
  }

  /** The monotonic counter behind a kind (trending candidates come from the short counter). */
  private vectorOf(kind: PopularityKind): DecayedVector {
    return kind === 'popular' ? this.popular : kind === 'bestseller' ? this.sales : this.short;
  }

  popularity(item: number, now: number): number {
    return this.popular.get(item, now);
  }

  bestseller(item: number, now: number): number {
    return this.sales.get(item, now);
  }

  trending(item: number, now: number): number {
    return this.trendingScorer(now)(item);
  }

  /**
   * Score function of one kind at `now` (popular/bestseller decayed to `now`, trending z-score), for
   * scoring a given set of items without building a top list.
   */
  scorer(kind: PopularityKind, now: number): (item: number) => number {
    if (kind === 'trending') return this.trendingScorer(now);
    const vector = this.vectorOf(kind);
    const f = vector.clock.readFactor(now);
    return (item) => vector.raw(item) * f;
  }

  /** Undecayed popularity: only comparable between items, at no cost (tie-breaks). */
  rawPopularity(item: number): number {
    return this.popular.raw(item);
  }

  /** Trending score function for one `now`, with the decay factors computed once. */
  private trendingScorer(now: number): (item: number) => number {
    const fs = (this.short.clock.readFactor(now) * Math.LN2 * DAY) / this.cfg.trendingShortMs;
    const fl = (this.long.clock.readFactor(now) * Math.LN2 * DAY) / this.cfg.trendingLongMs;
    const m = this.cfg.trendingSmoothing;
    const fu = this.supporters.clock.readFactor(now);
    const minUsers = this.cfg.trendingMinUsers;
    return (item) => {
      // Below the minimum support an item does not trend, however sharp its rise.
      if (minUsers > 0 && this.supporters.raw(item) * fu < minUsers) return 0;
      const l = this.long.raw(item) * fl;
      return (this.short.raw(item) * fs - l) / Math.sqrt(l + m);
    };
  }

  /**
   * Ids to scan for an overall list: a rising-top candidate set when it can hold the request,
   * else the whole catalog. Trending candidates are the items with the most short-window activity:
   * an item outside them has s ≤ s_min, so its trend ≤ s_min / sqrt(smoothing) — the list is exact
   * whenever its last entry scores at least that, and otherwise misses only marginal items.
   */
  private overallIds(kind: PopularityKind, limit: number): Iterable<number> | number {
    const rising =
      kind === 'popular' ? this.risingPopular : kind === 'bestseller' ? this.risingSales : this.risingShort;
    return limit * 2 <= rising.capacity ? rising.ids() : this.popular.length;
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
    const ids =
      categoryTag === undefined
        ? this.overallIds(kind, limit)
        : this.categoryIds(kind, catalog, categoryTag, limit);
    const vector = kind === 'popular' ? this.popular : kind === 'bestseller' ? this.sales : undefined;
    const scoreOf = vector !== undefined ? (id: number) => vector.raw(id) : this.trendingScorer(now);
    let rejected = 0;
    const eligible = (id: number) => {
      if (catalog.isEligible(id)) return true;
      rejected++;
      return false;
    };
    let list = topK(ids, scoreOf, limit, eligible);
    // Unavailable or archived items can crowd the candidate set; then scan everything.
    if (list.length < limit && rejected > 0 && typeof ids !== 'number') {
      const all = categoryTag === undefined ? this.popular.length : catalog.membersOf(categoryTag);
      list = topK(all, scoreOf, limit, (id) => catalog.isEligible(id));
    }
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
    const scoreOf = vector !== undefined ? (id: number) => vector.raw(id) : this.trendingScorer(now);
    const list = topK(ids, scoreOf, limit, keep);
    if (vector !== undefined) for (const e of list) e.score = vector.get(e.id, now);
    return list;
  }
}
