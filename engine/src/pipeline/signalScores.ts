/**
 * Raw scores of one signal: parallel arrays, one entry per candidate id (no duplicates), with the
 * anchor each score came from and an optional text label (for explanations). Entries are
 * `[0, size)` of typed arrays, not Maps or growing JS arrays: a request builds a few thousand
 * entries, Map inserts dominated its cost, and growing arrays were most of its garbage.
 */
export class SignalScores {
  ids = new Int32Array(64);
  scores = new Float64Array(64);
  /** The anchor item that contributed most, per entry (−1: none). */
  related = new Int32Array(64);
  /** Entries in use. */
  size = 0;
  /** Text labels (trait, purchase count) by id, for the few signals that have them. */
  labels: Map<number, string> | undefined;

  push(id: number, score: number, related = -1): void {
    if (this.size === this.ids.length) this.grow();
    this.ids[this.size] = id;
    this.scores[this.size] = score;
    this.related[this.size] = related;
    this.size++;
  }

  /** Empties it for reuse, keeping its arrays. */
  reset(): void {
    this.size = 0;
    this.labels = undefined;
  }

  /** Related anchor of `id` (linear: only used to explain the k returned items). */
  relatedOf(id: number): number | undefined {
    for (let e = 0; e < this.size; e++) {
      if (this.ids[e] !== id) continue;
      const r = this.related[e]!;
      return r < 0 ? undefined : r;
    }
    return undefined;
  }

  labelOf(id: number): string | undefined {
    return this.labels?.get(id);
  }

  private grow() {
    const cap = this.ids.length * 2;
    const ids = new Int32Array(cap);
    const scores = new Float64Array(cap);
    const related = new Int32Array(cap);
    ids.set(this.ids);
    scores.set(this.scores);
    related.set(this.related);
    this.ids = ids;
    this.scores = scores;
    this.related = related;
  }
}
