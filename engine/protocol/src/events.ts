import type { USER_TOKEN_FIELD } from './userToken';

/**
 * Behavioural event vocabulary: the one list of event types, the documented
 * meta keys, and the shape of an event on the wire. Server contracts, the
 * database schema, fixtures, the SDK and the engine all derive from here.
 */

/**
 * Every behavioural event type, in a stable order. `impression`: an item was shown in a
 * recommendation list or bundle (the widgets send it when a tile is seen) — stored for attribution
 * and results, never learned from: an item a shopper was shown is not one they chose to look at.
 */
export const EVENT_TYPES = ['view', 'click', 'add', 'purchase', 'custom', 'rate', 'impression'] as const;

/** The kinds of behaviour the collector and the engine understand. */
export type EventType = (typeof EVENT_TYPES)[number];

/** The event types the engine learns from: every type but `impression`. */
export type LearnedEventType = Exclude<EventType, 'impression'>;

/** True when `value` is one of {@link EVENT_TYPES}. */
export function isEventType(value: unknown): value is EventType {
  return typeof value === 'string' && (EVENT_TYPES as readonly string[]).includes(value);
}

/** Free-form event metadata; well-known keys are typed, anything else must be a scalar. */
export interface EventMeta {
  /** Where on the site the event happened, e.g. `pdp`, `cart`, `home`. */
  surface?: string;
  /** The widget id that rendered the recommended item. */
  widget?: string;
  /** `true` when the item was shown by a recommendation response. */
  recommended?: boolean;
  /** The `requestId` of the recommendation response the item came from. */
  requestId?: string;
  /** 1-based position of the item in that response. */
  rank?: number;
  referrer?: string;
  url?: string;
  experiment?: string;
  variant?: string;
  /** Groups the add/purchase events of one order ("bought together"). */
  orderId?: string;
  unitPrice?: number;
  /** ISO 4217 code such as `EUR`. */
  currency?: string;
  /** The name of a `custom` event. */
  name?: string;
  [key: string]: string | number | boolean | null | undefined;
}

/** One behavioural event, exactly as sent to `events.batch` or `POST /v1/collect`. */
export interface RecsysEvent {
  /** Idempotency key: a replay with the same id is stored once. */
  eventId: string;
  type: EventType;
  /** Required for every type but order-level `custom` events. */
  itemId?: string;
  userId?: string;
  anonymousId?: string;
  sessionId?: string;
  /** Client time, ISO-8601 with a zone designator. */
  ts: string;
  /** Quantity, rating value, … (required for `rate`). */
  value?: number;
  meta?: EventMeta;
}

/** Body of `POST /v1/collect`. */
export interface CollectPayload {
  events: RecsysEvent[];
  sentAt?: string;
  /** Events this client discarded (queue cap, retry time cap) since the last successful send. */
  dropped?: number;
  /**
   * The signed-in user's token (`USER_TOKEN_FIELD`): in the body because beacons cannot set headers.
   * Rows naming another userId, or any userId without a valid token, count for their anonymousId only.
   */
  [USER_TOKEN_FIELD]?: string;
}

/** One rejected row of a batch: where, and why. */
export interface RowError {
  /** Position of the row in the submitted array. */
  index: number;
  /** Field path inside the row, e.g. `meta.rank`; empty for the whole row. */
  path: string;
  message: string;
}

/** Answer of `events.batch` and of `POST /v1/collect`. */
export interface EventsBatchResult {
  /** Rows newly stored. */
  accepted: number;
  /** Rows whose eventId was already stored (replays); ignored. */
  duplicates: number;
  rejected: RowError[];
  /**
   * Rows stored with a change the client should know about, e.g. a `userId` ignored because the
   * request had no valid user token (the row was stored for its `anonymousId`). Absent when empty.
   */
  warnings?: RowError[];
}
