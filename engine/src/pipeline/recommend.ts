/**
 * One recommendation request, start to finish. The steps run in this order, one file each (this
 * list is the map of `pipeline/`; keep it in step with `recommend()` below):
 *
 * 1. `resolveRequestSettings.ts`: config plus request overrides → blend weights, diversity,
 *    fallback and purchase-exclusion settings for this surface.
 * 2. Anchors (here, with `profileAnchors.ts`): the item (`similar`), the cart (`cart`) or the
 *    profile's strongest items (other surfaces), merged with the session's `contextItemIds`.
 * 3. `createEligibility.ts`: the filters as one predicate (availability, price, tags, category,
 *    never the anchors or their variants, optionally recent purchases, and the merchandising
 *    blocks and filters of `applyRules.ts`). Runs after the anchors because it excludes them.
 * 4. `collectSignals.ts`: each signal's candidate scores, read from `indexes/` and `vectors/`.
 * 5. `blendSignals.ts`: per-signal normalisation, weighted sum, the boosts and buries of
 *    `applyRules.ts`, ranking (seeded ties).
 * 6. `diversify.ts`: MMR and hard caps (`ListCaps`), similarity from `vectors/similarity.ts`.
 * 7. `fillFallback.ts`: a short list filled with category best-sellers, then popular items; then
 *    `applyRules.ts` places pins and injects on the final list and reports what each rule did.
 * 8. `explainCandidate.ts`: one reason per contributing signal (with `explain: true`).
 * 9. `traceRequest.ts` (only with `trace: true`): records steps 3–8 as they run and returns the
 *    decision trace with the list.
 *
 * Numbered file names were considered and rejected: the numbers would leak into every import and
 * inserting a step would rename files; this list is the single place the order is written.
 */
import type { RecRequest, RecResult } from '../api';
import type { EngineConfig, SignalName } from '../config/engineConfig';
import type { BehaviorIndexes } from '../indexes/BehaviorIndexes';
import type { Catalog } from '../indexes/Catalog';
import type { UserProfile } from '../indexes/UserProfile';
import type { RuleItemIndex } from '../rules/compileRules';
import type { EmbeddingNeighbors } from '../vectors/EmbeddingNeighbors';
import { createItemSimilarity } from '../vectors/similarity';
import type { ColdComplements, VectorSource } from '../vectors/types';
import { beginRules, RuledResult } from './applyRules';
import { blendSignals } from './blendSignals';
import { allSignalsGenerate, collectSignals, RELATION_SIGNALS } from './collectSignals';
import { createEligibility, DenseMemo } from './createEligibility';
import { diversify, diversifyPoolSize, ListCaps } from './diversify';
import { explainCandidate } from './explainCandidate';
import { fillFallback, fillReason } from './fillFallback';
import { type Anchor, profileAnchors } from './profileAnchors';
import { resolveRequestSettings } from './resolveRequestSettings';
import { continuedSession, sessionExclusions } from './sessionContext';
import { buildTrace, TraceCollector, TracingCaps } from './traceRequest';

/** The engine state one request reads. */
export interface RecommendState {
  config: EngineConfig;
  catalog: Catalog;
  behavior: BehaviorIndexes;
  vectors: VectorSource | undefined;
  neighbors: EmbeddingNeighbors;
  /** Complement lists of items without behaviour; undefined: none. */
  coldComplements?: ColdComplements | undefined;
  traits: Map<string, Record<string, string>>;
  now: number;
  memo: DenseMemo;
  /** Merchandising rules bound to the catalog; undefined: none. */
  rules: RuleItemIndex | undefined;
}

/** The surface's own anchors: the item (`similar`), the cart (`cart`) or the profile (others). */
function primaryAnchors(req: RecRequest, state: RecommendState, profile: UserProfile | undefined): Anchor[] {
  const { catalog } = state;
  switch (req.surface) {
    case 'similar': {
      const id = catalog.ids.get(req.itemId ?? '');
      return id === undefined ? [] : [{ item: id, weight: 1 }];
    }
    case 'cart': {
      const seen = new Set<number>();
      for (const itemId of req.cartItemIds ?? []) {
        const id = catalog.ids.get(itemId);
        if (id !== undefined) seen.add(id);
      }
      return [...seen].map((item) => ({ item, weight: 1 }));
    }
    default: {
      if (profile === undefined) return [];
      const session = req.sessionId ?? profile.lastSession;
      return profileAnchors(profile, state.now, session, state.config.profile);
    }
  }
}

/** Session context as anchors: the last item weighs 1, each step back halves it. */
function contextAnchors(req: RecRequest, state: RecommendState): Anchor[] {
  const ids = req.contextItemIds;
  if (ids === undefined || ids.length === 0) return [];
  const max = state.config.profile.maxAnchors;
  const out: Anchor[] = [];
  const seen = new Set<number>();
  for (let steps = 0; steps < ids.length && out.length < max; steps++) {
    const id = state.catalog.ids.get(ids[ids.length - 1 - steps]!);
    // An item repeated in the session keeps the weight of its latest position.
    if (id === undefined || seen.has(id)) continue;
    seen.add(id);
    out.push({ item: id, weight: 0.5 ** steps });
  }
  return out;
}

/**
 * Merges primary and context anchors (an item in both keeps the larger weight), strongest first
 * (primary before context on equal weight), at most max(maxAnchors, primary count).
 */
function mergeAnchors(primary: Anchor[], context: Anchor[], maxAnchors: number): Anchor[] {
  if (context.length === 0) return primary;
  const byItem = new Map<number, Anchor>();
  for (const a of [...primary, ...context]) {
    const held = byItem.get(a.item);
    if (held === undefined) byItem.set(a.item, { ...a });
    else held.weight = Math.max(held.weight, a.weight);
  }
  const merged = [...byItem.values()].sort((a, b) => b.weight - a.weight);
  merged.length = Math.min(merged.length, Math.max(maxAnchors, primary.length));
  return merged;
}

/** Category used to fill thin lists with best-sellers. */
function fallbackCategory(
  req: RecRequest,
  state: RecommendState,
  anchors: Anchor[],
  profile: UserProfile | undefined,
): number | undefined {
  const { catalog } = state;
  if (req.category !== undefined) return catalog.categoryTag(req.category);
  const firstCategory = (list: Anchor[]) => {
    for (const a of list) {
      const tag = catalog.info(a.item)?.category ?? -1;
      if (tag >= 0) return tag;
    }
    return undefined;
  };
  if (req.surface === 'similar' || req.surface === 'cart') return firstCategory(anchors);
  const top = profile?.topTags(state.now, 1, (tag) => catalog.tags.keyOf(tag).startsWith('category:')) ?? [];
  // A visitor without category interests yet: what they are looking at in this session.
  return top[0]?.tag ?? firstCategory(contextAnchors(req, state));
}

const RELATION_SET: ReadonlySet<SignalName> = new Set(RELATION_SIGNALS);

/**
 * The memo of the stock-blind predicate a pin or inject with `allowUnavailable` checks with: made at
 * most once per request, and requests are synchronous, so one serves them all (a fresh one would
 * allocate five bytes per catalog item).
 */
const stockBlindMemo = new DenseMemo();

/**
 * Narrows one request to given items (group scoring and `rerank`): only they may be listed, and the
 * catalog-wide signals (popular, trending, affinity) score exactly them instead of proposing their
 * own top lists.
 */
export interface RecommendScope {
  onlyItems: ReadonlySet<number>;
}

/** Runs one request through steps 1–8 listed at the top of this file. */
export function recommend(req: RecRequest, state: RecommendState, scope?: RecommendScope): RecResult {
  const settings = resolveRequestSettings(state.config, req);
  const { catalog, behavior, config, now } = state;
  const profile = req.userKey !== undefined ? behavior.profiles.get(req.userKey) : undefined;
  const primary = primaryAnchors(req, state, profile);
  const anchors = mergeAnchors(primary, contextAnchors(req, state), config.profile.maxAnchors);
  const session = continuedSession(req, state, primary);
  const neverShow = sessionExclusions(req.surface, primary, session, config.session.reshowSessionItems);
  // −2: a category no item ever had, so nothing can match.
  const categoryTag = req.category !== undefined ? (catalog.categoryTag(req.category) ?? -2) : undefined;
  const traits = {
    ...(req.userKey !== undefined ? state.traits.get(req.userKey) : undefined),
    ...req.traits,
  };
  const ruled = beginRules(
    state.rules,
    {
      surface: req.surface,
      placement: req.placement,
      anchorItemId: req.surface === 'similar' ? req.itemId : undefined,
      cartItemIds: req.cartItemIds,
      ruleSet: req.ruleSet,
      traits,
      now,
    },
    catalog,
  );
  const eligibility = {
    catalog,
    filters: req.filters,
    excludedItems: neverShow,
    requiredCategory: categoryTag,
    profile,
    purchasedSince: settings.excludePurchased ? now - settings.purchaseExclusionWindowMs : undefined,
    memo: state.memo,
    ruleAllows: ruled?.hasBlockOrFilter ? (id: number) => ruled.allows(id) : undefined,
    country: req.country,
    onlyItems: scope?.onlyItems,
  };
  // A traced request sees the same predicate and caps, wrapped to record what they refuse.
  const collector = req.trace === true ? new TraceCollector(catalog) : undefined;
  const eligible =
    collector === undefined
      ? createEligibility(eligibility)
      : collector.wrapEligibility(createEligibility(eligibility), eligibility);
  const f = req.filters;
  const restrictive =
    categoryTag !== undefined ||
    f?.priceMin !== undefined ||
    f?.priceMax !== undefined ||
    (f?.includeTagsAny?.length ?? 0) > 0 ||
    (f?.excludeTagsAny?.length ?? 0) > 0 ||
    (f?.excludeIds?.length ?? 0) > 0 ||
    req.country !== undefined ||
    scope !== undefined ||
    ruled?.hasFilter === true;
  const signals =
    categoryTag === -2
      ? new Map()
      : collectSignals({
          surface: req.surface,
          now,
          catalog,
          behavior,
          vectors: state.vectors,
          neighbors: state.neighbors,
          coldComplements: state.coldComplements,
          profile,
          traits,
          anchors,
          weights: settings.weights,
          categoryTag,
          candidatesPerSignal: config.ranking.candidatesPerSignal,
          // One anchor reads its full top-K; many anchors share a budget of 2×topK (≥ 20 each).
          neighborsPerAnchor:
            anchors.length <= 1
              ? config.covisit.topK
              : Math.max(20, Math.ceil((2 * config.covisit.topK) / anchors.length)),
          profileHalfLifeMs: config.profile.halfLifeMs,
          buyAgainHalfLifeMs: config.profile.buyAgainHalfLifeMs,
          buyAgainPopularityExponent: config.profile.buyAgainPopularityExponent,
          revisitPopularityExponent: config.profile.revisitPopularityExponent,
          eligible,
          restrictive,
          k: req.k,
          sessionClicks: session.clicks,
          sessionNumber: session.number,
          session: config.session,
          scoreOnly: scope?.onlyItems,
        });
  const generators = allSignalsGenerate(req.surface) ? undefined : RELATION_SET;
  const candidates = blendSignals(
    signals,
    settings.weights,
    (id) => catalog.ids.keyOf(id),
    catalog.idCount,
    req.seed,
    config.ranking.seedJitter,
    {
      generators,
      popularityOf: (id) => behavior.popularity.rawPopularity(id),
      // What diversify reads when caps reject few: its MMR pool, then a few more in order.
      head: diversifyPoolSize(req.k) + req.k,
      adjust: ruled?.hasScoring ? (ids, scores, count) => ruled.adjustAll(ids, scores, count) : undefined,
    },
  );
  const caps =
    collector === undefined
      ? new ListCaps(catalog, settings.diversity)
      : new TracingCaps(catalog, settings.diversity, collector);
  const similarity = createItemSimilarity(catalog, state.vectors);
  const lambda =
    session.explicit && req.overrides?.diversity?.lambda === undefined
      ? config.session.diversityLambda
      : settings.diversity.lambda;
  const picked = diversify(candidates, req.k, lambda, caps, similarity);
  const filled =
    settings.fallback && picked.length < req.k
      ? fillFallback({
          picked,
          k: req.k,
          categoryTag: fallbackCategory(req, state, anchors, profile),
          // A category request stays in its category: no catalog-wide popular fill.
          popularFill: categoryTag === undefined,
          catalog,
          popularity: behavior.popularity,
          now,
          eligible,
          caps,
        })
      : [];

  const reasonContext = {
    surface: req.surface,
    catalog,
    signals,
    anchors,
    vectors: state.vectors,
    categoryLabel: categoryTag !== undefined && categoryTag >= 0 ? catalog.tagLabel(categoryTag) : undefined,
    interestTags:
      (req.explain || collector !== undefined) && profile !== undefined
        ? profile.topTags(now, 10).map((t) => t.tag)
        : [],
  };
  const byId = new Map<number, RecResult['items'][number]>();
  for (const c of picked) {
    const out: RecResult['items'][number] = { itemId: c.itemId, score: c.score };
    if (req.explain) out.reasons = explainCandidate(reasonContext, c);
    byId.set(c.id, out);
  }
  const fillSource = new Map<number, (typeof filled)[number]['source']>();
  for (const f of filled) {
    const out: RecResult['items'][number] = { itemId: catalog.ids.keyOf(f.id), score: 0 };
    if (req.explain) out.reasons = [fillReason(f)];
    byId.set(f.id, out);
    fillSource.set(f.id, f.source);
  }
  let order = [...picked.map((c) => c.id), ...filled.map((f) => f.id)];
  if (ruled !== undefined) {
    order = ruled.place(order, req.k, eligible, () =>
      createEligibility({ ...eligibility, memo: stockBlindMemo, ignoreStock: true }),
    );
  }
  const items: RecResult['items'] = order.map((id) => {
    const held = byId.get(id);
    if (held !== undefined) return held;
    // Placed by a pin or inject without being a candidate: no signal scored it.
    const out: RecResult['items'][number] = { itemId: catalog.ids.keyOf(id), score: 0 };
    if (req.explain) out.reasons = [];
    return out;
  });
  const shownFill = order.filter((id) => fillSource.has(id));
  const sources = [...new Set(shownFill.map((id) => fillSource.get(id)!))];
  // `used` also when the list is short: the caller asked for k and learns it did not get them.
  const fallback = { used: shownFill.length > 0 || items.length < req.k, sources, filled: shownFill.length };
  const trace =
    collector === undefined
      ? undefined
      : buildTrace({
          req,
          seedJitter: config.ranking.seedJitter,
          settings,
          catalog,
          anchors,
          signals,
          generators,
          candidates,
          picked,
          filled,
          items,
          reasonContext,
          fallback,
          collector,
        });
  if (ruled === undefined) return trace === undefined ? { items, fallback } : { items, fallback, trace };
  ruled.detach();
  const result = new RuledResult(items, fallback, () =>
    ruled.effects(order, (id) => byId.get(id)?.score ?? 0),
  );
  if (trace !== undefined) result.trace = trace;
  return result;
}
