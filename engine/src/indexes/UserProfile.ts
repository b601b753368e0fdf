import { DecayClock } from './DecayClock';

/** One purchased item in a profile. */
export interface PurchaseRecord {
  /** Purchase events (orders), not units. */
  count: number;
  firstTs: number;
  lastTs: number;
}

const NO_PURCHASES: ReadonlyMap<number, PurchaseRecord> = new Map();

/** Bounds of one profile (from `ProfileConfig`). */
export interface ProfileLimits {
  maxItems: number;
  maxTags: number;
  maxPurchases: number;
  maxRecentlyViewed: number;
}

function indexOfMin(values: number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! < values[best]!) best = i;
  return best;
}

/**
 * Swap-removes entry `i` of `a`: order inside a profile carries no meaning (recently-viewed lists are
 * separate). For the integer arrays only (item and tag ids, visits); scores, timestamps and sessions
 * are swapped at sites of their own on purpose: one store shared by arrays of different element kinds
 * (small integers, doubles, strings) made V8 generalise them all to boxed elements, every score and
 * timestamp a separate 16-byte heap number — 84 MB more heap for the benchmark's 81,000 profiles than
 * the same doubles stored unboxed (`memoryLayout.test.ts` checks it).
 */
function removeNumberAt(a: number[], i: number): void {
  a[i] = a[a.length - 1]!;
  a.pop();
}

/**
 * A user's behaviour summary: bounded, decayed, mergeable.
 *
 * Stored as parallel arrays rather than Maps of objects: a shop has far more users than items, and
 * number arrays hold doubles unboxed (about 8 bytes per value instead of ~50 for a Map entry).
 * Every list is capped (≤ 50 by default), so linear scans stay cheap.
 */
export class UserProfile {
  readonly clock: DecayClock;
  /** Interacted items and their decayed, type-weighted interest (profile clock). */
  // Not readonly: trim() swaps each array for an exact-size copy.
  private itemIds: number[] = [];
  private itemScores: number[] = [];
  private itemLastTs: number[] = [];
  private itemSessions: Array<string | undefined> = [];
  /**
   * Visits per item: how many of the user's sessions touched it (a session counts once; an event
   * without a session id counts as a visit of its own).
   */
  private itemVisits: number[] = [];
  /** Tag ids and their decayed affinity (profile clock). */
  private tagIds: number[] = [];
  private tagScores: number[] = [];
  /** Created at the first purchase: most visitors never buy, and an empty Map costs ~200 bytes. */
  private bought: Map<number, PurchaseRecord> | undefined;
  /** Recently viewed item ids, most recent first, one entry per item (parallel to `viewedTs`). */
  viewedItems: number[] = [];
  viewedTs: number[] = [];
  latest: { item: number; ts: number } | undefined;
  lastSession: string | undefined;
  lastTs = Number.NEGATIVE_INFINITY;

  constructor(halfLifeMs: number) {
    this.clock = new DecayClock(halfLifeMs);
  }

  /** Records one interaction. `tags` are the item's tag ids when the item is known. */
  record(
    item: number,
    weight: number,
    ts: number,
    session: string | undefined,
    tags: ArrayLike<number>,
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
      this.addItem(item, w, ts, session, limits.maxItems);
      for (let i = 0; i < tags.length; i++) this.addTag(tags[i]!, w, limits.maxTags);
    }
    if (kind.viewed) this.pushViewed(item, ts, limits.maxRecentlyViewed);
    if (kind.purchased) this.addPurchase(item, { count: 1, firstTs: ts, lastTs: ts }, limits.maxPurchases);
  }

  get itemCount(): number {
    return this.itemIds.length;
  }

  get tagCount(): number {
    return this.tagIds.length;
  }

  /** Decayed interest in `item` at `now` (0 when not in the profile). */
  interest(item: number, now: number): number {
    const i = this.itemIds.indexOf(item);
    return i < 0 ? 0 : this.itemScores[i]! * this.clock.readFactor(now);
  }

  /** Every profile item with its interest decayed to `now`. */
  forEachItem(now: number, fn: (item: number, interest: number, session: string | undefined) => void): void {
    const f = this.clock.readFactor(now);
    for (let i = 0; i < this.itemIds.length; i++)
      fn(this.itemIds[i]!, this.itemScores[i]! * f, this.itemSessions[i]);
  }

  /**
   * Every profile item with the number of the user's sessions that touched it and when it was last
   * touched: what the user keeps coming back to (the `revisit` signal).
   */
  forEachVisit(fn: (item: number, visits: number, lastTs: number) => void): void {
    for (let i = 0; i < this.itemIds.length; i++)
      fn(this.itemIds[i]!, this.itemVisits[i]!, this.itemLastTs[i]!);
  }

  /** Item ids held (for inspection). */
  items(): number[] {
    return [...this.itemIds];
  }

  /** Tag affinities decayed to `now`, strongest first. */
  topTags(now: number, limit: number, accept: (tag: number) => boolean = () => true) {
    const f = this.clock.readFactor(now);
    const out: Array<{ tag: number; score: number }> = [];
    for (let i = 0; i < this.tagIds.length; i++) {
      if (accept(this.tagIds[i]!)) out.push({ tag: this.tagIds[i]!, score: this.tagScores[i]! * f });
    }
    out.sort((a, b) => b.score - a.score || a.tag - b.tag);
    return out.slice(0, limit);
  }

  /** Purchased items (an empty map shared by every profile without purchases: do not mutate). */
  get purchases(): ReadonlyMap<number, PurchaseRecord> {
    return this.bought ?? NO_PURCHASES;
  }

  /**
   * Swaps every list for an exact-size copy. An array grown by `push` keeps spare room (17 slots
   * after the first push, then half as much again at each growth): across 100k profiles of a few
   * items each that is most of their memory. Called after a bulk load; later pushes grow a list
   * again as usual.
   */
  trim(): void {
    this.itemIds = this.itemIds.slice();
    this.itemScores = this.itemScores.slice();
    this.itemLastTs = this.itemLastTs.slice();
    this.itemSessions = this.itemSessions.slice();
    this.itemVisits = this.itemVisits.slice();
    this.tagIds = this.tagIds.slice();
    this.tagScores = this.tagScores.slice();
    this.viewedItems = this.viewedItems.slice();
    this.viewedTs = this.viewedTs.slice();
  }

  /** Folds `other` into this profile (used by user merges). */
  absorb(other: UserProfile, limits: ProfileLimits): void {
    if (this.clock.ref === undefined && other.clock.ref !== undefined) this.clock.ref = other.clock.ref;
    const ref = this.clock.ref ?? 0;
    const toMine = other.clock.ref === undefined ? 1 : 2 ** ((other.clock.ref - ref) / this.clock.halfLifeMs);
    for (let i = 0; i < other.itemIds.length; i++) {
      this.addItem(
        other.itemIds[i]!,
        other.itemScores[i]! * toMine,
        other.itemLastTs[i]!,
        other.itemSessions[i],
        limits.maxItems,
        other.itemVisits[i]!,
      );
    }
    for (let i = 0; i < other.tagIds.length; i++) {
      this.addTag(other.tagIds[i]!, other.tagScores[i]! * toMine, limits.maxTags);
    }
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

  private addItem(
    item: number,
    w: number,
    ts: number,
    session: string | undefined,
    max: number,
    visits?: number,
  ): void {
    const i = this.itemIds.indexOf(item);
    if (i >= 0) {
      this.itemScores[i] = this.itemScores[i]! + w;
      // A merge adds the other profile's visits; one event adds a visit when its session is not the
      // one that last touched the item (a user's sessions rarely interleave on one item).
      const more = visits ?? (session === undefined || session !== this.itemSessions[i] ? 1 : 0);
      this.itemVisits[i] = this.itemVisits[i]! + more;
      if (ts >= this.itemLastTs[i]!) {
        this.itemLastTs[i] = ts;
        this.itemSessions[i] = session;
      }
      return;
    }
    this.itemIds.push(item);
    this.itemScores.push(w);
    this.itemLastTs.push(ts);
    this.itemSessions.push(session);
    this.itemVisits.push(visits ?? 1);
    if (this.itemIds.length > max) {
      const at = indexOfMin(this.itemScores);
      removeNumberAt(this.itemIds, at);
      // Not through removeNumberAt: see there why strings and numbers never share a store.
      const sessions = this.itemSessions;
      sessions[at] = sessions[sessions.length - 1];
      sessions.pop();
      const scores = this.itemScores;
      scores[at] = scores[scores.length - 1]!;
      scores.pop();
      const lastTs = this.itemLastTs;
      lastTs[at] = lastTs[lastTs.length - 1]!;
      lastTs.pop();
      removeNumberAt(this.itemVisits, at);
    }
  }

  private addTag(tag: number, w: number, max: number): void {
    const i = this.tagIds.indexOf(tag);
    if (i >= 0) {
      this.tagScores[i] = this.tagScores[i]! + w;
      return;
    }
    this.tagIds.push(tag);
    this.tagScores.push(w);
    if (this.tagIds.length > max) {
      const at = indexOfMin(this.tagScores);
      removeNumberAt(this.tagIds, at);
      const scores = this.tagScores;
      scores[at] = scores[scores.length - 1]!;
      scores.pop();
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
    this.bought ??= new Map();
    const had = this.bought.get(item);
    if (had !== undefined) {
      had.count += p.count;
      had.firstTs = Math.min(had.firstTs, p.firstTs);
      had.lastTs = Math.max(had.lastTs, p.lastTs);
      return;
    }
    this.bought.set(item, { ...p });
    if (this.bought.size <= max) return;
    let oldest: number | undefined;
    let oldestTs = Number.POSITIVE_INFINITY;
    for (const [k, v] of this.bought) {
      if (v.lastTs < oldestTs) {
        oldestTs = v.lastTs;
        oldest = k;
      }
    }
    if (oldest !== undefined) this.bought.delete(oldest);
  }

  private rebase(ts: number): void {
    const f = this.clock.rebase(ts);
    for (let i = 0; i < this.itemScores.length; i++) this.itemScores[i] = this.itemScores[i]! * f;
    for (let i = 0; i < this.tagScores.length; i++) this.tagScores[i] = this.tagScores[i]! * f;
  }
}
