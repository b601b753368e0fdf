import { z } from 'zod';
import type { Principal } from '../auth/keyResolver';
import { actorOf } from '../console/audit';
import {
  listAllocations,
  reallocateExperiment,
  reallocateNamespace,
} from '../experiments/bandit/allocations';
import { createExperimentSchema, experimentIdSchema } from '../experiments/contracts';
import {
  checkExperimentGuardrails,
  checkNamespaceGuardrails,
  guardrailStatus,
} from '../experiments/guardrails';
import { planExperiment, planExperimentSchema } from '../experiments/plan';
import { experimentResults, resultsOptionsShape } from '../experiments/results';
import {
  createExperiment,
  type ExperimentAction,
  getExperiment,
  listExperimentChanges,
  listExperiments,
  transitionExperiment,
} from '../experiments/store';
import { pgText } from '../ingest/contracts/pgSafe';
import { type Context, router, secretProcedure } from './init';

/** The trail's actor: the key id (as before consoles existed), or `operator:<name>` for a session. */
const experimentActor = (principal: Principal) => (principal.operator ? actorOf(principal) : principal.keyId);

const byId = z.object({ id: experimentIdSchema }).strict();
const withReason = z.object({ id: experimentIdSchema, reason: pgText().max(2_000).optional() }).strict();

/** A lifecycle step; this process serves the new status at once, other replicas within seconds. */
const step = (action: ExperimentAction) =>
  secretProcedure.input(withReason).mutation(async ({ ctx, input }) => {
    const namespaceId = ctx.principal.namespaceId;
    const experiment = await transitionExperiment(
      ctx.services.database,
      namespaceId,
      input.id,
      action,
      experimentActor(ctx.principal),
      input.reason === undefined ? {} : { reason: input.reason },
    );
    forgetRunning(ctx, namespaceId);
    return experiment;
  });

function forgetRunning(ctx: Context, namespaceId: string) {
  ctx.services.experiments?.invalidate(namespaceId);
}

/** Experiments of the key's namespace; secret keys only. */
export const experimentsRouter = router({
  /** Creates a draft; `start` puts it in front of visitors. */
  create: secretProcedure
    .input(createExperimentSchema)
    .mutation(({ ctx, input }) =>
      createExperiment(
        ctx.services.database,
        ctx.principal.namespaceId,
        input,
        experimentActor(ctx.principal),
      ),
    ),
  /**
   * Sizes an experiment before creating it: the control's current rate of the primary metric on the
   * surfaces, the visitors per variant the always-valid test needs for the minimum detectable effect,
   * and the days that takes at the surfaces' recent traffic. Reads only.
   */
  plan: secretProcedure
    .input(planExperimentSchema)
    .query(({ ctx, input }) => planExperiment(ctx.services.database, ctx.principal.namespaceId, input)),
  /** Every experiment, newest first. */
  list: secretProcedure
    .input(z.object({}).strict().optional())
    .query(({ ctx }) => listExperiments(ctx.services.database, ctx.principal.namespaceId)),
  /** One experiment with its recorded changes. */
  get: secretProcedure.input(byId).query(async ({ ctx, input }) => ({
    ...(await getExperiment(ctx.services.database, ctx.principal.namespaceId, input.id)),
    changes: await listExperimentChanges(ctx.services.database, ctx.principal.namespaceId, input.id),
  })),
  start: step('start'),
  /** Traffic returns to the control at once; the exposures so far are kept. */
  pause: step('pause'),
  resume: step('resume'),
  complete: step('complete'),
  /**
   * Evaluates the guardrails of one running experiment, or of all of them, now (a scheduler calls
   * this every few minutes); enough consecutive breaches pause the experiment and call its webhook.
   */
  checkGuardrails: secretProcedure
    .input(z.object({ id: experimentIdSchema.optional() }).strict().optional())
    .mutation(({ ctx, input }) => {
      const namespaceId = ctx.principal.namespaceId;
      const options = { log: ctx.services.log, onPaused: () => forgetRunning(ctx, namespaceId) };
      return input?.id
        ? checkExperimentGuardrails(ctx.services.database, namespaceId, input.id, options).then((c) => [c])
        : checkNamespaceGuardrails(ctx.services.database, namespaceId, options);
    }),
  /** A bandit's settings and every allocation it has had, oldest first (400 for fixed weights). */
  allocations: secretProcedure
    .input(byId)
    .query(({ ctx, input }) => listAllocations(ctx.services.database, ctx.principal.namespaceId, input.id)),
  /**
   * Recomputes the allocation of one running bandit, or of all of them, now (the `bandit-reallocate`
   * job does it every 30 minutes); `dryRun` reports the allocation it would make and changes nothing.
   */
  reallocate: secretProcedure
    .input(
      z
        .object({ id: experimentIdSchema.optional(), dryRun: z.boolean().default(false) })
        .strict()
        .optional(),
    )
    .mutation(async ({ ctx, input }) => {
      const namespaceId = ctx.principal.namespaceId;
      const options = { actor: ctx.principal.keyId, dryRun: input?.dryRun ?? false };
      const done = input?.id
        ? [await reallocateExperiment(ctx.services.database, namespaceId, input.id, options)]
        : await reallocateNamespace(ctx.services.database, namespaceId, options);
      if (done.some((r) => r.outcome === 'reallocated' && !r.dryRun)) forgetRunning(ctx, namespaceId);
      return done;
    }),
  /**
   * Exposures, metrics, lifts with always-valid intervals, the sample-ratio check, and where each
   * variant stands against the guardrails (as the next evaluation would judge it); optionally a
   * breakdown by day, surface or segment and the share of visitors who sent named custom events.
   */
  results: secretProcedure
    .input(z.object({ id: experimentIdSchema, ...resultsOptionsShape }).strict())
    .query(async ({ ctx, input }) => {
      const { id, ...options } = input;
      const { database } = ctx.services;
      const { namespaceId } = ctx.principal;
      const results = await experimentResults(
        database,
        namespaceId,
        id,
        Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
      );
      const experiment = await getExperiment(database, namespaceId, id);
      return { ...results, guardrails: guardrailStatus(experiment, results) };
    }),
});
