import type { RecRequest, RecResult, VectorSource } from './api';
import type { BehaviorIndexes } from './BehaviorIndexes';
import { blendSignals } from './blendSignals';
import type { Catalog } from './Catalog';
import { collectSignals } from './collectSignals';
import type { EngineConfig } from './config';
import { createEligibility, type DenseMemo } from './createEligibility';
import { diversify, ListCaps } from './diversify';
import { explainCandidate } from './explainCandidate';
import { fillFallback } from './fillFallback';
import { type Anchor, profileAnchors } from './profileAnchors';
import { resolveRequestSettings } from './resolveRequestSettings';
import { createItemSimilarity } from './similarity';
import type { UserProfile } from './UserProfile';

/** The engine state one request reads. */
export interface RecommendState {
  config: EngineConfig;
  catalog: Catalog;
  behavior: BehaviorIndexes;
  vectors: VectorSource | undefined;
  traits: Map<string, Record<string, string>>;
  now: number;
  memo: DenseMemo;
}

function requestAnchors(req: RecRequest, state: RecommendState, profile: UserProfile | undefined): Anchor[] {
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

/** Category used to fill thin lists with best-sellers. */
function fallbackCategory(
  req: RecRequest,
  state: RecommendState,
  anchors: Anchor[],
  profile: UserProfile | undefined,
): number | undefined {
  const { catalog } = state;
  if (req.category !== undefined) return catalog.categoryTag(req.category);
  if (req.surface === 'similar' || req.surface === 'cart') {
    for (const a of anchors) {
      const tag = catalog.info(a.item)?.category ?? -1;
      if (tag >= 0) return tag;
    }
    return undefined;
  }
  if (profile === undefined) return undefined;
  const top = profile.topTags(state.now, 1, (tag) => catalog.tags.keyOf(tag).startsWith('category:'));
  return top[0]?.tag;
}

/** Runs one request: anchors → signals → blend → filters → diversity → fallback → explanations. */
export function recommend(req: RecRequest, state: RecommendState): RecResult {
  const settings = resolveRequestSettings(state.config, req);
  const { catalog, behavior, config, now } = state;
  const profile = req.userKey !== undefined ? behavior.profiles.get(req.userKey) : undefined;
  const anchors = requestAnchors(req, state, profile);
  const neverShow = req.surface === 'similar' || req.surface === 'cart' ? anchors.map((a) => a.item) : [];
  const eligible = createEligibility({
    catalog,
    filters: req.filters,
    excludedItems: neverShow,
    profile,
    purchasedSince: settings.excludePurchased ? now - settings.purchaseExclusionWindowMs : undefined,
    memo: state.memo,
  });
  const categoryTag =
    req.surface === 'trending' && req.category !== undefined
      ? (catalog.categoryTag(req.category) ?? -2)
      : undefined;
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
          eligible,
        });
  const candidates = blendSignals(
    signals,
    settings.weights,
    (id) => catalog.ids.keyOf(id),
    catalog.idCount,
    req.seed,
    config.ranking.seedJitter,
  );
  const caps = new ListCaps(catalog, settings.diversity);
  const similarity = createItemSimilarity(catalog, state.vectors);
  const picked = diversify(candidates, req.k, settings.diversity.lambda, caps, similarity);
  const filled =
    settings.fallback && picked.length < req.k
      ? fillFallback({
          picked,
          k: req.k,
          categoryTag: fallbackCategory(req, state, anchors, profile),
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
