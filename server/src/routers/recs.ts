import { randomUUID } from 'node:crypto';
import type { RecRequest, Surface } from '@recsys/engine';
import { TRPCError } from '@trpc/server';
import { type RecsBaseInput, type RecsResponse, recsInputSchemas } from '../contracts';
import { userKeyOf } from '../engine-host/rows';
import { type Context, keyedProcedure, router } from '../trpc/init';

type Extra = { itemId?: string; itemIds?: string[]; category?: string };

function serve(
  ctx: Context & { principal: { namespaceId: string } },
  surface: Surface,
  input: RecsBaseInput & Extra,
): RecsResponse {
  const host = ctx.services.engines;
  if (!host) {
    throw new TRPCError({
      code: 'SERVICE_UNAVAILABLE',
      message: 'Recommendations are not enabled on this server.',
    });
  }
  if (!host.ready) {
    throw new TRPCError({
      code: 'SERVICE_UNAVAILABLE',
      message: 'The engine is still loading; retry in a moment.',
    });
  }
  const rt = host.get(ctx.principal.namespaceId);
  const userKey = userKeyOf(input.userId, input.anonymousId, rt.aliases);
  const [priceMin, priceMax] = input.filters?.priceBetween ?? [null, null];
  const request: RecRequest = {
    surface,
    k: input.k,
    explain: input.explain,
    ...(userKey ? { userKey } : {}),
    ...(input.sessionId ? { sessionId: input.sessionId } : {}),
    ...(input.itemId ? { itemId: input.itemId } : {}),
    ...(input.itemIds ? { cartItemIds: input.itemIds } : {}),
    ...(input.category ? { category: input.category } : {}),
    ...(input.seed !== undefined ? { seed: input.seed } : {}),
    ...(input.traits ? { traits: input.traits } : {}),
    ...(input.contextItemIds ? { contextItemIds: input.contextItemIds } : {}),
    ...(input.overrides ? { overrides: input.overrides } : {}),
    filters: {
      ...(priceMin !== null ? { priceMin } : {}),
      ...(priceMax !== null ? { priceMax } : {}),
      ...(input.filters?.includeTagsAny ? { includeTagsAny: input.filters.includeTagsAny } : {}),
      ...(input.filters?.excludeTagsAny ? { excludeTagsAny: input.filters.excludeTagsAny } : {}),
      ...(input.filters?.excludeIds ? { excludeIds: input.filters.excludeIds } : {}),
    },
  };
  const result = rt.engine.recommend(request);
  const requestId = randomUUID();
  const items = result.items.map((item, i) => {
    const d = rt.display.get(item.itemId);
    return {
      itemId: item.itemId,
      rank: i + 1,
      score: item.score,
      title: d?.title ?? null,
      price: d?.price ?? null,
      currency: d?.currency ?? null,
      url: d?.url ?? null,
      imageUrl: d?.imageUrl ?? null,
      ...(input.explain ? { reasons: item.reasons ?? [] } : {}),
    };
  });
  ctx.services.recLog?.push({
    namespaceId: ctx.principal.namespaceId,
    requestId,
    surface: input.placement ?? surface,
    userId: input.userId ?? (input.anonymousId ? (rt.aliases.get(input.anonymousId) ?? null) : null),
    anonymousId: input.anonymousId ?? null,
    items: items.map(({ itemId, rank, score }) => ({ itemId, rank, score })),
    fallback: result.fallback.used,
    configVersion: rt.configVersion,
  });
  return { requestId, surface, items, fallback: result.fallback };
}

/** Recommendation lists; publishable (browser) and secret keys alike. */
export const recsRouter = router({
  /** Home page "top picks" for a user or visitor; cold visitors get popular and trending items. */
  forUser: keyedProcedure
    .input(recsInputSchemas.forUser)
    .query(({ ctx, input }) => serve(ctx, 'forUser', input)),
  /** Item page: items related to `itemId` (never `itemId` itself). */
  similar: keyedProcedure
    .input(recsInputSchemas.similar)
    .query(({ ctx, input }) => serve(ctx, 'similar', input)),
  /** Complements for the items in a basket (never the basket's items). */
  cart: keyedProcedure.input(recsInputSchemas.cart).query(({ ctx, input }) => serve(ctx, 'cart', input)),
  /** Items the user bought before and is likely to buy again. */
  buyAgain: keyedProcedure
    .input(recsInputSchemas.buyAgain)
    .query(({ ctx, input }) => serve(ctx, 'buyAgain', input)),
  /** Items gaining attention now, optionally within a category. */
  trending: keyedProcedure
    .input(recsInputSchemas.trending)
    .query(({ ctx, input }) => serve(ctx, 'trending', input)),
  /** The user's recently viewed items, newest first. */
  recentlyViewed: keyedProcedure
    .input(recsInputSchemas.recentlyViewed)
    .query(({ ctx, input }) => serve(ctx, 'recentlyViewed', input)),
});
