const EMPTY = -1;
const MIN_CAPACITY = 4;

/**
 * Every item's neighbour table (neighbour id → weight) in one slab of memory.
 *
 * Each item owns an open-addressing block of `capacity` slots inside two shared arrays: the keys
 * (Int32Array) and the weights (Float64Array) of slot i at index i of each — 12 bytes a slot, where
 * keys stored as doubles beside their weights took 16. Blocks come from per-size free lists, so
 * growing or pruning a table never allocates a JS object: a typed array per item would mean hundreds
 * of thousands of ArrayBuffers and long GC pauses at catalog scale.
 */
export class NeighborStore {
  private keys = new Int32Array(1 << 15).fill(EMPTY);
  private weights = new Float64Array(1 << 15);
  /** Slots handed out so far (the end of the last block). */
  private used = 0;
  private offsets = new Int32Array(1024).fill(-1);
  private capacities = new Int32Array(1024);
  private counts = new Int32Array(1024);
  private readonly free = new Map<number, number[]>();
  /** Slots sitting in free lists. */
  private freeSlots = 0;
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
    if (this.keys[at] === EMPTY) {
      this.keys[at] = key;
      this.weights[at] = delta;
      this.counts[item]!++;
      this.total++;
    } else {
      this.weights[at] = this.weights[at]! + delta;
    }
  }

  /** The weight of `key` in `item`'s table, 0 when absent. */
  get(item: number, key: number): number {
    if (this.size(item) === 0) return 0;
    const at = this.find(item, key);
    return this.keys[at] === EMPTY ? 0 : this.weights[at]!;
  }

  forEach(item: number, fn: (key: number, value: number) => void): void {
    if (this.size(item) === 0) return;
    const start = this.offsets[item]!;
    const end = start + this.capacities[item]!;
    const { keys, weights } = this;
    for (let i = start; i < end; i++) {
      const k = keys[i]!;
      if (k !== EMPTY) fn(k, weights[i]!);
    }
  }

  /** Multiplies every weight (decay-clock rebase). Empty slots hold weight 0, so scaling them is harmless. */
  scale(factor: number): void {
    const { weights } = this;
    for (let i = 0; i < this.used; i++) weights[i] = weights[i]! * factor;
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
      this.keys[at] = kept[i]!;
      this.weights[at] = kept[i + 1]!;
      this.counts[item]!++;
    }
  }

  private find(item: number, key: number): number {
    const start = this.offsets[item]!;
    const mask = this.capacities[item]! - 1;
    const { keys } = this;
    let slot = (Math.imul(key, 0x9e3779b1) >>> 0) & mask;
    for (;;) {
      const at = start + slot;
      const k = keys[at]!;
      if (k === key || k === EMPTY) return at;
      slot = (slot + 1) & mask;
    }
  }

  private clearBlock(item: number): void {
    const start = this.offsets[item]!;
    const end = start + this.capacities[item]!;
    this.keys.fill(EMPTY, start, end);
    this.weights.fill(0, start, end);
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
      this.keys[at] = entries[i]!;
      this.weights[at] = entries[i + 1]!;
    }
  }

  private allocate(capacity: number): number {
    const list = this.free.get(capacity);
    const reused = list?.pop();
    if (reused !== undefined) {
      this.freeSlots -= capacity;
      return reused;
    }
    // Blocks freed by growing tables pile up in size classes nobody asks for; reclaim them by
    // compacting before the pool would have to grow.
    if (this.used + capacity > this.keys.length && this.freeSlots > this.used / 3) this.compact();
    const need = this.used + capacity;
    if (need > this.keys.length) {
      // Grow by 1.5× (not 2×): the pool is the largest allocation, and doubling overshoots by up to half.
      let size = this.keys.length;
      while (size < need) size = Math.ceil(size * 1.5);
      this.reallocate(size, (keys, weights) => {
        keys.set(this.keys);
        weights.set(this.weights);
      });
    }
    // Slots past `used` are already empty: fresh arrays start so, and released blocks are cleared.
    const start = this.used;
    this.used = need;
    return start;
  }

  private release(start: number, capacity: number): void {
    this.keys.fill(EMPTY, start, start + capacity);
    this.weights.fill(0, start, start + capacity);
    let list = this.free.get(capacity);
    if (list === undefined) {
      list = [];
      this.free.set(capacity, list);
    }
    list.push(start);
    this.freeSlots += capacity;
  }

  /** New key and weight arrays of `size` slots (keys empty), filled by `copy`. */
  private reallocate(size: number, copy: (keys: Int32Array, weights: Float64Array) => void): void {
    const keys = new Int32Array(size).fill(EMPTY);
    const weights = new Float64Array(size);
    copy(keys, weights);
    this.keys = keys;
    this.weights = weights;
  }

  /**
   * Copies every live block into a pool of exactly their size and drops the free lists: after a
   * bulk load the pool holds up to half again its live slots as room to grow, plus the blocks
   * freed by tables that outgrew them. The next growth allocates as usual.
   */
  trim(): void {
    this.compact(0);
  }

  /** Copies every live block into a fresh pool, back to back, and drops the free lists. */
  private compact(headroom = 0.25): void {
    const live = this.used - this.freeSlots;
    const size = Math.max(1 << 15, Math.ceil(live * (1 + headroom)));
    let at = 0;
    this.reallocate(size, (keys, weights) => {
      for (let item = 0; item < this.offsets.length; item++) {
        const cap = this.capacities[item]!;
        if (cap === 0) continue;
        const start = this.offsets[item]!;
        keys.set(this.keys.subarray(start, start + cap), at);
        weights.set(this.weights.subarray(start, start + cap), at);
        this.offsets[item] = at;
        at += cap;
      }
    });
    this.used = at;
    this.free.clear();
    this.freeSlots = 0;
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
