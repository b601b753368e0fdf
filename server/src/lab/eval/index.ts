/**
 * Offline evaluation and tuning: strict time-split protocols (user-level and next-item), baselines,
 * engine ablations, metrics, reports, named engine profiles and grid/random search.
 */
export type { EvalMethod, SessionQuery, UserQuery } from './baselines';
export type { EvalDataset, EvalSource, RollingFoldOptions } from './dataset';
export {
  assertStrictSplit,
  datasetFromSplit,
  defaultDataDir,
  loadEvalDataset,
  MOVIELENS_CUT,
  ONLINE_RETAIL_CUT,
  rollingFolds,
} from './dataset';
export { formatReportTable } from './formatReport';
export type { ItemSimilarity, ListAccuracy, PopularityStats } from './metrics';
export {
  catalogCoverage,
  intraListDiversity,
  listAccuracy,
  longTailShare,
  novelty,
  popularityStats,
  tagJaccard,
} from './metrics';
export type { EvalOptions, EvalReport, EvalReportRow } from './runEvaluation';
export { NEXT_ITEM_METHODS, runEvaluation, USER_METHODS } from './runEvaluation';
export type { TuneObjective, TuneOptions, TuneResult, TuneTrial } from './tune';
export {
  formatLeaderboard,
  parseDuration,
  parseGridSpec,
  renderScatterSvg,
  renderScatterText,
  runTuning,
  setPath,
} from './tune';
