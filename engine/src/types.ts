/**
 * The engine's data contract. The server maps its rows to these shapes; the
 * engine never sees SQL or HTTP. Timestamps are epoch milliseconds (UTC).
 */

import type { EventType, LearnedEventType } from './protocol';

export type { EventType, LearnedEventType } from './protocol';

/** A catalog item as the engine sees it. */
export interface EngineItem {
  itemId: string;
  title?: string | undefined;
  description?: string | undefined;
  price?: number | undefined;
  currency?: string | undefined;
  /** In stock / sellable. Unavailable items are never recommended. */
  available: boolean;
  /** Soft-deleted: keeps its history, never recommended. */
  archived: boolean;
  /** Normalized tags: `brand:acme`, `category:shoes`, facets like `color:black`. */
  tags: string[];
  /** Variants share a parent; at most one item per parent is shown in a list. */
  parentId?: string | undefined;
  /** When the item entered the catalog (epoch ms). */
  createdAt: number;
  /**
   * Where the item is sold, by ISO 3166-1 alpha-2 country code (upper case). Undefined: sold
   * everywhere at `price`. Defined: sold only in the countries listed, each at its own price when it
   * has one. Read only by requests that name a `country`.
   * @example { DE: { available: true, price: 79, currency: 'EUR' }, CH: { available: false } }
   */
  markets?: Record<string, MarketOffer> | undefined;
}

/** The item in one market (country). */
export interface MarketOffer {
  /** Sold there now (false: listed but not sellable there, e.g. out of stock in that market). */
  available: boolean;
  /** The market's price; undefined: the item's `price`. */
  price?: number | undefined;
  /** The market's currency; undefined: the item's `currency`. */
  currency?: string | undefined;
}

/** One behavioural event as the engine sees it. */
export interface EngineEvent {
  type: EventType;
  /** Absent only for order-level custom events; the engine ignores those. */
  itemId?: string | undefined;
  /**
   * The resolved identity: the userId when known (directly or through an
   * alias), else `anon:<anonymousId>`. The server resolves it.
   */
  userKey: string;
  sessionId?: string | undefined;
  /** Event time, epoch ms. */
  ts: number;
  /** Quantity, rating value, … */
  value?: number | undefined;
  /** Groups add/purchase events of one order ("bought together"). */
  orderId?: string | undefined;
}

/** Per-event-type weights, of the types the engine learns from (impressions are not). */
export type EventWeights = Record<LearnedEventType, number>;
