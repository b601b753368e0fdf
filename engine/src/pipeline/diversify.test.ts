import { describe, expect, it } from 'vitest';
import type { DiversityConfig } from '../config/engineConfig';
import { Catalog } from '../indexes/Catalog';
import { item } from '../testShop';
import { seededUnit } from '../util/random';
import { createItemSimilarity } from '../vectors/similarity';
import type { VectorSource } from '../vectors/types';
import type { Candidate } from './blendSignals';
import { diversify, ListCaps } from './diversify';

/** Reproducible uniform draws in [0, 1), so every generated pool can be replayed. */
function rng(seed: number): () => number {
  let n = 0;
  return () => seededUnit(seed, String(n++));
}

/**
 * The eager MMR this module used before lazy evaluation: every step scans the whole pool and every
 * pick is compared with every remaining candidate. Kept as the reference the fast one must match.
 */
function referenceDiversify(
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

/** A vector source over a map, without `view`: the engine must fall back to `get`. */
function mapSource(vectors: Map<string, Float32Array>, dim: number): VectorSource {
  return { dim, get: (id) => vectors.get(id)?.slice(), nearest: () => [] };
}

interface Shop {
  catalog: Catalog;
  /** Best first, like the ranker's output. */
  candidates: Candidate[];
  similarity: (a: number, b: number) => number;
}

/** Items `i0…` with the given scores (sorted best first), tags and vectors. */
function shopOf(
  scores: number[],
  tagsOf: (i: number) => { tags: string[]; parentId?: string },
  vectorOf: (i: number) => Float32Array | undefined,
  dim: number,
): Shop {
  const catalog = new Catalog();
  const vectors = new Map<string, Float32Array>();
  catalog.upsert(scores.map((_, i) => item(`i${i}`, tagsOf(i))));
  for (let i = 0; i < scores.length; i++) {
    const v = vectorOf(i);
    if (v !== undefined) vectors.set(`i${i}`, v);
  }
  const candidates = [...scores]
    .sort((a, b) => b - a)
    .map((score, i) => ({
      id: catalog.ids.intern(`i${i}`),
      itemId: `i${i}`,
      score,
      parts: new Float64Array(0),
      at: 0,
      tie: 0,
      pop: 0,
    }));
  return { catalog, candidates, similarity: createItemSimilarity(catalog, mapSource(vectors, dim)) };
}

/**
 * A random shop shaped to provoke ties: few distinct scores (sometimes all zero), vectors drawn
 * from a handful of prototypes (often identical), some items without a vector (tag overlap then),
 * shared parents, brands and categories for the caps.
 */
function tieProneShop(r: () => number): Shop {
  const size = Math.floor(r() * 150);
  const dim = 1 + Math.floor(r() * 8);
  const prototypes = Array.from({ length: 1 + Math.floor(r() * 6) }, () =>
    Float32Array.from({ length: dim }, () => r() * 2 - 1),
  );
  const levels = 1 + Math.floor(r() * 12);
  const zero = levels === 1 && r() < 0.5;
  const scores = Array.from({ length: size }, () => (zero ? 0 : Math.floor(r() * levels) / levels));
  return shopOf(
    scores,
    () => ({
      tags: [`brand:${Math.floor(r() * 5)}`, `category:${Math.floor(r() * 5)}`, `tag:${Math.floor(r() * 4)}`],
      ...(r() < 0.2 ? { parentId: `p${Math.floor(r() * 5)}` } : {}),
    }),
    () => {
      const roll = r();
      if (roll < 0.4) return prototypes[Math.floor(r() * prototypes.length)]!.slice();
      return roll < 0.85 ? Float32Array.from({ length: dim }, () => r() * 2 - 1) : undefined;
    },
    dim,
  );
}

/** What a ranked list usually looks like: scores falling off smoothly, vectors in topic clusters. */
function typicalShop(r: () => number, size: number): Shop {
  const dim = 32;
  const topics = Array.from({ length: 8 }, () => Float32Array.from({ length: dim }, () => r() * 2 - 1));
  return shopOf(
    Array.from({ length: size }, (_, i) => 1 / Math.sqrt(1 + i) + 0.01 * r()),
    () => ({ tags: [`category:${Math.floor(r() * 8)}`] }),
    () => topics[Math.floor(r() * topics.length)]!.map((x) => x + 0.5 * (r() * 2 - 1)),
    dim,
  );
}

function randomDiversity(r: () => number): DiversityConfig {
  const roll = r();
  const lambda = roll < 0.1 ? 0 : roll < 0.2 ? 1 : roll < 0.3 ? 0.5 : r();
  return {
    lambda,
    maxPerBrand: r() < 0.5 ? 0 : 1 + Math.floor(r() * 3),
    maxPerCategory: r() < 0.5 ? 0 : 1 + Math.floor(r() * 3),
  };
}

/** Runs `pick` on the shop with fresh caps, counting similarity calls. */
function run(
  pick: (...args: Parameters<typeof referenceDiversify>) => Candidate[],
  shop: Shop,
  k: number,
  cfg: DiversityConfig,
): { ids: string[]; calls: number } {
  let calls = 0;
  const counted = (a: number, b: number) => {
    calls++;
    return shop.similarity(a, b);
  };
  const picked = pick(shop.candidates, k, cfg.lambda, new ListCaps(shop.catalog, cfg), counted);
  return { ids: picked.map((c) => c.itemId), calls };
}

describe('diversify', () => {
  it('returns exactly the ids the eager MMR returns, over many random pools, λ and caps', () => {
    const r = rng(7);
    for (let round = 0; round < 600; round++) {
      const shop = tieProneShop(r);
      const cfg = randomDiversity(r);
      const k = 1 + Math.floor(r() * 30);
      const fast = run(diversify, shop, k, cfg);
      const eager = run(referenceDiversify, shop, k, cfg);
      expect(fast.ids, `round ${round}: k=${k} ${JSON.stringify(cfg)}`).toEqual(eager.ids);
    }
  });

  it('compares far fewer pairs than the eager pool × k scan on a typical pool', () => {
    const r = rng(11);
    const cfg: DiversityConfig = { lambda: 0.8, maxPerBrand: 0, maxPerCategory: 0 };
    let fastCalls = 0;
    let eagerCalls = 0;
    for (const k of [10, 20, 50]) {
      const shop = typicalShop(r, 400);
      const fast = run(diversify, shop, k, cfg);
      const eager = run(referenceDiversify, shop, k, cfg);
      expect(fast.ids).toEqual(eager.ids);
      const poolSize = Math.max(4 * k, k + 20);
      expect(fast.calls).toBeLessThan((poolSize * k) / 2);
      fastCalls += fast.calls;
      eagerCalls += eager.calls;
    }
    expect(fastCalls).toBeLessThan(eagerCalls / 2);
  });

  it('compares nothing when λ is 1 and takes the allowed candidates in order', () => {
    const shop = tieProneShop(rng(3));
    const cfg: DiversityConfig = { lambda: 1, maxPerBrand: 1, maxPerCategory: 0 };
    const caps = new ListCaps(shop.catalog, cfg);
    const inOrder: string[] = [];
    for (const c of shop.candidates) {
      if (inOrder.length === 5 || !caps.allows(c.id)) continue;
      caps.take(c.id);
      inOrder.push(c.itemId);
    }
    const fast = run(diversify, shop, 5, cfg);
    expect(fast.calls).toBe(0);
    expect(fast.ids).toEqual(inOrder);
  });
});
