/**
 * One recommendation request, start to finish. The steps run in this order, one file each (this
 * list is the map of `pipeline/`; keep it in step with `recommend()` below):
 *
 * 1. `resolveRequestSettings.ts`: config plus request overrides → blend weights, diversity,
 *    fallback and purchase-exclusion settings for this surface.
 * 2. Anchors (here, with `profileAnchors.ts`): the item (`similar`), the cart (`cart`) or the
 *    profile's strongest items (other surfaces), merged with the session's `contextItemIds`.
 * 3. `createEligibility.ts`: the filters as one predicate (availability, price, tags, category,
 *    never the anchors or their variants, optionally recent purchases). Runs after the anchors
 *    because it excludes them.
 * 4. `collectSignals.ts`: each signal's candidate scores, read from `indexes/` and `vectors/`.
 * 5. `blendSignals.ts`: per-signal normalisation, weighted sum, ranking (seeded ties).
 * 6. `diversify.ts`: MMR and hard caps (`ListCaps`), similarity from `vectors/similarity.ts`.
 * 7. `fillFallback.ts`: a short list filled with category best-sellers, then popular items.
 * 8. `explainCandidate.ts`: one reason per contributing signal (with `explain: true`).
 *
 * Numbered file names were considered and rejected: the numbers would leak into every import and
 * inserting a step would rename files; this list is the single place the order is written.
 */
import type { RecRequest, RecResult } from '../api';
import type { EngineConfig, SignalName } from '../config/engineConfig';
import type { BehaviorIndexes } from '../indexes/BehaviorIndexes';
import type { Catalog } from '../indexes/Catalog';
import type { UserProfile } from '../indexes/UserProfile';
import type { EmbeddingNeighbors } from '../vectors/EmbeddingNeighbors';
import { createItemSimilarity } from '../vectors/similarity';
import type { VectorSource } from '../vectors/types';
import { blendSignals } from './blendSignals';
import { allSignalsGenerate, collectSignals, RELATION_SIGNALS } from './collectSignals';
import { createEligibility, type DenseMemo } from './createEligibility';
import { diversify, diversifyPoolSize, ListCaps } from './diversify';
import { explainCandidate } from './explainCandidate';
import { fillFallback } from './fillFallback';
import { type Anchor, profileAnchors } from './profileAnchors';
import { resolveRequestSettings } from './resolveRequestSettings';
import { continuedSession, sessionExclusions } from './sessionContext';

/** The engine state one request reads. */
export interface RecommendState {
  config: EngineConfig;
  catalog: Catalog;
  behavior: BehaviorIndexes;
  vectors: VectorSource | undefined;
  neighbors: EmbeddingNeighbors;
  traits: Map<string, Record<string, string>>;
  now: number;
  memo: DenseMemo;
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

/** Runs one request through steps 1–8 listed at the top of this file. */
export function recommend(req: RecRequest, state: RecommendState): RecResult {
  const settings = resolveRequestSettings(state.config, req);
  const { catalog, behavior, config, now } = state;
  const profile = req.userKey !== undefined ? behavior.profiles.get(req.userKey) : undefined;
  const primary = primaryAnchors(req, state, profile);
  const anchors = mergeAnchors(primary, contextAnchors(req, state), config.profile.maxAnchors);
  const session = continuedSession(req, state, primary);
  const neverShow = sessionExclusions(req.surface, primary, session, config.session.reshowSessionItems);
  // −2: a category no item ever had, so nothing can match.
  const categoryTag = req.category !== undefined ? (catalog.categoryTag(req.category) ?? -2) : undefined;
  const eligible = createEligibility({
    catalog,
    filters: req.filters,
    excludedItems: neverShow,
    requiredCategory: categoryTag,
    profile,
    purchasedSince: settings.excludePurchased ? now - settings.purchaseExclusionWindowMs : undefined,
    memo: state.memo,
  });
  const f = req.filters;
  const restrictive =
    categoryTag !== undefined ||
    f?.priceMin !== undefined ||
    f?.priceMax !== undefined ||
    (f?.includeTagsAny?.length ?? 0) > 0 ||
    (f?.excludeTagsAny?.length ?? 0) > 0 ||
    (f?.excludeIds?.length ?? 0) > 0;
  const traits = {
    ...(req.userKey !== undefined ? state.traits.get(req.userKey) : undefined),
    ...req.traits,
  };
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
          eligible,
          restrictive,
          k: req.k,
          sessionClicks: session.clicks,
          sessionNumber: session.number,
          session: config.session,
        });
  const candidates = blendSignals(
    signals,
    settings.weights,
    (id) => catalog.ids.keyOf(id),
    catalog.idCount,
    req.seed,
    config.ranking.seedJitter,
    {
      generators: allSignalsGenerate(req.surface) ? undefined : RELATION_SET,
      popularityOf: (id) => behavior.popularity.rawPopularity(id),
      // What diversify reads when caps reject few: its MMR pool, then a few more in order.
      head: diversifyPoolSize(req.k) + req.k,
    },
  );
  const caps = new ListCaps(catalog, settings.diversity);
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
    interestTags: req.explain && profile !== undefined ? profile.topTags(now, 10).map((t) => t.tag) : [],
  };
  const items: RecResult['items'] = picked.map((c) => {
    const out: RecResult['items'][number] = { itemId: c.itemId, score: c.score };
    if (req.explain) out.reasons = explainCandidate(reasonContext, c);
    return out;
  });
  for (const f of filled) {
    const out: RecResult['items'][number] = { itemId: catalog.ids.keyOf(f.id), score: 0 };
    if (req.explain) {
      out.reasons = [
        f.source === 'popular'
          ? { signal: 'popular', contribution: 0, text: 'popular right now' }
          : { signal: 'bestseller', contribution: 0, text: `best-seller in ${f.label ?? 'this category'}` },
      ];
    }
    items.push(out);
  }
  const sources = [...new Set(filled.map((f) => f.source))];
  return { items, fallback: { used: filled.length > 0, sources, filled: filled.length } };
}
