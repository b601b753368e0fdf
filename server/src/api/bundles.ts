import { z } from 'zod';
import { bundleAcceptance } from '../bundles/acceptance';
import { router, secretProcedure } from './init';

/** Product bundles' telemetry (the bundles themselves are `recs.bundle`). */
export const bundlesRouter = router({
  /**
   * Acceptance per bundle and by day: shown → every item added with the bundle's requestId →
   * purchased. Computed from the stored lists and events on each call.
   */
  acceptance: secretProcedure
    .input(
      z
        .object({
          days: z
            .number()
            .int('days must be a whole number')
            .min(1, 'days must be between 1 and 366')
            .max(366, 'days must be between 1 and 366')
            .default(30),
          purchaseWindowDays: z
            .number()
            .int('purchaseWindowDays must be a whole number')
            .min(0, 'purchaseWindowDays must be between 0 and 90')
            .max(90, 'purchaseWindowDays must be between 0 and 90')
            .default(7),
        })
        .strict()
        .default({ days: 30, purchaseWindowDays: 7 }),
    )
    .query(({ ctx, input }) => bundleAcceptance(ctx.services.database, ctx.principal.namespaceId, input)),
});
