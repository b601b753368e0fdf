import { z } from 'zod';
import { JOB_NAMES } from '../jobs/definitions';
import { router, secretProcedure } from './init';

const jobName = z.enum(JOB_NAMES, {
  error: () => `a job is one of ${JOB_NAMES.join(', ')}; see admin.jobs.list`,
});

/**
 * The scheduled jobs, seen from one namespace; secret keys only. Runs asked for here are limited to
 * the key's namespace, and a run over every namespace shows only this namespace's part of its summary:
 * a namespace's key never acts on, or reads about, another namespace.
 */
export const jobsRouter = router({
  /** Every job with its schedule on this server, next slot and latest run. */
  list: secretProcedure
    .input(z.object({}).strict().optional())
    .query(({ ctx }) => ctx.services.jobs.list({ namespaceId: ctx.principal.namespaceId })),
  /**
   * Runs a job now for this namespace and answers with the recorded run (a job that fails is a
   * `failed` run). `dryRun` reports what it would do and changes nothing. 409 while a real run of the
   * job is going.
   */
  run: secretProcedure
    .input(z.object({ job: jobName, dryRun: z.boolean().default(false) }).strict())
    .mutation(({ ctx, input }) =>
      ctx.services.jobs.run(input.job, { namespaceId: ctx.principal.namespaceId, dryRun: input.dryRun }),
    ),
  /** Runs, newest first: scheduled ones over every namespace, and this namespace's manual ones. */
  history: secretProcedure
    .input(
      z
        .object({
          job: jobName.optional(),
          limit: z.number().int('a whole number').min(1).max(200, 'at most 200 runs per call').default(20),
        })
        .strict()
        .optional(),
    )
    .query(({ ctx, input }) =>
      ctx.services.jobs.history({
        job: input?.job,
        limit: input?.limit ?? 20,
        namespaceId: ctx.principal.namespaceId,
      }),
    ),
});
