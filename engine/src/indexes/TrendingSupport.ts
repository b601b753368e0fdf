/** What one event adds to the trending counters (see {@link TrendingSupport.claim}). */
export interface TrendingClaim {
  /** Weight to add: how much this event raises the user's strongest action on the item in the window. */
  weight: number;
  /** 1 when the user had not touched the item in the window yet (a new supporter), else 0. */
  newUser: 0 | 1;
}

/** Items remembered per user: the most a visitor touches within one trending window in practice. */
const SLOTS = 16;
const NONE: TrendingClaim = { weight: 0, newUser: 0 };

/**
 * Makes trending count people, not events: within one window (the short trending half-life) a user
 * adds to an item's trend at most the weight of their strongest action on it, once — so one order of
 * 12 lines, or one visitor reloading a page, cannot make an item trend — and each user counts once
 * towards the item's support (distinct users, see `PopularityConfig.trendingMinUsers`).
 *
 * Per user it keeps the last {@link SLOTS} items of the window in one small typed array (item,
 * window start, weight counted), so memory stays bounded (about 400 bytes per active user); a user
 * who touches more items than that in one window may be counted twice for the oldest of them.
 */
export class TrendingSupport {
  private readonly users = new Map<string, Float64Array>();

  constructor(private readonly windowMs: number) {}

  /** Records one event of `userKey` on `item` and returns what it adds to the trending counters. */
  claim(userKey: string, item: number, weight: number, ts: number): TrendingClaim {
    if (!(weight > 0)) return NONE;
    let slots = this.users.get(userKey);
    if (slots === undefined) {
      slots = new Float64Array(SLOTS * 3).fill(Number.NaN);
      this.users.set(userKey, slots);
    }
    let free = -1;
    let oldest = 0;
    for (let s = 0; s < SLOTS; s++) {
      const at = s * 3;
      const held = slots[at]!;
      if (held === item) {
        const start = slots[at + 1]!;
        if (ts >= start && ts - start < this.windowMs) {
          const counted = slots[at + 2]!;
          if (weight <= counted) return NONE;
          slots[at + 2] = weight;
          return { weight: weight - counted, newUser: 0 };
        }
        if (ts < start) return NONE; // an older event of a window already counted
        free = s;
        break;
      }
      if (Number.isNaN(held) || ts - slots[at + 1]! >= this.windowMs) {
        if (free < 0) free = s;
      } else if (slots[at + 1]! < slots[oldest * 3 + 1]!) {
        oldest = s;
      }
    }
    const s = free >= 0 ? free : oldest;
    slots[s * 3] = item;
    slots[s * 3 + 1] = ts;
    slots[s * 3 + 2] = weight;
    return { weight, newUser: 1 };
  }

  /** Moves what `fromKey` counted to `intoKey` (a user merge), so the merged user is not counted twice. */
  merge(fromKey: string, intoKey: string): void {
    const from = this.users.get(fromKey);
    if (from === undefined) return;
    this.users.delete(fromKey);
    if (!this.users.has(intoKey)) this.users.set(intoKey, from);
  }

  /** Forgets a user (erasure). */
  drop(userKey: string): void {
    this.users.delete(userKey);
  }
}
