/*
 * A little over the ~450-line guideline: every signal's scoring is here, side by side, because they
 * share the per-request scratch buffers and pool below, and their scales must be read together to
 * blend (see blendSignals.ts). The score container is signalScores.ts.
 */
import type { SessionConfig, SignalName, SignalWeights, Surface } from '../config/engineConfig';
import type { BehaviorIndexes } from '../indexes/BehaviorIndexes';
import type { Catalog } from '../indexes/Catalog';
import { decayFactor } from '../indexes/DecayClock';
import type { UserProfile } from '../indexes/UserProfile';
import { EpochSet } from '../util/EpochSet';
import type { EmbeddingNeighbors } from '../vectors/EmbeddingNeighbors';
import type { ColdComplements, VectorSource } from '../vectors/types';
import type { Anchor } from './profileAnchors';
import { SignalScores } from './signalScores';

/**
 * The {@link SignalScores} of the request being ranked, reused by the next one (requests are
 * synchronous): a steady load allocates none. {@link collectSignals} starts a request.
 */
const scoresPool: SignalScores[] = [];
let scoresInUse = 0;

/** Everything signal generation reads. */
export interface SignalInput {
  surface: Surface;
  now: number;
  catalog: Catalog;
  behavior: BehaviorIndexes;
  vectors: VectorSource | undefined;
  /** Cached per-item embedding neighbour lists. */
  neighbors: EmbeddingNeighbors;
  /** Complement lists of anchors without bought-together neighbours of their own. */
  coldComplements?: ColdComplements | undefined;
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
  /** Exponent of the `(1 + popularity)` factor of the buy-again score (0: none). */
  buyAgainPopularityExponent: number;
  /** Exponent of the `(1 + popularity)` factor of the revisit score (0: none). */
  revisitPopularityExponent: number;
  /** Request-level predicate (filters, exclusions). */
  eligible: (id: number) => boolean;
  /**
   * Whether the request's filters may reject many items (price, tags, ids, category): then a thin
   * cached embedding result is retried as a filtered query.
   */
  restrictive: boolean;
  /** The list length asked for. */
  k: number;
  /**
   * The request is narrowed to these items (see `RecommendScope`): popular, trending and affinity
   * score each of them rather than proposing catalog-wide top lists most of which would be refused.
   */
  scoreOnly?: ReadonlySet<number> | undefined;
  /** The session being continued: its clicks, oldest first (repeats kept; empty: no session). */
  sessionClicks: readonly number[];
  /** The session's own number in the session index (left out of its neighbours). */
  sessionNumber: number | undefined;
  session: SessionConfig;
}

/** Signals that relate items to the request's anchors; on `similar`/`cart` only they propose candidates. */
export const RELATION_SIGNALS: readonly SignalName[] = [
  'covisit',
  'boughtTogether',
  'embedding',
  'transition',
  'sessionKnn',
];

/** Anchors (strongest first) whose cached embedding neighbour lists are merged per request. */
export const EMBEDDING_ANCHORS = 3;

/** Whether every weighted signal may propose candidates on `surface` (else only relation signals). */
export function allSignalsGenerate(surface: Surface): boolean {
  return surface !== 'similar' && surface !== 'cart';
}

/** An empty {@link SignalScores} of this request's pool. */
function emptyScores(): SignalScores {
  let out = scoresPool[scoresInUse];
  if (out === undefined) {
    out = new SignalScores();
    scoresPool.push(out);
  } else {
    out.reset();
  }
  scoresInUse++;
  return out;
}

// Per-request scratch, reused (requests are synchronous): per id, its best single contribution and
// its entry in the signal being accumulated.
let accBest = new Float64Array(0);
let accAt = new Int32Array(0);
const seen = new EpochSet();
let tagAffinity = new Float64Array(0);

/**
 * Starts summing one signal's per-anchor contributions (see {@link accumulate}) into an empty
 * pooled SignalScores; ids below `size`.
 */
function beginAccumulation(size: number): SignalScores {
  if (accBest.length < size) {
    accBest = new Float64Array(size * 2);
    accAt = new Int32Array(size * 2);
  }
  seen.clear(size);
  return emptyScores();
}

/** Adds `score` from `anchor` to `id` (ids in first-seen order). */
function accumulate(out: SignalScores, id: number, score: number, anchor: number): void {
  if (seen.add(id)) {
    accAt[id] = out.size;
    accBest[id] = score;
    out.push(id, score, anchor);
    return;
  }
  const at = accAt[id]!;
  out.scores[at] = out.scores[at]! + score;
  // Explanations name the anchor with the largest single contribution.
  if (score > accBest[id]!) {
    accBest[id] = score;
    out.related[at] = anchor;
  }
}

function neighbourSignal(input: SignalInput, index: 'covisit' | 'bought'): SignalScores {
  const source = index === 'covisit' ? input.behavior.covisit : input.behavior.bought;
  const size = input.catalog.idCount;
  const out = beginAccumulation(size);
  for (const anchor of input.anchors) {
    let found = false;
    for (const n of source.neighbors(anchor.item, input.now, input.neighborsPerAnchor)) {
      found = true;
      if (n.item >= size || !input.eligible(n.item)) continue;
      accumulate(out, n.item, anchor.weight * n.score, anchor.item);
    }
    if (found || index !== 'bought' || input.coldComplements === undefined) continue;
    // No co-purchase yet: the learned complements stand in until the first one arrives.
    const cold = input.coldComplements.get(input.catalog.ids.keyOf(anchor.item));
    for (const n of cold?.slice(0, input.neighborsPerAnchor) ?? []) {
      const id = input.catalog.ids.get(n.itemId);
      if (id === undefined || id >= size || id === anchor.item || !input.eligible(id)) continue;
      accumulate(out, id, anchor.weight * n.score, anchor.item);
    }
  }
  return out;
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
  const out = beginAccumulation(size);
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
      accumulate(out, id, anchor.weight * list.scores[j]!, anchor.item);
    }
  }
  // Restrictive filters can reject most of a cached list: ask the index for matching items instead.
  if (input.restrictive && out.size < input.k) return centroidEmbedding(input);
  return out;
}

/**
 * What follows the session's latest items: the successors of its last `contextSteps` distinct items
 * (the latest weighs 1, each one before `contextDecay` times less), from the directed transitions.
 */
function transitionSignal(input: SignalInput): SignalScores {
  const size = input.catalog.idCount;
  const out = beginAccumulation(size);
  const clicks = input.sessionClicks;
  const { contextSteps, contextDecay, transitionTopK } = input.session;
  const sources: number[] = [];
  for (let i = clicks.length - 1; i >= 0 && sources.length < contextSteps; i--) {
    if (!sources.includes(clicks[i]!)) sources.push(clicks[i]!);
  }
  let weight = 1;
  for (const source of sources) {
    for (const n of input.behavior.transitions.successors(source, input.now, transitionTopK)) {
      if (n.item >= size || !input.eligible(n.item)) continue;
      accumulate(out, n.item, weight * n.score, source);
    }
    weight *= contextDecay;
  }
  return out;
}

/** What the most similar recent sessions went on to (V-SkNN-style votes, see SessionKnnIndex). */
function sessionKnnSignal(input: SignalInput): SignalScores {
  const size = input.catalog.idCount;
  const out = beginAccumulation(size);
  if (input.sessionClicks.length === 0) return out;
  // Votes for the session's own items count as far as shoppers are seen returning to them.
  const evidence = input.session.returnEvidence;
  const returning = new Map<number, number>();
  if (evidence > 0) {
    for (const item of input.sessionClicks) {
      if (!returning.has(item)) returning.set(item, input.behavior.transitions.returnRate(item, evidence));
    }
  }
  input.behavior.sessions.scores(
    input.sessionClicks,
    {
      k: input.session.knnNeighbors,
      sampleSize: input.session.knnSample,
      exclude: input.sessionNumber,
      positionDecay: input.session.knnPositionDecay,
      returnsOnly: input.session.knnReturnsOnly,
    },
    (item, score, via) => {
      if (item >= size || !input.eligible(item)) return;
      const damp = returning.get(item) ?? 1;
      if (damp > 0) accumulate(out, item, score * damp, via);
    },
  );
  return out;
}

/** Popularity or trending of given candidates (re-ranking mode: proposes nothing new). */
function priorOf(input: SignalInput, kind: 'popular' | 'trending', pool: SignalScores[]): SignalScores {
  const out = emptyScores();
  const score = input.behavior.popularity.scorer(kind, input.now);
  seen.clear(input.catalog.idCount);
  for (const source of pool) {
    for (let e = 0; e < source.size; e++) {
      const id = source.ids[e]!;
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

/**
 * How well each item sells now as a multiplier `(1 + popularity)^exponent`, or undefined for
 * exponent 0: orders a user's own items (purchases, revisits) by what is still wanted.
 */
function popularityLift(input: SignalInput, exponent: number): ((item: number) => number) | undefined {
  if (!(exponent > 0)) return undefined;
  const popularity = input.behavior.popularity.scorer('popular', input.now);
  return (item) => (1 + popularity(item)) ** exponent;
}

/** Adds one of the user's own items with its score and the count its explanation quotes. */
function pushCounted(out: SignalScores, item: number, score: number, count: number): void {
  out.push(item, score);
  if (out.labels === undefined) out.labels = new Map();
  out.labels.set(item, String(count));
}

function buyAgainSignal(input: SignalInput): SignalScores {
  const out = emptyScores();
  const { profile, now } = input;
  if (profile === undefined) return out;
  const lift = popularityLift(input, input.buyAgainPopularityExponent);
  for (const [item, p] of profile.purchases) {
    if (!input.eligible(item)) continue;
    // Frequency (log-damped) times recency, times how well the item sells now.
    const score =
      (1 + Math.log(p.count)) * decayFactor(Math.max(0, now - p.lastTs), input.buyAgainHalfLifeMs);
    pushCounted(out, item, lift === undefined ? score : score * lift(item), p.count);
  }
  return out;
}

/**
 * Items the user keeps coming back to, whatever they did with them: sessions that touched the item,
 * decayed by the profile half-life since the last touch, times how well it sells now. Buy-again
 * counts orders only; most shoppers order rarely but return to what they consider.
 */
function revisitSignal(input: SignalInput): SignalScores {
  const out = emptyScores();
  const { profile, now } = input;
  if (profile === undefined) return out;
  const lift = popularityLift(input, input.revisitPopularityExponent);
  profile.forEachVisit((item, visits, lastTs) => {
    if (!input.eligible(item)) return;
    const score = visits * decayFactor(Math.max(0, now - lastTs), input.profileHalfLifeMs);
    if (score > 0) pushCounted(out, item, lift === undefined ? score : score * lift(item), visits);
  });
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
function affinitySignal(input: SignalInput, pool: SignalScores[]): SignalScores {
  const out = emptyScores();
  const { profile, catalog, now } = input;
  if (profile === undefined || profile.tagCount === 0) return out;
  const tags = profile.topTags(now, 10);
  // Dense per-tag lookup (tags are few and interned); reset below so the scratch stays zeroed.
  if (tagAffinity.length < catalog.tags.size) tagAffinity = new Float64Array(catalog.tags.size * 2);
  for (const t of tags) tagAffinity[t.tag] = t.score;
  const topCategories = tags.filter((t) => catalog.tags.keyOf(t.tag).startsWith('category:')).slice(0, 3);
  // Candidates, first seen first, in a pooled SignalScores used as a list of ids.
  const ids = emptyScores();
  seen.clear(catalog.idCount);
  for (const source of pool) {
    for (let e = 0; e < source.size; e++) if (seen.add(source.ids[e]!)) ids.push(source.ids[e]!, 0);
  }
  for (const t of topCategories) {
    const limit = Math.ceil(input.candidatesPerSignal / 3);
    for (const e of input.behavior.popularity.top('popular', catalog, now, limit, t.tag)) {
      if (seen.add(e.id)) ids.push(e.id, 0);
    }
  }
  for (let e = 0; e < ids.size; e++) {
    const id = ids.ids[e]!;
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

/**
 * Computes every signal with a positive weight for this request. The scores are valid until the
 * next call (their storage is reused): blend and explain them first.
 */
export function collectSignals(input: SignalInput): Map<SignalName, SignalScores> {
  scoresInUse = 0;
  const out = new Map<SignalName, SignalScores>();
  const on = (s: SignalName) => (input.weights[s] ?? 0) > 0;
  if (on('covisit')) out.set('covisit', neighbourSignal(input, 'covisit'));
  if (on('boughtTogether')) out.set('boughtTogether', neighbourSignal(input, 'bought'));
  if (on('embedding')) out.set('embedding', embeddingSignal(input));
  if (on('transition')) out.set('transition', transitionSignal(input));
  if (on('sessionKnn')) out.set('sessionKnn', sessionKnnSignal(input));
  const relationIds = () =>
    RELATION_SIGNALS.flatMap((name) => {
      const sig = out.get(name);
      return sig === undefined ? [] : [sig];
    });
  const scoped = input.scoreOnly;
  const scopedPool = () => {
    const ids = emptyScores();
    for (const id of scoped!) if (input.eligible(id)) ids.push(id, 0);
    return [ids];
  };
  if (scoped !== undefined) {
    const pool = scopedPool();
    if (on('popular')) out.set('popular', priorOf(input, 'popular', pool));
    if (on('trending')) out.set('trending', priorOf(input, 'trending', pool));
  } else if (allSignalsGenerate(input.surface)) {
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
  if (on('revisit')) out.set('revisit', revisitSignal(input));
  if (on('affinity')) {
    // Affinity re-scores what the user's own anchors produced (plus its category lists); generic
    // popular/trending candidates in those categories are already in the category lists.
    out.set('affinity', affinitySignal(input, scoped === undefined ? relationIds() : scopedPool()));
  }
  return out;
}
