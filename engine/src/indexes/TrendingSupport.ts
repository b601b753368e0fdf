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
 *
 * Rows are kept for the users of the last two windows only: before the pool grows, the rows of users
 * with nothing newer than two windows before the event at hand are freed for new users (see
 * {@link sweep}), so the pool follows the shop's active visitors, not every visitor it ever had (at
 * 100,000 users over 90 days, 38 MB before, a few hundred kilobytes after).
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

  /** Users whose rows are kept. */
  get size(): number {
    return this.users.size;
  }

  /** Bytes of the pool of rows. */
  get byteLength(): number {
    return this.pool.byteLength;
  }

  /** Records one event of `userKey` on `item` and returns what it adds to the trending counters. */
  claim(userKey: string, item: number, weight: number, ts: number): TrendingClaim {
    if (!(weight > 0)) return NONE;
    let row = this.users.get(userKey);
    if (row === undefined) {
      if (this.freeRows.length === 0 && (this.rows + 1) * ROW > this.pool.length) {
        // Full: free the rows of users gone quiet first; grow as well unless that freed a good share,
        // so the next sweep is as far off as the next growth would have been.
        if (this.sweep(ts) * 4 < this.rows) this.resize(Math.ceil(this.rows * 1.5));
      }
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

  /**
   * Frees the rows of users whose every slot is empty or at least two windows older than `now`,
   * and returns how many. Such a row can only matter to an event more than one window older than
   * `now`: any later one finds each of its slots expired (older than a window) as it is. Events
   * arrive in about the order they happened; one that comes more than a window late and finds its
   * user's row freed counts as a first action in its window, as it would had the user's slots been
   * taken by 16 newer items.
   */
  private sweep(now: number): number {
    const before = now - 2 * this.windowMs;
    let freed = 0;
    for (const [userKey, row] of this.users) {
      let live = false;
      for (let at = row * ROW + 1; at < (row + 1) * ROW; at += 3) {
        if (this.pool[at]! >= before) {
          live = true;
          break;
        }
      }
      if (live) continue;
      this.users.delete(userKey);
      this.pool.fill(Number.NaN, row * ROW, (row + 1) * ROW);
      this.freeRows.push(row);
      freed++;
    }
    return freed;
  }

  /** Gives back the pool's room to grow (after a bulk load): live rows moved to the front, in order. */
  trim(): void {
    const order = [...this.users].sort((a, b) => a[1] - b[1]);
    const next = new Float64Array(Math.max(order.length, 1) * ROW).fill(Number.NaN);
    order.forEach(([userKey, row], i) => {
      next.set(this.pool.subarray(row * ROW, (row + 1) * ROW), i * ROW);
      this.users.set(userKey, i);
    });
    this.pool = next;
    this.rows = order.length;
    this.freeRows = [];
  }

  private resize(rows: number): void {
    const next = new Float64Array(Math.max(rows, 1) * ROW).fill(Number.NaN);
    next.set(this.pool.subarray(0, Math.min(this.pool.length, next.length)));
    this.pool = next;
  }
}
