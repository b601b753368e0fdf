/** The kinds of behaviour the collector accepts. */
export type EventType = 'view' | 'click' | 'add' | 'purchase' | 'custom' | 'rate';

/** Free-form event metadata; well-known keys are typed, anything else must be a primitive. */
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
  orderId?: string;
  unitPrice?: number;
  currency?: string;
  /** The name of a `custom` event. */
  name?: string;
  [key: string]: string | number | boolean | undefined;
}

/** One behavioural event, exactly as sent to `POST /v1/collect`. */
export interface RecsysEvent {
  eventId: string;
  type: EventType;
  itemId?: string;
  userId?: string;
  anonymousId?: string;
  sessionId?: string;
  /** Client time, ISO-8601 UTC. */
  ts: string;
  value?: number;
  meta?: EventMeta;
}

/** Body of `POST /v1/collect`. */
export interface CollectPayload {
  events: RecsysEvent[];
  sentAt: string;
  /** Events this client discarded (queue cap, retry time cap) since the last successful send. */
  dropped?: number;
}

/** A row of a 200 response naming an event the server refused. */
export interface RejectedEvent {
  /** Index of the event in the batch that was sent. */
  index: number;
  path: string;
  message: string;
}

/** 200 response of `POST /v1/collect`. */
export interface CollectResponse {
  accepted: number;
  duplicates: number;
  rejected: RejectedEvent[];
}

/**
 * Where a tracked item came from when it was shown by a recommendation widget;
 * it joins clicks and purchases back to the response for attribution.
 */
export interface RecommendationContext {
  requestId: string;
  /** 1-based position in the response. */
  rank: number;
  surface: string;
  widget?: string;
}

/** Consent state. While `denied` nothing is stored and nothing is sent. */
export type ConsentState = 'granted' | 'denied';

/** Input of every `recs.*` query. Ids are filled in from the tracker by `createRecsys`. */
export interface RecsInput {
  userId?: string;
  anonymousId?: string;
  sessionId?: string;
  itemId?: string;
  itemIds?: string[];
  category?: string;
  /** How many items to return. */
  k?: number;
  filters?: Record<string, unknown>;
  /** Ask the server to attach `reasons` to every item. */
  explain?: boolean;
  seed?: number;
  surface?: string;
}

/** One recommended item. */
export interface RecsItem {
  itemId: string;
  rank: number;
  score: number;
  title?: string;
  price?: number;
  currency?: string;
  url?: string;
  imageUrl?: string;
  reasons?: Array<{ signal: string; text: string }>;
}

/** Response of every `recs.*` query. */
export interface RecsResponse {
  requestId: string;
  surface: string;
  items: RecsItem[];
  fallback: { used: boolean; sources: string[]; filled: number };
}
