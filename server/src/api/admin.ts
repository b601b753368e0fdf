import { z } from 'zod';
import { createApiKey, listApiKeys, revokeApiKey, setApiKeyOrigins } from '../auth/namespaces';
import {
  activateConfig,
  engineConfigSchema,
  getActiveConfig,
  listConfigs,
  rollbackConfig,
  saveConfig,
} from '../config';
import { UserError } from '../errors';
import { PG_INT_MAX, pgText } from '../ingest/contracts';
import { computeOverview, OVERVIEW_RANGES, type OverviewRange } from '../obs/overview';
import { bundlesRouter } from './bundles';
import { catalogRouter } from './catalog';
import { experimentsRouter } from './experiments';
import { type Context, router, secretProcedure } from './init';
import { jobsRouter } from './jobs';
import { lookupRouter } from './lookup';
import { operatorsRouter } from './operators';
import { overridesRouter, rulesRouter } from './rules';
import { tracesRouter } from './traces';

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

const keyId = z
  .string()
  .regex(/^[0-9a-f]{16}$/, 'a key id is 16 hex digits, the third part of the key; see admin.keys.list');
const origins = z
  .array(pgText().min(1).max(2_048))
  .max(100, 'at most 100 origins per key; use a "*.shop.example" wildcard for many subdomains');

/** A changed key must not keep working from this process's key cache until its entry expires. */
function forgetCachedKeys(ctx: Context) {
  ctx.services.keys.clear();
}

/**
 * Key management for a running server (the CLI's `--url`): any secret key of a namespace manages
 * that namespace's keys, secret and publishable, and no other namespace's. There is no separate
 * admin key kind: a secret key already reads and writes everything in its namespace, so one that
 * could not mint another would protect nothing.
 */
const keysRouter = router({
  /** The namespace's keys, without secrets (only their hashes are stored). */
  list: secretProcedure.input(z.object({}).strict().optional()).query(async ({ ctx }) =>
    (await listApiKeys(ctx.services.database, ctx.principal.namespaceId)).map((k) => ({
      ...k,
      createdAt: k.createdAt.toISOString(),
      revokedAt: k.revokedAt?.toISOString() ?? null,
    })),
  ),
  /** Creates a key; the response is the only time its secret is visible. */
  create: secretProcedure
    .input(
      z
        .object({
          kind: z.enum(['secret', 'publishable']),
          allowedOrigins: origins.default([]),
          label: pgText().max(200).optional(),
        })
        .strict(),
    )
    .mutation(({ ctx, input }) => {
      if (ctx.principal.operator && input.kind === 'secret') {
        // The console never handles secret keys: one shown in a browser could be kept by it.
        throw new UserError(
          'FORBIDDEN',
          'The admin console creates publishable keys only; create secret keys on the server with `recsys keys create --kind secret`, so they never pass through a browser.',
        );
      }
      return createApiKey(ctx.services.database, ctx.principal.namespaceId, {
        kind: input.kind,
        allowedOrigins: input.allowedOrigins,
        ...(input.label === undefined ? {} : { label: input.label }),
      });
    }),
  /** Replaces the allowed origins of a publishable key. */
  setOrigins: secretProcedure
    .input(z.object({ keyId, allowedOrigins: origins.min(1, 'give at least one origin') }).strict())
    .mutation(async ({ ctx, input }) => {
      const result = await setApiKeyOrigins(
        ctx.services.database,
        ctx.principal.namespaceId,
        input.keyId,
        input.allowedOrigins,
      );
      forgetCachedKeys(ctx);
      return result;
    }),
  /** Revokes a key: refused at once by this process, by other replicas within the key cache's TTL. */
  revoke: secretProcedure.input(z.object({ keyId }).strict()).mutation(async ({ ctx, input }) => {
    if (input.keyId === ctx.principal.keyId) {
      throw new UserError(
        'BAD_REQUEST',
        `Key ${input.keyId} is the key this request is signed with; revoke it with another secret key of the namespace, so you are never locked out.`,
      );
    }
    const revoked = await revokeApiKey(ctx.services.database, ctx.principal.namespaceId, input.keyId);
    if (!revoked) {
      throw new UserError(
        'NOT_FOUND',
        `No active key ${input.keyId} in "${ctx.principal.namespaceId}"; see admin.keys.list.`,
      );
    }
    forgetCachedKeys(ctx);
    return { keyId: input.keyId, revoked: true as const };
  }),
});

const overviewRange = z.enum(Object.keys(OVERVIEW_RANGES) as [OverviewRange, ...OverviewRange[]], {
  error: () => `must be one of ${Object.keys(OVERVIEW_RANGES).join(', ')} (the last hour, day or week)`,
});

/** Operator procedures; secret keys only. */
export const adminRouter = router({
  /**
   * The console's landing page: events per bucket by type, served lists (fallback, empty),
   * impressions and the clicks, adds and purchases attributed to served lists, over `range`.
   */
  overview: secretProcedure
    .input(
      z
        .object({ range: overviewRange.default('24h') })
        .strict()
        .optional(),
    )
    .query(({ ctx, input }) =>
      computeOverview(ctx.services.database, ctx.principal.namespaceId, input?.range ?? '24h'),
    ),
  config: configRouter,
  keys: keysRouter,
  experiments: experimentsRouter,
  traces: tracesRouter,
  rules: rulesRouter,
  overrides: overridesRouter,
  operators: operatorsRouter,
  jobs: jobsRouter,
  bundles: bundlesRouter,
  catalog: catalogRouter,
  lookup: lookupRouter,
});
