/**
 * A superset of the `keep` largest ids by a value that only ever grows (a decayed counter stored
 * against a fixed reference time only grows with new events). Offer every id whose value grew; an id
 * joins once it passes the threshold recorded at the last prune, and the set is pruned back to `keep`
 * when it doubles. Every id outside the set is at or below that threshold while the set holds ≥ keep
 * ids above it, so the true top `keep` are always inside — without scanning the catalog.
 */
export class RisingTop {
  private readonly members = new Set<number>();
  private threshold = 0;

  constructor(
    private readonly keep: number,
    /** Where the values live (an object, not a closure, so the set can be snapshotted). */
    private readonly source: { raw(id: number): number },
  ) {}

  offer(id: number, value: number): void {
    if (value <= this.threshold || this.members.has(id)) return;
    this.members.add(id);
    if (this.members.size >= 2 * this.keep) this.prune();
  }

  /** The tracked values were all multiplied by `factor` (decay-clock rebase). */
  scale(factor: number): void {
    this.threshold *= factor;
  }

  /** Candidate ids (a superset of the top `keep`). */
  ids(): Iterable<number> {
    return this.members;
  }

  get size(): number {
    return this.members.size;
  }

  get capacity(): number {
    return this.keep;
  }

  private prune(): void {
    const { source } = this;
    const ranked = [...this.members].sort((a, b) => source.raw(b) - source.raw(a) || a - b);
    for (let i = this.keep; i < ranked.length; i++) this.members.delete(ranked[i]!);
    this.threshold = source.raw(ranked[this.keep - 1]!);
  }
}
