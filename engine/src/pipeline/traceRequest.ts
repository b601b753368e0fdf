/**
 * Longer than the ~450-line guideline on purpose: the collector, the tracing caps, the trace
 * builder and the replay share the trace's types and must change together.
 */
/**
 * The decision trace of one request (`RecRequest.trace: true`): what each signal proposed, what
 * each filter step removed and why, and the final items with the numbers their scores are made of.
 *
 * Nothing here runs unless a request asks for a trace: `recommend()` only wraps its eligibility
 * predicate and its caps, and reads the signals and candidates after ranking, when `trace` is set.
 * The untraced path keeps its predicate, its caps and its allocations exactly as they were.
 */
import type { Reason, RecRequest, RecResult } from '../api';
import type { SignalName, SignalWeights, Surface } from '../config/engineConfig';
import { SIGNALS } from '../config/engineConfig';
import type { Catalog } from '../indexes/Catalog';
import type { FallbackSource } from '../protocol';
import { type Candidate, contributionOf, type RankedList } from './blendSignals';
import type { EligibilityInput } from './createEligibility';
import { type CapRefusal, diversifyPoolSize, ListCaps } from './diversify';
import { explainCandidate, type ReasonContext } from './explainCandidate';
import { type FallbackItem, fillReason } from './fillFallback';
import type { Anchor } from './profileAnchors';
import type { RequestSettings } from './resolveRequestSettings';
import type { SignalScores } from './signalScores';

/** Candidates kept per signal in a trace (the best ones by the signal's own score). */
export const TRACE_TOP_PER_SIGNAL = 10;
/** Removed items kept in a trace; `removedCounts` counts all of them. */
export const TRACE_MAX_REMOVED = 200;

/** Why an item could not appear in the list. */
export type RemovalReason =
  | 'archived'
  | 'unavailable'
  | 'excluded'
  | 'anchor'
  | 'category'
  | 'price'
  | 'tags'
  | 'purchased'
  | CapRefusal
  | 'mmr'
  | 'rule';

/** The step of the pipeline that removed an item. */
export type RemovalStep = 'eligibility' | 'diversity' | 'rules';

/** One item a filter step removed. */
export interface TraceRemoval {
  itemId: string;
  step: RemovalStep;
  reason: RemovalReason;
  /** The reason in words, e.g. "price 35 is above the maximum 30". */
  detail: string;
}

/**
 * What one merchandising rule did to the list. Filled from the engine result's `ruleEffects` when
 * rules are applied; empty otherwise.
 */
export interface TraceRuleEffect {
  ruleId: string;
  /** pin | boost | bury | block | filter | inject. */
  kind: string;
  /** What it did, in words. */
  effect: string;
  itemIds: string[];
}

/** What one signal proposed. */
export interface TraceSignal {
  signal: SignalName;
  /** Its blend weight for this request. */
  weight: number;
  /** Its largest raw score in this request: raw scores are divided by it before weighting. */
  normalizer: number;
  /** Whether it may add candidates (else it only re-scores what the others proposed). */
  generates: boolean;
  /** How many candidates it scored. */
  proposed: number;
  /** Its best candidates by raw score (at most {@link TRACE_TOP_PER_SIGNAL}). */
  top: Array<{ itemId: string; score: number }>;
}

/** One signal's share of a final item's score: `part = weight × raw / normalizer`. */
export interface TraceContribution {
  signal: SignalName;
  raw: number;
  part: number;
}

/** One item of the final list. */
export interface TraceItem {
  itemId: string;
  /** The catalog title (the item id when it has none). */
  title: string;
  /** 1-based. */
  rank: number;
  score: number;
  /** `ranked`: chosen from the blended candidates; otherwise the fallback list that filled it. */
  source: 'ranked' | FallbackSource;
  /** In the order they were summed (see {@link replayTrace}). */
  contributions: TraceContribution[];
  /** The seeded jitter added after the sum (0 without a seed or `ranking.seedJitter`). */
  jitter: number;
  reasons: Reason[];
}

/** The engine's part of a decision trace. */
export interface RecTrace {
  surface: Surface;
  k: number;
  settings: {
    weights: SignalWeights;
    diversity: { lambda: number; maxPerBrand: number; maxPerCategory: number };
    fallback: boolean;
    excludePurchased: boolean;
  };
  /** The items the list was built around (the anchor, the cart, the profile's strongest items). */
  anchors: Array<{ itemId: string; title: string; weight: number }>;
  signals: TraceSignal[];
  /** Removed items, first seen first (at most {@link TRACE_MAX_REMOVED}). */
  removed: TraceRemoval[];
  /** Every removal, counted by reason (also those beyond the kept ones). */
  removedCounts: Partial<Record<RemovalReason, number>>;
  /** Candidates the blend produced, before diversity. */
  candidates: number;
  items: TraceItem[];
  fallback: { used: boolean; sources: FallbackSource[]; filled: number };
  /** Merchandising rules that matched and what each did. */
  rules: TraceRuleEffect[];
}

/** Collects removals while a traced request runs. */
export class TraceCollector {
  readonly removed: TraceRemoval[] = [];
  readonly removedCounts: Partial<Record<RemovalReason, number>> = {};
  private readonly seen = new Set<number>();

  constructor(private readonly catalog: Catalog) {}

  /** Records a removal of `id`, once per item. */
  remove(id: number, step: RemovalStep, reason: RemovalReason, detail: string): void {
    if (this.seen.has(id)) return;
    this.seen.add(id);
    this.removedCounts[reason] = (this.removedCounts[reason] ?? 0) + 1;
    if (this.removed.length < TRACE_MAX_REMOVED)
      this.removed.push({ itemId: this.catalog.ids.keyOf(id), step, reason, detail });
  }

  /** `eligible`, recording why each refused item was refused. */
  wrapEligibility(eligible: (id: number) => boolean, input: EligibilityInput): (id: number) => boolean {
    const why = ineligibility(input);
    return (id) => {
      if (eligible(id)) return true;
      if (!this.seen.has(id)) {
        // Past the kept removals only the reason is counted: its words would be thrown away.
        const r = why(id, this.removed.length < TRACE_MAX_REMOVED);
        this.remove(id, 'eligibility', r.reason, r.detail);
      }
      return false;
    };
  }
}

/**
 * Candidates that scored above an item of the list but were passed over by MMR for variety: the
 * answer to "why not this one, it scored higher?". Only the MMR pool is looked at.
 */
export function tracePassedOver(
  candidates: RankedList,
  picked: Candidate[],
  poolSize: number,
  lambda: number,
  collector: TraceCollector,
): void {
  if (picked.length === 0 || lambda >= 1) return;
  let lowest = Number.POSITIVE_INFINITY;
  const taken = new Set<number>();
  for (const c of picked) {
    taken.add(c.id);
    if (c.score < lowest) lowest = c.score;
  }
  const end = Math.min(candidates.length, poolSize);
  for (let i = 0; i < end; i++) {
    const c = candidates.at(i)!;
    if (c.score <= lowest) break;
    if (taken.has(c.id)) continue;
    collector.remove(
      c.id,
      'diversity',
      'mmr',
      `ranked ${i + 1} by score but passed over for variety (MMR, diversity.lambda ${lambda}): too similar to items already chosen`,
    );
  }
}

/** {@link ListCaps} that records the items it refuses. */
export class TracingCaps extends ListCaps {
  constructor(
    catalog: Catalog,
    cfg: ConstructorParameters<typeof ListCaps>[1],
    private readonly collector: TraceCollector,
  ) {
    super(catalog, cfg);
  }

  override allows(id: number): boolean {
    const refusal = this.refusal(id);
    if (refusal === undefined) return true;
    this.collector.remove(id, 'diversity', refusal, CAP_TEXT[refusal]);
    return false;
  }
}

const CAP_TEXT: Record<CapRefusal, string> = {
  parent: 'a variant of an item already in the list (one per parent)',
  'brand-cap': 'the list already holds the most items of its brand (diversity.maxPerBrand)',
  'category-cap': 'the list already holds the most items of its category (diversity.maxPerCategory)',
  unknown: 'not in the catalog',
};

/**
 * Why `createEligibility(input)` refuses an item, checked in the same order; `words: false` skips
 * the details that cost a string to build. Only traced requests build it.
 */
function ineligibility(
  input: EligibilityInput,
): (id: number, words: boolean) => { reason: RemovalReason; detail: string } {
  const { catalog, filters, profile, purchasedSince } = input;
  const excludedIds = new Set(filters?.excludeIds ?? []);
  const anchorIds = new Set<number>(input.excludedItems);
  const anchorParents = new Set<string>();
  for (const id of anchorIds) {
    const parent = catalog.info(id)?.parentKey;
    if (parent !== undefined) anchorParents.add(parent);
  }
  const required = input.requiredCategory;
  const include = filters?.includeTagsAny ?? [];
  const exclude = filters?.excludeTagsAny ?? [];
  return (id, words) => {
    const info = catalog.info(id);
    const itemId = catalog.ids.keyOf(id);
    if (info === undefined) return { reason: 'unavailable', detail: 'not in the catalog' };
    if (info.item.archived) return { reason: 'archived', detail: 'archived (deleted from the catalog)' };
    if (!info.item.available) return { reason: 'unavailable', detail: 'not available (out of stock)' };
    if (excludedIds.has(itemId))
      return { reason: 'excluded', detail: 'excluded by the request (filters.excludeIds)' };
    if (anchorIds.has(id)) return { reason: 'anchor', detail: 'the item the list is for (never shown)' };
    if (required !== undefined && (required < 0 || !catalog.membersOf(required).has(id))) {
      return {
        reason: 'category',
        detail:
          required >= 0
            ? `not in category ${catalog.tagLabel(required)}`
            : 'the requested category is unknown',
      };
    }
    if (purchasedSince !== undefined && profile !== undefined) {
      const bought = profile.purchases.get(id);
      if (bought !== undefined && bought.lastTs >= purchasedSince) {
        return {
          reason: 'purchased',
          detail: words
            ? `bought on ${new Date(bought.lastTs).toISOString().slice(0, 10)} (recent purchases are excluded)`
            : '',
        };
      }
    }
    if (anchorParents.has(info.parentKey))
      return { reason: 'anchor', detail: 'a variant of the item the list is for' };
    const price = info.item.price;
    if (filters?.priceMin !== undefined && (price === undefined || price < filters.priceMin)) {
      return {
        reason: 'price',
        detail:
          price === undefined
            ? 'has no price (a price range was asked for)'
            : `price ${price} is below ${filters.priceMin}`,
      };
    }
    if (filters?.priceMax !== undefined && (price === undefined || price > filters.priceMax)) {
      return {
        reason: 'price',
        detail:
          price === undefined
            ? 'has no price (a price range was asked for)'
            : `price ${price} is above ${filters.priceMax}`,
      };
    }
    if (include.length > 0 && !include.some((t) => info.item.tags.includes(t)))
      return { reason: 'tags', detail: words ? `carries none of ${include.join(', ')}` : '' };
    const banned = exclude.find((t) => info.item.tags.includes(t));
    if (banned !== undefined) return { reason: 'tags', detail: `carries the excluded tag ${banned}` };
    return { reason: 'excluded', detail: 'refused by the request filters' };
  };
}

/** The best `n` entries of a signal by raw score (highest first, item id on ties). */
function topOf(s: SignalScores, catalog: Catalog, n: number): Array<{ itemId: string; score: number }> {
  const best: Array<{ id: number; score: number }> = [];
  for (let e = 0; e < s.size; e++) {
    const score = s.scores[e]!;
    if (best.length === n && score <= best[n - 1]!.score) continue;
    let at = best.length;
    while (at > 0 && best[at - 1]!.score < score) at--;
    best.splice(at, 0, { id: s.ids[e]!, score });
    if (best.length > n) best.pop();
  }
  return best.map((b) => ({ itemId: catalog.ids.keyOf(b.id), score: b.score }));
}

/**
 * Raw scores of the given items in every signal, read in one pass over each signal (rather than
 * one pass per item and signal): `(signal, id) → raw score`, 0 when the signal did not score it.
 */
export function rawScoresOf(
  signals: Map<SignalName, SignalScores>,
  ids: Iterable<number>,
): (signal: SignalName, id: number) => number {
  const wanted = new Set(ids);
  const bySignal = new Map<SignalName, Map<number, number>>();
  for (const [signal, s] of signals) {
    const found = new Map<number, number>();
    for (let e = 0; e < s.size; e++) if (wanted.has(s.ids[e]!)) found.set(s.ids[e]!, s.scores[e]!);
    bySignal.set(signal, found);
  }
  return (signal, id) => bySignal.get(signal)?.get(id) ?? 0;
}

/** The signals of a traced request, as blendSignals weighed them. */
export function traceSignals(
  signals: Map<SignalName, SignalScores>,
  weights: SignalWeights,
  generators: ReadonlySet<SignalName> | undefined,
  catalog: Catalog,
): TraceSignal[] {
  const out: TraceSignal[] = [];
  for (const signal of SIGNALS) {
    const s = signals.get(signal);
    if (s === undefined) continue;
    let max = 0;
    for (let e = 0; e < s.size; e++) if (s.scores[e]! > max) max = s.scores[e]!;
    out.push({
      signal,
      weight: weights[signal] ?? 0,
      normalizer: max,
      generates: generators === undefined || generators.has(signal),
      proposed: s.size,
      top: topOf(s, catalog, TRACE_TOP_PER_SIGNAL),
    });
  }
  return out;
}

/**
 * A ranked item's contributions in the order blendSignals summed them: the generating signals
 * first, then the re-scoring ones, each group in {@link SIGNALS} order.
 */
export function traceContributions(
  c: Candidate,
  rawOf: (signal: SignalName, id: number) => number,
  generators: ReadonlySet<SignalName> | undefined,
): TraceContribution[] {
  const out: TraceContribution[] = [];
  for (let pass = 0; pass < 2; pass++) {
    for (let index = 0; index < SIGNALS.length; index++) {
      const signal = SIGNALS[index]!;
      const generates = generators === undefined || generators.has(signal);
      if (generates !== (pass === 0)) continue;
      const part = contributionOf(c, index);
      if (!(part > 0)) continue;
      out.push({ signal, raw: rawOf(signal, c.id), part });
    }
  }
  return out;
}

/** An item of a replayed list. */
export interface ReplayedItem {
  itemId: string;
  rank: number;
  score: number;
}

/**
 * Rebuilds a list from its trace alone: each ranked item's score from the signals' raw scores,
 * weights and normalisers (summed in the blend's order, then the seeded jitter), fallback items at
 * 0, in the order the trace says they were picked. A list served from the same trace is identical
 * to it, number for number; a trace that was altered or incomplete is not.
 *
 * @example replayTrace(trace).map((i) => i.itemId) // the served item ids, in order
 */
export function replayTrace(trace: Pick<RecTrace, 'signals' | 'items'>): ReplayedItem[] {
  const bySignal = new Map(trace.signals.map((s) => [s.signal, s]));
  return trace.items.map((item, i) => {
    let score = 0;
    if (item.source === 'ranked') {
      for (const c of item.contributions) {
        const s = bySignal.get(c.signal);
        if (s === undefined)
          throw new Error(`replayTrace: item ${item.itemId} names unknown signal ${c.signal}.`);
        score = score + (s.weight * c.raw) / s.normalizer;
      }
      score = score + item.jitter;
    }
    return { itemId: item.itemId, rank: i + 1, score };
  });
}

/** What {@link buildTrace} reads: the request's state after step 8 of `recommend()`. */
export interface TraceInput {
  req: RecRequest;
  seedJitter: number;
  settings: RequestSettings;
  catalog: Catalog;
  anchors: Anchor[];
  signals: Map<SignalName, SignalScores>;
  generators: ReadonlySet<SignalName> | undefined;
  candidates: RankedList;
  picked: Candidate[];
  filled: FallbackItem[];
  /** The list as returned (reasons present with `explain`). */
  items: RecResult['items'];
  reasonContext: ReasonContext;
  fallback: RecTrace['fallback'];
  collector: TraceCollector;
}

/** The trace of a request, read before the engine ranks the next one (the scratch is reused). */
export function buildTrace(t: TraceInput): RecTrace {
  const { req, settings, catalog, picked, filled, items, collector, generators } = t;
  tracePassedOver(t.candidates, picked, diversifyPoolSize(req.k), settings.diversity.lambda, collector);
  const rawOf = rawScoresOf(
    t.signals,
    picked.map((c) => c.id),
  );
  const jitterOf = (tie: number) =>
    req.seed !== undefined && t.seedJitter > 0 ? t.seedJitter * (tie - 0.5) : 0;
  return {
    surface: req.surface,
    k: req.k,
    settings: {
      weights: { ...settings.weights },
      diversity: {
        lambda: settings.diversity.lambda,
        maxPerBrand: settings.diversity.maxPerBrand,
        maxPerCategory: settings.diversity.maxPerCategory,
      },
      fallback: settings.fallback,
      excludePurchased: settings.excludePurchased,
    },
    anchors: t.anchors.map((a) => ({
      itemId: catalog.ids.keyOf(a.item),
      title: catalog.titleOf(a.item),
      weight: a.weight,
    })),
    signals: traceSignals(t.signals, settings.weights, generators, catalog),
    removed: collector.removed,
    removedCounts: collector.removedCounts,
    candidates: t.candidates.length,
    items: [
      ...picked.map((c, i) => ({
        itemId: c.itemId,
        title: catalog.titleOf(c.id),
        rank: i + 1,
        score: c.score,
        source: 'ranked' as const,
        contributions: traceContributions(c, rawOf, generators),
        jitter: jitterOf(c.tie),
        reasons: items[i]!.reasons ?? explainCandidate(t.reasonContext, c),
      })),
      ...filled.map((f, i) => ({
        itemId: catalog.ids.keyOf(f.id),
        title: catalog.titleOf(f.id),
        rank: picked.length + i + 1,
        score: 0,
        source: f.source,
        contributions: [],
        jitter: 0,
        reasons: items[picked.length + i]!.reasons ?? [fillReason(f)],
      })),
    ],
    fallback: t.fallback,
    rules: [],
  };
}
