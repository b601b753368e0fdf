/**
 * Product bundles ("frequently bought together"): for an anchor item, the anchor and 1–3 partners
 * shoppers usually buy with it, each with a reason, and the bundle's price.
 *
 * Separate from `recommend.ts` on purpose: a bundle is a small set chosen greedily for how well its
 * items go together, not a ranked list; it shares the catalog, the behaviour indexes, the
 * eligibility predicate and the merchandising rules with every list.
 */
import type { BundleItem, BundlePrice, BundleRequest, BundleResult } from '../api';
import type { BundleConfig } from '../config/engineConfig';
import { type Catalog, marketPrice, soldIn } from '../indexes/Catalog';
import { beginRules } from './applyRules';
import { createEligibility } from './createEligibility';
import type { RecommendState } from './recommend';

/** Candidates read from each index per item (partners are few; more only costs time). */
const NEIGHBOURS = 100;

/** Rounds to cents: prices are in major units with at most two decimals in the catalogs we serve. */
const cents = (x: number) => Math.round(x * 100) / 100;

/** The bundle price of `items` (anchor first), or null when a price is missing or currencies differ. */
export function priceBundle(
  prices: ReadonlyArray<{ price?: number | undefined; currency?: string | undefined }>,
  discountPercent: number,
): BundlePrice | null {
  let total = 0;
  const currency = prices[0]?.currency;
  for (const p of prices) {
    if (p.price === undefined || p.currency !== currency) return null;
    total += p.price;
  }
  total = cents(total);
  if (!(discountPercent > 0)) {
    return { total, currency: currency ?? null, discountPercent: 0, bundlePrice: null, savings: 0 };
  }
  const bundlePrice = cents(total * (1 - discountPercent / 100));
  return {
    total,
    currency: currency ?? null,
    discountPercent,
    bundlePrice,
    savings: cents(total - bundlePrice),
  };
}

function emptyBundle(
  anchorItemId: string,
  reason: BundleResult['emptyReason'],
  message: string,
): BundleResult {
  return { anchorItemId, items: [], price: null, emptyReason: reason, message };
}

/**
 * Suggests a bundle for `req.itemId`. Partners need bought-together evidence with the anchor of at
 * least `bundle.minScore`; co-visitation (`bundle.covisitWeight`) and co-purchase with the partners
 * already chosen (`bundle.cohesionWeight`) rank them. Chosen greedily, one at a time, so each pick
 * is judged against the bundle so far; ties go to the smaller item id, so the same data always
 * gives the same bundle. No partner is not an error: the result is empty and says why.
 */
export function suggestBundle(req: BundleRequest, state: RecommendState): BundleResult {
  const { catalog, behavior, now } = state;
  const settings: BundleConfig = { ...state.config.bundle };
  if (req.maxItems !== undefined) settings.maxItems = Math.min(4, Math.max(2, Math.floor(req.maxItems)));
  const anchor = catalog.ids.get(req.itemId);
  const anchorInfo = anchor === undefined ? undefined : catalog.info(anchor);
  if (anchor === undefined || anchorInfo === undefined) {
    return emptyBundle(req.itemId, 'unknown-item', `No item ${req.itemId} in the catalog.`);
  }
  if (!catalog.isEligible(anchor)) {
    return emptyBundle(
      req.itemId,
      'anchor-unavailable',
      `${catalog.titleOf(anchor)} is unavailable or archived, so no bundle is offered with it.`,
    );
  }
  if (!soldIn(anchorInfo.item, req.country)) {
    return emptyBundle(
      req.itemId,
      'anchor-unavailable',
      `${catalog.titleOf(anchor)} is not sold in ${req.country}, so no bundle is offered with it there.`,
    );
  }
  const ruled = beginRules(
    state.rules,
    {
      // Bundles are complements of the product page's item: the cart surface's rules apply to them.
      surface: 'cart',
      placement: req.placement ?? 'bundle',
      anchorItemId: req.itemId,
      cartItemIds: [req.itemId],
      traits: { ...(req.userKey !== undefined ? state.traits.get(req.userKey) : undefined), ...req.traits },
      now,
    },
    catalog,
  );
  const eligible = createEligibility({
    catalog,
    filters: req.filters,
    excludedItems: [anchor],
    profile: undefined,
    purchasedSince: undefined,
    memo: state.memo,
    ruleAllows: ruled?.hasBlockOrFilter ? (id: number) => ruled.allows(id) : undefined,
    country: req.country,
  });

  const bought = new Map<number, number>();
  for (const n of behavior.bought.neighbors(anchor, now, NEIGHBOURS)) bought.set(n.item, n.score);
  if (req.fixed !== undefined) return fixedBundle(req, req.fixed, state, anchor, eligible, bought, settings);
  const covisit = new Map<number, number>();
  for (const n of behavior.covisit.neighbors(anchor, now, NEIGHBOURS)) covisit.set(n.item, n.score);

  let skipped = 0;
  const candidates: number[] = [];
  for (const [id, score] of bought) {
    if (score < settings.minScore) continue;
    if (eligible(id)) candidates.push(id);
    else skipped++;
  }
  if (candidates.length === 0) {
    const message =
      bought.size === 0
        ? `Nothing has been bought together with ${catalog.titleOf(anchor)} yet.`
        : skipped > 0
          ? `Every item bought with ${catalog.titleOf(anchor)} is unavailable or filtered out.`
          : `Nothing is bought with ${catalog.titleOf(anchor)} often enough (minimum score ${settings.minScore}).`;
    return emptyBundle(req.itemId, skipped > 0 ? 'partners-unavailable' : 'no-partners', message);
  }

  const chosen: Array<{ id: number; score: number; cohesion: number; with?: number }> = [];
  const parents = new Set([anchorInfo.parentKey]);
  const pairWith = new Map<number, Map<number, number>>();
  const remaining = new Set(candidates);
  while (chosen.length < settings.maxItems - 1 && remaining.size > 0) {
    let best: { id: number; score: number; cohesion: number; with?: number } | undefined;
    for (const id of remaining) {
      const parent = catalog.info(id)?.parentKey;
      if (parent !== undefined && parents.has(parent)) continue;
      let cohesion = 0;
      let strongest: number | undefined;
      let strongestScore = 0;
      for (const c of chosen) {
        const s = pairWith.get(c.id)?.get(id) ?? 0;
        cohesion += s;
        if (s > strongestScore) {
          strongestScore = s;
          strongest = c.id;
        }
      }
      if (chosen.length > 0) cohesion /= chosen.length;
      const score =
        bought.get(id)! +
        settings.covisitWeight * (covisit.get(id) ?? 0) +
        settings.cohesionWeight * cohesion;
      const better =
        best === undefined ||
        score > best.score ||
        (score === best.score && catalog.ids.keyOf(id) < catalog.ids.keyOf(best.id));
      if (better) best = { id, score, cohesion, with: strongest };
    }
    if (best === undefined) break;
    remaining.delete(best.id);
    const parent = catalog.info(best.id)?.parentKey;
    if (parent !== undefined) parents.add(parent);
    const pairs = new Map<number, number>();
    for (const n of behavior.bought.neighbors(best.id, now, NEIGHBOURS)) pairs.set(n.item, n.score);
    pairWith.set(best.id, pairs);
    chosen.push(best);
  }

  if (chosen.length === 0) {
    return emptyBundle(
      req.itemId,
      'no-partners',
      `Only variants of ${catalog.titleOf(anchor)} are bought with it.`,
    );
  }
  const anchorTitle = catalog.titleOf(anchor);
  const items: BundleItem[] = [anchorItem(req.itemId, anchorTitle)];
  for (const c of chosen) {
    const itemId = catalog.ids.keyOf(c.id);
    const viewedToo = (covisit.get(c.id) ?? 0) > 0 ? ' and often viewed in the same visit' : '';
    const alsoWith = c.with !== undefined && c.cohesion > 0 ? `, and with ${catalog.titleOf(c.with)}` : '';
    items.push({
      itemId,
      role: 'partner',
      score: c.score,
      reason: {
        signal: 'boughtTogether',
        text: `Often bought with ${anchorTitle}${alsoWith}${viewedToo}`,
        relatedItemId: req.itemId,
      },
    });
  }
  return {
    anchorItemId: req.itemId,
    items,
    price: priceBundle(
      items.map((i) => priceOf(catalog, i.itemId, req.country)),
      settings.discountPercent,
    ),
  };
}

/**
 * The bundle a merchandiser fixed: the anchor and the listed partners that may be shown, in their
 * order (each once, never the anchor), scored by their bought-together evidence (0 without any).
 */
function fixedBundle(
  req: BundleRequest,
  fixed: NonNullable<BundleRequest['fixed']>,
  state: RecommendState,
  anchor: number,
  eligible: (id: number) => boolean,
  bought: ReadonlyMap<number, number>,
  settings: BundleConfig,
): BundleResult {
  const { catalog } = state;
  const anchorTitle = catalog.titleOf(anchor);
  const items: BundleItem[] = [anchorItem(req.itemId, anchorTitle)];
  const seen = new Set<number>([anchor]);
  for (const itemId of fixed.partnerItemIds) {
    if (items.length >= settings.maxItems) break;
    const id = catalog.ids.get(itemId);
    if (id === undefined || seen.has(id) || !eligible(id)) continue;
    seen.add(id);
    items.push({
      itemId,
      role: 'partner',
      score: bought.get(id) ?? 0,
      reason: { signal: 'fixed', text: `Chosen to go with ${anchorTitle}`, relatedItemId: req.itemId },
    });
  }
  if (items.length === 1) {
    return emptyBundle(
      req.itemId,
      'partners-unavailable',
      `None of the bundle's items (${fixed.partnerItemIds.join(', ')}) can be shown with ${anchorTitle}: unknown, unavailable or filtered out.`,
    );
  }
  return {
    anchorItemId: req.itemId,
    items,
    price: priceBundle(
      items.map((i) => priceOf(catalog, i.itemId, req.country)),
      fixed.discountPercent ?? settings.discountPercent,
    ),
  };
}

function anchorItem(itemId: string, title: string): BundleItem {
  return {
    itemId,
    role: 'anchor',
    score: 1,
    reason: { signal: 'anchor', text: `The item on this page: ${title}` },
  };
}

function priceOf(catalog: Catalog, itemId: string, country: string | undefined) {
  const id = catalog.ids.get(itemId);
  const item = id === undefined ? undefined : catalog.info(id)?.item;
  return item === undefined ? { price: undefined, currency: undefined } : marketPrice(item, country);
}
