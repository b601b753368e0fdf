/**
 * `@recsys/engine/protocol`: the vocabulary every package shares — event
 * types, surfaces, signals, limits and the shapes on the wire. No
 * dependencies and no side effects, so browser bundles take only what they use.
 */
export {
  type CollectPayload,
  EVENT_TYPES,
  type EventMeta,
  type EventsBatchResult,
  type EventType,
  isEventType,
  type LearnedEventType,
  type RecsysEvent,
  type RowError,
} from './events';
export { anonKey, userKeyOf } from './identity';
export { limits } from './limits';
export {
  BUNDLE_SURFACE,
  type BundleInput,
  type BundleResponse,
  type BundleResponseItem,
  bundleKeyOf,
  GROUP_SURFACE,
  type GroupInput,
  type GroupMemberInput,
  type GroupResponse,
  type GroupResponseItem,
  RERANK_SURFACE,
  type RecommendedItem,
  type RecReason,
  type RecsInput,
  type RecsResponse,
  type RerankInput,
  type RerankResponse,
  type RerankResponseItem,
} from './recs';
export {
  FALLBACK_SOURCES,
  type FallbackSource,
  isSurface,
  SIGNALS,
  type SignalName,
  SURFACES,
  type Surface,
} from './surfaces';
export { normalizeTag } from './tags';
export {
  createUserTokenClaims,
  USER_TOKEN_DEFAULT_SECONDS,
  USER_TOKEN_FIELD,
  USER_TOKEN_HEADER,
  USER_TOKEN_MAX_LENGTH,
  USER_TOKEN_MAX_SECONDS,
  USER_TOKEN_VERSION,
  type UserTokenClaims,
} from './userToken';
export {
  mutationRequest,
  type ProcedureOutcome,
  type ProcedureRequest,
  procedureRequest,
  queryRequest,
  readProcedureBody,
  TRPC_PATH,
} from './wire';
