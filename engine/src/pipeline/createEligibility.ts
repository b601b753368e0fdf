import type { RecFilters } from '../api';
import { type Catalog, marketPrice, soldIn } from '../indexes/Catalog';
import type { UserProfile } from '../indexes/UserProfile';

/** What decides whether an item may appear in one response. */
export interface EligibilityInput {
  catalog: Catalog;
  filters: RecFilters | undefined;
  /** Item ids never shown (anchor, cart items); their parents are excluded too. */
  excludedItems: Iterable<number>;
  /** Category tag id every item must carry (any of its `category:*` tags); −2: none can. */
  requiredCategory?: number | undefined;
  profile: UserProfile | undefined;
  /** Exclude items the user bought at or after this time (undefined: no exclusion). */
  purchasedSince: number | undefined;
  /** Reusable memo storage (engine-owned; requests are synchronous so one is enough). */
  memo: DenseMemo;
  /** Merchandising blocks and filters (`applyRules.ts`); checked last, so only items they alone remove count as theirs. */
  ruleAllows?: ((id: number) => boolean) | undefined;
  /** Out-of-stock items pass (archived ones never do): what a pin with `allowUnavailable` may show. */
  ignoreStock?: boolean;
  /**
   * The shopper's country (ISO 3166-1 alpha-2): items not sold there never pass, whatever
   * `ignoreStock` says (a pin cannot show an item the market does not sell), and the price range
   * reads the market's price.
   */
  country?: string | undefined;
  /** Only these items may pass (`rerank` and group scoring: the caller's candidates). */
  onlyItems?: ReadonlySet<number> | undefined;
}

/**
 * Per-request memo of a boolean per item id, reused across requests: an epoch stamp marks which
 * entries belong to the current request, so nothing is cleared or allocated per request.
 */
export class DenseMemo {
  private stamps = new Uint32Array(0);
  private values = new Uint8Array(0);
  private epoch = 0;

  /** Starts a new request covering ids below `size`. */
  begin(size: number): void {
    if (size > this.stamps.length) {
      const cap = Math.max(size, this.stamps.length * 2, 1024);
      this.stamps = new Uint32Array(cap);
      this.values = new Uint8Array(cap);
      this.epoch = 0;
    }
    this.epoch++;
    if (this.epoch === 0xffffffff) {
      this.stamps.fill(0);
      this.epoch = 1;
    }
  }

  /** 1/0 when memoised for this request, else -1. */
  get(id: number): number {
    return id < this.stamps.length && this.stamps[id] === this.epoch ? this.values[id]! : -1;
  }

  set(id: number, value: boolean): void {
    if (id >= this.stamps.length) return;
    this.stamps[id] = this.epoch;
    this.values[id] = value ? 1 : 0;
  }
}

/**
 * The per-request item predicate: available and not archived; within the price range; carrying an
 * included tag and no excluded tag; not explicitly excluded; not the anchor/cart item or one of its
 * variants; not bought recently when that exclusion is on; sold in the request's country. Memoised,
 * since signals overlap.
 */
export function createEligibility(input: EligibilityInput): (id: number) => boolean {
  const { catalog, filters, profile, purchasedSince, ruleAllows } = input;
  const ignoreStock = input.ignoreStock === true;
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
  const priceMin = filters?.priceMin;
  const priceMax = filters?.priceMax;
  const excludedParents = new Set<string>();
  for (const id of input.excludedItems) {
    excludedIds.add(id);
    const parent = catalog.info(id)?.parentKey;
    if (parent !== undefined) excludedParents.add(parent);
  }

  const country = input.country;
  const only = input.onlyItems;
  const required = input.requiredCategory;
  const members = required !== undefined && required >= 0 ? catalog.membersOf(required) : undefined;
  const memo = input.memo;
  memo.begin(catalog.idCount);

  // Most requests carry no filters: then only the contiguous eligibility flags are read.
  const needsItem =
    country !== undefined ||
    excludedParents.size > 0 ||
    priceMin !== undefined ||
    priceMax !== undefined ||
    include !== undefined ||
    (exclude?.size ?? 0) > 0;
  const check = (id: number): boolean => {
    if (ignoreStock ? catalog.info(id)?.item.archived !== false : !catalog.isEligible(id)) return false;
    if (excludedIds.has(id)) return false;
    if (only !== undefined && !only.has(id)) return false;
    if (required !== undefined && (members === undefined || !members.has(id))) return false;
    if (purchasedSince !== undefined && profile !== undefined) {
      const bought = profile.purchases.get(id);
      if (bought !== undefined && bought.lastTs >= purchasedSince) return false;
    }
    if (!needsItem) return ruleAllows === undefined || ruleAllows(id);
    const info = catalog.info(id);
    if (info === undefined || excludedParents.has(info.parentKey)) return false;
    if (!soldIn(info.item, country)) return false;
    const price = country === undefined ? info.item.price : marketPrice(info.item, country).price;
    if (priceMin !== undefined && (price === undefined || price < priceMin)) return false;
    if (priceMax !== undefined && (price === undefined || price > priceMax)) return false;
    if (include !== undefined && !info.tagIds.some((t) => include.has(t))) return false;
    if (exclude?.size && info.tagIds.some((t) => exclude.has(t))) return false;
    return ruleAllows === undefined || ruleAllows(id);
  };

  return (id) => {
    const known = memo.get(id);
    if (known >= 0) return known === 1;
    const ok = check(id);
    memo.set(id, ok);
    return ok;
  };
}
