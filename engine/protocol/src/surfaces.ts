/** Recommendation surfaces and scoring signals: the names requests, configs and explanations share. */

/** Every recommendation surface (widget / `recs.*` procedure), in a stable order. */
export const SURFACES = ['forUser', 'similar', 'cart', 'buyAgain', 'trending', 'recentlyViewed'] as const;

/** The recommendation surfaces (widgets / API calls) the engine serves. */
export type Surface = (typeof SURFACES)[number];

/** True when `value` is one of {@link SURFACES}. */
export function isSurface(value: unknown): value is Surface {
  return typeof value === 'string' && (SURFACES as readonly string[]).includes(value);
}

/**
 * Every scoring signal, in a stable order (also the order of explanation tie-breaks).
 *
 * - `covisit`: items viewed/clicked/added/bought by the same session or user within a window.
 * - `boughtTogether`: items added or purchased in the same order (or cart session).
 * - `embedding`: text similarity from the injected vectors.
 * - `popular`: decayed popularity (overall, or within the requested category).
 * - `trending`: short-window velocity against a longer baseline.
 * - `segment`: decayed popularity among users sharing the requesting user's traits.
 * - `affinity`: the user's decayed interest in the item's primary category and brand.
 * - `buyAgain`: the user's own purchase frequency and recency.
 * - `recent`: the user's recently viewed items.
 * - `revisit`: items the user keeps coming back to (sessions that touched them), weighed by how well
 *   they sell now.
 * - `transition`: what shoppers view, add or buy right after the session's latest items (directed).
 * - `sessionKnn`: what the most similar recent sessions went on to (session kNN).
 * - `bestseller`: only used to explain fallback fills (category best-sellers).
 */
export const SIGNALS = [
  'covisit',
  'boughtTogether',
  'embedding',
  'popular',
  'trending',
  'segment',
  'affinity',
  'buyAgain',
  'recent',
  'revisit',
  'transition',
  'sessionKnn',
  'bestseller',
] as const;

/** The scoring signals blended into one ranking. */
export type SignalName = (typeof SIGNALS)[number];

/** Where the items that topped up a short list came from. */
export const FALLBACK_SOURCES = ['category-bestsellers', 'popular'] as const;

/** Where fallback items came from. */
export type FallbackSource = (typeof FALLBACK_SOURCES)[number];
