/**
 * A set of small integer ids that empties in O(1): membership is "stamped with the current epoch".
 * Reused across requests (they are synchronous), so per-request dedup allocates nothing.
 */
export class EpochSet {
  private stamps = new Uint32Array(1024);
  private epoch = 1;

  /** Empties the set and makes room for ids below `size`. */
  clear(size: number): void {
    if (size > this.stamps.length) {
      this.stamps = new Uint32Array(Math.max(size, this.stamps.length * 2));
      this.epoch = 0;
    }
    this.epoch++;
    if (this.epoch === 0xffffffff) {
      this.stamps.fill(0);
      this.epoch = 1;
    }
  }

  /** Adds `id`; returns false when it was already present. Ids beyond the cleared size are ignored. */
  add(id: number): boolean {
    if (id >= this.stamps.length || this.stamps[id] === this.epoch) return false;
    this.stamps[id] = this.epoch;
    return true;
  }
}
