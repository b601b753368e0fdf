/**
 * Exponential decay that supports incremental updates.
 *
 * Values are stored relative to a reference time `ref`: an event of weight w at time ts is stored as
 * w · 2^((ts − ref) / halfLife). The decayed value at `now` is stored · 2^((ref − now) / halfLife),
 * so nothing has to be touched as time passes, and all values sharing a clock stay comparable
 * (ratios between them do not depend on `now`). When new events drift too far past `ref`, the owner
 * rebases: multiplies its stored values by {@link DecayClock.rebase}'s factor.
 */
export class DecayClock {
  /** Reference time; undefined until the first event is stored. */
  ref: number | undefined;

  constructor(public halfLifeMs: number) {
    if (!(halfLifeMs > 0)) throw new Error(`DecayClock: halfLifeMs must be > 0 (got ${halfLifeMs}).`);
  }

  /**
   * True when storing an event at `ts` needs a rebase first. 2^600 ≈ 4e180 keeps sums of many
   * such terms far below Number.MAX_VALUE.
   */
  needsRebase(ts: number): boolean {
    return this.ref !== undefined && (ts - this.ref) / this.halfLifeMs > 600;
  }

  /** Multiplier for storing a weight observed at `ts`. */
  storeFactor(ts: number): number {
    if (this.ref === undefined) this.ref = ts;
    return 2 ** ((ts - this.ref) / this.halfLifeMs);
  }

  /** Multiplier turning stored values into values decayed to `now`. */
  readFactor(now: number): number {
    if (this.ref === undefined) return 1;
    return 2 ** ((this.ref - now) / this.halfLifeMs);
  }

  /** Moves the reference to `newRef`; returns the factor every stored value must be multiplied by. */
  rebase(newRef: number): number {
    const factor = this.ref === undefined ? 1 : 2 ** ((this.ref - newRef) / this.halfLifeMs);
    this.ref = newRef;
    return factor;
  }
}

/** 2^(−ageMs / halfLifeMs): the weight left after `ageMs`. */
export function decayFactor(ageMs: number, halfLifeMs: number): number {
  return 2 ** (-ageMs / halfLifeMs);
}
