/**
 * `@recsys/engine`: the public API, and nothing else. Everything not exported here (the indexes,
 * the pipeline steps, the vector helpers, `util/`) is internal and may change without notice.
 *
 * Public:
 * - the engine: `createEngine` and the `Engine` contract (requests, results, stats) it implements;
 * - the data it is fed: `EngineItem`, `EngineEvent`, and item vectors through `VectorSource`;
 * - merchandising rules: `RuleDefinition` and its parts, `validateRule` (the one set of checks and
 *   messages every contract shares), `RuleValidationError`, `parseInstant` (schedule times);
 * - configuration: `EngineConfig` and its sections, `defaultEngineConfig`, `resolveEngineConfig`,
 *   and `embeddingListLength` (how long the engine's embedding neighbour lists are, so a vector
 *   index can precompute rows that long);
 * - decision traces: `RecTrace` (what `trace: true` returns) and `replayTrace`;
 * - text embeddings: the encoders, `IvfIndex`, `itemText`/`textHash`, vector (de)serialisation and
 *   `pullModel`.
 *
 * Sibling entry points: `@recsys/engine/protocol` (the shared vocabulary) and
 * `@recsys/engine/random` (deterministic hashes and seeded generators).
 */
export type {
  BundleEmptyReason,
  BundleItem,
  BundlePrice,
  BundleReason,
  BundleRequest,
  BundleResult,
  Engine,
  EngineStats,
  FallbackSource,
  GroupItem,
  GroupMember,
  GroupRequest,
  GroupResult,
  GroupRule,
  PreparedRules,
  Reason,
  RecFilters,
  RecRequest,
  RecResult,
  RerankRemovedReason,
  RerankRequest,
  RerankResult,
  RulesSummary,
} from './api';
export type {
  BundleConfig,
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
  SessionConfig,
  SignalName,
  SignalWeights,
  Surface,
} from './config/engineConfig';
export { defaultEngineConfig, SIGNALS, SURFACES } from './config/engineConfig';
export { resolveEngineConfig } from './config/resolveEngineConfig';
export { type CreateEngineOptions, createEngine } from './createEngine';
export { embeddingListLength } from './pipeline/collectSignals';
export { GROUP_MEMBERS } from './pipeline/recommendGroup';
export { MAX_RERANK_CANDIDATES } from './pipeline/rerankCandidates';
export {
  type RecTrace,
  type RemovalReason,
  type RemovalStep,
  type ReplayedItem,
  replayTrace,
  type TraceContribution,
  type TraceItem,
  type TraceRemoval,
  type TraceRuleEffect,
  type TraceSignal,
} from './pipeline/traceRequest';
export { parseInstant } from './rules/schedule';
export {
  type BlockRule,
  type BoostRule,
  type BuryRule,
  type FilterRule,
  type InjectRule,
  type ItemMatch,
  type PinRule,
  type RecurringWindow,
  RULE_KINDS,
  type RuleConditions,
  type RuleDefinition,
  type RuleEffect,
  type RuleKind,
  type RuleSchedule,
  WEEKDAYS,
  type Weekday,
} from './rules/types';
export { type RuleIssue, RuleValidationError, validateRule } from './rules/validateRule';
export {
  ENGINE_SNAPSHOT_FORMAT,
  EngineSnapshotError,
  type EngineSnapshotMeta,
  readEngineSnapshotMeta,
  type SnapshotRefusal,
} from './snapshot/engineSnapshot';
export type { EngineEvent, EngineItem, EventType, EventWeights, MarketOffer } from './types';
export {
  type BuiltinModelOptions,
  buildBuiltinModelBytes,
  resolveBuiltinModel,
} from './vectors/builtinModel';
export {
  type BuiltinEncoder,
  type BuiltinEncoderOptions,
  createBuiltinEncoder,
} from './vectors/createBuiltinEncoder';
export { createTextEncoder, type TextEncoderOptions } from './vectors/createTextEncoder';
export {
  createTransformerEncoder,
  type Pooling,
  type TransformerEncoderOptions,
} from './vectors/createTransformerEncoder';
export type { HashedFeatureOptions } from './vectors/hashedFeatures';
export { IvfIndex, type IvfIndexOptions } from './vectors/IvfIndex';
export {
  DEFAULT_ITEM_TEXT_FIELDS,
  type ItemTextField,
  type ItemTextSource,
  itemText,
  textHash,
} from './vectors/itemText';
export {
  buildLearnedModelBytes,
  createLearnedEncoder,
  learnedModelId,
  loadProjection,
  type StoredProjection,
  storeProjection,
} from './vectors/learnedEncoder';
export {
  DEFAULT_MODEL_FILES,
  type ModelFileSpec,
  ModelPullError,
  type PulledModel,
  type PullModelOptions,
  pullModel,
} from './vectors/pullModel';
export {
  builtinVectors,
  type CoPurchaseProjection,
  type CoPurchaseProjectionOptions,
  type CoPurchaseTrainingData,
  projectVector,
  trainCoPurchaseProjection,
} from './vectors/trainCoPurchaseProjection';
export type { ColdComplements, EmbeddingEncoder, Neighbor, VectorSource } from './vectors/types';
export { bytesToVector, vectorToBytes } from './vectors/vectorBytes';
