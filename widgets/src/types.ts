import type { RecommendedItem, RecsResponse, Surface } from '@recsys/protocol';
import type { ComponentChild } from 'preact';

/** Recommendation surfaces understood by the Recsys API. */
export type { Surface };

/** One recommended item as returned by `client.recommend`. */
export type RecItem = RecommendedItem;

/** Why an item was recommended, as returned when `explain` is on. */
export type { RecReason } from '@recsys/protocol';

/** The response of `client.recommend`. `requestId` is echoed back on every impression and click. */
export type RecResponse = RecsResponse;

/** Parameters sent with a recommendation request. */
export interface RecParams {
  itemId?: string;
  itemIds?: string[];
  category?: string;
  k?: number;
  filters?: Record<string, unknown>;
  explain?: boolean;
}

/**
 * Context attached to every widget impression and click, so attribution can join on `requestId`.
 * A type alias (not an interface) so it stays assignable to the SDK's open-ended event meta.
 */
export type TrackMeta = {
  recommended: true;
  requestId: string;
  rank: number;
  widget: string;
  surface: string;
  /** The experiment and variant the list was served under, when it was. */
  experiment?: string;
  variant?: string;
};

/**
 * The part of the Recsys SDK client the widgets need. Any object with this shape works, which keeps the
 * widgets independent of how the client is built (script tag, npm, or a test double).
 */
export interface RecsClientLike {
  recommend(surface: Surface, params: RecParams): Promise<RecResponse>;
  track(type: 'impression' | 'click', props: { itemId: string; meta: TrackMeta }): void;
  flush?(): Promise<void>;
}

/** What a custom item template receives besides the item itself. */
export interface ItemContext {
  /** 1-based position in the list as returned by the API. */
  rank: number;
  /** 0-based position in the rendered list. */
  index: number;
  requestId: string;
  surface: Surface;
  /** Widget name sent with tracking events (for example `similar`). */
  widget: string;
  locale: string;
  /** Whether this list came from the cold-start fallback rather than personalization. */
  fallback: boolean;
  /** Formats a price with the widget locale, or returns `''` when there is no price. */
  formatPrice(price: number | null | undefined, currency: string | null | undefined): string;
}

/**
 * A custom item template. It renders the inside of one list item; the widget keeps the list semantics,
 * impression and click tracking around it (clicks anywhere inside are tracked).
 */
export type RenderItem = (item: RecItem, ctx: ItemContext) => ComponentChild;
