/** The scenario suite, in the order a report lists it. */
import { cartExcluded, includeTags, neverBlocked, priceBounds, purchasedExcluded } from './filterScenarios';
import {
  coldStart,
  diversityConfigured,
  diversityEffect,
  explainReasons,
  newItems,
  seedDeterminism,
} from './rankingScenarios';
import { blockTag, boostThird, brandInclude, marginBoost, newItemExposure, pinFirst } from './ruleScenarios';
import type { Scenario } from './types';

export { intraListDiversity } from './probes';

/** Every scenario, in the order they run. */
export const SCENARIOS: readonly Scenario[] = [
  includeTags,
  neverBlocked,
  priceBounds,
  purchasedExcluded,
  cartExcluded,
  coldStart,
  newItems,
  diversityEffect,
  diversityConfigured,
  explainReasons,
  seedDeterminism,
  blockTag,
  boostThird,
  pinFirst,
  brandInclude,
  newItemExposure,
  marginBoost,
];
