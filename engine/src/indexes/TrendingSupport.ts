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
/** Numbers per user: item, window start, weight counted, for each slot. */
const ROW = SLOTS * 3;

/**
 * Makes trending count people, not events: within one window (the short trending half-life) a user
 * adds to an item's trend at most the weight of their strongest action on it, once — so one order of
 * 12 lines, or one visitor reloading a page, cannot make an item trend — and each user counts once
 * towards the item's support (distinct users, see `PopularityConfig.trendingMinUsers`).
 *
 * Per user it keeps the last {@link SLOTS} items of the window (item, window start, weight counted)
 * in a row of one shared Float64Array, so memory stays bounded (about 420 bytes per active user: a
 * typed array of its own per user cost about 250 bytes more); a user who touches more items than
 * that in one window may be counted twice for the oldest of them.
 */
export class TrendingSupport {
  /** Each user's row in `pool`. */
  private readonly users = new Map<string, number>();
  /** ROW numbers a row, NaN marks a free slot. */
  private pool = new Float64Array(ROW * 64).fill(Number.NaN);
  private rows = 0;
  /** Rows of dropped or merged users, reused first. */
  private freeRows: number[] = [];

  constructor(private readonly windowMs: number) {}

  /** Records one event of `userKey` on `item` and returns what it adds to the trending counters. */
  claim(userKey: string, item: number, weight: number, ts: number): TrendingClaim {
    if (!(weight > 0)) return NONE;
    let row = this.users.get(userKey);
    if (row === undefined) {
      row = this.freeRows.pop() ?? this.rows++;
      if (row * ROW >= this.pool.length) this.resize(Math.ceil(this.rows * 1.5));
      this.pool.fill(Number.NaN, row * ROW, (row + 1) * ROW);
      this.users.set(userKey, row);
    }
    const slots = this.pool.subarray(row * ROW, (row + 1) * ROW);
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
    else this.freeRows.push(from);
  }

  /** Forgets a user (erasure). */
  drop(userKey: string): void {
    const row = this.users.get(userKey);
    if (row === undefined) return;
    this.users.delete(userKey);
    this.pool.fill(Number.NaN, row * ROW, (row + 1) * ROW);
    this.freeRows.push(row);
  }

  /** Gives back the pool's room to grow (after a bulk load). */
  trim(): void {
    this.resize(this.rows);
  }

  private resize(rows: number): void {
    const next = new Float64Array(Math.max(rows, 1) * ROW).fill(Number.NaN);
    next.set(this.pool.subarray(0, Math.min(this.pool.length, next.length)));
    this.pool = next;
  }
}
