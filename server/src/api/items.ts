import { z } from 'zod';
import {
  idSchema,
  itemIdsInputSchema,
  itemsUpsertInputSchema,
  limits,
  pageInputSchema,
  pgText,
} from '../ingest/contracts';
import { archiveItems, getItems, listItems, restoreItems, upsertItems } from '../ingest/items';
import { router, secretProcedure } from './init';

export const itemsRouter = router({
  /** Creates or updates up to 1,000 items; bad rows are reported, good rows stored. */
  upsert: secretProcedure
    .input(itemsUpsertInputSchema)
    .mutation(({ ctx, input }) => upsertItems(ctx.services.database, ctx.principal.namespaceId, input.items)),
  /** Soft delete: kept for history, never recommended, restorable. */
  remove: secretProcedure.input(itemIdsInputSchema).mutation(async ({ ctx, input }) => {
    const r = await archiveItems(ctx.services.database, ctx.principal.namespaceId, input.itemIds);
    return { archived: r.changed, unchanged: r.unchanged };
  }),
  restore: secretProcedure.input(itemIdsInputSchema).mutation(async ({ ctx, input }) => {
    const r = await restoreItems(ctx.services.database, ctx.principal.namespaceId, input.itemIds);
    return { restored: r.changed, unchanged: r.unchanged };
  }),
  get: secretProcedure
    .input(z.object({ itemIds: z.array(idSchema).min(1).max(1_000) }))
    .query(({ ctx, input }) => getItems(ctx.services.database, ctx.principal.namespaceId, input.itemIds)),
  list: secretProcedure
    .input(
      pageInputSchema.extend({
        status: z.enum(['active', 'archived', 'all']).default('active'),
        available: z.boolean().optional(),
        tag: pgText().max(limits.tagLength).optional(),
      }),
    )
    .query(({ ctx, input }) => listItems(ctx.services.database, ctx.principal.namespaceId, input)),
});
