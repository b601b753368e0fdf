import { z } from 'zod';
import {
  eventsBatchInputSchema,
  eventTypes,
  idSchema,
  isoTimestampSchema,
  pageInputSchema,
} from '../ingest/contracts';
import { ingestEvents, listEvents } from '../ingest/events';
import { keyedProcedure, router, secretProcedure, userIdProof } from './init';

export const eventsRouter = router({
  /** Up to 500 events; replays (same eventId) are ignored, bad rows reported by index. */
  batch: keyedProcedure.input(eventsBatchInputSchema).mutation(async ({ ctx, input }) => {
    const result = await ingestEvents(
      ctx.services.database,
      ctx.principal.namespaceId,
      ctx.principal.settings,
      input.events,
      { userIds: await userIdProof(ctx) },
    );
    ctx.services.onEventsIngested(ctx.principal.namespaceId, result);
    return result;
  }),
  list: secretProcedure
    .input(
      pageInputSchema.extend({
        userId: idSchema.optional(),
        anonymousId: idSchema.optional(),
        itemId: idSchema.optional(),
        type: z.enum(eventTypes).optional(),
        since: isoTimestampSchema.optional(),
        until: isoTimestampSchema.optional(),
      }),
    )
    .query(({ ctx, input }) => listEvents(ctx.services.database, ctx.principal.namespaceId, input)),
});
