const EMPTY = -1;
const MIN_CAPACITY = 4;

/**
 * Every item's neighbour table (neighbour id → weight) in one slab of memory.
 *
 * Each item owns an open-addressing block of `capacity` slots inside one shared Float64Array, laid out
 * [key, weight, key, weight, …]. Blocks come from per-size free lists, so growing or pruning a table
 * never allocates a JS object: a typed array per item would mean hundreds of thousands of
 * ArrayBuffers and long GC pauses at catalog scale.
 */
export class NeighborStore {
  private pool = new Float64Array(1 << 16);
  private used = 0;
  private offsets = new Int32Array(1024).fill(-1);
  private capacities = new Int32Array(1024);
  private counts = new Int32Array(1024);
  private readonly free = new Map<number, number[]>();
  /** Pool cells sitting in free lists. */
  private freeCells = 0;
  private total = 0;

  /** Entries of `item`'s table. */
  size(item: number): number {
    return item < this.counts.length ? this.counts[item]! : 0;
  }

  /** Entries across all tables. */
  get totalSize(): number {
    return this.total;
  }

  /** Adds `delta` to the weight of `key` in `item`'s table. */
  add(item: number, key: number, delta: number): void {
    this.ensureItem(item);
    const cap = this.capacities[item]!;
    if (cap === 0) this.resize(item, MIN_CAPACITY);
    else if ((this.counts[item]! + 1) * 4 > cap * 3) this.resize(item, cap * 2);
    const at = this.find(item, key);
    const pool = this.pool;
    if (pool[at] === EMPTY) {
      pool[at] = key;
      pool[at + 1] = delta;
      this.counts[item]!++;
      this.total++;
    } else {
      pool[at + 1] = pool[at + 1]! + delta;
    }
  }

  /** The weight of `key` in `item`'s table, 0 when absent. */
  get(item: number, key: number): number {
    if (this.size(item) === 0) return 0;
    const at = this.find(item, key);
    return this.pool[at] === EMPTY ? 0 : this.pool[at + 1]!;
  }

  forEach(item: number, fn: (key: number, value: number) => void): void {
    if (this.size(item) === 0) return;
    const start = this.offsets[item]!;
    const end = start + 2 * this.capacities[item]!;
    const pool = this.pool;
    for (let i = start; i < end; i += 2) {
      const k = pool[i]!;
      if (k !== EMPTY) fn(k, pool[i + 1]!);
    }
  }

  /** Multiplies every weight (decay-clock rebase). Empty slots hold weight 0, so scaling them is harmless. */
  scale(factor: number): void {
    const pool = this.pool;
    for (let i = 1; i < this.used; i += 2) pool[i] = pool[i]! * factor;
  }

  /**
   * Keeps only the `keep` heaviest entries of `item`'s table (ties: lower ids). The weakest pairs are
   * the least likely to reach a top-K list; dropping them bounds memory.
   */
  prune(item: number, keep: number): void {
    const n = this.size(item);
    if (n <= keep) return;
    const entries: number[] = [];
    this.forEach(item, (k, v) => {
      entries.push(k, v);
    });
    const order = Array.from({ length: n }, (_, i) => i);
    order.sort((a, b) => entries[2 * b + 1]! - entries[2 * a + 1]! || entries[2 * a]! - entries[2 * b]!);
    const kept: number[] = [];
    for (let i = 0; i < keep; i++) kept.push(entries[2 * order[i]!]!, entries[2 * order[i]! + 1]!);
    this.clearBlock(item);
    this.total -= n - keep;
    this.counts[item] = 0;
    for (let i = 0; i < kept.length; i += 2) {
      const at = this.find(item, kept[i]!);
      this.pool[at] = kept[i]!;
      this.pool[at + 1] = kept[i + 1]!;
      this.counts[item]!++;
    }
  }

  private find(item: number, key: number): number {
    const start = this.offsets[item]!;
    const mask = this.capacities[item]! - 1;
    const pool = this.pool;
    let slot = (Math.imul(key, 0x9e3779b1) >>> 0) & mask;
    for (;;) {
      const at = start + 2 * slot;
      const k = pool[at]!;
      if (k === key || k === EMPTY) return at;
      slot = (slot + 1) & mask;
    }
  }

  private clearBlock(item: number): void {
    const start = this.offsets[item]!;
    const end = start + 2 * this.capacities[item]!;
    for (let i = start; i < end; i += 2) {
      this.pool[i] = EMPTY;
      this.pool[i + 1] = 0;
    }
  }

  private resize(item: number, capacity: number): void {
    const oldCap = this.capacities[item]!;
    const entries: number[] = [];
    this.forEach(item, (k, v) => {
      entries.push(k, v);
    });
    // Detach the old block first: allocate() may compact the pool, which moves every attached block.
    if (oldCap > 0) this.release(this.offsets[item]!, oldCap);
    this.capacities[item] = 0;
    const start = this.allocate(capacity);
    this.offsets[item] = start;
    this.capacities[item] = capacity;
    for (let i = 0; i < entries.length; i += 2) {
      const at = this.find(item, entries[i]!);
      this.pool[at] = entries[i]!;
      this.pool[at + 1] = entries[i + 1]!;
    }
  }

  private allocate(capacity: number): number {
    const list = this.free.get(capacity);
    const reused = list?.pop();
    if (reused !== undefined) {
      this.freeCells -= 2 * capacity;
      return reused;
    }
    // Blocks freed by growing tables pile up in size classes nobody asks for; reclaim them by
    // compacting before the pool would have to grow.
    if (this.used + 2 * capacity > this.pool.length && this.freeCells > this.used / 3) this.compact();
    const need = this.used + 2 * capacity;
    if (need > this.pool.length) {
      // Grow by 1.5× (not 2×): the pool is the largest allocation, and doubling overshoots by up to half.
      let size = this.pool.length;
      while (size < need) size = Math.ceil(size * 0.75) * 2;
      const next = new Float64Array(size);
      next.set(this.pool);
      this.pool = next;
    }
    const start = this.used;
    for (let i = start; i < need; i += 2) this.pool[i] = EMPTY;
    this.used = need;
    return start;
  }

  private release(start: number, capacity: number): void {
    for (let i = start; i < start + 2 * capacity; i += 2) {
      this.pool[i] = EMPTY;
      this.pool[i + 1] = 0;
    }
    let list = this.free.get(capacity);
    if (list === undefined) {
      list = [];
      this.free.set(capacity, list);
    }
    list.push(start);
    this.freeCells += 2 * capacity;
  }

  /** Copies every live block into a fresh pool, back to back, and drops the free lists. */
  private compact(): void {
    const live = this.used - this.freeCells;
    const size = Math.max(1 << 16, Math.ceil(live * 0.625) * 2);
    const next = new Float64Array(size);
    let at = 0;
    for (let item = 0; item < this.offsets.length; item++) {
      const cap = this.capacities[item]!;
      if (cap === 0) continue;
      const start = this.offsets[item]!;
      next.set(this.pool.subarray(start, start + 2 * cap), at);
      this.offsets[item] = at;
      at += 2 * cap;
    }
    this.pool = next;
    this.used = at;
    this.free.clear();
    this.freeCells = 0;
  }

  private ensureItem(item: number): void {
    if (item < this.offsets.length) return;
    let size = this.offsets.length;
    while (size <= item) size *= 2;
    const grow = (a: Int32Array, fill: number) => {
      const next = new Int32Array(size).fill(fill);
      next.set(a);
      return next;
    };
    this.offsets = grow(this.offsets, -1);
    this.capacities = grow(this.capacities, 0);
    this.counts = grow(this.counts, 0);
  }
}
