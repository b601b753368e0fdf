import type { DiversityConfig } from '../config/engineConfig';
import type { Catalog } from '../indexes/Catalog';
import type { Candidate, RankedList } from './blendSignals';

/** Why {@link ListCaps} refuses an item. */
export type CapRefusal = 'parent' | 'brand-cap' | 'category-cap' | 'unknown';

/** Tracks one list's per-parent, per-brand and per-category usage. */
export class ListCaps {
  private readonly parents = new Set<string>();
  private readonly brands = new Map<number, number>();
  private readonly categories = new Map<number, number>();

  constructor(
    private readonly catalog: Catalog,
    private readonly cfg: DiversityConfig,
  ) {}

  /** Whether `id` may still join the list. */
  allows(id: number): boolean {
    const info = this.catalog.info(id);
    if (info === undefined || this.parents.has(info.parentKey)) return false;
    const { maxPerBrand, maxPerCategory } = this.cfg;
    if (maxPerBrand > 0 && info.brand >= 0 && (this.brands.get(info.brand) ?? 0) >= maxPerBrand) return false;
    if (
      maxPerCategory > 0 &&
      info.category >= 0 &&
      (this.categories.get(info.category) ?? 0) >= maxPerCategory
    ) {
      return false;
    }
    return true;
  }

  /** Why `id` may not join the list (undefined: it may); what traced requests record. */
  refusal(id: number): CapRefusal | undefined {
    const info = this.catalog.info(id);
    if (info === undefined) return 'unknown';
    if (this.parents.has(info.parentKey)) return 'parent';
    const { maxPerBrand, maxPerCategory } = this.cfg;
    if (maxPerBrand > 0 && info.brand >= 0 && (this.brands.get(info.brand) ?? 0) >= maxPerBrand)
      return 'brand-cap';
    if (
      maxPerCategory > 0 &&
      info.category >= 0 &&
      (this.categories.get(info.category) ?? 0) >= maxPerCategory
    ) {
      return 'category-cap';
    }
    return undefined;
  }

  take(id: number): void {
    const info = this.catalog.info(id);
    if (info === undefined) return;
    this.parents.add(info.parentKey);
    if (info.brand >= 0) this.brands.set(info.brand, (this.brands.get(info.brand) ?? 0) + 1);
    if (info.category >= 0) this.categories.set(info.category, (this.categories.get(info.category) ?? 0) + 1);
  }
}

/** Candidates that MMR considers for a list of `k`: max(4k, k + 20). */
export function diversifyPoolSize(k: number): number {
  return Math.max(4 * k, k + 20);
}

/**
 * Picks up to `k` candidates (sorted best first) with Maximal Marginal Relevance: each step takes
 * the candidate maximising λ·relevance − (1 − λ)·(max similarity to the items already taken), over a
 * pool of the best max(4k, k + 20). Caps and one-per-parent are hard constraints. When the pool runs
 * dry the remaining candidates are taken in order. Ties go to the better-ranked candidate.
 *
 * The MMR steps are evaluated lazily (as in lazy greedy submodular maximisation), with results
 * identical to comparing every candidate with every pick: similarities are ≥ 0 and a candidate's
 * max similarity only grows, so λ·relevance and its value at the last comparison bound its value
 * from above. A step stops scanning once no later candidate's bound beats the best value found,
 * skips candidates whose stale bound cannot beat it, and compares the rest only with the picks
 * made since they were last compared, stopping as soon as their bound falls behind.
 */
export function diversify(
  sorted: RankedList,
  k: number,
  lambda: number,
  caps: ListCaps,
  similarity: (a: number, b: number) => number,
): Candidate[] {
  const picked: Candidate[] = [];
  const poolSize = Math.min(sorted.length, diversifyPoolSize(k));
  // λ ≥ 1 ranks by relevance alone: the pool and the tail are one in-order pass.
  const mmrEnd = lambda >= 1 ? 0 : poolSize;
  if (mmrEnd > 0) pickByMmr(sorted, mmrEnd, k, lambda, caps, similarity, picked);
  for (let i = mmrEnd; i < sorted.length && picked.length < k; i++) {
    const c = sorted.at(i)!;
    if (!caps.allows(c.id)) continue;
    picked.push(c);
    caps.take(c.id);
  }
  return picked;
}

/**
 * Per pool position of the MMR steps, reused across requests (they are synchronous): new typed
 * arrays per request were garbage that every young-generation collection had to sweep.
 * - `gone`: picked, or refused by the caps.
 * - `relevance`: λ·relevance, the candidate's MMR value when it resembles no pick.
 * - `bound`: the largest λ·relevance from i on. Equal to relevance[i] for a pool sorted by score;
 *   taking the suffix maximum keeps the early stop exact even if scores were not in order.
 * - `maxSim`: max similarity to picks[0, compared[i]); 0 before any comparison, as similarities
 *   are ≥ 0.
 */
function mmrScratch(size: number) {
  return {
    gone: new Uint8Array(size),
    relevance: new Float64Array(size),
    bound: new Float64Array(size),
    maxSim: new Float64Array(size),
    compared: new Int32Array(size),
  };
}
let mmr = mmrScratch(128);

/** The MMR part of {@link diversify} over `sorted[0, poolSize)`, for λ < 1; appends to `picked`. */
function pickByMmr(
  sorted: RankedList,
  poolSize: number,
  k: number,
  lambda: number,
  caps: ListCaps,
  similarity: (a: number, b: number) => number,
  picked: Candidate[],
): void {
  const top = sorted.at(0)?.score ?? 0;
  const novelty = 1 - lambda;
  if (mmr.gone.length < poolSize) mmr = mmrScratch(poolSize * 2);
  // What each array holds: see mmrScratch. A candidate leaves the pool once picked or refused by
  // the caps (which only tighten).
  const { gone, relevance, bound, maxSim, compared } = mmr;
  gone.fill(0, 0, poolSize);
  maxSim.fill(0, 0, poolSize);
  compared.fill(0, 0, poolSize);
  const pickIds: number[] = [];
  let later = Number.NEGATIVE_INFINITY;
  for (let i = poolSize - 1; i >= 0; i--) {
    const rel = top > 0 ? sorted.at(i)!.score / top : 0;
    relevance[i] = lambda * rel;
    // NaN never wins a step (NaN > x is false), so it bounds nothing.
    if (relevance[i]! > later) later = relevance[i]!;
    bound[i] = later;
  }
  while (picked.length < k) {
    let best = -1;
    let bestValue = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < poolSize; i++) {
      // A later candidate must be strictly better to win, and none can be.
      if (bound[i]! <= bestValue) break;
      if (gone[i]) continue;
      if (relevance[i]! - novelty * maxSim[i]! <= bestValue) continue;
      const c = sorted.at(i)!;
      if (!caps.allows(c.id)) {
        gone[i] = 1;
        continue;
      }
      let sim = maxSim[i]!;
      let p = compared[i]!;
      while (p < pickIds.length) {
        const s = similarity(c.id, pickIds[p++]!);
        if (s > sim) {
          sim = s;
          // Once it cannot win this step, the remaining comparisons wait until it might.
          if (relevance[i]! - novelty * sim <= bestValue) break;
        }
      }
      maxSim[i] = sim;
      compared[i] = p;
      // Only a candidate compared with every pick can beat bestValue here.
      const value = relevance[i]! - novelty * sim;
      if (value > bestValue) {
        bestValue = value;
        best = i;
      }
    }
    if (best < 0) return;
    gone[best] = 1;
    const chosen = sorted.at(best)!;
    picked.push(chosen);
    pickIds.push(chosen.id);
    caps.take(chosen.id);
  }
}
