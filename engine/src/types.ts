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
