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

/** A page of items by id: filtered by status, availability and tag, searched in ids and titles. */
export const listItemsProcedure = secretProcedure
  .input(
    pageInputSchema.extend({
      status: z.enum(['active', 'archived', 'all']).default('active'),
      available: z.boolean().optional(),
      tag: pgText().max(limits.tagLength).optional(),
      search: pgText().max(200, 'search for at most 200 characters of an id or title').optional(),
    }),
  )
  .query(({ ctx, input }) => listItems(ctx.services.database, ctx.principal.namespaceId, input));

/** Soft delete: kept for history, never recommended, restorable. */
export const archiveItemsProcedure = secretProcedure
  .input(itemIdsInputSchema)
  .mutation(async ({ ctx, input }) => {
    const r = await archiveItems(ctx.services.database, ctx.principal.namespaceId, input.itemIds);
    return { archived: r.changed, unchanged: r.unchanged };
  });

export const restoreItemsProcedure = secretProcedure
  .input(itemIdsInputSchema)
  .mutation(async ({ ctx, input }) => {
    const r = await restoreItems(ctx.services.database, ctx.principal.namespaceId, input.itemIds);
    return { restored: r.changed, unchanged: r.unchanged };
  });

export const itemsRouter = router({
  /** Creates or updates up to 1,000 items; bad rows are reported, good rows stored. */
  upsert: secretProcedure
    .input(itemsUpsertInputSchema)
    .mutation(({ ctx, input }) => upsertItems(ctx.services.database, ctx.principal.namespaceId, input.items)),
  /** Soft delete: kept for history, never recommended, restorable. */
  remove: archiveItemsProcedure,
  restore: restoreItemsProcedure,
  get: secretProcedure
    .input(z.object({ itemIds: z.array(idSchema).min(1).max(1_000) }))
    .query(({ ctx, input }) => getItems(ctx.services.database, ctx.principal.namespaceId, input.itemIds)),
  list: listItemsProcedure,
});
