import { normalizeTag } from '../protocol';
import type { EngineItem, MarketOffer } from '../types';
import { GrowableFloat64 } from '../util/GrowableFloat64';
import { Interner } from '../util/Interner';

const CATEGORY = 'category:';
const BRAND = 'brand:';

/** Per-item data the ranking hot path needs, precomputed at upsert time. */
export interface ItemInfo {
  item: EngineItem;
  /**
   * Interned tag ids, sorted ascending (for fast overlap). A plain array of small integers: an
   * `Int32Array` per item costs a typed array, an ArrayBuffer and a native block besides its values
   * (~13 MB more at 100,000 items).
   */
  tagIds: readonly number[];
  /** Primary category tag id (first `category:*` tag), or -1. */
  category: number;
  /** Every `category:*` tag id of the item. */
  categories: number[];
  /** Tags a user's interest is tracked on: every category tag and the brand. */
  interestTags: number[];
  /** Brand tag id, or -1. */
  brand: number;
  /** Parent key: parentId when set, else the itemId (one item per parent per list). */
  parentKey: string;
  eligible: boolean;
}

function describe(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

function validateItem(item: EngineItem, index: number): void {
  const where = `upsertItems: items[${index}]`;
  if (typeof item !== 'object' || item === null) throw new Error(`${where} must be an object.`);
  if (typeof item.itemId !== 'string' || item.itemId.length === 0) {
    throw new Error(`${where}.itemId must be a non-empty string (got ${describe(item.itemId)}).`);
  }
  if (typeof item.available !== 'boolean' || typeof item.archived !== 'boolean') {
    throw new Error(`${where} (${item.itemId}): available and archived must be booleans.`);
  }
  if (!Array.isArray(item.tags) || item.tags.some((t) => typeof t !== 'string')) {
    throw new Error(`${where} (${item.itemId}): tags must be an array of strings (use [] for none).`);
  }
  if (item.price !== undefined && (typeof item.price !== 'number' || !Number.isFinite(item.price))) {
    throw new Error(`${where} (${item.itemId}).price must be a finite number (got ${describe(item.price)}).`);
  }
  if (item.markets === undefined) return;
  if (typeof item.markets !== 'object' || item.markets === null || Array.isArray(item.markets)) {
    throw new Error(`${where} (${item.itemId}).markets must be an object keyed by country code.`);
  }
  for (const [country, offer] of Object.entries(item.markets)) {
    if (!/^[A-Z]{2}$/.test(country)) {
      throw new Error(
        `${where} (${item.itemId}).markets: ${describe(country)} is not an upper-case ISO 3166-1 alpha-2 code.`,
      );
    }
    if (typeof offer !== 'object' || offer === null || typeof offer.available !== 'boolean') {
      throw new Error(`${where} (${item.itemId}).markets.${country}.available must be a boolean.`);
    }
    if (offer.price !== undefined && (typeof offer.price !== 'number' || !Number.isFinite(offer.price))) {
      throw new Error(`${where} (${item.itemId}).markets.${country}.price must be a finite number.`);
    }
  }
}

/**
 * Whether an item is sold in `country`: everywhere without `markets`, else only where listed and
 * available. No country: every market passes (the request did not say where the shopper is).
 */
export function soldIn(item: EngineItem, country: string | undefined): boolean {
  if (country === undefined || item.markets === undefined) return true;
  return item.markets[country]?.available === true;
}

/** The item's price and currency in `country` (its own where the market sets none). */
export function marketPrice(
  item: EngineItem,
  country: string | undefined,
): { price: number | undefined; currency: string | undefined } {
  const offer: MarketOffer | undefined = country === undefined ? undefined : item.markets?.[country];
  return { price: offer?.price ?? item.price, currency: offer?.currency ?? item.currency };
}

/**
 * The item as the catalog keeps it: every field of `EngineItem` but the description, always in this
 * order, so that all stored items share one V8 hidden class. Copied with a rest pattern instead
 * (`{ description, ...kept }`), each item got a hidden class of its own: about 40 MB of maps and
 * descriptor arrays for the benchmark's 100,000 items. The description is not kept: ranking, rules
 * and diversity never read it, and it is most of the catalog's text (24.8 of 29.2 million characters
 * for the same items); text embeddings are made by the caller from its own copy (see `itemText`).
 * Fields absent from the input are present as `undefined`, which JSON and `toEqual` ignore.
 */
function storedItem(item: EngineItem, tags: string[]): EngineItem {
  return {
    itemId: item.itemId,
    title: item.title,
    price: item.price,
    currency: item.currency,
    available: item.available,
    archived: item.archived,
    tags,
    parentId: item.parentId,
    createdAt: item.createdAt,
    markets: item.markets === undefined ? undefined : structuredClone(item.markets),
  };
}

/**
 * The catalog: items by dense id, tags interned, category membership for per-category lists.
 * Ids are shared with the behaviour indexes; events may reference items before they are upserted.
 */
export class Catalog {
  readonly ids = new Interner();
  readonly tags = new Interner();
  private readonly infos: Array<ItemInfo | undefined> = [];
  private readonly members = new Map<number, Set<number>>();
  private known = 0;
  /**
   * Hot per-item facts in contiguous arrays (1 = eligible; primary category and brand tag id + 1,
   * 0 = none). Ranking touches thousands of items per request, and following a pointer to each
   * item's object costs a cache miss apiece; these arrays stay in cache.
   */
  private readonly eligibleFlags = new GrowableFloat64();
  private readonly categoryPlusOne = new GrowableFloat64();
  private readonly brandPlusOne = new GrowableFloat64();
  /** Bumped whenever eligibility or membership may have changed (invalidates cached lists). */
  version = 0;

  upsert(items: EngineItem[]): void {
    items.forEach(validateItem);
    for (const item of items) {
      const id = this.ids.intern(item.itemId);
      const previous = this.infos[id];
      if (previous === undefined) this.known++;
      else this.removeMembership(id, previous);
      const tagIds = [...new Set(item.tags.map((t) => this.tags.intern(t)))].sort((a, b) => a - b);
      let category = -1;
      let brand = -1;
      for (const tag of item.tags) {
        if (category < 0 && tag.startsWith(CATEGORY)) category = this.tags.intern(tag);
        if (brand < 0 && tag.startsWith(BRAND)) brand = this.tags.intern(tag);
      }
      const categories = [...new Set(item.tags.filter((t) => t.startsWith(CATEGORY)))].map((t) =>
        this.tags.intern(t),
      );
      const info: ItemInfo = {
        item: storedItem(
          item,
          // The interned string for each tag: one copy of "category:home" for every item carrying it
          // (tags parsed from rows are separate strings per item).
          item.tags.map((t) => this.tags.keyOf(this.tags.intern(t))),
        ),
        tagIds,
        category,
        categories,
        // concat allocates the exact length; a spread literal kept room for ~16 more (13 MB at 100k items).
        interestTags: brand >= 0 ? categories.concat(brand) : categories,
        brand,
        parentKey: item.parentId ?? item.itemId,
        eligible: item.available && !item.archived,
      };
      while (this.infos.length <= id) this.infos.push(undefined);
      this.infos[id] = info;
      this.eligibleFlags.set(id, info.eligible ? 1 : 0);
      this.categoryPlusOne.set(id, category + 1);
      this.brandPlusOne.set(id, brand + 1);
      for (const tag of item.tags) {
        if (!tag.startsWith(CATEGORY)) continue;
        const tagId = this.tags.intern(tag);
        let set = this.members.get(tagId);
        if (set === undefined) {
          set = new Set();
          this.members.set(tagId, set);
        }
        set.add(id);
      }
    }
    this.version++;
  }

  info(id: number): ItemInfo | undefined {
    return this.infos[id];
  }

  /** Known, available and not archived. */
  isEligible(id: number): boolean {
    return this.eligibleFlags.get(id) === 1;
  }

  /** Primary category tag id, or −1 (contiguous read, no item object touched). */
  categoryOf(id: number): number {
    return this.categoryPlusOne.get(id) - 1;
  }

  /** Brand tag id, or −1 (contiguous read). */
  brandOf(id: number): number {
    return this.brandPlusOne.get(id) - 1;
  }

  /** Items carrying the category tag id (any of their `category:*` tags). */
  membersOf(categoryTag: number): ReadonlySet<number> {
    return this.members.get(categoryTag) ?? new Set();
  }

  /**
   * Tag id of `category:<value>`, or undefined when no item ever had it. The value is looked up as
   * given, then normalized as stored tags are (`Kitchen` → `category:kitchen`).
   */
  categoryTag(value: string): number | undefined {
    return this.tags.get(CATEGORY + value) ?? this.tags.get(normalizeTag(CATEGORY + value));
  }

  /** Display name of a tag without its prefix (`category:shoes` → `shoes`). */
  tagLabel(tagId: number): string {
    const tag = this.tags.keyOf(tagId);
    const colon = tag.indexOf(':');
    return colon >= 0 ? tag.slice(colon + 1) : tag;
  }

  /** Title when known, else the item id. */
  titleOf(id: number): string {
    return this.infos[id]?.item.title ?? this.ids.keyOf(id);
  }

  get size(): number {
    return this.known;
  }

  /** Number of interned item ids (catalog items plus ids seen only in events). */
  get idCount(): number {
    return this.ids.size;
  }

  private removeMembership(id: number, info: ItemInfo): void {
    for (const tag of info.item.tags) {
      if (!tag.startsWith(CATEGORY)) continue;
      const tagId = this.tags.get(tag);
      if (tagId !== undefined) this.members.get(tagId)?.delete(id);
    }
  }
}
