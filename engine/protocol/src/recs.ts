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
}

/** One item of a bundle, with the display fields and why it is there. */
export interface BundleResponseItem extends RecommendedItem {
  /** `anchor`: the page's item (rank 1); `partner`: an item usually bought with it. */
  role: 'anchor' | 'partner';
  reason: { signal: 'anchor' | 'boughtTogether'; text: string; relatedItemId?: string };
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
