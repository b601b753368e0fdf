import { DecayClock } from './DecayClock';

/** One interacted item in a profile. */
export interface ProfileItem {
  /** Decayed, type-weighted interest, stored against the profile clock. */
  score: number;
  lastTs: number;
  session: string | undefined;
}

/** One purchased item in a profile. */
export interface PurchaseRecord {
  /** Purchase events (orders), not units. */
  count: number;
  firstTs: number;
  lastTs: number;
}

/** Bounds of one profile (from `ProfileConfig`). */
export interface ProfileLimits {
  maxItems: number;
  maxTags: number;
  maxPurchases: number;
  maxRecentlyViewed: number;
}

function evictMin<K, V>(map: Map<K, V>, score: (v: V) => number): void {
  let worstKey: K | undefined;
  let worst = Number.POSITIVE_INFINITY;
  for (const [k, v] of map) {
    const s = score(v);
    if (s < worst) {
      worst = s;
      worstKey = k;
    }
  }
  if (worstKey !== undefined) map.delete(worstKey);
}

/** A user's behaviour summary: bounded, decayed, mergeable. */
export class UserProfile {
  readonly clock: DecayClock;
  readonly items = new Map<number, ProfileItem>();
  /** Tag id → decayed affinity (profile clock). */
  readonly tags = new Map<number, number>();
  readonly purchases = new Map<number, PurchaseRecord>();
  /** Recently viewed item ids, most recent first, one entry per item (parallel to `viewedTs`). */
  readonly viewedItems: number[] = [];
  readonly viewedTs: number[] = [];
  latest: { item: number; ts: number } | undefined;
  lastSession: string | undefined;
  lastTs = Number.NEGATIVE_INFINITY;

  constructor(halfLifeMs: number) {
    this.clock = new DecayClock(halfLifeMs);
  }

  /** Records one interaction. `tagIds` are the item's tags when the item is known. */
  record(
    item: number,
    weight: number,
    ts: number,
    session: string | undefined,
    tagIds: ArrayLike<number>,
    kind: { viewed: boolean; purchased: boolean },
    limits: ProfileLimits,
  ): void {
    if (ts >= this.lastTs) {
      this.lastTs = ts;
      if (session !== undefined) this.lastSession = session;
      this.latest = { item, ts };
    }
    if (weight > 0) {
      if (this.clock.needsRebase(ts)) this.rebase(ts);
      const w = weight * this.clock.storeFactor(ts);
      const entry = this.items.get(item);
      if (entry === undefined) {
        this.items.set(item, { score: w, lastTs: ts, session });
        if (this.items.size > limits.maxItems) evictMin(this.items, (v) => v.score);
      } else {
        entry.score += w;
        if (ts >= entry.lastTs) {
          entry.lastTs = ts;
          entry.session = session;
        }
      }
      for (let i = 0; i < tagIds.length; i++) {
        const tag = tagIds[i]!;
        const had = this.tags.get(tag);
        this.tags.set(tag, (had ?? 0) + w);
        if (had === undefined && this.tags.size > limits.maxTags) evictMin(this.tags, (v) => v);
      }
    }
    if (kind.viewed) this.pushViewed(item, ts, limits.maxRecentlyViewed);
    if (kind.purchased) this.addPurchase(item, { count: 1, firstTs: ts, lastTs: ts }, limits.maxPurchases);
  }

  /** Decayed interest in `item` at `now`. */
  itemScore(entry: ProfileItem, now: number): number {
    return entry.score * this.clock.readFactor(now);
  }

  /** Tag affinities decayed to `now`, strongest first. */
  topTags(now: number, limit: number, accept: (tag: number) => boolean = () => true) {
    const f = this.clock.readFactor(now);
    const out: Array<{ tag: number; score: number }> = [];
    for (const [tag, s] of this.tags) if (accept(tag)) out.push({ tag, score: s * f });
    out.sort((a, b) => b.score - a.score || a.tag - b.tag);
    return out.slice(0, limit);
  }

  /** Folds `other` into this profile (used by user merges). */
  absorb(other: UserProfile, limits: ProfileLimits): void {
    if (this.clock.ref === undefined && other.clock.ref !== undefined) this.clock.ref = other.clock.ref;
    const ref = this.clock.ref ?? 0;
    const toMine = other.clock.ref === undefined ? 1 : 2 ** ((other.clock.ref - ref) / this.clock.halfLifeMs);
    for (const [item, e] of other.items) {
      const mine = this.items.get(item);
      if (mine === undefined) this.items.set(item, { ...e, score: e.score * toMine });
      else {
        mine.score += e.score * toMine;
        if (e.lastTs > mine.lastTs) {
          mine.lastTs = e.lastTs;
          mine.session = e.session;
        }
      }
    }
    while (this.items.size > limits.maxItems) evictMin(this.items, (v) => v.score);
    for (const [tag, s] of other.tags) this.tags.set(tag, (this.tags.get(tag) ?? 0) + s * toMine);
    while (this.tags.size > limits.maxTags) evictMin(this.tags, (v) => v);
    for (const [item, p] of other.purchases) this.addPurchase(item, p, limits.maxPurchases);
    for (let i = other.viewedItems.length - 1; i >= 0; i--) {
      this.pushViewed(other.viewedItems[i]!, other.viewedTs[i]!, limits.maxRecentlyViewed);
    }
    if (other.lastTs > this.lastTs) {
      this.lastTs = other.lastTs;
      this.lastSession = other.lastSession ?? this.lastSession;
      this.latest = other.latest;
    }
  }

  private pushViewed(item: number, ts: number, max: number): void {
    const { viewedItems: items, viewedTs: times } = this;
    const at = items.indexOf(item);
    if (at >= 0) {
      if (times[at]! >= ts) return;
      items.splice(at, 1);
      times.splice(at, 1);
    }
    let pos = 0;
    while (pos < items.length && times[pos]! > ts) pos++;
    items.splice(pos, 0, item);
    times.splice(pos, 0, ts);
    if (items.length > max) {
      items.length = max;
      times.length = max;
    }
  }

  private addPurchase(item: number, p: PurchaseRecord, max: number): void {
    const had = this.purchases.get(item);
    if (had === undefined) {
      this.purchases.set(item, { ...p });
      if (this.purchases.size > max) {
        let oldest: number | undefined;
        let oldestTs = Number.POSITIVE_INFINITY;
        for (const [k, v] of this.purchases) {
          if (v.lastTs < oldestTs) {
            oldestTs = v.lastTs;
            oldest = k;
          }
        }
        if (oldest !== undefined) this.purchases.delete(oldest);
      }
    } else {
      had.count += p.count;
      had.firstTs = Math.min(had.firstTs, p.firstTs);
      had.lastTs = Math.max(had.lastTs, p.lastTs);
    }
  }

  private rebase(ts: number): void {
    const f = this.clock.rebase(ts);
    for (const e of this.items.values()) e.score *= f;
    for (const [tag, s] of this.tags) this.tags.set(tag, s * f);
  }
}
