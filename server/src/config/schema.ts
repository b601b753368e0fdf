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
const positive = () => finite().positive('must be greater than 0');
const nonNegative = () => finite().min(0, 'must be at least 0');
const integer = (min: number) =>
  z
    .number({ error: 'expected a whole number' })
    .int('expected a whole number')
    .min(min, `must be at least ${min}`);

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
 * `engine/src/config.ts`; the engine's own validator runs after it for the
 * rules that span fields (e.g. trendingLongMs > trendingShortMs).
 */
export const engineConfigSchema = strictObject({
  eventWeights: strictObject({
    view: nonNegative().optional(),
    click: nonNegative().optional(),
    add: nonNegative().optional(),
    purchase: nonNegative().optional(),
    custom: nonNegative().optional(),
    rate: nonNegative().optional(),
  }).optional(),
  covisit: strictObject({
    windowMs: positive().optional(),
    halfLifeMs: positive().optional(),
    topK: integer(1).optional(),
    sessionOnly: z.boolean().optional(),
    maxBasket: integer(2).optional(),
    maxContextItems: integer(2).optional(),
    smoothing: nonNegative().optional(),
  }).optional(),
  popularity: strictObject({
    halfLifeMs: positive().optional(),
    trendingShortMs: positive().optional(),
    trendingLongMs: positive().optional(),
    trendingSmoothing: nonNegative().optional(),
  }).optional(),
  profile: strictObject({
    halfLifeMs: positive().optional(),
    buyAgainHalfLifeMs: positive().optional(),
    sessionBoost: nonNegative().optional(),
    latestBoost: nonNegative().optional(),
    maxItems: integer(1).optional(),
    maxAnchors: integer(1).optional(),
    maxPurchases: integer(1).optional(),
    maxTags: integer(1).optional(),
    maxRecentlyViewed: integer(1).optional(),
  }).optional(),
  blend: perSurface(keyedRecord(SIGNALS as readonly SignalName[], 'signal', nonNegative())).optional(),
  excludePurchased: perSurface(z.boolean()).optional(),
  purchaseExclusionWindowMs: nonNegative().optional(),
  diversity: strictObject({
    lambda: finite().min(0, 'must be between 0 and 1').max(1, 'must be between 0 and 1').optional(),
    maxPerBrand: integer(0).optional(),
    maxPerCategory: integer(0).optional(),
  }).optional(),
  fallback: strictObject({
    enabled: perSurface(z.boolean()).optional(),
  }).optional(),
  ranking: strictObject({
    candidatesPerSignal: integer(1).optional(),
    seedJitter: nonNegative().optional(),
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
