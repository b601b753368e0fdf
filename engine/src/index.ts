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
export { embeddingListLength } from './collectSignals';
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
} from './embeddings';
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
} from './embeddings';
export { mulberry32 } from './mulberry32';
export { resolveEngineConfig } from './resolveEngineConfig';
export type { EngineEvent, EngineItem, EventType, EventWeights } from './types';
