import type { RecRequest } from '../api';
import type { DiversityConfig, EngineConfig, SignalWeights, Surface } from '../config/engineConfig';
import { SURFACES } from '../config/engineConfig';

const HISTORY_SURFACES: ReadonlySet<Surface> = new Set(['recentlyViewed', 'buyAgain']);
const NO_DIVERSITY: DiversityConfig = { lambda: 1, maxPerBrand: 0, maxPerCategory: 0 };

/** The config as it applies to one request (surface defaults + request overrides). */
export interface RequestSettings {
  surface: Surface;
  weights: SignalWeights;
  diversity: DiversityConfig;
  excludePurchased: boolean;
  purchaseExclusionWindowMs: number;
  fallback: boolean;
}

/** Which purchases a request leaves out: the surface's setting, else just-bought items on top picks. */
function purchaseExclusion(
  config: EngineConfig,
  req: RecRequest,
): Pick<RequestSettings, 'excludePurchased' | 'purchaseExclusionWindowMs'> {
  const o = req.overrides ?? {};
  // Buy-again exists to show purchased items: exclusion never applies there.
  if (req.surface === 'buyAgain') return { excludePurchased: false, purchaseExclusionWindowMs: 0 };
  const asked = o.excludePurchased ?? config.excludePurchased[req.surface];
  if (asked) {
    return {
      excludePurchased: true,
      purchaseExclusionWindowMs: o.purchaseExclusionWindowMs ?? config.purchaseExclusionWindowMs,
    };
  }
  const justBought =
    req.surface === 'forUser' && o.excludePurchased === undefined && config.justBoughtWindowMs > 0;
  return { excludePurchased: justBought, purchaseExclusionWindowMs: config.justBoughtWindowMs };
}

/** Validates the request shape and resolves the settings that apply to it. */
export function resolveRequestSettings(config: EngineConfig, req: RecRequest): RequestSettings {
  if (typeof req !== 'object' || req === null) throw new Error('recommend: the request must be an object.');
  if (!SURFACES.includes(req.surface)) {
    throw new Error(
      `recommend: unknown surface ${JSON.stringify(req.surface)}; use one of ${SURFACES.join(', ')}.`,
    );
  }
  if (!Number.isInteger(req.k) || req.k < 1 || req.k > 1000) {
    throw new Error(`recommend: k must be an integer between 1 and 1000 (got ${JSON.stringify(req.k)}).`);
  }
  if (req.surface === 'similar' && (typeof req.itemId !== 'string' || req.itemId === '')) {
    throw new Error("recommend: surface 'similar' needs itemId (the anchor item).");
  }
  if (
    req.contextItemIds !== undefined &&
    (!Array.isArray(req.contextItemIds) || req.contextItemIds.some((id) => typeof id !== 'string'))
  ) {
    throw new Error(
      `recommend: contextItemIds must be an array of item id strings, oldest first (got ${JSON.stringify(req.contextItemIds)}).`,
    );
  }
  if (req.category !== undefined && (typeof req.category !== 'string' || req.category === '')) {
    throw new Error(
      `recommend: category must be a non-empty string without the "category:" prefix (got ${JSON.stringify(req.category)}).`,
    );
  }
  if (req.now !== undefined && !Number.isFinite(req.now)) {
    throw new Error(`recommend: now must be epoch milliseconds (got ${JSON.stringify(req.now)}).`);
  }
  const o = req.overrides ?? {};
  for (const [signal, weight] of Object.entries(o.blend ?? {})) {
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) {
      throw new Error(
        `recommend: overrides.blend.${signal} must be a number ≥ 0 (got ${JSON.stringify(weight)}).`,
      );
    }
  }
  // A list of the visitor's own history keeps its order: reranking for diversity made browsed items
  // vanish from "recently viewed". A request may still ask for diversity explicitly.
  const base = HISTORY_SURFACES.has(req.surface) ? NO_DIVERSITY : config.diversity;
  const diversity = { ...base, ...o.diversity };
  if (!(diversity.lambda >= 0 && diversity.lambda <= 1)) {
    throw new Error(`recommend: overrides.diversity.lambda must be within [0, 1] (got ${diversity.lambda}).`);
  }
  return {
    surface: req.surface,
    weights: { ...config.blend[req.surface], ...o.blend },
    diversity,
    ...purchaseExclusion(config, req),
    fallback: o.fallback ?? config.fallback.enabled[req.surface],
  };
}
