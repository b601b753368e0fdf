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

/** Numbers per profile item in `items`: id, score, last touch, visits. */
const ITEM = 4;
/** Numbers per profile tag in `tags`: id, score. */
const TAG = 2;

/** The entry (of `stride` numbers) whose number at `offset` is smallest. */
function entryOfMin(values: number[], stride: number, offset: number): number {
  let best = 0;
  for (let i = stride; i < values.length; i += stride) {
    if (values[i + offset]! < values[best + offset]!) best = i;
  }
  return best / stride;
}

/** The entry (of `stride` numbers) whose first number is `id`, or −1. */
function entryOf(values: number[], stride: number, id: number): number {
  for (let i = 0; i < values.length; i += stride) if (values[i] === id) return i / stride;
  return -1;
}

/**
 * Swap-removes entry `at` (of `stride` numbers) of `values`: order inside a profile carries no
 * meaning (recently-viewed lists are separate).
 */
function removeEntry(values: number[], stride: number, at: number): void {
  const last = values.length - stride;
  for (let k = 0; k < stride; k++) values[at * stride + k] = values[last + k]!;
  values.length = last;
}

/**
 * A user's behaviour summary: bounded, decayed, mergeable.
 *
 * Stored as flat number arrays rather than Maps of objects: a shop has far more users than items,
 * and number arrays hold doubles unboxed (about 8 bytes per value instead of ~50 for a Map entry).
 * Each item's numbers sit side by side in one array (and each tag's in another) rather than in one
 * array per field: every JS array costs 48 bytes before its first element, and at 81,000 profiles the
 * four arrays one array replaced cost 16 MB. The sessions are strings and keep an array of their own:
 * one store shared by strings and numbers made V8 generalise it to boxed elements, every score and
 * timestamp a separate 16-byte heap number (`memoryLayout.test.ts` checks the layout). Every list is
 * capped (≤ 50 by default), so linear scans stay cheap.
 */
export class UserProfile {
  readonly clock: DecayClock;
  /**
   * Interacted items, {@link ITEM} numbers each: the item id, its decayed, type-weighted interest
   * (profile clock), when it was last touched, and its visits — how many of the user's sessions
   * touched it (a session counts once; an event without a session id counts as a visit of its own).
   */
  // Not readonly: trim() swaps each array for an exact-size copy.
  private items: number[] = [];
  /** The session that last touched each item (entry i of `items`). */
  private itemSessions: Array<string | undefined> = [];
  /** Tags, {@link TAG} numbers each: the tag id and its decayed affinity (profile clock). */
  private tags: number[] = [];
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
    return this.items.length / ITEM;
  }

  get tagCount(): number {
    return this.tags.length / TAG;
  }

  /** Decayed interest in `item` at `now` (0 when not in the profile). */
  interest(item: number, now: number): number {
    const i = entryOf(this.items, ITEM, item);
    return i < 0 ? 0 : this.items[i * ITEM + 1]! * this.clock.readFactor(now);
  }

  /** Every profile item with its interest decayed to `now`. */
  forEachItem(now: number, fn: (item: number, interest: number, session: string | undefined) => void): void {
    const f = this.clock.readFactor(now);
    const { items } = this;
    for (let i = 0; i < items.length; i += ITEM)
      fn(items[i]!, items[i + 1]! * f, this.itemSessions[i / ITEM]);
  }

  /**
   * Every profile item with the number of the user's sessions that touched it and when it was last
   * touched: what the user keeps coming back to (the `revisit` signal).
   */
  forEachVisit(fn: (item: number, visits: number, lastTs: number) => void): void {
    const { items } = this;
    for (let i = 0; i < items.length; i += ITEM) fn(items[i]!, items[i + 3]!, items[i + 2]!);
  }

  /** Item ids held (for inspection). */
  itemIds(): number[] {
    const ids: number[] = [];
    for (let i = 0; i < this.items.length; i += ITEM) ids.push(this.items[i]!);
    return ids;
  }

  /** Tag affinities decayed to `now`, strongest first. */
  topTags(now: number, limit: number, accept: (tag: number) => boolean = () => true) {
    const f = this.clock.readFactor(now);
    const out: Array<{ tag: number; score: number }> = [];
    const { tags } = this;
    for (let i = 0; i < tags.length; i += TAG) {
      if (accept(tags[i]!)) out.push({ tag: tags[i]!, score: tags[i + 1]! * f });
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
    this.items = this.items.slice();
    this.itemSessions = this.itemSessions.slice();
    this.tags = this.tags.slice();
    this.viewedItems = this.viewedItems.slice();
    this.viewedTs = this.viewedTs.slice();
  }

  /** Folds `other` into this profile (used by user merges). */
  absorb(other: UserProfile, limits: ProfileLimits): void {
    if (this.clock.ref === undefined && other.clock.ref !== undefined) this.clock.ref = other.clock.ref;
    const ref = this.clock.ref ?? 0;
    const toMine = other.clock.ref === undefined ? 1 : 2 ** ((other.clock.ref - ref) / this.clock.halfLifeMs);
    const theirs = other.items;
    for (let i = 0; i < theirs.length; i += ITEM) {
      this.addItem(
        theirs[i]!,
        theirs[i + 1]! * toMine,
        theirs[i + 2]!,
        other.itemSessions[i / ITEM],
        limits.maxItems,
        theirs[i + 3]!,
      );
    }
    for (let i = 0; i < other.tags.length; i += TAG) {
      this.addTag(other.tags[i]!, other.tags[i + 1]! * toMine, limits.maxTags);
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
    const { items } = this;
    const i = entryOf(items, ITEM, item);
    if (i >= 0) {
      const at = i * ITEM;
      items[at + 1] = items[at + 1]! + w;
      // A merge adds the other profile's visits; one event adds a visit when its session is not the
      // one that last touched the item (a user's sessions rarely interleave on one item).
      const more = visits ?? (session === undefined || session !== this.itemSessions[i] ? 1 : 0);
      items[at + 3] = items[at + 3]! + more;
      if (ts >= items[at + 2]!) {
        items[at + 2] = ts;
        this.itemSessions[i] = session;
      }
      return;
    }
    items.push(item, w, ts, visits ?? 1);
    this.itemSessions.push(session);
    if (items.length > max * ITEM) {
      const at = entryOfMin(items, ITEM, 1);
      removeEntry(items, ITEM, at);
      const sessions = this.itemSessions;
      sessions[at] = sessions[sessions.length - 1];
      sessions.pop();
    }
  }

  private addTag(tag: number, w: number, max: number): void {
    const { tags } = this;
    const i = entryOf(tags, TAG, tag);
    if (i >= 0) {
      tags[i * TAG + 1] = tags[i * TAG + 1]! + w;
      return;
    }
    tags.push(tag, w);
    if (tags.length > max * TAG) removeEntry(tags, TAG, entryOfMin(tags, TAG, 1));
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
    const { items, tags } = this;
    for (let i = 1; i < items.length; i += ITEM) items[i] = items[i]! * f;
    for (let i = 1; i < tags.length; i += TAG) tags[i] = tags[i]! * f;
  }
}
