import type { Candidate } from './blendSignals';
import type { Catalog } from './Catalog';
import type { DiversityConfig } from './config';

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

  take(id: number): void {
    const info = this.catalog.info(id);
    if (info === undefined) return;
    this.parents.add(info.parentKey);
    if (info.brand >= 0) this.brands.set(info.brand, (this.brands.get(info.brand) ?? 0) + 1);
    if (info.category >= 0) this.categories.set(info.category, (this.categories.get(info.category) ?? 0) + 1);
  }
}

/**
 * Picks up to `k` candidates (sorted best first) with Maximal Marginal Relevance: each step takes
 * the candidate maximising λ·relevance − (1 − λ)·(max similarity to the items already taken), over a
 * pool of the best max(4k, k + 20). Caps and one-per-parent are hard constraints. When the pool runs
 * dry the remaining candidates are taken in order.
 */
export function diversify(
  sorted: Candidate[],
  k: number,
  lambda: number,
  caps: ListCaps,
  similarity: (a: number, b: number) => number,
): Candidate[] {
  const picked: Candidate[] = [];
  const poolSize = Math.min(sorted.length, Math.max(4 * k, k + 20));
  const top = sorted[0]?.score ?? 0;
  const taken = new Uint8Array(poolSize);
  const maxSim = new Float64Array(poolSize);
  while (picked.length < k) {
    let best = -1;
    let bestValue = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < poolSize; i++) {
      if (taken[i]) continue;
      const c = sorted[i]!;
      if (!caps.allows(c.id)) {
        taken[i] = 1;
        continue;
      }
      const rel = top > 0 ? c.score / top : 0;
      const value = lambda >= 1 ? -i : lambda * rel - (1 - lambda) * maxSim[i]!;
      if (value > bestValue) {
        bestValue = value;
        best = i;
      }
      if (lambda >= 1) break;
    }
    if (best < 0) break;
    taken[best] = 1;
    const chosen = sorted[best]!;
    picked.push(chosen);
    caps.take(chosen.id);
    if (lambda < 1) {
      for (let i = 0; i < poolSize; i++) {
        if (taken[i]) continue;
        const s = similarity(sorted[i]!.id, chosen.id);
        if (s > maxSim[i]!) maxSim[i] = s;
      }
    }
  }
  for (let i = poolSize; i < sorted.length && picked.length < k; i++) {
    const c = sorted[i]!;
    if (!caps.allows(c.id)) continue;
    picked.push(c);
    caps.take(c.id);
  }
  return picked;
}
