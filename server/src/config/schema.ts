import {
  type EngineConfig,
  type PartialEngineConfig,
  resolveEngineConfig,
  SIGNALS,
  type SignalName,
  SURFACES,
  type Surface,
} from '@recsys/engine';
import { z } from 'zod';
import { describeZodError, UserError } from '../errors';

/**
 * A strict object: a key the engine does not know is an error naming the key
 * and the keys that are allowed there, so a typo (`lamda`) never silently
 * leaves the default in force.
 */
function strictObject<T extends z.ZodRawShape>(shape: T) {
  const allowed = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}; allowed here: ${allowed}`
        : undefined,
  });
}

const finite = () => z.number({ error: 'expected a number' }).finite();
const atMost = (max: number) => `must be at most ${max.toLocaleString('en-US')}`;

const DAY = 86_400_000;

/**
 * The largest value each kind of numeric setting accepts. Above them a
 * setting no longer means anything (a half-life of a million years) or makes
 * the engine allocate and loop without bound (a topK of a billion), so a
 * config is refused with the field and its maximum named.
 */
export const CONFIG_MAXIMA = {
  /** Windows and half-lives: 100 years. */
  durationMs: 100 * 365 * DAY,
  /** Event weights, blend weights and boosts (request overrides allow the same). */
  weight: 100,
  /** Additive smoothing constants, in weighted events. */
  smoothing: 1_000_000,
  /** Noise amplitude for seeded requests: 1 is as large as a whole signal's score. */
  seedJitter: 1,
  /** Items kept per user (profile items, purchases) and candidates per signal. */
  perUser: 10_000,
  /** Neighbours per item, basket and context sizes, tags and recently viewed per user. */
  perItem: 1_000,
  /** Anchors expanded per request. */
  anchors: 100,
  /** Per-list caps: a list has at most `limits.maxRecs` (100) items. */
  perList: 100,
  /** Sessions remembered for session kNN. */
  sessions: 10_000_000,
} as const;

const duration = (min: 'positive' | 'nonNegative') =>
  (min === 'positive'
    ? finite().positive('must be greater than 0')
    : finite().min(0, 'must be at least 0')
  ).max(CONFIG_MAXIMA.durationMs, `${atMost(CONFIG_MAXIMA.durationMs)} (100 years)`);
const nonNegative = (max: number) => finite().min(0, 'must be at least 0').max(max, atMost(max));
const weight = () => nonNegative(CONFIG_MAXIMA.weight);
const integer = (min: number, max: number) =>
  z
    .number({ error: 'expected a whole number' })
    .int('expected a whole number')
    .min(min, `must be at least ${min}`)
    .max(max, atMost(max));

/** A record over a fixed key set whose unknown keys are named with the allowed ones. */
function keyedRecord<K extends string, T extends z.ZodType>(keys: readonly K[], what: string, value: T) {
  const list = keys.join(', ');
  return z.partialRecord(z.enum(keys as unknown as [K, ...K[]]), value, {
    error: (issue) => {
      if (issue.code !== 'invalid_key' && (issue.code as string) !== 'unrecognized_keys') return undefined;
      const keys = (issue as { keys?: unknown[] }).keys;
      const named = Array.isArray(keys) ? ` ${keys.map((k) => `"${String(k)}"`).join(', ')}` : '';
      return `unknown ${what}${named}; use one of ${list}`;
    },
  });
}

const perSurface = <T extends z.ZodType>(value: T) =>
  keyedRecord(SURFACES as readonly Surface[], 'surface', value);

/**
 * The engine configuration as stored per namespace: any subset of
 * {@link EngineConfig}, merged over the engine defaults. Mirrors
 * `engine/src/config/engineConfig.ts`; every number has a maximum ({@link CONFIG_MAXIMA}).
 * The engine's own validator runs after it for the
 * rules that span fields (e.g. trendingLongMs > trendingShortMs).
 */
export const engineConfigSchema = strictObject({
  eventWeights: strictObject({
    view: weight().optional(),
    click: weight().optional(),
    add: weight().optional(),
    purchase: weight().optional(),
    custom: weight().optional(),
    rate: weight().optional(),
  }).optional(),
  covisit: strictObject({
    windowMs: duration('positive').optional(),
    halfLifeMs: duration('positive').optional(),
    topK: integer(1, CONFIG_MAXIMA.perItem).optional(),
    sessionOnly: z.boolean().optional(),
    maxBasket: integer(2, CONFIG_MAXIMA.perItem).optional(),
    maxContextItems: integer(2, CONFIG_MAXIMA.perItem).optional(),
    smoothing: nonNegative(CONFIG_MAXIMA.smoothing).optional(),
  }).optional(),
  popularity: strictObject({
    halfLifeMs: duration('positive').optional(),
    trendingShortMs: duration('positive').optional(),
    trendingLongMs: duration('positive').optional(),
    trendingSmoothing: nonNegative(CONFIG_MAXIMA.smoothing).optional(),
    trendingMinUsers: nonNegative(CONFIG_MAXIMA.smoothing).optional(),
  }).optional(),
  session: strictObject({
    transitionSteps: integer(1, CONFIG_MAXIMA.perItem).optional(),
    transitionMaxGapMs: duration('positive').optional(),
    transitionHalfLifeMs: duration('positive').optional(),
    transitionSmoothing: nonNegative(CONFIG_MAXIMA.smoothing).optional(),
    transitionTopK: integer(1, CONFIG_MAXIMA.perItem).optional(),
    contextSteps: integer(1, CONFIG_MAXIMA.anchors).optional(),
    contextDecay: finite().min(0, 'must be between 0 and 1').max(1, 'must be between 0 and 1').optional(),
    knnNeighbors: integer(1, CONFIG_MAXIMA.perItem).optional(),
    knnSample: integer(1, CONFIG_MAXIMA.perUser).optional(),
    knnPositionDecay: nonNegative(CONFIG_MAXIMA.perItem).optional(),
    knnReturnsOnly: z.boolean().optional(),
    returnEvidence: nonNegative(CONFIG_MAXIMA.smoothing).optional(),
    maxSessions: integer(1, CONFIG_MAXIMA.sessions).optional(),
    maxSessionItems: integer(1, CONFIG_MAXIMA.perItem).optional(),
    maxSessionsPerItem: integer(1, CONFIG_MAXIMA.perUser).optional(),
    sessionGapMs: duration('positive').optional(),
    reshowSessionItems: perSurface(z.boolean()).optional(),
    diversityLambda: finite().min(0, 'must be between 0 and 1').max(1, 'must be between 0 and 1').optional(),
  }).optional(),
  profile: strictObject({
    halfLifeMs: duration('positive').optional(),
    buyAgainHalfLifeMs: duration('positive').optional(),
    buyAgainPopularityExponent: nonNegative(4).optional(),
    revisitPopularityExponent: nonNegative(4).optional(),
    sessionBoost: weight().optional(),
    latestBoost: weight().optional(),
    maxItems: integer(1, CONFIG_MAXIMA.perUser).optional(),
    maxAnchors: integer(1, CONFIG_MAXIMA.anchors).optional(),
    maxPurchases: integer(1, CONFIG_MAXIMA.perUser).optional(),
    maxTags: integer(1, CONFIG_MAXIMA.perItem).optional(),
    maxRecentlyViewed: integer(1, CONFIG_MAXIMA.perItem).optional(),
  }).optional(),
  blend: perSurface(keyedRecord(SIGNALS as readonly SignalName[], 'signal', weight())).optional(),
  excludePurchased: perSurface(z.boolean()).optional(),
  purchaseExclusionWindowMs: duration('nonNegative').optional(),
  justBoughtWindowMs: duration('nonNegative').optional(),
  diversity: strictObject({
    lambda: finite().min(0, 'must be between 0 and 1').max(1, 'must be between 0 and 1').optional(),
    maxPerBrand: integer(0, CONFIG_MAXIMA.perList).optional(),
    maxPerCategory: integer(0, CONFIG_MAXIMA.perList).optional(),
  }).optional(),
  fallback: strictObject({
    enabled: perSurface(z.boolean()).optional(),
  }).optional(),
  ranking: strictObject({
    candidatesPerSignal: integer(1, CONFIG_MAXIMA.perUser).optional(),
    seedJitter: nonNegative(CONFIG_MAXIMA.seedJitter).optional(),
  }).optional(),
  bundle: strictObject({
    maxItems: integer(2, 4).optional(),
    minScore: finite().min(0, 'must be between 0 and 1').max(1, 'must be between 0 and 1').optional(),
    covisitWeight: weight().optional(),
    cohesionWeight: weight().optional(),
    discountPercent: finite()
      .min(0, 'must be between 0 and 90')
      .max(90, 'must be between 0 and 90')
      .optional(),
  }).optional(),
});

/**
 * Validates a stored or submitted engine configuration. Throws a
 * `UserError('BAD_REQUEST')` whose message names each offending path
 * (`diversity.lamda: unknown key …`), so the CLI and the API explain the
 * same mistake the same way.
 *
 * @returns the partial config (what is stored) and the full config it resolves to.
 * @example validateEngineConfig({ diversity: { lambda: 0.6 } }).resolved.diversity.lambda // 0.6
 */
export function validateEngineConfig(
  input: unknown,
  source = 'config',
): { config: PartialEngineConfig; resolved: EngineConfig } {
  const parsed = engineConfigSchema.safeParse(input);
  if (!parsed.success) {
    throw new UserError(
      'BAD_REQUEST',
      `Invalid engine config (${source}): ${describeZodError(parsed.error)}`,
    );
  }
  const config = parsed.data as PartialEngineConfig;
  try {
    return { config, resolved: resolveEngineConfig(config) };
  } catch (error) {
    throw new UserError('BAD_REQUEST', `${(error as Error).message} (${source})`);
  }
}
