import { limits, normalizeTag, SURFACES } from '@recsys/engine/protocol';
import { z } from 'zod';
import { idSchema } from '../ingest/contracts/common';
import { PG_INT_MAX, pgText } from '../ingest/contracts/pgSafe';

/** The metrics results report per variant; any of them can be primary or guarded. */
export const EXPERIMENT_METRICS = ['ctr', 'addToCartRate', 'conversionRate', 'revenuePerVisitor'] as const;
export type ExperimentMetric = (typeof EXPERIMENT_METRICS)[number];

/**
 * Service guardrails: how the variant's requests were served rather than what visitors did.
 * `p95LatencyMs`: the 95th percentile of the time its lists took to serve, ms. `errorRate`: its
 * requests that failed after being assigned to it, over all its requests (served lists + failed).
 * Both only take a `max`.
 */
export const SERVICE_GUARDRAIL_METRICS = ['p95LatencyMs', 'errorRate'] as const;

/**
 * Guardrail metrics of how lists were served, judged over the last `guardrails.windowMinutes` rather
 * than the whole experiment: a latency spike, an outage or a run of empty lists that has been fixed
 * stops counting once the window has passed it.
 */
export const WINDOWED_GUARDRAIL_METRICS = [
  ...SERVICE_GUARDRAIL_METRICS,
  'emptyListRate',
  'fallbackRate',
] as const;

/** Minutes of recent service the windowed guardrails judge when `guardrails.windowMinutes` is absent. */
export const DEFAULT_GUARDRAIL_WINDOW_MINUTES = 60;

/**
 * Metrics guardrails may bound besides {@link EXPERIMENT_METRICS}: how often the served list was
 * empty or filled by fallbacks, (bundle experiments) the share of served bundles whose every
 * item was added to a cart with the bundle's `requestId`, and the {@link SERVICE_GUARDRAIL_METRICS}.
 */
export const GUARDRAIL_METRICS = [
  ...EXPERIMENT_METRICS,
  'emptyListRate',
  'fallbackRate',
  'bundleAcceptance',
  ...SERVICE_GUARDRAIL_METRICS,
] as const;
export type GuardrailMetric = (typeof GUARDRAIL_METRICS)[number];

const slug = (what: string) =>
  z
    .string()
    .regex(
      /^[a-z0-9][a-z0-9_-]{0,63}$/,
      `${what} is 1–64 lowercase letters, digits, "-" or "_", starting with a letter or digit (e.g. "blend-test")`,
    );

export const experimentIdSchema = slug('an experiment id');

/** The id of a named rule set: what rules carry as `ruleSet` and a `rules` variant names. */
export const ruleSetIdSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/,
    'a rule set id: 1–128 letters, digits, ".", "_", ":" or "-", starting with a letter or digit (the `ruleSet` of its rules, e.g. "summer-sale")',
  );

const variantBase = {
  key: slug('a variant key'),
  /** Relative share of the experiment's traffic. @default 1 */
  weight: z.number().finite().positive('weights are > 0').max(1_000).default(1),
};

/**
 * What a variant serves. `control`: the namespace's active configuration. `config`: a stored
 * configuration version. `profile`: a built-in profile. `surface`: the list shown or not shown at all.
 * `rules`: the base rules plus those of a named rule set (rules created with `ruleSet: <id>`), which
 * only this variant's visitors see. `bundle`: on the experiment's anchor items' product pages,
 * `recs.bundle` serves these partner items (and discount) instead of the computed bundle; a bundle
 * experiment's variants are `control` (the computed bundle) and `bundle` ones.
 */
export const variantSchema = z.discriminatedUnion('kind', [
  z.object({ ...variantBase, kind: z.literal('control') }).strict(),
  z
    .object({
      ...variantBase,
      kind: z.literal('config'),
      version: z.number().int('a whole number').positive().max(PG_INT_MAX),
    })
    .strict(),
  z
    .object({
      ...variantBase,
      kind: z.literal('profile'),
      profile: z.string().regex(/^[a-z0-9-]{1,64}$/, 'a built-in profile name such as "online-retail"'),
    })
    .strict(),
  z.object({ ...variantBase, kind: z.literal('surface'), enabled: z.boolean() }).strict(),
  z
    .object({
      ...variantBase,
      kind: z.literal('rules'),
      ruleSetId: ruleSetIdSchema,
    })
    .strict(),
  z
    .object({
      ...variantBase,
      kind: z.literal('bundle'),
      /** The anchor's partners, in order (unavailable ones are left out when served). */
      partnerItemIds: z
        .array(idSchema)
        .min(1, 'a bundle has 1–3 partner items besides the anchor')
        .max(3, 'a bundle has 1–3 partner items besides the anchor'),
      /** Bundle discount, percent; absent: the namespace's `bundle.discountPercent`. */
      discountPercent: z.number().min(0).max(90, 'at most 90 (percent)').optional(),
    })
    .strict(),
]);
export type VariantInput = z.output<typeof variantSchema>;

export const targetSchema = z
  .object({
    /** Surfaces the experiment runs on (all when absent). */
    surfaces: z.array(z.enum(SURFACES)).min(1).max(SURFACES.length).optional(),
    /** Placements (`placement` of the request, e.g. `pdp`); all when absent. */
    placements: z.array(pgText().min(1).max(64)).min(1).max(50).optional(),
    /** Values of the request's `traits.segment`. */
    segments: z.array(pgText().min(1).max(256)).min(1).max(50).optional(),
    /** Values of the request's `traits.country` (ISO codes, compared case-insensitively). */
    countries: z.array(pgText().min(1).max(64)).min(1).max(250).optional(),
    /**
     * Product pages the experiment runs on: the request's `itemId` (the anchor of `recs.bundle` and
     * `recs.similar`). Required by bundle experiments.
     */
    anchorItemIds: z.array(idSchema).min(1).max(1_000).optional(),
    /**
     * Product pages of items in these categories (the anchor's `category:<name>` tags, names without
     * the prefix); with `anchorItemIds`, a page in either runs it.
     */
    anchorCategories: z
      .array(
        pgText()
          .min(1)
          .max(limits.tagLength)
          // As the catalog's tags are stored, so "Tea Pots" finds `category:tea pots`.
          .transform((name) => normalizeTag(`category:${name}`).slice('category:'.length)),
      )
      .min(1)
      .max(200)
      .optional(),
  })
  .strict();
export type ExperimentTarget = z.output<typeof targetSchema>;

export const guardrailRuleSchema = z
  .object({
    metric: z.enum(GUARDRAIL_METRICS),
    /** Breached when a variant's rate falls below. */
    min: z.number().finite().optional(),
    /** Breached when a variant's rate rises above (e.g. a spike that smells of bots). */
    max: z.number().finite().optional(),
  })
  .strict()
  .refine((r) => r.min !== undefined || r.max !== undefined, 'give min, max or both')
  .refine((r) => r.min === undefined || r.max === undefined || r.min <= r.max, 'min must not exceed max')
  .refine(
    (r) => r.min === undefined || !(SERVICE_GUARDRAIL_METRICS as readonly string[]).includes(r.metric),
    {
      path: ['min'],
      message:
        'p95LatencyMs and errorRate take a max only (a variant is never too fast or too reliable), e.g. { "metric": "p95LatencyMs", "max": 250 }',
    },
  )
  .refine((r) => r.metric !== 'errorRate' || r.max === undefined || (r.max >= 0 && r.max <= 1), {
    path: ['max'],
    message: 'errorRate is a share of requests: a max between 0 and 1, e.g. 0.01',
  })
  .refine((r) => r.metric !== 'p95LatencyMs' || r.max === undefined || r.max > 0, {
    path: ['max'],
    message: 'p95LatencyMs is in milliseconds: a max above 0, e.g. 250',
  });

const WINDOW_MESSAGE =
  'windowMinutes is the minutes of recent service the service guardrails judge: a whole number from 1 to 10080 (a week), e.g. 60';

export const guardrailsSchema = z
  .object({
    /** Visitors every variant needs before any guardrail can breach. @default 1000 */
    minSample: z.number().int().min(0).max(PG_INT_MAX).default(1_000),
    /** Consecutive breaching evaluations that pause the experiment. @default 3 */
    consecutive: z.number().int().min(1).max(1_000).default(3),
    rules: z.array(guardrailRuleSchema).max(20).default([]),
    /**
     * Minutes of recent service that `p95LatencyMs`, `errorRate`, `emptyListRate` and `fallbackRate`
     * are judged over (the other metrics are judged over the whole experiment): a problem that has
     * been fixed stops counting once this window has passed it.
     * @default 60
     * @example { "windowMinutes": 30 }
     */
    windowMinutes: z
      .number({ error: WINDOW_MESSAGE })
      .int(WINDOW_MESSAGE)
      .min(1, WINDOW_MESSAGE)
      .max(10_080, WINDOW_MESSAGE)
      .default(DEFAULT_GUARDRAIL_WINDOW_MINUTES),
    /** A Slack-compatible incoming webhook told about every automatic pause. */
    webhookUrl: z
      .url({ protocol: /^https?$/, error: 'an http(s) URL, e.g. a Slack incoming webhook' })
      .max(2_048)
      .optional(),
  })
  .strict();
export type Guardrails = z.output<typeof guardrailsSchema>;

/** Metrics a bandit can learn from: rates of a yes/no outcome, so each arm has a Beta posterior. */
export const BANDIT_METRICS = ['ctr', 'addToCartRate', 'conversionRate'] as const;
export type BanditMetric = (typeof BANDIT_METRICS)[number];

/** How a bandit experiment allocates its traffic (see `experiments/bandit`). */
export const banditSchema = z
  .object({
    /**
     * The attributed outcome each arm is rewarded for: `ctr` (a served list clicked), `addToCartRate`
     * or `conversionRate` (a visitor who added or bought after their first list).
     * @default 'ctr'
     */
    metric: z.enum(BANDIT_METRICS).default('ctr'),
    /**
     * Share of the experiment's traffic that always gets the control (the first variant), whatever the
     * posteriors say: the baseline every lift is read against.
     * @default 0.1
     */
    holdout: z.number().min(0).max(0.9, 'at most 0.9: a bandit needs traffic to allocate').default(0.1),
    /**
     * Least share of the experiment's traffic every arm keeps, so a variant that started badly still
     * gets enough visitors to recover.
     * @default 0.05
     */
    floor: z.number().min(0).max(0.5).default(0.05),
  })
  .strict();
export type BanditSettings = z.output<typeof banditSchema>;

export const createExperimentSchema = z
  .object({
    id: experimentIdSchema,
    name: pgText().min(1).max(200),
    hypothesis: pgText().max(2_000).optional(),
    /** The first variant is the control every lift is measured against. */
    variants: z
      .array(variantSchema)
      .min(2, 'an experiment needs a control and at least one other variant')
      .max(10)
      .superRefine((vs, ctx) => {
        const seen = new Set<string>();
        vs.forEach((v, i) => {
          if (seen.has(v.key))
            ctx.addIssue({ code: 'custom', path: [i, 'key'], message: `"${v.key}" is used twice` });
          seen.add(v.key);
        });
      }),
    /** Share of targeted visitors who enter the experiment, 0–1. @default 1 */
    traffic: z.number().min(0.0001, 'at least 0.0001').max(1, 'at most 1 (everyone)').default(1),
    target: targetSchema.default({}),
    primaryMetric: z.enum(EXPERIMENT_METRICS).default('conversionRate'),
    /** Relative lift the test is tuned for and the planner sizes for. @default 0.05 */
    minimumDetectableEffect: z.number().min(0.001).max(10).default(0.05),
    guardrails: guardrailsSchema.default({
      minSample: 1_000,
      consecutive: 3,
      rules: [],
      windowMinutes: DEFAULT_GUARDRAIL_WINDOW_MINUTES,
    }),
    /**
     * `fixed`: every variant keeps its weight. `bandit`: weights are recomputed by Thompson sampling
     * on `bandit.metric` (the `bandit-reallocate` job, every 30 minutes); the weights given are ignored.
     * @default 'fixed'
     */
    allocation: z.enum(['fixed', 'bandit']).default('fixed'),
    /** Settings of a bandit; only with `allocation: 'bandit'` (defaults apply when absent). */
    bandit: banditSchema.optional(),
  })
  .strict()
  .superRefine((e, ctx) => {
    const bundleRule = e.guardrails.rules.findIndex((r) => r.metric === 'bundleAcceptance');
    if (bundleRule >= 0 && !e.variants.some((v) => v.kind === 'bundle'))
      ctx.addIssue({
        code: 'custom',
        path: ['guardrails', 'rules', bundleRule, 'metric'],
        message: 'bundleAcceptance guards bundle experiments (a variant of kind "bundle") only',
      });
    if (e.variants.some((v) => v.kind === 'bundle')) {
      e.variants.forEach((v, i) => {
        if (v.kind !== 'control' && v.kind !== 'bundle')
          ctx.addIssue({
            code: 'custom',
            path: ['variants', i, 'kind'],
            message: `a bundle experiment compares bundles: its variants are "control" (the computed bundle) or "bundle", not "${v.kind}"`,
          });
      });
      if (!e.target.anchorItemIds && !e.target.anchorCategories)
        ctx.addIssue({
          code: 'custom',
          path: ['target', 'anchorItemIds'],
          message:
            'a bundle experiment needs the product pages it runs on: target.anchorItemIds (e.g. ["sku-1"]) or target.anchorCategories (e.g. ["teapots"])',
        });
      if (e.target.surfaces)
        ctx.addIssue({
          code: 'custom',
          path: ['target', 'surfaces'],
          message: 'a bundle experiment runs on recs.bundle only: leave target.surfaces out',
        });
      if (e.allocation === 'bandit')
        ctx.addIssue({
          code: 'custom',
          path: ['allocation'],
          message: 'bundle experiments use fixed allocation',
        });
    }
    if (e.allocation !== 'bandit') {
      if (e.bandit)
        ctx.addIssue({
          code: 'custom',
          path: ['bandit'],
          message: 'bandit settings need allocation "bandit"',
        });
      return;
    }
    if (e.target.surfaces?.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['target', 'surfaces'],
        message:
          'a bandit learns per surface: give exactly one surface, e.g. target.surfaces ["forUser"] (one bandit per surface)',
      });
    }
    const { holdout, floor } = banditSchema.parse(e.bandit ?? {});
    const least = Math.max(holdout, floor) + floor * (e.variants.length - 1);
    if (least > 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['bandit'],
        message: `holdout ${holdout} and a floor of ${floor} for ${e.variants.length} arms need ${least.toFixed(2)} of the traffic (more than all of it); lower the floor or the holdout`,
      });
    }
  });
export type CreateExperimentInput = z.input<typeof createExperimentSchema>;
