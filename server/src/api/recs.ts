import { randomUUID } from 'node:crypto';
import type { Surface } from '@recsys/engine';
import {
  BUNDLE_SURFACE,
  type BundleInput,
  GROUP_SURFACE,
  type GroupResponse,
  RERANK_SURFACE,
  type RerankResponse,
} from '@recsys/engine/protocol';
import { TRPCError } from '@trpc/server';
import type { Principal } from '../auth/keyResolver';
import { mayNameUser, unprovenUserMessage } from '../auth/userProof';
import { ServiceUnavailableError } from '../errors';
import type { AssignedSurface, AssignedTreatment, AssignmentRequest } from '../experiments/assign';
import { applyTreatment } from '../experiments/treatment';
import {
  type EngineList,
  EngineNotReadyError,
  type GroupServeInput,
  type RerankServeInput,
  type ServeInput,
} from '../serve/EngineService';
import { bundleTraceEntry, shouldTrace, type TraceEntry, traceEntry } from '../traces/storedTrace';
import { enginesOf } from './engines';
import { type Context, keyedProcedure, router, userIdProof } from './init';
import {
  type BundleResponse,
  bundleInputSchema,
  groupInputSchema,
  type RecsResponse,
  recsInputSchemas,
  rerankInputSchema,
} from './recsContract';

/**
 * The input as it may be answered: a `userId` the request cannot prove is dropped, so the list is
 * made for the anonymous visitor (whose random id is its own bearer), never with the named user's
 * history. Not an error, so a page whose token expired still shows lists.
 */
async function provenInput<T extends { userId?: string | undefined }>(
  ctx: Context & { principal: Principal },
  requested: T,
): Promise<T> {
  if (requested.userId === undefined || mayNameUser(await userIdProof(ctx), requested.userId))
    return requested;
  const { userId: _unproven, ...anonymous } = requested;
  return anonymous as T;
}

/** Runs an engine call, turning "still loading" into a 503 with Retry-After. */
async function fromEngines<T>(call: () => T | Promise<T>): Promise<T> {
  try {
    return await call();
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
}

/** Ranks a list through the engines (in this thread or another) and logs it as served. */
async function serve(
  ctx: Context & { principal: Principal },
  surface: Surface,
  requested: ServeInput,
): Promise<RecsResponse> {
  const started = performance.now();
  let input = await provenInput(ctx, requested);
  const host = enginesOf(ctx, ctx.principal.namespaceId);
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
  // A debug request (the trace header) is ranked now, as `explain` is: its trace must be its own.
  if (ctx.traceRequested === true) input = { ...input, bypassCache: true };
  const assigned = await assignExperiment(ctx, surface, input);
  const listed: EngineList = await countFailure(ctx, assigned, () => {
    const treated = assigned ? applyTreatment(input, surface, assigned) : input;
    return fromEngines(() =>
      treated === 'off'
        ? hiddenList(input, assigned)
        : host.serve(ctx.principal.namespaceId, surface, treated),
    );
  });
  ctx.metrics.served(ctx.principal.namespaceId, surface, {
    fallbackUsed: listed.fallback.used,
    empty: listed.items.length === 0,
    configVersion: listed.configVersion,
  });
  if (listed.cache) ctx.metrics.recsCache(ctx.principal.namespaceId, listed.cache);
  // A list from the cache is still a list served now: its own requestId, logged (exposure,
  // attribution) like any other.
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
    segment: input.traits?.segment,
    durationMs: performance.now() - started,
    // Built when the writer takes it, after the response is on its way.
    trace: listed.trace ? () => traceEntry(surface, requested, input, listed) : undefined,
  });
  const response: RecsResponse = { requestId, surface, items: listed.items, fallback: listed.fallback };
  if (listed.experiment) response.experiment = listed.experiment;
  return response;
}

/**
 * Counts a served list (bundles, group and reranked lists; only bundles carry an experiment or a
 * trace) and logs it, so events that carry the returned `requestId` are attributed to it.
 */
function logServed(
  ctx: Context & { principal: Principal },
  surface: string,
  logged: {
    surface: string;
    userId: string | null;
    anonymousId: string | undefined;
    items: ReadonlyArray<{ itemId: string; rank: number; score: number }>;
    configVersion: number | null;
    experiment?: { id: string; variant: string } | undefined;
    trace?: (() => TraceEntry | undefined) | undefined;
    /** The request's `traits.segment`, when it has traits. */
    segment?: string | undefined;
    /** `performance.now()` when the request reached the procedure. */
    started: number;
  },
): string {
  ctx.metrics.served(ctx.principal.namespaceId, surface, {
    fallbackUsed: false,
    empty: logged.items.length === 0,
    configVersion: logged.configVersion,
  });
  const requestId = randomUUID();
  ctx.services.recLog?.push({
    namespaceId: ctx.principal.namespaceId,
    requestId,
    surface: logged.surface,
    userId: logged.userId,
    anonymousId: logged.anonymousId ?? null,
    items: logged.items.map((i) => ({ itemId: i.itemId, rank: i.rank, score: i.score })),
    fallback: false,
    configVersion: logged.configVersion,
    experiment: logged.experiment,
    segment: logged.segment,
    durationMs: performance.now() - logged.started,
    trace: logged.trace,
  });
  return requestId;
}

/**
 * Suggests a product bundle and logs it as a served list under surface `bundle` (placement aside:
 * acceptance finds bundles by that surface), so the cart adds and purchases that carry its
 * `requestId` are attributed to it. On a bundle experiment's product page the visitor's variant
 * decides: `control` serves the computed bundle, a `bundle` variant its fixed partners. A bundle
 * served under an experiment always leaves a trace with its provenance (experiment, variant and the
 * override as served); others are sampled like lists.
 */
async function serveBundleList(
  ctx: Context & { principal: Principal },
  requested: BundleInput,
): Promise<BundleResponse> {
  const started = performance.now();
  const input = await provenInput(ctx, requested);
  const host = enginesOf(ctx, ctx.principal.namespaceId);
  const assigned = await assignExperiment(ctx, BUNDLE_SURFACE, input);
  const t = assigned?.treatment;
  const override =
    t?.kind === 'bundle'
      ? {
          partnerItemIds: [...t.partnerItemIds],
          ...(t.discountPercent !== undefined ? { discountPercent: t.discountPercent } : {}),
        }
      : null;
  const served = await countFailure(ctx, assigned, () =>
    fromEngines(() =>
      host.serveBundle(ctx.principal.namespaceId, override ? { ...input, fixed: override } : input),
    ),
  );
  const { userId, configVersion, ...bundle } = served;
  const experiment = assigned ? { id: assigned.id, variant: assigned.variant } : undefined;
  const traced =
    ctx.services.recLog !== undefined &&
    (experiment !== undefined ||
      shouldTrace(
        ctx.principal.settings.traceSampleRate,
        ctx.traceRequested === true,
        ctx.principal.namespaceId,
      ));
  const requestId = logServed(ctx, BUNDLE_SURFACE, {
    surface: BUNDLE_SURFACE,
    userId,
    anonymousId: input.anonymousId,
    items: bundle.items,
    configVersion,
    experiment,
    trace: traced ? () => bundleTraceEntry(requested, input, served, experiment, override) : undefined,
    segment: input.traits?.segment,
    started,
  });
  const response: BundleResponse = { requestId, surface: BUNDLE_SURFACE, ...bundle };
  if (experiment) response.experiment = experiment;
  return response;
}

/**
 * A list for several people, logged as a served list (surface `group`) under the first member, the
 * one usually shopping. Each member's userId obeys the rule of every list: one the request cannot
 * prove is dropped (that member is scored as their anonymous visitor, or as a cold visitor), and
 * the answer says so in `warnings`.
 */
async function serveGroupList(
  ctx: Context & { principal: Principal },
  requested: GroupServeInput,
): Promise<GroupResponse> {
  const started = performance.now();
  const proof = await userIdProof(ctx);
  const warnings: string[] = [];
  const members = requested.members.map((m, i): GroupServeInput['members'][number] => {
    if (m.userId === undefined || mayNameUser(proof, m.userId)) return m;
    warnings.push(
      `members[${i}].userId was ignored and that member scored as ${m.anonymousId ? 'its anonymous visitor' : 'a visitor without history'}: ${unprovenUserMessage(proof)}`,
    );
    const { userId: _unproven, ...anonymous } = m;
    return anonymous;
  });
  const host = enginesOf(ctx, ctx.principal.namespaceId);
  const group = await fromEngines(() =>
    host.serveGroup(ctx.principal.namespaceId, { ...requested, members }),
  );
  const requestId = logServed(ctx, GROUP_SURFACE, {
    surface: requested.placement ?? GROUP_SURFACE,
    userId: group.userIds[0] ?? null,
    anonymousId: members[0]?.anonymousId,
    items: group.items,
    configVersion: group.configVersion,
    started,
  });
  if (group.warning) warnings.push(group.warning);
  const response: GroupResponse = {
    requestId,
    surface: GROUP_SURFACE,
    items: group.items,
    members: members.map((m) => ({ userId: m.userId ?? null, anonymousId: m.anonymousId ?? null })),
    warnings,
  };
  if (requested.explain) response.explain = group.summary;
  return response;
}

/**
 * Reorders the caller's candidates for the visitor (a userId it cannot prove is dropped, as on every
 * list) and logs the result as a served list (surface `rerank`, or the placement).
 */
async function serveRerankList(
  ctx: Context & { principal: Principal },
  requested: RerankServeInput,
): Promise<RerankResponse> {
  const started = performance.now();
  const input = await provenInput(ctx, requested);
  const host = enginesOf(ctx, ctx.principal.namespaceId);
  const { configVersion, ...reranked } = await fromEngines(() =>
    host.serveRerank(ctx.principal.namespaceId, input),
  );
  const requestId = logServed(ctx, RERANK_SURFACE, {
    surface: input.placement ?? RERANK_SURFACE,
    userId: reranked.userId,
    anonymousId: input.anonymousId,
    items: reranked.items,
    configVersion,
    segment: input.traits?.segment,
    started,
  });
  return { requestId, surface: RERANK_SURFACE, ...reranked };
}

/** The request's experiment and variant; an assignment failure serves the control rather than no list. */
async function assignExperiment(
  ctx: Context & { principal: Principal },
  surface: AssignedSurface,
  input: AssignmentRequest,
) {
  try {
    return (await ctx.services.experiments?.assign(ctx.principal.namespaceId, surface, input)) ?? null;
  } catch (error) {
    ctx.services.log.warn({ err: error }, 'experiment assignment failed; serving the control');
    return null;
  }
}

/**
 * Runs what serves an assigned request; when it fails, counts the failure for the variant (the
 * `errorRate` guardrail) and rethrows. Unassigned requests are not counted: no variant to blame.
 */
async function countFailure<T>(
  ctx: Context & { principal: Principal },
  assigned: AssignedTreatment | null,
  serveIt: () => Promise<T>,
): Promise<T> {
  try {
    return await serveIt();
  } catch (error) {
    if (assigned) {
      ctx.services.recLog?.pushFailure({
        namespaceId: ctx.principal.namespaceId,
        experiment: { id: assigned.id, variant: assigned.variant },
      });
    }
    throw error;
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
  /**
   * Product page "frequently bought together": the item and 1–3 items usually bought with it, with
   * reasons and the bundle price; an empty bundle says why. Logged as a served list (surface `bundle`).
   */
  bundle: keyedProcedure.input(bundleInputSchema).query(({ ctx, input }) => serveBundleList(ctx, input)),
  /**
   * One list for 2–10 people (a household, a gift): each member's own signals score the candidates,
   * combined by `rule` (`min`: everyone must like it; `avg`); strong fits for all can lead.
   */
  group: keyedProcedure.input(groupInputSchema).query(({ ctx, input }) => serveGroupList(ctx, input)),
  /**
   * The caller's candidates (search results, a category page) reordered for the visitor with the
   * profile's signals and the merchandising rules; unknown ids keep their positions.
   */
  rerank: keyedProcedure.input(rerankInputSchema).query(({ ctx, input }) => serveRerankList(ctx, input)),
});
