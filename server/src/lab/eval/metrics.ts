/**
 * Ranking and beyond-accuracy metrics for offline evaluation. Pure functions on item-id lists so
 * each can be checked on hand-made cases.
 */

/** Discounted gain of a hit at 0-based `rank`: 1 / log2(rank + 2). */
function gain(rank: number): number {
  return 1 / Math.log2(rank + 2);
}

/** Accuracy of one ranked list against one relevant set, at one cut-off. */
export interface ListAccuracy {
  ndcg: number;
  recall: number;
  mrr: number;
  hit: number;
}

/**
 * Binary accuracy of the top `k` of `recs` against `relevant`.
 *
 * - NDCG: Σ 1/log2(rank+1) over hits (rank 1-based), divided by the ideal of min(k, |relevant|) hits at the top.
 * - Recall: hits / min(k, |relevant|) — the protocol of the reference evaluation, so a user with 30
 *   relevant items can still reach 1 at k = 10.
 * - MRR: 1 / rank of the first hit (0 when none in the top k).
 * - Hit: 1 when any of the top k is relevant.
 *
 * Duplicates in `recs` count once (the first occurrence).
 *
 * @example listAccuracy(['a', 'b', 'c'], new Set(['b']), 3) // { ndcg: 0.63…, recall: 1, mrr: 0.5, hit: 1 }
 */
export function listAccuracy(
  recs: readonly string[],
  relevant: ReadonlySet<string>,
  k: number,
): ListAccuracy {
  if (relevant.size === 0) throw new Error('listAccuracy: relevant set is empty; skip such users.');
  const seen = new Set<string>();
  let dcg = 0;
  let hits = 0;
  let mrr = 0;
  const n = Math.min(k, recs.length);
  for (let r = 0; r < n; r++) {
    const item = recs[r]!;
    if (seen.has(item)) continue;
    seen.add(item);
    if (!relevant.has(item)) continue;
    hits++;
    dcg += gain(r);
    if (mrr === 0) mrr = 1 / (r + 1);
  }
  const ideal = Math.min(k, relevant.size);
  let idcg = 0;
  for (let r = 0; r < ideal; r++) idcg += gain(r);
  return { ndcg: dcg / idcg, recall: hits / ideal, mrr, hit: hits > 0 ? 1 : 0 };
}

/** Item popularity in the training data, for long-tail and novelty. */
export interface PopularityStats {
  /** Interactions per item in train. */
  counts: ReadonlyMap<string, number>;
  /** Total interactions in train. */
  total: number;
  /** The most popular items that together cover `headShare` of all train interactions. */
  head: ReadonlySet<string>;
}

/**
 * Builds popularity stats from per-item counts. The head is the smallest prefix of items by count
 * (ties by id) whose interactions reach `headShare` of the total; everything else is the long tail.
 *
 * @example popularityStats(new Map([['a', 8], ['b', 1], ['c', 1]])) // head = {a}
 */
export function popularityStats(counts: ReadonlyMap<string, number>, headShare = 0.8): PopularityStats {
  let total = 0;
  for (const c of counts.values()) total += c;
  const sorted = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const head = new Set<string>();
  let covered = 0;
  for (const [item, c] of sorted) {
    if (covered >= headShare * total) break;
    head.add(item);
    covered += c;
  }
  return { counts, total, head };
}

/** Share of recommended slots (top k of every list) that are outside the head. */
export function longTailShare(
  lists: readonly (readonly string[])[],
  k: number,
  pop: PopularityStats,
): number {
  let slots = 0;
  let tail = 0;
  for (const list of lists) {
    for (const item of list.slice(0, k)) {
      slots++;
      if (!pop.head.has(item)) tail++;
    }
  }
  return slots === 0 ? 0 : tail / slots;
}

/**
 * Mean self-information −log2 p(i) of recommended slots, p(i) = train interactions of i / total.
 * An item never seen in train counts as seen once (the most novel an item can be without dividing by 0).
 */
export function novelty(lists: readonly (readonly string[])[], k: number, pop: PopularityStats): number {
  if (pop.total === 0) return 0;
  let slots = 0;
  let sum = 0;
  for (const list of lists) {
    for (const item of list.slice(0, k)) {
      slots++;
      sum -= Math.log2(Math.max(1, pop.counts.get(item) ?? 0) / pop.total);
    }
  }
  return slots === 0 ? 0 : sum / slots;
}

/** Distinct items recommended in the top k of all lists, as a share of `catalogSize`. */
export function catalogCoverage(
  lists: readonly (readonly string[])[],
  k: number,
  catalogSize: number,
): number {
  if (catalogSize <= 0) return 0;
  const distinct = new Set<string>();
  for (const list of lists) for (const item of list.slice(0, k)) distinct.add(item);
  return distinct.size / catalogSize;
}

/** Similarity of two items in [0, 1] (or [-1, 1] for cosine); `undefined` when unknown. */
export type ItemSimilarity = (a: string, b: string) => number | undefined;

/** Jaccard overlap of two tag lists (0 when both are empty). */
export function tagJaccard(a: readonly string[], b: readonly string[]): number {
  if (a.length === 0 && b.length === 0) return 0;
  const set = new Set(a);
  let inter = 0;
  for (const t of new Set(b)) if (set.has(t)) inter++;
  return inter / (set.size + new Set(b).size - inter);
}

/** Cosine similarity of two vectors (0 when either is zero). */
export function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

/**
 * Intra-list diversity of one list's top k: 1 − mean pairwise similarity over pairs whose similarity
 * is known. `undefined` for lists with fewer than two comparable pairs.
 */
export function intraListDiversity(
  list: readonly string[],
  k: number,
  similarity: ItemSimilarity,
): number | undefined {
  const top = list.slice(0, k);
  let pairs = 0;
  let sum = 0;
  for (let i = 0; i < top.length; i++) {
    for (let j = i + 1; j < top.length; j++) {
      const s = similarity(top[i]!, top[j]!);
      if (s === undefined) continue;
      pairs++;
      sum += s;
    }
  }
  return pairs === 0 ? undefined : 1 - sum / pairs;
}

/** Mean of defined values (0 when none). */
export function meanDefined(values: Iterable<number | undefined>): number {
  let n = 0;
  let sum = 0;
  for (const v of values) {
    if (v === undefined) continue;
    n++;
    sum += v;
  }
  return n === 0 ? 0 : sum / n;
}
