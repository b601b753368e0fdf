export {
  type AliasInput,
  type CallOptions,
  createRecsysClient,
  type DefaultRecsysApi,
  RECS_PROCEDURES,
  type RecsProcedure,
  type RecsSpecialProcedure,
  type RecsysApi,
  type RecsysClient,
  type RecsysClientOptions,
  recommendationContext,
} from './recs';
export { createRecsys, type Recsys } from './recsys';
export {
  backoffDelay,
  defaultRetryPolicy,
  isRetryableStatus,
  nextRetryDelay,
  parseRetryAfter,
  type RetryPolicy,
} from './retry';
export { RecsysRequestError } from './rpc';
export type { DayBoundary } from './session';
export { LOADER_SNIPPET } from './snippet';
export {
  type CartProps,
  createTracker,
  type IdentifyOptions,
  type ItemProps,
  type Order,
  type Tracker,
  type TrackerOptions,
  type TrackProps,
  type Traits,
} from './tracker';
export type { FetchLike } from './transport';
export * from './types';
