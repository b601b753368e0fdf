import { type RuleDefinition, validateRule } from '@recsys/engine';
import { SURFACES } from '@recsys/engine/protocol';
import { z } from 'zod';
import type { Principal } from '../auth/keyResolver';
import { actorOf as actorOfPrincipal } from '../console/audit';
import { ruleSetIdSchema } from '../experiments/contracts';
import { idSchema } from '../ingest/contracts/common';
import { pgText, refinePgJson } from '../ingest/contracts/pgSafe';
import {
  addOverride,
  createRule,
  exportRules,
  getRule,
  importRules,
  listOverrides,
  listRules,
  previewRuleChange,
  removeRule,
  setRuleEnabled,
  updateRule,
} from '../rules';
import { assertPlacedHere } from './engines';
import { type Context, router, secretProcedure } from './init';
import { recsBaseInputSchema } from './recsContract';

/**
 * A rule definition, checked by the engine's own `validateRule` (one set of checks and messages for
 * the engine, the API and the CLI): each issue names the field (`rule.slot`) and the fix.
 */
export const ruleDefinitionSchema = z
  .unknown()
  .superRefine((value, ctx) => {
    for (const issue of validateRule(value))
      ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
    // Stored as jsonb: NUL and lone surrogates anywhere would fail the insert (a 500), not the field.
    refinePgJson(value, ctx);
  })
  .transform((value) => value as RuleDefinition);

const ruleId = pgText()
  .min(1, 'give the rule id; see admin.rules.list')
  .max(128, 'rule ids are at most 128 characters; see admin.rules.list');
const note = pgText().max(2_000).optional();

/** Who made a change, as the audit trail records it: `key:<keyId>` or `operator:<name>`. */
const actorOf = (ctx: Context & { principal: Principal }) => actorOfPrincipal(ctx.principal);

/**
 * This process applies the change before answering (where its engines share the thread), so the
 * caller's next list has it; other replicas see the `changes` row on their next poll.
 */
async function reloadNow(ctx: Context): Promise<void> {
  const engines = ctx.services.engines;
  if (engines?.settle) await engines.settle();
  else engines?.nudge();
}

const previewRequest = recsBaseInputSchema.extend({
  surface: z.enum(SURFACES, { error: `surface must be one of ${SURFACES.join(', ')}` }),
  itemId: idSchema.optional(),
  itemIds: z.array(idSchema).max(100).optional(),
  category: pgText().min(1).max(64).optional(),
  /** Rank as a visitor of a `rules:<ruleSet>` variant: that set's rules apply besides the base set. */
  ruleSet: ruleSetIdSchema.optional(),
});

const rulesRouter = router({
  /** The namespace's rules (overrides are in admin.overrides.list), by id. */
  list: secretProcedure
    .input(
      z
        .object({
          kind: z.enum(['block', 'filter', 'pin', 'inject', 'boost', 'bury']).optional(),
          enabled: z.boolean().optional(),
          /** Only the rules of this rule set; `null`: only the base set (rules of no set). */
          ruleSet: ruleSetIdSchema.nullable().optional(),
        })
        .strict()
        .optional(),
    )
    .query(({ ctx, input }) => listRules(ctx.services.database, ctx.principal.namespaceId, input ?? {})),
  /** One rule (or override) with its audit trail: who changed what, when. */
  get: secretProcedure
    .input(z.object({ ruleId }).strict())
    .query(({ ctx, input }) => getRule(ctx.services.database, ctx.principal.namespaceId, input.ruleId)),
  /** Creates a rule; live in this process at once, in every replica within a poll. */
  create: secretProcedure
    .input(z.object({ rule: ruleDefinitionSchema, note }).strict())
    .mutation(async ({ ctx, input }) => {
      const created = await createRule(
        ctx.services.database,
        ctx.principal.namespaceId,
        input.rule,
        actorOf(ctx),
        {
          note: input.note ?? null,
        },
      );
      await reloadNow(ctx);
      return created;
    }),
  /** Replaces a rule's definition (same id); its version goes up by one. */
  update: secretProcedure
    .input(z.object({ rule: ruleDefinitionSchema, note }).strict())
    .mutation(async ({ ctx, input }) => {
      const updated = await updateRule(
        ctx.services.database,
        ctx.principal.namespaceId,
        input.rule,
        actorOf(ctx),
        input.note ?? null,
      );
      await reloadNow(ctx);
      return updated;
    }),
  /** Switches a rule off, keeping it. */
  disable: secretProcedure.input(z.object({ ruleId, note }).strict()).mutation(async ({ ctx, input }) => {
    const result = await setRuleEnabled(
      ctx.services.database,
      ctx.principal.namespaceId,
      input.ruleId,
      false,
      actorOf(ctx),
      {
        note: input.note ?? null,
      },
    );
    await reloadNow(ctx);
    return result;
  }),
  /** Switches a disabled rule back on. */
  enable: secretProcedure.input(z.object({ ruleId, note }).strict()).mutation(async ({ ctx, input }) => {
    const result = await setRuleEnabled(
      ctx.services.database,
      ctx.principal.namespaceId,
      input.ruleId,
      true,
      actorOf(ctx),
      {
        note: input.note ?? null,
      },
    );
    await reloadNow(ctx);
    return result;
  }),
  /** Deletes a rule; its audit trail stays. */
  remove: secretProcedure.input(z.object({ ruleId }).strict()).mutation(async ({ ctx, input }) => {
    const result = await removeRule(
      ctx.services.database,
      ctx.principal.namespaceId,
      input.ruleId,
      actorOf(ctx),
    );
    await reloadNow(ctx);
    return result;
  }),
  /**
   * A dry run of a change: the lists with and without it side by side (for the given requests, or
   * recent served lists), and how many served lists of the last day it would have changed.
   */
  preview: secretProcedure
    .input(
      z
        .object({
          change: z
            .object({
              upsert: z.array(ruleDefinitionSchema).max(1_000).optional(),
              remove: z.array(ruleId).max(1_000).optional(),
            })
            .strict()
            .refine((c) => (c.upsert?.length ?? 0) + (c.remove?.length ?? 0) > 0, {
              message:
                'say what would change: change.upsert (rules to add or replace) or change.remove (rule ids)',
            }),
          requests: z.array(previewRequest).max(50, 'at most 50 requests per preview').optional(),
          sample: z.number().int().min(0).max(50, 'show at most 50 served lists').optional(),
        })
        .strict(),
    )
    .mutation(({ ctx, input }) => {
      // The preview ranks on this replica's engine of the namespace: refuse here, with the reason,
      // when another pool holds it.
      if (ctx.services.engines) assertPlacedHere(ctx, ctx.principal.namespaceId);
      return previewRuleChange(ctx.services.database, ctx.services.engines, ctx.principal.namespaceId, input);
    }),
  /** Every rule as one JSON document (`recsys rules export`), disabled ones included. */
  export: secretProcedure
    .input(z.object({}).strict().optional())
    .query(({ ctx }) => exportRules(ctx.services.database, ctx.principal.namespaceId)),
  /**
   * Writes rules from a JSON document in one transaction (a bad rule changes nothing): `merge`
   * creates and updates, `replace` also removes rules the document lacks.
   */
  import: secretProcedure
    .input(
      z
        .object({
          rules: z.array(ruleDefinitionSchema).max(10_000),
          mode: z.enum(['merge', 'replace']).default('merge'),
        })
        .strict(),
    )
    .mutation(async ({ ctx, input }) => {
      const result = await importRules(
        ctx.services.database,
        ctx.principal.namespaceId,
        input.rules,
        input.mode,
        actorOf(ctx),
      );
      await reloadNow(ctx);
      return result;
    }),
});

const overridesRouter = router({
  /** Manual overrides, newest first, each `active`, `expired` or `cancelled`. */
  list: secretProcedure
    .input(z.object({}).strict().optional())
    .query(({ ctx }) => listOverrides(ctx.services.database, ctx.principal.namespaceId)),
  /**
   * A merchandiser's quick action with an expiry and a reason: "boost this item ×3 until Friday",
   * "pin this on home for 2 days". It outranks standing rules of its kind.
   */
  add: secretProcedure
    .input(
      z
        .object({
          kind: z.enum(['pin', 'boost', 'bury', 'block']),
          itemIds: z.array(idSchema).min(1, 'name at least one item').max(100),
          slot: z.number().int().min(0).max(999).optional(),
          multiplier: z.number().positive().max(1000).optional(),
          surfaces: z.array(z.enum(SURFACES)).min(1).optional(),
          placements: z.array(pgText().min(1).max(64)).min(1).optional(),
          expiresAt: z.iso
            .datetime({
              offset: true,
              error: 'expiresAt must be an ISO-8601 instant, e.g. 2026-12-24T00:00:00Z',
            })
            .optional(),
          hours: z
            .number()
            .positive()
            .max(24 * 366, 'at most a year; use a rule for standing decisions')
            .optional(),
          reason: pgText().min(3, 'say why (at least 3 characters): it is listed with the override').max(500),
          id: ruleId.optional(),
        })
        .strict()
        .refine((v) => (v.expiresAt === undefined) !== (v.hours === undefined), {
          path: ['expiresAt'],
          message: 'give either expiresAt (an instant) or hours (from now): an override always expires',
        })
        .refine((v) => v.kind === 'pin' || v.slot === undefined, {
          path: ['slot'],
          message: 'only a pin has a slot',
        })
        .refine((v) => v.kind !== 'block' || v.multiplier === undefined, {
          path: ['multiplier'],
          message: 'a block has no multiplier',
        }),
    )
    .mutation(async ({ ctx, input }) => {
      const when =
        input.surfaces || input.placements
          ? {
              ...(input.surfaces ? { surfaces: input.surfaces } : {}),
              ...(input.placements ? { placements: input.placements } : {}),
            }
          : undefined;
      const created = await addOverride(
        ctx.services.database,
        ctx.principal.namespaceId,
        {
          kind: input.kind,
          itemIds: input.itemIds,
          slot: input.slot,
          multiplier: input.multiplier,
          when,
          expiresAt: input.expiresAt ?? new Date(Date.now() + input.hours! * 3_600_000).toISOString(),
          reason: input.reason,
          id: input.id,
        },
        actorOf(ctx),
      );
      await reloadNow(ctx);
      return created;
    }),
  /** Ends an override now; it stays listed as cancelled. */
  cancel: secretProcedure.input(z.object({ ruleId, note }).strict()).mutation(async ({ ctx, input }) => {
    const result = await setRuleEnabled(
      ctx.services.database,
      ctx.principal.namespaceId,
      input.ruleId,
      false,
      actorOf(ctx),
      {
        origin: 'override',
        note: input.note ?? null,
      },
    );
    await reloadNow(ctx);
    return result;
  }),
});

export { overridesRouter, rulesRouter };
