import { randomUUID } from 'node:crypto';
import type { Surface } from '@recsys/engine';
import { TRPCError } from '@trpc/server';
import type { Principal } from '../auth/keyResolver';
import { mayNameUser } from '../auth/userProof';
import { ServiceUnavailableError } from '../errors';
import type { AssignedTreatment } from '../experiments/assign';
import { applyTreatment } from '../experiments/treatment';
import { type EngineList, EngineNotReadyError, type ServeInput } from '../serve/EngineService';
import { shouldTrace, traceEntry } from '../traces/storedTrace';
import { type Context, keyedProcedure, router, userIdProof } from './init';
import { type RecsResponse, recsInputSchemas } from './recsContract';

/** Ranks a list through the engines (in this thread or another) and logs it as served. */
async function serve(
  ctx: Context & { principal: Principal },
  surface: Surface,
  requested: ServeInput,
): Promise<RecsResponse> {
  const host = ctx.services.engines;
  let input = requested;
  if (requested.userId !== undefined && !mayNameUser(await userIdProof(ctx), requested.userId)) {
    // Unproven: answer as the anonymous visitor (whose random id is its own bearer), never with the
    // named user's history. Not an error, so a page whose token expired still shows lists.
    const { userId: _unproven, ...anonymous } = requested;
    input = anonymous;
  }
  if (!host) {
    throw new TRPCError({
      code: 'SERVICE_UNAVAILABLE',
      message: 'Recommendations are not enabled on this server.',
    });
  }
  // Sampled per namespace; always for `explain` and the x-recsys-trace header. No writer, no trace.
  if (
    ctx.services.recLog &&
    shouldTrace(
      ctx.principal.settings.traceSampleRate,
      input.explain || ctx.traceRequested === true,
      ctx.principal.namespaceId,
    )
  ) {
    input = { ...input, trace: true };
  }
  const assigned = await assignExperiment(ctx, surface, input);
  const treated = assigned ? applyTreatment(input, surface, assigned) : input;
  let listed: EngineList;
  try {
    listed =
      treated === 'off'
        ? hiddenList(input, assigned)
        : await host.serve(ctx.principal.namespaceId, surface, treated);
  } catch (error) {
    if (error instanceof EngineNotReadyError) {
      // Loading ends by itself: the client is told when to come back (Retry-After).
      throw new TRPCError({
        code: 'SERVICE_UNAVAILABLE',
        message: error.message,
        cause: new ServiceUnavailableError(error.message),
      });
    }
    throw error;
  }
  ctx.metrics.listsServed.inc({
    namespace: ctx.principal.namespaceId,
    surface,
    fallback: listed.fallback.used ? 'used' : 'none',
  });
  const requestId = randomUUID();
  ctx.services.recLog?.push({
    namespaceId: ctx.principal.namespaceId,
    requestId,
    surface: input.placement ?? surface,
    userId: listed.userId,
    anonymousId: input.anonymousId ?? null,
    items: listed.items,
    fallback: listed.fallback.used,
    configVersion: listed.configVersion,
    experiment: listed.experiment,
    // Built when the writer takes it, after the response is on its way.
    trace: listed.trace ? () => traceEntry(surface, requested, input, listed) : undefined,
  });
  const response: RecsResponse = { requestId, surface, items: listed.items, fallback: listed.fallback };
  if (listed.experiment) response.experiment = listed.experiment;
  return response;
}

/** The request's experiment and variant; an assignment failure serves the control rather than no list. */
async function assignExperiment(
  ctx: Context & { principal: Principal },
  surface: Surface,
  input: ServeInput,
) {
  try {
    return (await ctx.services.experiments?.assign(ctx.principal.namespaceId, surface, input)) ?? null;
  } catch (error) {
    ctx.services.log.warn({ err: error }, 'experiment assignment failed; serving the control');
    return null;
  }
}

/** The empty list a `surface: off` variant serves (still logged: it is that variant's exposure). */
function hiddenList(input: ServeInput, assigned: AssignedTreatment | null): EngineList {
  return {
    items: [],
    fallback: { used: false, sources: [], filled: 0 },
    userId: input.userId ?? null,
    configVersion: null,
    experiment: assigned ? { id: assigned.id, variant: assigned.variant } : undefined,
  };
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
