import type { RecFilters } from './api';
import type { Catalog } from './Catalog';
import type { UserProfile } from './UserProfile';

/** What decides whether an item may appear in one response. */
export interface EligibilityInput {
  catalog: Catalog;
  filters: RecFilters | undefined;
  /** Item ids never shown (anchor, cart items); their parents are excluded too. */
  excludedItems: Iterable<number>;
  profile: UserProfile | undefined;
  /** Exclude items the user bought at or after this time (undefined: no exclusion). */
  purchasedSince: number | undefined;
}

/**
 * The per-request item predicate: available and not archived; within the price range; carrying an
 * included tag and no excluded tag; not explicitly excluded; not the anchor/cart item or one of its
 * variants; not bought recently when that exclusion is on. Memoised, since signals overlap.
 */
export function createEligibility(input: EligibilityInput): (id: number) => boolean {
  const { catalog, filters, profile, purchasedSince } = input;
  const tagSet = (tags: string[] | undefined) => {
    if (tags === undefined || tags.length === 0) return undefined;
    const ids = new Set<number>();
    for (const t of tags) {
      const id = catalog.tags.get(t);
      if (id !== undefined) ids.add(id);
    }
    return ids;
  };
  const include = tagSet(filters?.includeTagsAny);
  const exclude = tagSet(filters?.excludeTagsAny);
  const excludedIds = new Set<number>();
  for (const itemId of filters?.excludeIds ?? []) {
    const id = catalog.ids.get(itemId);
    if (id !== undefined) excludedIds.add(id);
  }
  const excludedParents = new Set<string>();
  for (const id of input.excludedItems) {
    excludedIds.add(id);
    const parent = catalog.info(id)?.parentKey;
    if (parent !== undefined) excludedParents.add(parent);
  }
  const priceMin = filters?.priceMin;
  const priceMax = filters?.priceMax;
  const memo = new Map<number, boolean>();

  const check = (id: number): boolean => {
    const info = catalog.info(id);
    if (info === undefined || !info.eligible) return false;
    if (excludedIds.has(id) || excludedParents.has(info.parentKey)) return false;
    const price = info.item.price;
    if (priceMin !== undefined && (price === undefined || price < priceMin)) return false;
    if (priceMax !== undefined && (price === undefined || price > priceMax)) return false;
    if (include !== undefined && !info.tagIds.some((t) => include.has(t))) return false;
    if (exclude?.size && info.tagIds.some((t) => exclude.has(t))) return false;
    if (purchasedSince !== undefined && profile !== undefined) {
      const bought = profile.purchases.get(id);
      if (bought !== undefined && bought.lastTs >= purchasedSince) return false;
    }
    return true;
  };

  return (id) => {
    let ok = memo.get(id);
    if (ok === undefined) {
      ok = check(id);
      memo.set(id, ok);
    }
    return ok;
  };
}
