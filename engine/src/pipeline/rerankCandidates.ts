/**
 * Reorders caller-supplied candidates (search results, a category page) for one visitor. The known
 * candidates are scored by `recommend()` itself, narrowed to them (`RecommendScope`): the visitor's
 * `forUser` signals, filters and market, with no diversity re-ranking and no fallback fill; then
 * the merchandising rules re-sort and place them as if they were the only candidates. Ids the
 * catalog does not know stay at their original positions; known ones that may not be shown are
 * removed and reported with the reason.
 */
import type { RecRequest, RerankRemovedReason, RerankRequest, RerankResult } from '../api';
import { soldIn } from '../indexes/Catalog';
import { limits } from '../protocol';
import { rerankWithRules } from './applyRules';
import { createEligibility, DenseMemo } from './createEligibility';
import { type RecommendState, recommend } from './recommend';
import { forUserRules, placementEligibility, SCORING_OVERRIDES, withoutRules } from './scoreOnly';

/** Most candidates one call may rerank. */
export const MAX_RERANK_CANDIDATES = limits.rerankCandidates;

/** See the top of this file. */
export function rerankCandidates(req: RerankRequest, state: RecommendState): RerankResult {
  if (!Array.isArray(req.itemIds) || req.itemIds.some((id) => typeof id !== 'string')) {
    throw new Error('rerank: itemIds must be an array of item ids.');
  }
  if (req.itemIds.length > MAX_RERANK_CANDIDATES) {
    throw new Error(
      `rerank: at most ${MAX_RERANK_CANDIDATES} candidates per call (got ${req.itemIds.length}).`,
    );
  }
  const { catalog, now } = state;
  const seen = new Set<string>();
  const duplicateItemIds: string[] = [];
  const unique: string[] = [];
  for (const itemId of req.itemIds) {
    if (seen.has(itemId)) duplicateItemIds.push(itemId);
    else {
      seen.add(itemId);
      unique.push(itemId);
    }
  }

  const traits = {
    ...(req.userKey !== undefined ? state.traits.get(req.userKey) : undefined),
    ...req.traits,
  };
  const ruled = forUserRules(state, req.placement, traits);
  // The request's own filters alone (no rules), to tell "filtered" from "rule" removals.
  const passesFilters = createEligibility({
    catalog,
    filters: req.filters,
    excludedItems: [],
    profile: undefined,
    purchasedSince: undefined,
    memo: new DenseMemo(),
  });
  const unknown: Array<{ itemId: string; at: number }> = [];
  const removed: RerankResult['removed'] = [];
  const kept: Array<{ id: number; at: number }> = [];
  unique.forEach((itemId, at) => {
    const id = catalog.ids.get(itemId);
    const info = id === undefined ? undefined : catalog.info(id);
    if (id === undefined || info === undefined) {
      unknown.push({ itemId, at });
      return;
    }
    let reason: RerankRemovedReason | undefined;
    if (!catalog.isEligible(id)) reason = 'unavailable';
    else if (!soldIn(info.item, req.country)) reason = 'not-sold-in-country';
    else if (!passesFilters(id)) reason = 'filtered';
    else if (ruled?.hasBlockOrFilter && !ruled.allows(id)) reason = 'rule';
    if (reason === undefined) kept.push({ id, at });
    else removed.push({ itemId, originalRank: at + 1, reason });
  });

  const keptIds = new Set(kept.map((c) => c.id));
  const scoreOf = new Map<number, { score: number; reasons?: RerankResult['items'][number]['reasons'] }>();
  if (kept.length > 0) {
    const scoring: RecRequest = {
      surface: 'forUser',
      k: kept.length,
      now,
      // Search results may well hold what the visitor bought: ranked, not hidden.
      overrides: { ...SCORING_OVERRIDES, excludePurchased: false },
    };
    if (req.userKey !== undefined) scoring.userKey = req.userKey;
    if (req.sessionId !== undefined) scoring.sessionId = req.sessionId;
    if (req.traits) scoring.traits = req.traits;
    if (req.country) scoring.country = req.country;
    if (req.seed !== undefined) scoring.seed = req.seed;
    if (req.explain) scoring.explain = true;
    // Rules apply once, below, to the candidates alone.
    const result = recommend(scoring, withoutRules(state), { onlyItems: keptIds });
    for (const item of result.items) {
      const id = catalog.ids.get(item.itemId);
      if (id !== undefined) scoreOf.set(id, { score: item.score, reasons: item.reasons });
    }
  }
  // Scored best first; unscored (no signal reaches them) after, and ties, in their original order.
  const ordered = [...kept].sort(
    (a, b) => (scoreOf.get(b.id)?.score ?? 0) - (scoreOf.get(a.id)?.score ?? 0) || a.at - b.at,
  );
  const scores = ordered.map((c) => scoreOf.get(c.id)?.score ?? 0);
  let ids = ordered.map((c) => c.id);
  if (ruled !== undefined) {
    // Pins and injects may move a candidate, never bring in an item the caller did not send.
    const { eligible, ignoringStock } = placementEligibility(state, req.filters, req.country, ruled, keptIds);
    ids = rerankWithRules(ruled, ids, scores, ids.length, eligible, ignoringStock);
  }
  const atOf = new Map(kept.map((c) => [c.id, c.at]));
  const items: RerankResult['items'] = ids.map((id) => {
    const scored = scoreOf.get(id);
    const out: RerankResult['items'][number] = {
      itemId: catalog.ids.keyOf(id),
      score: scored?.score ?? 0,
      originalRank: (atOf.get(id) ?? 0) + 1,
      known: true,
    };
    if (req.explain) out.reasons = scored?.reasons ?? [];
    return out;
  });
  // Unknown ids back at their positions, in ascending order so each lands where it was.
  for (const u of unknown) {
    const entry: RerankResult['items'][number] = {
      itemId: u.itemId,
      score: 0,
      originalRank: u.at + 1,
      known: false,
    };
    if (req.explain) entry.reasons = [];
    items.splice(Math.min(u.at, items.length), 0, entry);
  }
  return { items, removed, unknownItemIds: unknown.map((u) => u.itemId), duplicateItemIds };
}
