const EMPTY = -1;

/**
 * A small open-addressing hash map from neighbour id (int32) to weight (float64), one per item.
 * Typed arrays keep millions of pair weights off the GC heap (a Map would box every double).
 */
export class NeighborTable {
  private keys: Int32Array;
  private vals: Float64Array;
  private count = 0;

  constructor(initialCapacity = 8) {
    let cap = 8;
    while (cap < initialCapacity) cap *= 2;
    this.keys = new Int32Array(cap).fill(EMPTY);
    this.vals = new Float64Array(cap);
  }

  get size(): number {
    return this.count;
  }

  private slotOf(key: number): number {
    const mask = this.keys.length - 1;
    let slot = Math.imul(key, 0x9e3779b1) >>> 0;
    slot &= mask;
    for (;;) {
      const k = this.keys[slot]!;
      if (k === key || k === EMPTY) return slot;
      slot = (slot + 1) & mask;
    }
  }

  /** Adds `delta` to the weight of `key` (inserting it at 0 first). */
  add(key: number, delta: number): void {
    if ((this.count + 1) * 4 > this.keys.length * 3) this.resize(this.keys.length * 2);
    const slot = this.slotOf(key);
    if (this.keys[slot] === EMPTY) {
      this.keys[slot] = key;
      this.vals[slot] = delta;
      this.count++;
    } else {
      this.vals[slot] = this.vals[slot]! + delta;
    }
  }

  /** The weight of `key`, 0 when absent. */
  get(key: number): number {
    const slot = this.slotOf(key);
    return this.keys[slot] === EMPTY ? 0 : this.vals[slot]!;
  }

  forEach(fn: (key: number, value: number) => void): void {
    const { keys, vals } = this;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      if (k !== EMPTY) fn(k, vals[i]!);
    }
  }

  /** Multiplies every weight (used when the decay clock rebases). */
  scale(factor: number): void {
    const { keys, vals } = this;
    for (let i = 0; i < keys.length; i++) if (keys[i] !== EMPTY) vals[i] = vals[i]! * factor;
  }

  /** Removes `key` if present. */
  delete(key: number): void {
    const slot = this.slotOf(key);
    if (this.keys[slot] === EMPTY) return;
    const entries: Array<[number, number]> = [];
    this.forEach((k, v) => {
      if (k !== key) entries.push([k, v]);
    });
    this.rebuild(entries, this.keys.length);
  }

  /**
   * Keeps only the `keep` heaviest entries. Called when the table outgrows its budget: the weakest
   * pairs are the least likely to ever reach a top-K list, and dropping them bounds memory.
   */
  prune(keep: number): void {
    if (this.count <= keep) return;
    const entries: Array<[number, number]> = [];
    this.forEach((k, v) => {
      entries.push([k, v]);
    });
    entries.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
    entries.length = keep;
    let cap = 8;
    while (keep * 4 > cap * 3) cap *= 2;
    this.rebuild(entries, Math.max(cap, this.keys.length));
  }

  private resize(capacity: number): void {
    const entries: Array<[number, number]> = [];
    this.forEach((k, v) => {
      entries.push([k, v]);
    });
    this.rebuild(entries, capacity);
  }

  private rebuild(entries: Array<[number, number]>, capacity: number): void {
    this.keys = new Int32Array(capacity).fill(EMPTY);
    this.vals = new Float64Array(capacity);
    this.count = 0;
    for (const [k, v] of entries) {
      const slot = this.slotOf(k);
      this.keys[slot] = k;
      this.vals[slot] = v;
      this.count++;
    }
  }
}
