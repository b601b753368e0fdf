/** A Float64Array indexed by dense id that grows on demand; absent ids read as 0. */
export class GrowableFloat64 {
  private data = new Float64Array(1024);

  get(id: number): number {
    return id < this.data.length ? this.data[id]! : 0;
  }

  add(id: number, delta: number): void {
    this.ensure(id);
    this.data[id] = this.data[id]! + delta;
  }

  set(id: number, value: number): void {
    this.ensure(id);
    this.data[id] = value;
  }

  /** Multiplies every value (decay-clock rebase). */
  scale(factor: number): void {
    const { data } = this;
    for (let i = 0; i < data.length; i++) data[i] = data[i]! * factor;
  }

  /** Number of addressable slots (≥ highest id written + 1). */
  get length(): number {
    return this.data.length;
  }

  private ensure(id: number): void {
    if (id < this.data.length) return;
    let cap = this.data.length;
    while (cap <= id) cap *= 2;
    const next = new Float64Array(cap);
    next.set(this.data);
    this.data = next;
  }
}
