import { z } from 'zod';
import { UserError } from '../errors';
import { idSchema, isoTimestampSchema, pgText } from '../ingest/contracts';
import { getTrace, pruneTraces, searchTraces } from '../traces/traceStore';
import { router, secretProcedure } from './init';

const requestId = pgText()
  .min(1, 'must not be empty')
  .max(200, 'a requestId is at most 200 characters (recs.* answer UUIDs)');

/**
 * Decision traces ("why was this recommended"): one served list by its requestId, or a search,
 * newest first, a page at a time. User and anonymous ids are hashed here with the namespace's salt
 * and compared with the stored hashes; the ids themselves were never stored.
 */
export const tracesRouter = router({
  /** The trace of one served list; NOT_FOUND when it was not sampled, was pruned or erased. */
  get: secretProcedure.input(z.object({ requestId }).strict()).query(async ({ ctx, input }) => {
    const trace = await getTrace(ctx.services.database, ctx.principal.namespaceId, input.requestId);
    if (!trace) {
      throw new UserError(
        'NOT_FOUND',
        `No trace of request ${input.requestId} in "${ctx.principal.namespaceId}": it was not sampled (traceSampleRate), is older than traceRetentionDays, was erased, or was served by another namespace.`,
      );
    }
    return trace;
  }),
  /** Traces matching every given field, newest first; pass `nextCursor` back for the next page. */
  search: secretProcedure
    .input(
      z
        .object({
          requestId: requestId.optional(),
          userId: idSchema.optional(),
          anonymousId: idSchema.optional(),
          itemId: idSchema.optional(),
          ruleId: pgText().min(1).max(200).optional(),
          surface: pgText().min(1).max(100).optional(),
          from: isoTimestampSchema.optional(),
          to: isoTimestampSchema.optional(),
          cursor: pgText().max(1_000).optional(),
          limit: z.number().int().min(1).max(100, 'at most 100 traces per page').default(20),
        })
        .strict(),
    )
    .query(({ ctx, input }) => searchTraces(ctx.services.database, ctx.principal.namespaceId, input)),
  /** Deletes this namespace's traces older than its `traceRetentionDays` (default 30). */
  prune: secretProcedure.input(z.object({}).strict().optional()).mutation(async ({ ctx }) => {
    const { deleted } = await pruneTraces(ctx.services.database, { namespaceId: ctx.principal.namespaceId });
    return { deleted };
  }),
});
