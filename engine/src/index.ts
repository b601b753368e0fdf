export type {
  Engine,
  EngineStats,
  FallbackSource,
  Reason,
  RecFilters,
  RecRequest,
  RecResult,
  VectorSource,
} from './api';
export type {
  CovisitConfig,
  DeepPartial,
  DiversityConfig,
  EngineConfig,
  FallbackConfig,
  PartialEngineConfig,
  PopularityConfig,
  ProfileConfig,
  RankingConfig,
  RequestOverrides,
  SignalName,
  SignalWeights,
  Surface,
} from './config';
export { defaultEngineConfig, SIGNALS, SURFACES } from './config';
export { type CreateEngineOptions, createEngine } from './createEngine';
export { resolveEngineConfig } from './resolveEngineConfig';
export type { EngineEvent, EngineItem, EventType, EventWeights } from './types';
