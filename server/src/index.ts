/**
 * @recsys/server — the runtime's public API: start a server, or compose one; storage and ingestion
 * functions; the tRPC router and its types. Offline tooling (evaluation, tuning, simulation,
 * scenarios, seeding) is `@recsys/server/lab`, built on this API only.
 *
 * Browser code must only `import type` from here (the SDK does).
 */

export type {
  EventsBatchResult,
  EventType,
  RecommendedItem,
  RecsResponse,
  RowError,
} from '@recsys/engine/protocol';
export { limits } from '@recsys/engine/protocol';
export type { AppRouter } from './api/router';
export { appRouter } from './api/router';
export {
  type CreateKeyOptions,
  createApiKey,
  createNamespace,
  getNamespace,
  listApiKeys,
  listNamespaces,
  type NamespaceSettings,
  revokeApiKey,
  setApiKeyOrigins,
  updateNamespaceSettings,
} from './auth/namespaces';
export {
  type NamespaceRateLimits,
  type RateLimit,
  updateNamespaceRateLimits,
} from './auth/rateLimitSettings';
export {
  type SignUserTokenOptions,
  signUserToken,
  type UserTokenCheck,
  verifyUserToken,
} from './auth/userTokens';
export {
  type AcceptanceCounts,
  type AcceptanceOptions,
  type BundleAcceptance,
  type BundleAcceptanceRow,
  bundleAcceptance,
} from './bundles/acceptance';
export { recordServedBundles, type ServedBundleRecord } from './bundles/recordServedBundles';
export {
  type ActiveConfig,
  activateConfig,
  type ConfigProfile,
  getActiveConfig,
  listBuiltinProfiles,
  listConfigs,
  loadProfile,
  PROFILES_DIR,
  profileFromValue,
  readStructuredFile,
  rollbackConfig,
  saveConfig,
  saveProfile,
  validateEngineConfig,
} from './config';
export { createEncoder, type EmbeddingsSetting, parseEmbeddingsSetting } from './config/settings';
export { actorOf, listOperatorChanges } from './console/audit';
export { type ConsoleOptions, defaultConsoleDir } from './console/consoleRoutes';
export {
  addOperator,
  listOperators,
  MIN_PASSWORD_LENGTH,
  type OperatorInfo,
  type OperatorRole,
  removeOperator,
} from './console/operators';
export { CSRF_HEADER } from './console/sessions';
export { type RestoreOptions, type RestoreSummary, restoreBackup } from './db/backup/restoreBackup';
export { type BackupOptions, type BackupSummary, writeBackup } from './db/backup/writeBackup';
export { type Database, type DatabaseOptions, openDatabase } from './db/client';
export {
  DEFAULT_REC_LOG_RETENTION_DAYS,
  type PruneOptions,
  type PruneResult,
  pruneRecLogs,
} from './db/retention';
export { describeZodError, UserError } from './errors';
export * from './experiments/stats';
export type { TrustProxySetting } from './http/clientIp';
export type { CollectBody } from './http/collect';
export { DEFAULT_RATE_LIMITS, type RateLimitOptions } from './http/rateLimiter';
export {
  createRecsysServer,
  type RecsysServer,
  type RecsysServerOptions,
  type RouteHandler,
} from './http/server';
export { type HttpThread, type HttpThreadOptions, startHttpThread } from './http/thread/startHttpThread';
export type { EventInput, ItemInput, ItemView } from './ingest/contracts';
export { ingestEvents } from './ingest/events';
export { archiveItems, upsertItems } from './ingest/items';
export { type ResetOptions, type ResetResult, resetNamespace } from './ingest/resetNamespace';
export { upsertUsers } from './ingest/users';
export {
  BUILT_IN_JOBS,
  type JobContext,
  type JobDefinition,
  type JobReport,
} from './jobs/definitions';
export type { JobRun } from './jobs/runs';
export { JobScheduler, type JobSchedulerOptions, type SlotOutcome } from './jobs/scheduler';
export { type JobSchedules, type JobsSetting, parseJobSchedules } from './jobs/schedules';
export { createJobsService, type JobListing, type JobsService } from './jobs/service';
export { createLogger, type Logger } from './obs/logger';
export { packageRoot } from './paths';
export { EngineHost, type EngineHostOptions, type NamespaceRuntime } from './replicate/EngineHost';
export {
  type EngineList,
  EngineNotReadyError,
  type EngineService,
  type ServeInput,
} from './serve/EngineService';
export {
  composeRuntime,
  type RunningRecsys,
  type Runtime,
  type RuntimeEngine,
  type RuntimeOptions,
  type StartOptions,
  startRecsys,
} from './start';
export { formatTrace } from './traces/formatTrace';
export type { StoredTrace, TracedRequest } from './traces/storedTrace';
export {
  DEFAULT_TRACE_RETENTION_DAYS,
  getTrace,
  pruneTraces,
  searchTraces,
  type TraceQuery,
} from './traces/traceStore';
