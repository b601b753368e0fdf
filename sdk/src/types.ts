/**
 * The SDK's vocabulary. Wire shapes (events, the collect payload, recommendation inputs and
 * responses) come from `@recsys/protocol`, the one declaration every package shares;
 * they keep the names the SDK has always exported. Only what exists on the client alone is
 * declared here.
 */
export type {
  CollectPayload,
  EventMeta,
  EventsBatchResult as CollectResponse,
  EventType,
  GroupInput,
  GroupResponse,
  RecommendedItem as RecsItem,
  RecsInput,
  RecsResponse,
  RecsysEvent,
  RerankInput,
  RerankResponse,
  RowError as RejectedEvent,
} from '@recsys/protocol';

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
  /** The experiment the list was served under (`response.experiment.id`), sent as `meta.experiment`. */
  experiment?: string;
  /** Its variant (`response.experiment.variant`), sent as `meta.variant`. */
  variant?: string;
}

/** Consent state. While `denied` nothing is stored and nothing is sent. */
export type ConsentState = 'granted' | 'denied';
