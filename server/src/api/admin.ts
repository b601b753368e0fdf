import { z } from 'zod';
import {
  activateConfig,
  engineConfigSchema,
  getActiveConfig,
  listConfigs,
  rollbackConfig,
  saveConfig,
} from '../config';
import { PG_INT_MAX, pgText } from '../ingest/contracts';
import { type Context, router, secretProcedure } from './init';

/** This process applies a switch at once; other processes see the `changes` row on their next poll. */
function reloadNow(ctx: Context) {
  ctx.services.engines?.nudge();
}

const configRouter = router({
  /** The active configuration (stored subset, resolved full config, version, hash). */
  get: secretProcedure
    .input(z.object({}).strict().optional())
    .query(({ ctx }) => getActiveConfig(ctx.services.database, ctx.principal.namespaceId)),
  /** Every stored version, newest first, with the active one marked. */
  list: secretProcedure
    .input(z.object({}).strict().optional())
    .query(({ ctx }) => listConfigs(ctx.services.database, ctx.principal.namespaceId)),
  /** Stores a new immutable version; `activate: true` switches to it in the same transaction. */
  save: secretProcedure
    .input(
      z
        .object({
          config: engineConfigSchema,
          name: pgText().min(1).max(128).optional(),
          note: pgText().max(2_000).optional(),
          activate: z.boolean().default(false),
        })
        .strict(),
    )
    .mutation(async ({ ctx, input }) => {
      const saved = await saveConfig(ctx.services.database, ctx.principal.namespaceId, input);
      if (input.activate) reloadNow(ctx);
      return saved;
    }),
  /** Switches to a stored version without a restart. */
  activate: secretProcedure
    .input(
      z
        .object({
          version: z
            .number()
            .int('must be a whole number')
            .positive('versions start at 1')
            .max(PG_INT_MAX, `no version is above ${PG_INT_MAX}; see admin.config.list`),
        })
        .strict(),
    )
    .mutation(async ({ ctx, input }) => {
      const result = await activateConfig(ctx.services.database, ctx.principal.namespaceId, input.version);
      reloadNow(ctx);
      return result;
    }),
  /** Returns to the version active before the last activation (defaults before the first). */
  rollback: secretProcedure.input(z.object({}).strict().optional()).mutation(async ({ ctx }) => {
    const result = await rollbackConfig(ctx.services.database, ctx.principal.namespaceId);
    reloadNow(ctx);
    return result;
  }),
});

/** Operator procedures; secret keys only. */
export const adminRouter = router({ config: configRouter });
