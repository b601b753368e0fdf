/**
 * @recsys/server — the tRPC backend, storage and operator tools.
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
  createApiKey,
  createNamespace,
  getNamespace,
  listNamespaces,
  type NamespaceSettings,
  revokeApiKey,
} from './auth/namespaces';
export { type Database, type DatabaseOptions, openDatabase } from './db/client';
export { UserError } from './errors';
export {
  createRecsysServer,
  type RecsysServer,
  type RecsysServerOptions,
  type RouteHandler,
} from './http/server';
export { type HttpThread, type HttpThreadOptions, startHttpThread } from './http/thread/startHttpThread';
export type { EventInput, ItemInput, ItemView } from './ingest/contracts';
export { ingestEvents } from './ingest/events';
export { upsertItems } from './ingest/items';
export { upsertUsers } from './ingest/users';
export { fixtureItemToInput } from './lab/simulate/seed';
export { createLogger, type Logger } from './obs/logger';
export { EngineHost, type EngineHostOptions, type NamespaceRuntime } from './replicate/EngineHost';
export {
  type EngineList,
  EngineNotReadyError,
  type EngineService,
  type ServeInput,
} from './serve/EngineService';
export {
  createEncoder,
  type EmbeddingsSetting,
  parseEmbeddingsSetting,
  type RunningRecsys,
  type StartOptions,
  startRecsys,
} from './start';
