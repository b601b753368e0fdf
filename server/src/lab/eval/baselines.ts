import { fnv1a32, mulberry32 } from '@recsys/engine/random';
import type { TrainIndex, UserHistory } from './trainIndex';

const DAY = 86_400_000;

/** A user-level request: recommend `k` items for `userId` as of the cut. */
export interface UserQuery {
  userId: string;
  /** The user's train history (undefined for cold users). */
  history: UserHistory | undefined;
  traits: Record<string, string>;
  /** Items that must not be recommended (the user's past items under discovery relevance). */
  exclude: ReadonlySet<string>;
  /** True under discovery relevance. */
  discovery: boolean;
  k: number;
}

/** A next-item request: the session so far (oldest first). */
export interface SessionQuery {
  sessionKey: string;
  prefix: readonly string[];
  k: number;
}

/** A recommender under evaluation. A method may support one protocol or both. */
export interface EvalMethod {
  name: string;
  /** One-line description for reports. */
  description: string;
  /**
   * Whether the method means something under discovery relevance (buy-again does not: every item it
   * knows is excluded there).
   */
  discovery: boolean;
  user?(q: UserQuery): string[];
  session?(q: SessionQuery): string[];
}

/** Deterministic 32-bit hash of a string (FNV-1a, from `@recsys/engine/random`). */
export const hashString = fnv1a32;

function fillFrom(out: string[], list: readonly string[], k: number, skip: ReadonlySet<string>): string[] {
  const have = new Set(out);
  for (const item of list) {
    if (out.length >= k) break;
    if (have.has(item) || skip.has(item)) continue;
    have.add(item);
    out.push(item);
  }
  return out;
}

function topByScore(scores: Map<string, number>, k: number, skip: ReadonlySet<string>): string[] {
  return [...scores]
    .filter(([item, s]) => s > 0 && !skip.has(item))
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, k)
    .map(([item]) => item);
}

function normalise(scores: Map<string, number>): Map<string, number> {
  let max = 0;
  for (const v of scores.values()) max = Math.max(max, v);
  if (!(max > 0)) return scores;
  const out = new Map<string, number>();
  for (const [k, v] of scores) out.set(k, v / max);
  return out;
}

/** Uniformly random catalog items, seeded per user/session so reruns give the same lists. */
export function randomMethod(train: TrainIndex, seed: number): EvalMethod {
  const pick = (key: string, k: number, skip: ReadonlySet<string>) => {
    const rng = mulberry32(hashString(key, seed));
    const pool = train.catalog;
    const out: string[] = [];
    const taken = new Set<string>();
    // Rejection sampling: k ≪ catalog size in every realistic setting; bounded attempts otherwise.
    for (let attempts = 0; out.length < k && attempts < 20 * k + 100; attempts++) {
      const item = pool[Math.floor(rng() * pool.length)];
      if (item === undefined || taken.has(item) || skip.has(item)) continue;
      taken.add(item);
      out.push(item);
    }
    return out;
  };
  return {
    name: 'random',
    description: `uniformly random catalog items (seed ${seed})`,
    discovery: true,
    user: (q) => pick(`u:${q.userId}`, q.k, q.exclude),
    session: (q) => pick(`s:${q.sessionKey}:${q.prefix.length}`, q.k, new Set()),
  };
}

/** Most popular items (distinct baskets), all train or the last 30 days. */
export function popularMethod(train: TrainIndex, window: 'all' | '30d'): EvalMethod {
  const list = window === 'all' ? train.popular : train.popularRecent;
  return {
    name: window === 'all' ? 'popular' : 'popular-30d',
    description:
      window === 'all'
        ? 'most popular by distinct baskets, all train'
        : 'most popular by distinct baskets, last 30 days of train',
    discovery: true,
    user: (q) => fillFrom([], list, q.k, q.exclude),
    session: (q) => fillFrom([], list, q.k, new Set()),
  };
}

/** The user's own items by frequency (distinct baskets), then recent popularity. */
export function buyAgainMethod(train: TrainIndex): EvalMethod {
  const recent = train.recentBasketCount;
  return {
    name: 'buy-again',
    description: "the user's items by frequency, then recent popularity",
    discovery: false,
    user: (q) => {
      const own = q.history
        ? [...q.history.baskets]
            .filter(([item]) => train.catalogSet.has(item) && !q.exclude.has(item))
            .sort(
              (a, b) =>
                b[1] - a[1] ||
                (recent.get(b[0]) ?? 0) - (recent.get(a[0]) ?? 0) ||
                (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0),
            )
            .slice(0, q.k)
            .map(([item]) => item)
        : [];
      return fillFrom(own, train.popularRecent, q.k, q.exclude);
    },
  };
}

/** Neighbours per item kept by the co-visitation baseline (by normalised score). */
const NEIGHBOURS = 200;

/** Past items of a user expanded by the co-visitation baselines (most recent first). */
const MAX_ANCHORS = 40;

function neighbourFn(train: TrainIndex) {
  const cache = new Map<string, Array<[string, number]>>();
  return (item: string): Array<[string, number]> => {
    let list = cache.get(item);
    if (list !== undefined) return list;
    const row = train.cooccurrence().get(item);
    const ni = train.basketCount.get(item) ?? 0;
    list = [];
    if (row !== undefined && ni > 0) {
      for (const [j, c] of row) {
        if (!train.catalogSet.has(j)) continue;
        list.push([j, c / Math.sqrt(ni * (train.basketCount.get(j) ?? 1))]);
      }
      list.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      list.length = Math.min(list.length, NEIGHBOURS);
    }
    cache.set(item, list);
    return list;
  };
}

/**
 * Basket co-visitation scores: Σ over anchor items i of w_i · c(i, j) / sqrt(n_i · n_j).
 * For users, w_i halves every 30 days since the user last had i (later items weigh more).
 */
function covisitScores(
  neighbours: (item: string) => Array<[string, number]>,
  anchors: Array<[string, number]>,
): Map<string, number> {
  const scores = new Map<string, number>();
  for (const [i, w] of anchors) {
    if (!(w > 0)) continue;
    for (const [j, s] of neighbours(i)) scores.set(j, (scores.get(j) ?? 0) + w * s);
  }
  return scores;
}

function userAnchors(train: TrainIndex, h: UserHistory | undefined): Array<[string, number]> {
  if (h === undefined) return [];
  // The most recent anchors carry nearly all the weight; capping them bounds the cost for heavy buyers.
  return h.order
    .map((item): [string, number] => [
      item,
      0.5 ** ((train.cut - (h.lastTs.get(item) ?? train.cut)) / (30 * DAY)),
    ])
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, MAX_ANCHORS);
}

/**
 * Basket co-visitation from the user's past items (or the session prefix), topped up with recent
 * popularity. `keepOwn` false removes the user's own items even under "all" relevance.
 */
export function covisitMethod(train: TrainIndex, keepOwn: boolean): EvalMethod {
  const neighbours = neighbourFn(train);
  return {
    name: keepOwn ? 'covisit' : 'covisit-new',
    description: keepOwn
      ? 'basket co-visitation from past items, keeping them'
      : 'basket co-visitation, excluding items the user had',
    discovery: keepOwn,
    user: (q) => {
      const skip = keepOwn ? q.exclude : new Set([...q.exclude, ...(q.history?.order ?? [])]);
      const scores = covisitScores(neighbours, userAnchors(train, q.history));
      return fillFrom(topByScore(scores, q.k, skip), train.popularRecent, q.k, skip);
    },
    session: (q) => {
      // Weights halve per step back, so items beyond the last ten add < 0.1 % and are skipped.
      const recent = q.prefix.slice(-10);
      const n = recent.length;
      const anchors = recent.map((item, i): [string, number] => [item, 0.5 ** (n - 1 - i)]);
      return fillFrom(
        topByScore(covisitScores(neighbours, anchors), q.k, new Set()),
        train.popularRecent,
        q.k,
        new Set(),
      );
    },
  };
}

/** Buy-again plus co-visitation (each normalised to [0, 1]), or co-visitation plus a small recent-popularity prior. */
export function blendedBaseline(train: TrainIndex, kind: 'buy-again+covisit' | 'covisit+pop'): EvalMethod {
  const neighbours = neighbourFn(train);
  let maxRecent = 0;
  for (const v of train.recentBasketCount.values()) maxRecent = Math.max(maxRecent, v);
  return {
    name: kind,
    description:
      kind === 'buy-again+covisit'
        ? 'buy-again frequency + basket co-visitation'
        : 'basket co-visitation + small recent-popularity prior',
    discovery: kind === 'covisit+pop',
    user: (q) => {
      const scores = normalise(covisitScores(neighbours, userAnchors(train, q.history)));
      if (kind === 'buy-again+covisit' && q.history !== undefined) {
        const own = new Map<string, number>();
        for (const [item, n] of q.history.baskets) {
          const recency = 0.5 ** ((train.cut - (q.history.lastTs.get(item) ?? train.cut)) / (60 * DAY));
          own.set(item, n * recency);
        }
        for (const [item, s] of normalise(own)) scores.set(item, (scores.get(item) ?? 0) + 2 * s);
      } else if (kind === 'covisit+pop' && maxRecent > 0) {
        for (const item of train.popularRecent.slice(0, 500)) {
          scores.set(
            item,
            (scores.get(item) ?? 0) + (0.1 * (train.recentBasketCount.get(item) ?? 0)) / maxRecent,
          );
        }
      }
      for (const item of scores.keys()) if (!train.catalogSet.has(item)) scores.delete(item);
      return fillFrom(topByScore(scores, q.k, q.exclude), train.popularRecent, q.k, q.exclude);
    },
  };
}
