import { GrowableFloat64 } from '../util/GrowableFloat64';
import { DecayClock } from './DecayClock';

/** A dense per-item decayed counter (see {@link DecayClock}). */
export class DecayedVector {
  readonly clock: DecayClock;
  private readonly values = new GrowableFloat64();

  constructor(halfLifeMs: number) {
    this.clock = new DecayClock(halfLifeMs);
  }

  /**
   * Returns the factor every stored value was multiplied by (1: the clock did not rebase), for owners
   * that keep thresholds on the stored values (a returned value rather than a callback keeps the
   * vector free of closures, so it can be snapshotted).
   */
  add(id: number, weight: number, ts: number): number {
    let factor = 1;
    if (this.clock.needsRebase(ts)) {
      factor = this.clock.rebase(ts);
      this.values.scale(factor);
    }
    this.values.add(id, weight * this.clock.storeFactor(ts));
    return factor;
  }

  /** Value decayed to `now`. */
  get(id: number, now: number): number {
    return this.values.get(id) * this.clock.readFactor(now);
  }

  /** Stored (undecayed) value; comparable across ids, for ranking without a `now`. */
  raw(id: number): number {
    return this.values.get(id);
  }

  get length(): number {
    return this.values.length;
  }
}

/** A sparse decayed counter, for many small populations (e.g. popularity per trait value). */
export class DecayedMap {
  readonly clock: DecayClock;
  readonly values = new Map<number, number>();

  constructor(halfLifeMs: number) {
    this.clock = new DecayClock(halfLifeMs);
  }

  add(id: number, weight: number, ts: number): void {
    if (this.clock.needsRebase(ts)) {
      const factor = this.clock.rebase(ts);
      for (const [k, v] of this.values) this.values.set(k, v * factor);
    }
    this.values.set(id, (this.values.get(id) ?? 0) + weight * this.clock.storeFactor(ts));
  }

  get(id: number, now: number): number {
    return (this.values.get(id) ?? 0) * this.clock.readFactor(now);
  }
}
