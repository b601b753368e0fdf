import type { BundleRequest } from '@recsys/engine';
import { userKeyOf } from '@recsys/engine/protocol';
import type { NamespaceRuntime } from '../replicate/namespaceRuntime';
import { displayPrice } from '../replicate/rows';
import type { BundleServeInput, EngineBundle } from './EngineService';
import { recFiltersOf } from './serveList';

/**
 * Suggests one product bundle of a namespace (`Engine.bundle`) and joins the display fields the
 * widget shows (title, price, url, image) to each item; the anchor is rank 1.
 */
export function serveBundle(rt: NamespaceRuntime, input: BundleServeInput): EngineBundle {
  const request: BundleRequest = { itemId: input.itemId, filters: recFiltersOf(input.filters) };
  const userKey = userKeyOf(input.userId, input.anonymousId, rt.aliases);
  if (userKey) request.userKey = userKey;
  if (input.maxItems !== undefined) request.maxItems = input.maxItems;
  if (input.placement) request.placement = input.placement;
  if (input.traits) request.traits = input.traits;
  if (input.country) request.country = input.country;
  if (input.fixed) request.fixed = input.fixed;
  const result = rt.engine.bundle(request);
  const bundle: EngineBundle = {
    anchorItemId: result.anchorItemId,
    items: result.items.map((item, i) => {
      const d = rt.display.get(item.itemId);
      return {
        itemId: item.itemId,
        rank: i + 1,
        score: item.score,
        title: d?.title ?? null,
        ...displayPrice(d, input.country),
        url: d?.url ?? null,
        imageUrl: d?.imageUrl ?? null,
        role: item.role,
        reason: item.reason,
      };
    }),
    price: result.price,
    userId: input.userId ?? (input.anonymousId ? (rt.aliases.get(input.anonymousId) ?? null) : null),
    configVersion: rt.configVersion,
  };
  if (result.emptyReason) bundle.emptyReason = result.emptyReason;
  if (result.message) bundle.message = result.message;
  return bundle;
}
