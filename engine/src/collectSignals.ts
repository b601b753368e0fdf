import type { VectorSource } from './api';
import type { BehaviorIndexes } from './BehaviorIndexes';
import type { Catalog } from './Catalog';
import type { SignalName, SignalWeights, Surface } from './config';
import { decayFactor } from './DecayClock';
import type { EmbeddingNeighbors } from './EmbeddingNeighbors';
import { EpochSet } from './EpochSet';
import type { Anchor } from './profileAnchors';
import type { UserProfile } from './UserProfile';

/**
 * Raw scores of one signal: parallel arrays, one entry per candidate id (no duplicates), with the
 * anchor each score came from and an optional text label (for explanations). Arrays, not Maps: a
 * request builds a few thousand entries and Map inserts dominated its cost.
 */
export class SignalScores {
  readonly ids: number[] = [];
  readonly scores: number[] = [];
  /** The anchor item that contributed most, per entry (−1: none). */
  readonly related: number[] = [];
  /** Text labels (trait, purchase count) by id, for the few signals that have them. */
  labels: Map<number, string> | undefined;

  push(id: number, score: number, related = -1): void {
    this.ids.push(id);
    this.scores.push(score);
    this.related.push(related);
  }

  get size(): number {
    return this.ids.length;
  }

  /** Related anchor of `id` (linear: only used to explain the k returned items). */
  relatedOf(id: number): number | undefined {
    const at = this.ids.indexOf(id);
    const r = at < 0 ? -1 : this.related[at]!;
    return r < 0 ? undefined : r;
  }

  labelOf(id: number): string | undefined {
    return this.labels?.get(id);
  }
}

/** Everything signal generation reads. */
export interface SignalInput {
  surface: Surface;
  now: number;
  catalog: Catalog;
  behavior: BehaviorIndexes;
  vectors: VectorSource | undefined;
  /** Cached per-item embedding neighbour lists. */
  neighbors: EmbeddingNeighbors;
  profile: UserProfile | undefined;
  traits: Record<string, string>;
  /** Strongest first. */
  anchors: Anchor[];
  weights: SignalWeights;
  /** Category tag id restricting popular/trending lists (request with a category). */
  categoryTag: number | undefined;
  candidatesPerSignal: number;
  neighborsPerAnchor: number;
  profileHalfLifeMs: number;
  buyAgainHalfLifeMs: number;
  /** Request-level predicate (filters, exclusions). */
  eligible: (id: number) => boolean;
  /**
   * Whether the request's filters may reject many items (price, tags, ids, category): then a thin
   * cached embedding result is retried as a filtered query.
   */
  restrictive: boolean;
  /** The list length asked for. */
  k: number;
}

/** Signals that relate items to the request's anchors; on `similar`/`cart` only they propose candidates. */
export const RELATION_SIGNALS: readonly SignalName[] = ['covisit', 'boughtTogether', 'embedding'];

/** Anchors (strongest first) whose cached embedding neighbour lists are merged per request. */
export const EMBEDDING_ANCHORS = 3;

/** Whether every weighted signal may propose candidates on `surface` (else only relation signals). */
export function allSignalsGenerate(surface: Surface): boolean {
  return surface !== 'similar' && surface !== 'cart';
}

function emptyScores(): SignalScores {
  return new SignalScores();
}

// Per-request scratch, reused (requests are synchronous): accumulated score and best anchor per id.
let accScore = new Float64Array(0);
let accBest = new Float64Array(0);
let accRelated = new Int32Array(0);
const seen = new EpochSet();
let tagAffinity = new Float64Array(0);

/** Starts summing one signal's per-anchor contributions (see {@link accumulate}); ids below `size`. */
function beginAccumulation(size: number): number[] {
  if (accScore.length < size) {
    accScore = new Float64Array(size * 2);
    accBest = new Float64Array(size * 2);
    accRelated = new Int32Array(size * 2);
  }
  seen.clear(size);
  return [];
}

/** Adds `score` from `anchor` to `id`; `touched` lists the ids seen, in first-seen order. */
function accumulate(touched: number[], id: number, score: number, anchor: number): void {
  if (seen.add(id)) {
    touched.push(id);
    accScore[id] = score;
    accBest[id] = score;
    accRelated[id] = anchor;
  } else {
    accScore[id] = accScore[id]! + score;
    // Explanations name the anchor with the largest single contribution.
    if (score > accBest[id]!) {
      accBest[id] = score;
      accRelated[id] = anchor;
    }
  }
}

/** The summed scores of `touched`, each with its strongest anchor. */
function accumulated(touched: number[]): SignalScores {
  const out = emptyScores();
  for (const id of touched) out.push(id, accScore[id]!, accRelated[id]!);
  return out;
}

function neighbourSignal(input: SignalInput, index: 'covisit' | 'bought'): SignalScores {
  const source = index === 'covisit' ? input.behavior.covisit : input.behavior.bought;
  const size = input.catalog.idCount;
  const touched = beginAccumulation(size);
  for (const anchor of input.anchors) {
    for (const n of source.neighbors(anchor.item, input.now, input.neighborsPerAnchor)) {
      if (n.item >= size || !input.eligible(n.item)) continue;
      accumulate(touched, n.item, anchor.weight * n.score, anchor.item);
    }
  }
  return accumulated(touched);
}

/** One `nearest` query for the weighted centroid of the anchors (uncached sources, filtered retries). */
function centroidEmbedding(input: SignalInput): SignalScores {
  const out = emptyScores();
  const { vectors, catalog } = input;
  if (vectors === undefined || input.anchors.length === 0) return out;
  const query = new Float32Array(vectors.dim);
  let used = 0;
  for (const anchor of input.anchors) {
    const v = vectors.get(catalog.ids.keyOf(anchor.item));
    if (v === undefined || v.length !== vectors.dim) continue;
    let norm = 0;
    for (let i = 0; i < v.length; i++) norm += v[i]! * v[i]!;
    if (norm === 0) continue;
    const scale = anchor.weight / Math.sqrt(norm);
    for (let i = 0; i < v.length; i++) query[i] = query[i]! + v[i]! * scale;
    used++;
  }
  if (used === 0) return out;
  const filter = (itemId: string) => {
    const id = catalog.ids.get(itemId);
    return id !== undefined && input.eligible(id);
  };
  const single = input.anchors.length === 1 ? input.anchors[0]!.item : undefined;
  for (const hit of vectors.nearest(query, input.candidatesPerSignal, filter)) {
    const id = catalog.ids.get(hit.itemId);
    if (id === undefined || !input.eligible(id) || !(hit.score > 0)) continue;
    out.push(id, hit.score, single ?? -1);
  }
  return out;
}

/**
 * Embedding similarity from cached per-item neighbour lists of the strongest
 * {@link EMBEDDING_ANCHORS} anchors: score(c) = Σ_a weight(a) · cos(a, c) over the anchors whose
 * list holds c. With unit vectors that is the centroid query's dot product restricted to each
 * anchor's nearest items (the same aggregation as co-visitation), at a cache lookup per anchor
 * instead of an index query per request.
 */
/**
 * Neighbours fetched per item for the embedding signal: ~1.2 × `ranking.candidatesPerSignal`, so
 * items that are unavailable or filtered out rarely leave the list short. A vector index that
 * precomputes lists (`IvfIndexOptions.neighborTable`) should keep at least this many.
 */
export function embeddingListLength(candidatesPerSignal: number): number {
  return Math.ceil(candidatesPerSignal * 1.2);
}

function embeddingSignal(input: SignalInput): SignalScores {
  const { vectors, catalog } = input;
  if (vectors === undefined || input.anchors.length === 0) return emptyScores();
  if (!input.neighbors.caches(vectors)) return centroidEmbedding(input);
  const size = catalog.idCount;
  const touched = beginAccumulation(size);
  const n = embeddingListLength(input.candidatesPerSignal);
  const idOf = (itemId: string) => catalog.ids.get(itemId);
  const listable = (id: number) => catalog.isEligible(id);
  const anchors = input.anchors.slice(0, EMBEDDING_ANCHORS);
  // Several anchors share one budget (as co-visitation does), so forUser/cart merge about as many
  // candidates as one anchor brings; the cached lists keep their full length for `similar`.
  const perAnchor = anchors.length <= 1 ? n : Math.max(40, Math.ceil(n / anchors.length));
  for (const anchor of anchors) {
    const list = input.neighbors.of(
      vectors,
      anchor.item,
      catalog.ids.keyOf(anchor.item),
      n,
      input.now,
      idOf,
      listable,
    );
    const take = Math.min(list.ids.length, perAnchor);
    for (let j = 0; j < take; j++) {
      const id = list.ids[j]!;
      if (id >= size || !input.eligible(id)) continue;
      accumulate(touched, id, anchor.weight * list.scores[j]!, anchor.item);
    }
  }
  // Restrictive filters can reject most of a cached list: ask the index for matching items instead.
  if (input.restrictive && touched.length < input.k) return centroidEmbedding(input);
  return accumulated(touched);
}

/** Popularity or trending of given candidates (re-ranking mode: proposes nothing new). */
function priorOf(input: SignalInput, kind: 'popular' | 'trending', pool: Iterable<number>[]): SignalScores {
  const out = emptyScores();
  const score = input.behavior.popularity.scorer(kind, input.now);
  seen.clear(input.catalog.idCount);
  for (const ids of pool) {
    for (const id of ids) {
      if (!seen.add(id)) continue;
      const s = score(id);
      if (s > 0) out.push(id, s);
    }
  }
  return out;
}

function listSignal(input: SignalInput, kind: 'popular' | 'trending'): SignalScores {
  const out = emptyScores();
  const { catalog, now } = input;
  const list = input.behavior.popularity.top(
    kind,
    catalog,
    now,
    input.candidatesPerSignal,
    input.categoryTag,
  );
  for (const e of list) {
    if (!input.eligible(e.id)) continue;
    out.push(e.id, e.score);
  }
  return out;
}

function segmentSignal(input: SignalInput): SignalScores {
  const out = emptyScores();
  const total = new Map<number, number>();
  const best = new Map<number, number>();
  const labels = new Map<number, string>();
  for (const [trait, value] of Object.entries(input.traits)) {
    const list = input.behavior.traitPopularity.top(
      trait,
      value,
      input.catalog,
      input.now,
      input.candidatesPerSignal,
    );
    for (const e of list) {
      if (!input.eligible(e.id)) continue;
      total.set(e.id, (total.get(e.id) ?? 0) + e.score);
      if (e.score > (best.get(e.id) ?? 0)) {
        best.set(e.id, e.score);
        labels.set(e.id, trait === 'segment' ? `segment ${value}` : `${trait} ${value}`);
      }
    }
  }
  for (const [id, score] of total) out.push(id, score);
  out.labels = labels;
  return out;
}

function buyAgainSignal(input: SignalInput): SignalScores {
  const out = emptyScores();
  const { profile, now } = input;
  if (profile === undefined) return out;
  for (const [item, p] of profile.purchases) {
    if (!input.eligible(item)) continue;
    // Frequency (log-damped) times recency.
    const score =
      (1 + Math.log(p.count)) * decayFactor(Math.max(0, now - p.lastTs), input.buyAgainHalfLifeMs);
    out.push(item, score);
    if (out.labels === undefined) out.labels = new Map();
    out.labels.set(item, String(p.count));
  }
  return out;
}

function recentSignal(input: SignalInput): SignalScores {
  const out = emptyScores();
  const { profile, now } = input;
  if (profile === undefined) return out;
  for (let i = 0; i < profile.viewedItems.length; i++) {
    const item = profile.viewedItems[i]!;
    if (!input.eligible(item)) continue;
    // Halving per profile half-life keeps the list in recency order; +1e-12 keeps very old views > 0.
    out.push(item, decayFactor(Math.max(0, now - profile.viewedTs[i]!), input.profileHalfLifeMs) + 1e-12);
  }
  return out;
}

/**
 * Affinity scores any candidate by the user's tag interests and also proposes the best-selling
 * items of the user's top categories (so a user whose anchors have no neighbours yet still gets
 * items from what they browse).
 */
function affinitySignal(input: SignalInput, pool: Iterable<number>[]): SignalScores {
  const out = emptyScores();
  const { profile, catalog, now } = input;
  if (profile === undefined || profile.tagCount === 0) return out;
  const tags = profile.topTags(now, 10);
  // Dense per-tag lookup (tags are few and interned); reset below so the scratch stays zeroed.
  if (tagAffinity.length < catalog.tags.size) tagAffinity = new Float64Array(catalog.tags.size * 2);
  for (const t of tags) tagAffinity[t.tag] = t.score;
  const topCategories = tags.filter((t) => catalog.tags.keyOf(t.tag).startsWith('category:')).slice(0, 3);
  const ids: number[] = [];
  seen.clear(catalog.idCount);
  for (const source of pool) for (const id of source) if (seen.add(id)) ids.push(id);
  for (const t of topCategories) {
    const limit = Math.ceil(input.candidatesPerSignal / 3);
    for (const e of input.behavior.popularity.top('popular', catalog, now, limit, t.tag)) {
      if (seen.add(e.id)) ids.push(e.id);
    }
  }
  for (const id of ids) {
    if (!input.eligible(id)) continue;
    // Primary category and brand only: they carry most of the interest signal, and reading them
    // from contiguous arrays is several times faster than visiting each item's tag list.
    const category = catalog.categoryOf(id);
    const brand = catalog.brandOf(id);
    const score = (category >= 0 ? tagAffinity[category]! : 0) + (brand >= 0 ? tagAffinity[brand]! : 0);
    if (score > 0) out.push(id, score);
  }
  for (const t of tags) tagAffinity[t.tag] = 0;
  return out;
}

/** Computes every signal with a positive weight for this request. */
export function collectSignals(input: SignalInput): Map<SignalName, SignalScores> {
  const out = new Map<SignalName, SignalScores>();
  const on = (s: SignalName) => (input.weights[s] ?? 0) > 0;
  if (on('covisit')) out.set('covisit', neighbourSignal(input, 'covisit'));
  if (on('boughtTogether')) out.set('boughtTogether', neighbourSignal(input, 'bought'));
  if (on('embedding')) out.set('embedding', embeddingSignal(input));
  const relationIds = () =>
    RELATION_SIGNALS.flatMap((name) => {
      const sig = out.get(name);
      return sig === undefined ? [] : [sig.ids];
    });
  if (allSignalsGenerate(input.surface)) {
    if (on('popular')) out.set('popular', listSignal(input, 'popular'));
    if (on('trending')) out.set('trending', listSignal(input, 'trending'));
  } else {
    // Priors only re-rank related items here: score exactly those, not a global top list.
    if (on('popular')) out.set('popular', priorOf(input, 'popular', relationIds()));
    if (on('trending')) out.set('trending', priorOf(input, 'trending', relationIds()));
  }
  if (on('segment')) out.set('segment', segmentSignal(input));
  if (on('buyAgain')) out.set('buyAgain', buyAgainSignal(input));
  if (on('recent')) out.set('recent', recentSignal(input));
  if (on('affinity')) {
    // Affinity re-scores what the user's own anchors produced (plus its category lists); generic
    // popular/trending candidates in those categories are already in the category lists.
    out.set('affinity', affinitySignal(input, relationIds()));
  }
  return out;
}
