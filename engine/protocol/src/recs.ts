import type { FallbackSource, SignalName } from './surfaces';

/** Input of every `recs.*` query as a client sends it (each procedure checks what it needs). */
export interface RecsInput {
  userId?: string;
  anonymousId?: string;
  sessionId?: string;
  /** Anchor item of `recs.similar`. */
  itemId?: string;
  /** Cart contents of `recs.cart`. */
  itemIds?: string[];
  /** Category of `recs.trending` (and a filter on any list). */
  category?: string;
  /** How many items to return, 1–100. @default 10 */
  k?: number;
  filters?: {
    /** `[min, max]`, either may be null for an open bound. */
    priceBetween?: [number | null, number | null];
    includeTagsAny?: string[];
    excludeTagsAny?: string[];
    excludeIds?: string[];
  };
  /** Attach `reasons` to every item. @default false */
  explain?: boolean;
  /** Same data + request + seed → same list. */
  seed?: number;
  /** Where the list is shown (`home`, `pdp`, …), logged for attribution. */
  placement?: string;
  /** Items of the visitor's current session, oldest first, used as extra anchors. */
  contextItemIds?: string[];
  /** Traits of an unknown visitor (locale, device, segment) to shape a cold start. */
  traits?: Record<string, string>;
  /**
   * The shopper's country, ISO 3166-1 alpha-2 (`DE`, `us`): items not sold there are never listed,
   * and prices are the market's. Omitted: every market, the items' own prices.
   */
  country?: string;
  overrides?: {
    blend?: Partial<Record<SignalName, number>>;
    diversity?: { lambda?: number; maxPerBrand?: number; maxPerCategory?: number };
    excludePurchased?: boolean;
    fallback?: boolean;
  };
}

/** Why an item is in a list: one entry per contributing signal. */
export interface RecReason {
  signal: string;
  contribution: number;
  text: string;
  relatedItemId?: string;
}

/** One recommended item with the display fields the widgets render. */
export interface RecommendedItem {
  itemId: string;
  /** 1-based position in the list. */
  rank: number;
  score: number;
  title: string | null;
  price: number | null;
  currency: string | null;
  url: string | null;
  imageUrl: string | null;
  reasons?: RecReason[];
}

/** Answer of every `recs.*` query. */
export interface RecsResponse {
  /** Send it back with clicks (`meta.requestId`) for attribution. */
  requestId: string;
  surface: string;
  items: RecommendedItem[];
  /**
   * `used`: fallback lists (category best-sellers, then popular) filled part of the list, or the list
   * is shorter than the `k` asked for; `filled`: how many items they added; `sources`: which.
   */
  fallback: { used: boolean; sources: FallbackSource[]; filled: number };
  /**
   * The experiment and variant this list was served under, when the visitor is in one. Send both back
   * with events about the list (`meta.experiment`, `meta.variant`); the SDK and widgets do.
   */
  experiment?: { id: string; variant: string };
}

/** Input of `recs.bundle` (a product page's "frequently bought together"). */
export interface BundleInput {
  /** The product page's item: the bundle's anchor. */
  itemId: string;
  /** Most items, the anchor included (2–4). @default the namespace's `bundle.maxItems` (3) */
  maxItems?: number;
  userId?: string;
  anonymousId?: string;
  sessionId?: string;
  filters?: RecsInput['filters'];
  /** Where the bundle is shown (rule conditions); the served list is logged under surface `bundle`. */
  placement?: string;
  traits?: Record<string, string>;
  /** The shopper's country: partners not sold there are left out; prices and total are the market's. */
  country?: string;
}

/** One item of a bundle, with the display fields and why it is there. */
export interface BundleResponseItem extends RecommendedItem {
  /** `anchor`: the page's item (rank 1); `partner`: an item usually bought with it. */
  role: 'anchor' | 'partner';
  /** `fixed`: a partner a merchandiser chose for the page (a bundle experiment's variant). */
  reason: { signal: 'anchor' | 'boughtTogether' | 'fixed'; text: string; relatedItemId?: string };
}

/** Answer of `recs.bundle`. */
export interface BundleResponse {
  /** Send it back with the bundle's impressions, cart adds and purchases (`meta.requestId`). */
  requestId: string;
  surface: 'bundle';
  anchorItemId: string;
  /** Anchor first, then 1–3 partners; empty when there is no bundle (see `emptyReason`). */
  items: BundleResponseItem[];
  /**
   * The sum of the items' prices and, when the shop set `bundle.discountPercent`, the bundle price.
   * Null when the bundle is empty, an item has no price or the currencies differ.
   */
  price: {
    total: number;
    currency: string | null;
    discountPercent: number;
    bundlePrice: number | null;
    savings: number;
  } | null;
  emptyReason?: 'unknown-item' | 'anchor-unavailable' | 'no-partners' | 'partners-unavailable';
  /** Why the bundle is empty, in a sentence. */
  message?: string;
  /**
   * The experiment and variant the bundle was served under (a bundle experiment on this product
   * page); the SDK sends it back with the bundle's events, as for every list.
   */
  experiment?: { id: string; variant: string };
}

/** The surface a served bundle is logged under (`rec_logs.surface`, `meta.surface`). */
export const BUNDLE_SURFACE = 'bundle';

/**
 * A bundle's stable key: its item ids, sorted and joined by ` + ` — the same bundle whatever the anchor.
 * @example bundleKeyOf(['tent', 'mat', 'pegs']) // 'mat + pegs + tent'
 */
export function bundleKeyOf(itemIds: readonly string[]): string {
  return [...itemIds].sort().join(' + ');
}

/** One member of a group: a signed-in user, a visitor, or both (as on every `recs.*` list). */
export interface GroupMemberInput {
  userId?: string;
  anonymousId?: string;
}

/** Input of `recs.group` (a household, or a gift for several people). */
export interface GroupInput {
  /** 2–10 members. */
  members: GroupMemberInput[];
  /** `min`: everyone must like it (the least happy member decides); `avg`: the mean. @default 'min' */
  rule?: 'min' | 'avg';
  /**
   * Items whose normalised score (0–1, per member) reaches `threshold` for every member lead the
   * list, up to `maxLocked` of them. @example { threshold: 0.5, maxLocked: 3 }
   */
  strongFit?: { threshold: number; maxLocked?: number };
  /** How many items to return, 1–100. @default 10 */
  k?: number;
  filters?: RecsInput['filters'];
  country?: string;
  placement?: string;
  seed?: number;
  /** Return each member's scores, what was locked and why. @default false */
  explain?: boolean;
}

/** One item of a group list. */
export interface GroupResponseItem extends Omit<RecommendedItem, 'reasons'> {
  /** Placed at the top as a strong fit for every member. */
  locked: boolean;
  /** With `explain`: each member's normalised score (0–1), in the order of `members`. */
  memberScores?: number[];
}

/** Answer of `recs.group`. */
export interface GroupResponse {
  requestId: string;
  surface: 'group';
  items: GroupResponseItem[];
  /** The members as answered: a `userId` the request could not prove is null (scored as the visitor). */
  members: Array<{ userId: string | null; anonymousId: string | null }>;
  /** Said when a member's userId was dropped, or (with `explain`) when no item cleared the strong-fit bar. */
  warnings: string[];
  /** With `explain`: how the list was combined. */
  explain?: {
    rule: 'min' | 'avg';
    strongFit: { threshold: number; maxLocked: number } | null;
    /** Item ids locked at the top, in order. */
    locked: string[];
    /** Candidates scored for every member (the union of their own lists). */
    candidates: number;
  };
}

/** Input of `recs.rerank`: the caller's candidates (search results, a category page) for one visitor. */
export interface RerankInput {
  /** The candidates in their original order, 1–500 ids. */
  itemIds: string[];
  userId?: string;
  anonymousId?: string;
  sessionId?: string;
  filters?: RecsInput['filters'];
  country?: string;
  placement?: string;
  traits?: Record<string, string>;
  seed?: number;
  /** Attach `reasons` to every item. @default false */
  explain?: boolean;
}

/** One item of a reranked list. */
export interface RerankResponseItem extends RecommendedItem {
  /** Its 1-based position in the `itemIds` sent. */
  originalRank: number;
  /** False: the catalog does not know this id; it kept its original position and has no display fields. */
  known: boolean;
}

/** Answer of `recs.rerank`. */
export interface RerankResponse {
  requestId: string;
  surface: 'rerank';
  items: RerankResponseItem[];
  /** Ids the catalog does not know, kept at their original positions. */
  unknownItemIds: string[];
  /** Known ids left out, and why. */
  removed: Array<{
    itemId: string;
    originalRank: number;
    reason: 'unavailable' | 'not-sold-in-country' | 'filtered' | 'rule';
  }>;
  /** Ids sent more than once (the first is kept). */
  duplicateItemIds: string[];
  /** The user the list was ranked for; null when none was named or it could not be proven. */
  userId: string | null;
}

/** The surfaces group and rerank lists are logged under (`rec_logs.surface`, `meta.surface`). */
export const GROUP_SURFACE = 'group';
export const RERANK_SURFACE = 'rerank';
