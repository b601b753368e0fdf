import { defaultEngineConfig, type EngineConfig, type PartialEngineConfig } from './engineConfig';

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function mergeDeep(base: unknown, patch: unknown): unknown {
  if (patch === undefined) return structuredClone(base);
  if (isPlainObject(base) && isPlainObject(patch)) {
    const out: Record<string, unknown> = {};
    for (const key of new Set([...Object.keys(base), ...Object.keys(patch)])) {
      out[key] = mergeDeep(base[key], patch[key]);
    }
    return out;
  }
  return structuredClone(patch);
}

function fail(path: string, message: string, got: unknown): never {
  throw new Error(`Invalid engine config at ${path}: ${message} (got ${JSON.stringify(got)}).`);
}

function checkNumber(path: string, value: unknown, opts: { min?: number; max?: number; positive?: boolean }) {
  if (typeof value !== 'number' || !Number.isFinite(value)) fail(path, 'expected a finite number', value);
  if (opts.positive && value <= 0) fail(path, 'must be greater than 0', value);
  if (opts.min !== undefined && value < opts.min) fail(path, `must be at least ${opts.min}`, value);
  if (opts.max !== undefined && value > opts.max) fail(path, `must be at most ${opts.max}`, value);
}

function checkInteger(path: string, value: unknown, min: number) {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    fail(path, `expected an integer ≥ ${min}`, value);
  }
}

/** Checks a full config and throws an error naming the offending field. */
export function validateEngineConfig(config: EngineConfig): void {
  for (const [type, weight] of Object.entries(config.eventWeights)) {
    checkNumber(`eventWeights.${type}`, weight, { min: 0 });
  }
  const { covisit, popularity, profile, diversity, ranking } = config;
  checkNumber('covisit.windowMs', covisit.windowMs, { positive: true });
  checkNumber('covisit.halfLifeMs', covisit.halfLifeMs, { positive: true });
  checkInteger('covisit.topK', covisit.topK, 1);
  checkInteger('covisit.maxBasket', covisit.maxBasket, 2);
  checkInteger('covisit.maxContextItems', covisit.maxContextItems, 2);
  checkNumber('covisit.smoothing', covisit.smoothing, { min: 0 });
  checkNumber('popularity.halfLifeMs', popularity.halfLifeMs, { positive: true });
  checkNumber('popularity.trendingShortMs', popularity.trendingShortMs, { positive: true });
  checkNumber('popularity.trendingLongMs', popularity.trendingLongMs, { positive: true });
  if (popularity.trendingLongMs <= popularity.trendingShortMs) {
    fail(
      'popularity.trendingLongMs',
      'must be longer than popularity.trendingShortMs',
      popularity.trendingLongMs,
    );
  }
  checkNumber('popularity.trendingSmoothing', popularity.trendingSmoothing, { min: 0 });
  checkNumber('popularity.trendingMinUsers', popularity.trendingMinUsers, { min: 0 });
  const { session } = config;
  for (const key of ['transitionMaxGapMs', 'transitionHalfLifeMs', 'sessionGapMs'] as const) {
    checkNumber(`session.${key}`, session[key], { positive: true });
  }
  checkNumber('session.transitionSmoothing', session.transitionSmoothing, { min: 0 });
  checkNumber('session.contextDecay', session.contextDecay, { min: 0, max: 1 });
  checkNumber('session.diversityLambda', session.diversityLambda, { min: 0, max: 1 });
  checkNumber('session.returnEvidence', session.returnEvidence, { min: 0 });
  checkNumber('session.knnPositionDecay', session.knnPositionDecay, { min: 0 });
  for (const key of [
    'transitionSteps',
    'transitionTopK',
    'contextSteps',
    'knnNeighbors',
    'knnSample',
    'maxSessions',
    'maxSessionItems',
    'maxSessionsPerItem',
  ] as const) {
    checkInteger(`session.${key}`, session[key], 1);
  }
  checkNumber('profile.halfLifeMs', profile.halfLifeMs, { positive: true });
  checkNumber('profile.buyAgainHalfLifeMs', profile.buyAgainHalfLifeMs, { positive: true });
  checkNumber('profile.buyAgainPopularityExponent', profile.buyAgainPopularityExponent, { min: 0, max: 4 });
  checkNumber('profile.revisitPopularityExponent', profile.revisitPopularityExponent, { min: 0, max: 4 });
  checkNumber('profile.sessionBoost', profile.sessionBoost, { min: 0 });
  checkNumber('profile.latestBoost', profile.latestBoost, { min: 0 });
  for (const key of ['maxItems', 'maxAnchors', 'maxPurchases', 'maxTags', 'maxRecentlyViewed'] as const) {
    checkInteger(`profile.${key}`, profile[key], 1);
  }
  for (const [surface, weights] of Object.entries(config.blend)) {
    for (const [signal, weight] of Object.entries(weights)) {
      checkNumber(`blend.${surface}.${signal}`, weight, { min: 0 });
    }
  }
  checkNumber('purchaseExclusionWindowMs', config.purchaseExclusionWindowMs, { min: 0 });
  checkNumber('justBoughtWindowMs', config.justBoughtWindowMs, { min: 0 });
  checkNumber('diversity.lambda', diversity.lambda, { min: 0, max: 1 });
  checkInteger('diversity.maxPerBrand', diversity.maxPerBrand, 0);
  checkInteger('diversity.maxPerCategory', diversity.maxPerCategory, 0);
  checkInteger('ranking.candidatesPerSignal', ranking.candidatesPerSignal, 1);
  checkNumber('ranking.seedJitter', ranking.seedJitter, { min: 0 });
  const { bundle } = config;
  checkInteger('bundle.maxItems', bundle.maxItems, 2);
  if (bundle.maxItems > 4) fail('bundle.maxItems', 'must be at most 4', bundle.maxItems);
  checkNumber('bundle.minScore', bundle.minScore, { min: 0, max: 1 });
  checkNumber('bundle.covisitWeight', bundle.covisitWeight, { min: 0 });
  checkNumber('bundle.cohesionWeight', bundle.cohesionWeight, { min: 0 });
  checkNumber('bundle.discountPercent', bundle.discountPercent, { min: 0, max: 90 });
}

/** Merges a partial config over the defaults (objects deeply, arrays and scalars replaced) and validates it. */
export function resolveEngineConfig(partial: PartialEngineConfig | undefined): EngineConfig {
  const merged = mergeDeep(defaultEngineConfig, partial) as EngineConfig;
  validateEngineConfig(merged);
  return merged;
}
