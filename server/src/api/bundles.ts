import { z } from 'zod';
import { bundleAcceptance } from '../bundles/acceptance';
import { backfillBundleAcceptance, storedBundleAcceptance } from '../bundles/backfill';
import { router, secretProcedure } from './init';

const wholeDays = (name: string, min: number, max: number) =>
  z
    .number()
    .int(`${name} must be a whole number`)
    .min(min, `${name} must be between ${min} and ${max}`)
    .max(max, `${name} must be between ${min} and ${max}`);

/** Product bundles' telemetry (the bundles themselves are `recs.bundle`). */
export const bundlesRouter = router({
  /**
   * Acceptance per bundle and by day: shown → every item added with the bundle's requestId →
   * purchased. Computed from the stored lists and events on each call; with `stored: true`, read
   * from what the last backfills stored (fast; days never backfilled are missing).
   */
  acceptance: secretProcedure
    .input(
      z
        .object({
          days: wholeDays('days', 1, 366).default(30),
          purchaseWindowDays: wholeDays('purchaseWindowDays', 0, 90).default(7),
          stored: z.boolean().default(false),
        })
        .strict()
        .default({ days: 30, purchaseWindowDays: 7, stored: false }),
    )
    .query(({ ctx, input }) =>
      input.stored
        ? storedBundleAcceptance(ctx.services.database, ctx.principal.namespaceId, { days: input.days })
        : bundleAcceptance(ctx.services.database, ctx.principal.namespaceId, input),
    ),

  /**
   * Recomputes acceptance of the last `lookbackDays` days and stores it per bundle and day (replacing
   * those days: running it twice gives the same rows); `dryRun` computes it and writes nothing.
   */
  backfill: secretProcedure
    .input(
      z
        .object({
          lookbackDays: wholeDays('lookbackDays', 1, 366).default(30),
          purchaseWindowDays: wholeDays('purchaseWindowDays', 0, 90).default(7),
          dryRun: z.boolean().default(false),
        })
        .strict()
        .default({ lookbackDays: 30, purchaseWindowDays: 7, dryRun: false }),
    )
    .mutation(({ ctx, input }) =>
      backfillBundleAcceptance(ctx.services.database, ctx.principal.namespaceId, input),
    ),
});
