import { limits, SIGNALS } from '@recsys/engine/protocol';
import { z } from 'zod';
import { countrySchema, idSchema, visitorIdSchema } from '../ingest/contracts/common';
import { normalizeTag } from '../ingest/contracts/items';
import { pgText } from '../ingest/contracts/pgSafe';

const tagList = z.array(pgText().min(1).max(limits.tagLength).transform(normalizeTag)).max(50);
const price = z.number().finite().nonnegative();

export const recFiltersSchema = z
  .object({
    /** `[min, max]`, either may be null for an open bound. */
    priceBetween: z
      .tuple([price.nullable(), price.nullable()])
      .refine(([lo, hi]) => lo === null || hi === null || lo <= hi, 'min must not exceed max')
      .optional(),
    includeTagsAny: tagList.optional(),
    excludeTagsAny: tagList.optional(),
    excludeIds: z.array(idSchema).max(500).optional(),
  })
  .strict();

/** Weights of some signals; the others keep the configured weight. */
const signalWeights = z.partialRecord(
  z.enum(SIGNALS),
  z.number().finite().min(0, 'weights are >= 0').max(100),
);

/** The documented subset of the engine configuration a request may override. */
export const recOverridesSchema = z
  .object({
    blend: signalWeights.optional(),
    diversity: z
      .object({
        lambda: z.number().min(0).max(1).optional(),
        maxPerBrand: z.number().int().min(0).max(100).optional(),
        maxPerCategory: z.number().int().min(0).max(100).optional(),
      })
      .strict()
      .optional(),
    excludePurchased: z.boolean().optional(),
    fallback: z.boolean().optional(),
  })
  .strict();

export const recsBaseInputSchema = z
  .object({
    // Served lists are logged with these ids: an e-mail here would be stored.
    userId: visitorIdSchema.optional(),
    anonymousId: visitorIdSchema.optional(),
    sessionId: idSchema.optional(),
    /** Number of items, 1–`limits.maxRecs`. */
    k: z
      .number()
      .int('k must be a whole number')
      .min(1, `k must be between 1 and ${limits.maxRecs}`)
      .max(limits.maxRecs, `k must be between 1 and ${limits.maxRecs}`)
      .default(10),
    filters: recFiltersSchema.optional(),
    explain: z.boolean().default(false),
    /** Same data + request + seed → same list. */
    seed: z.number().int().optional(),
    /** Where the list is shown (`home`, `pdp`, …), logged for attribution. */
    placement: pgText().min(1).max(64).optional(),
    /**
     * Items of the visitor's current session, oldest first, used as extra
     * anchors (the latest weighs most) without being stored — e.g. what a
     * headless client saw before it had sent events.
     */
    contextItemIds: z.array(idSchema).max(50).optional(),
    /** Traits of an unknown visitor (locale, device, segment) to shape a cold start. */
    traits: z.record(pgText().max(64), pgText().max(256)).optional(),
    /**
     * The shopper's country (ISO 3166-1 alpha-2, any case): items not sold there are never listed,
     * and prices are the market's.
     */
    country: countrySchema.optional(),
    overrides: recOverridesSchema.optional(),
  })
  .strict();

const needsIdentity = <T extends { userId?: string | undefined; anonymousId?: string | undefined }>(
  input: T,
  ctx: z.RefinementCtx,
) => {
  if (!input.userId && !input.anonymousId) {
    ctx.addIssue({ code: 'custom', path: ['userId'], message: 'this list needs a userId or an anonymousId' });
  }
};

export const recsInputSchemas = {
  forUser: recsBaseInputSchema,
  similar: recsBaseInputSchema.extend({ itemId: idSchema }),
  cart: recsBaseInputSchema.extend({
    itemIds: z.array(idSchema).min(1, 'send the ids of the items in the cart').max(100),
  }),
  buyAgain: recsBaseInputSchema.superRefine(needsIdentity),
  trending: recsBaseInputSchema.extend({ category: pgText().min(1).max(limits.tagLength).optional() }),
  recentlyViewed: recsBaseInputSchema.superRefine(needsIdentity),
};

/**
 * `recs.bundle`: the product page's item and who is looking. The list-shaping fields of other
 * lists (k, seed, explain, overrides, contextItemIds) mean nothing for a bundle and are refused.
 */
export const bundleInputSchema = recsBaseInputSchema
  .pick({
    userId: true,
    anonymousId: true,
    sessionId: true,
    filters: true,
    placement: true,
    traits: true,
    country: true,
  })
  .extend({
    itemId: idSchema,
    /** Most items, the anchor included. */
    maxItems: z
      .number()
      .int('maxItems must be a whole number')
      .min(2, 'maxItems must be between 2 and 4')
      .max(4, 'maxItems must be between 2 and 4')
      .optional(),
  })
  .strict();

/** One member of a group: a userId and/or an anonymousId, as on every list. */
const groupMemberSchema = recsBaseInputSchema
  .pick({ userId: true, anonymousId: true })
  .strict()
  .superRefine(needsIdentity);

/**
 * `recs.group`: a list for 2–10 people at once (a household, a gift). No session, traits, context
 * or overrides: those describe one visitor.
 */
export const groupInputSchema = recsBaseInputSchema
  .pick({ k: true, filters: true, explain: true, seed: true, placement: true, country: true })
  .extend({
    members: z
      .array(groupMemberSchema)
      .min(limits.groupMembersMin, `a group has ${limits.groupMembersMin}–${limits.groupMembersMax} members`)
      .max(limits.groupMembersMax, `a group has ${limits.groupMembersMin}–${limits.groupMembersMax} members`),
    rule: z.enum(['min', 'avg']).default('min'),
    strongFit: z
      .object({
        /** Normalised score (0–1) every member must reach. */
        threshold: z.number().min(0, 'threshold is between 0 and 1').max(1, 'threshold is between 0 and 1'),
        /** Most items locked at the top. @default 3 */
        maxLocked: z.number().int('maxLocked must be a whole number').min(1).max(limits.maxRecs).default(3),
      })
      .strict()
      .optional(),
  })
  .strict();

/** `recs.rerank`: the caller's candidates, in their order, for one visitor. */
export const rerankInputSchema = recsBaseInputSchema
  .pick({
    userId: true,
    anonymousId: true,
    sessionId: true,
    filters: true,
    explain: true,
    seed: true,
    placement: true,
    traits: true,
    country: true,
  })
  .extend({
    itemIds: z
      .array(idSchema)
      .min(1, 'send the candidates to rerank')
      .max(limits.rerankCandidates, `send at most ${limits.rerankCandidates} candidates per call`),
  })
  .strict();

export type RecsBaseInput = z.output<typeof recsBaseInputSchema>;

export type {
  BundleResponse,
  GroupResponse,
  RecommendedItem,
  RecsResponse,
  RerankResponse,
} from '@recsys/engine/protocol';
