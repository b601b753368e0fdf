export type {
  Engine,
  EngineStats,
  FallbackSource,
  Reason,
  RecFilters,
  RecRequest,
  RecResult,
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
} from './config/engineConfig';
export { defaultEngineConfig, SIGNALS, SURFACES } from './config/engineConfig';
export { resolveEngineConfig } from './config/resolveEngineConfig';
export { type CreateEngineOptions, createEngine } from './createEngine';
export { embeddingListLength } from './pipeline/collectSignals';
export type { EngineEvent, EngineItem, EventType, EventWeights } from './types';
export { mulberry32 } from './util/random';
export type {
  BuiltinEncoder,
  BuiltinEncoderOptions,
  BuiltinModelOptions,
  EmbeddingEncoder,
  HashedFeatureOptions,
  ItemTextField,
  ItemTextSource,
  IvfIndexOptions,
  ModelFileSpec,
  Neighbor,
  Pooling,
  PulledModel,
  PullModelOptions,
  TextEncoderOptions,
  TransformerEncoderOptions,
  VectorSource,
} from './vectors';
export {
  buildBuiltinModelBytes,
  bytesToVector,
  createBuiltinEncoder,
  createTextEncoder,
  createTransformerEncoder,
  DEFAULT_ITEM_TEXT_FIELDS,
  DEFAULT_MODEL_FILES,
  IvfIndex,
  itemText,
  ModelPullError,
  pullModel,
  resolveBuiltinModel,
  textHash,
  vectorToBytes,
} from './vectors';
