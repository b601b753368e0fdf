/**
 * What group lists and `rerank` share: they score items with `recommend()` as plain rankings (no
 * diversity, no fill, no rules), then apply the `forUser` surface's merchandising rules once, to
 * their own list.
 */
import type { RecFilters, RecRequest } from '../api';
import { beginRules, type RequestRules } from './applyRules';
import { createEligibility, DenseMemo, type EligibilityInput } from './createEligibility';
import type { RecommendState } from './recommend';

/** Scores only: no MMR re-ranking or caps, no fallback fill (fill items carry no score). */
export const SCORING_OVERRIDES: NonNullable<RecRequest['overrides']> = {
  fallback: false,
  diversity: { lambda: 1, maxPerBrand: 0, maxPerCategory: 0 },
};

/** The state to score with: the same, minus the rules (they apply once, to the final list). */
export const withoutRules = (state: RecommendState): RecommendState => ({ ...state, rules: undefined });

/** The `forUser` rules active for this request (placement and traits conditions), if any. */
export function forUserRules(
  state: RecommendState,
  placement: string | undefined,
  traits: Record<string, string>,
): RequestRules | undefined {
  return beginRules(
    state.rules,
    {
      surface: 'forUser',
      placement,
      anchorItemId: undefined,
      cartItemIds: undefined,
      traits,
      now: state.now,
    },
    state.catalog,
  );
}

/**
 * The predicates pins and injects are checked with on a final list (availability, the filters, the
 * market, the rules' blocks and filters; `onlyItems` narrows it further), and the same ignoring
 * stock, each on its own memo.
 */
export function placementEligibility(
  state: RecommendState,
  filters: RecFilters | undefined,
  country: string | undefined,
  ruled: RequestRules,
  onlyItems?: ReadonlySet<number>,
): { eligible: (id: number) => boolean; ignoringStock: () => (id: number) => boolean } {
  const input: Omit<EligibilityInput, 'memo'> = {
    catalog: state.catalog,
    filters,
    excludedItems: [],
    profile: undefined,
    purchasedSince: undefined,
    country,
    onlyItems,
    ruleAllows: ruled.hasBlockOrFilter ? (id: number) => ruled.allows(id) : undefined,
  };
  return {
    eligible: createEligibility({ ...input, memo: new DenseMemo() }),
    ignoringStock: () => createEligibility({ ...input, memo: new DenseMemo(), ignoreStock: true }),
  };
}
