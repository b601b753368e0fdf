/**
 * @recsys/server — the tRPC backend, storage and operator tools.
 *
 * Browser code must only `import type` from here (the SDK does).
 */
export {
  createEncoder,
  type EmbeddingsSetting,
  parseEmbeddingsSetting,
  type RunningRecsys,
  type StartOptions,
  startRecsys,
} from './app';
export type {
  EventInput,
  EventsBatchResult,
  EventType,
  ItemInput,
  ItemView,
  RecommendedItem,
  RecsResponse,
  RowError,
} from './contracts';
export { limits } from './contracts';
export { type Database, type DatabaseOptions, openDatabase } from './db/client';
export { EngineHost, type EngineHostOptions, type NamespaceRuntime } from './engine-host/EngineHost';
export {
  type EngineList,
  EngineNotReadyError,
  type EngineService,
  type ServeInput,
} from './engine-host/EngineService';
export { UserError } from './errors';
export { type HttpThread, type HttpThreadOptions, startHttpThread } from './http/httpThread';
export {
  createRecsysServer,
  type RecsysServer,
  type RecsysServerOptions,
  type RouteHandler,
} from './http/server';
export { createLogger, type Logger } from './obs/logger';
export type { AppRouter } from './routers/app';
export { appRouter } from './routers/app';
export { fixtureItemToInput } from './simulate/seed';
export { ingestEvents } from './store/events';
export { upsertItems } from './store/items';
export {
  createApiKey,
  createNamespace,
  getNamespace,
  listNamespaces,
  type NamespaceSettings,
  revokeApiKey,
} from './store/namespaces';
export { upsertUsers } from './store/users';
