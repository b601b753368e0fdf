import type { Engine, PartialEngineConfig, Surface } from '@recsys/engine';
import {
  blendedBaseline,
  buyAgainMethod,
  covisitMethod,
  type EvalMethod,
  popularMethod,
  randomMethod,
} from './baselines';
import { assertStrictSplit, type EvalDataset } from './dataset';
import { buildItemVectors, buildTrainEngine, engineMethod } from './engineMethods';
import { cosine, type ItemSimilarity, type PopularityStats, popularityStats, tagJaccard } from './metrics';
import { runNextItemProtocol } from './nextItemProtocol';
import { sequentialRulesMethod, type TrainSession, trainSessions, vsknnMethod } from './sessionBaselines';
import { buildTrainIndex, type TrainIndex } from './trainIndex';
import { runUserProtocol } from './userProtocol';

/** Options of {@link runEvaluation}. */
export interface EvalOptions {
  /**
   * `user`: recommend for each test user as of the cut and score against their test interactions
   * (relevance "all" and "discovery"). `next-item`: for each test session and each prefix, predict the
   * next item.
   * @example 'user'
   */
  protocol: 'user' | 'next-item';
  /**
   * Cut-offs.
   * @default [5, 10, 20]
   * @example [10]
   */
  ks?: number[];
  /**
   * Engine config evaluated by the `engine*` methods (merged over the engine defaults).
   * @default {} (engine defaults)
   * @example ONLINE_RETAIL_PROFILE.config
   */
  config?: PartialEngineConfig;
  /**
   * Methods to run, in report order. See {@link USER_METHODS} and {@link NEXT_ITEM_METHODS}.
   * @default every method of the protocol (`engine-embedding` only with `embeddings`)
   * @example ['popular', 'engine']
   */
  methods?: string[];
  /**
   * User traits to break results down by (e.g. `country`); values with fewer than
   * `minSegmentUsers` users are pooled as `(other)`. Warm/cold and new-item segments are always there.
   * @default []
   * @example ['country']
   */
  segmentBy?: string[];
  /**
   * Embed the catalog text with the built-in encoder (embedding signal, `engine-embedding`, and
   * embedding-based intra-list diversity; tags otherwise).
   * @default false
   */
  embeddings?: boolean;
  /**
   * Seed of the random baseline and of user/session sampling.
   * @default 1
   */
  seed?: number;
  /**
   * Evaluate at most this many users (user protocol) or sessions (next-item), sampled with `seed`.
   * @default all
   * @example 500
   */
  maxUsers?: number;
  /**
   * Surface the engine is asked on in the user protocol.
   * @default 'forUser'
   * @example 'buyAgain'
   */
  surface?: Surface;
  /**
   * Smallest trait segment reported on its own.
   * @default 20
   */
  minSegmentUsers?: number;
  /** Called as users (× methods) are evaluated. */
  onProgress?: (done: number, total: number) => void;
}

/** One line of a report: a method on one relevance definition and one user segment. */
export interface EvalReportRow {
  method: string;
  relevance: 'all' | 'discovery' | 'next-item';
  /** `all`, `warm`, `cold`, `new-items`, or `<trait>=<value>`. */
  segment: string;
  /** Users (user protocol) or prediction points (next-item) averaged over. */
  users: number;
  /** `ndcg@10`, `recall@10`, `mrr@10`, `hit@10`, `coverage@10`, `longtail@10`, `novelty@10`, `ild@10`, … */
  metrics: Record<string, number>;
  /** Accuracy metrics as a ratio to the `popular` baseline on the same relevance and segment (1.2 = +20 %). */
  lift?: Record<string, number>;
}

/** The result of {@link runEvaluation}. */
export interface EvalReport {
  dataset: string;
  protocol: 'user' | 'next-item';
  ks: number[];
  rows: EvalReportRow[];
  /** Milliseconds: `index`, `engine`, `embeddings`, and one entry per method. */
  timings: Record<string, number>;
  /** One line per method. */
  methods?: Record<string, string>;
  /** Notes on the data (users skipped, items unknown at the cut, …). */
  notes?: string[];
}

/** Methods of the user protocol, in report order. */
export const USER_METHODS = [
  'random',
  'popular',
  'popular-30d',
  'buy-again',
  'covisit',
  'covisit-new',
  'buy-again+covisit',
  'covisit+pop',
  'engine-covisit',
  'engine-embedding',
  'engine-buyagain',
  'engine-revisit',
  'engine',
] as const;

/** Methods of the next-item protocol, in report order. */
export const NEXT_ITEM_METHODS = [
  'random',
  'popular',
  'popular-30d',
  'covisit',
  'sr',
  'vsknn',
  'vsknn-k200',
  'engine-covisit',
  'engine-embedding',
  'engine-session',
  'engine-similar',
  'engine-cart',
  'engine',
] as const;

/** Everything predictions are made from: the train index, the engine, methods. Built once per run. */
export interface PreparedEvaluation {
  train: TrainIndex;
  /** The engine built from train (when an engine method runs); tuning swaps its config in place. */
  engine: Engine | undefined;
  methods: EvalMethod[];
  similarity: ItemSimilarity;
  pop: PopularityStats;
  timings: Record<string, number>;
}

/** Builds the train index, the engine (train events only) and the methods. */
export async function prepareEvaluation(
  dataset: EvalDataset,
  options: EvalOptions,
): Promise<PreparedEvaluation> {
  const cut = assertStrictSplit(dataset);
  const timings: Record<string, number> = {};
  let t = performance.now();
  const train = buildTrainIndex(dataset.items, dataset.train, cut);
  timings.index = performance.now() - t;
  const all: readonly string[] = options.protocol === 'user' ? USER_METHODS : NEXT_ITEM_METHODS;
  const names = options.methods ?? all.filter((m) => m !== 'engine-embedding' || options.embeddings);
  for (const name of names) {
    if (!all.includes(name)) {
      throw new Error(
        `Unknown method '${name}' for the ${options.protocol} protocol; use some of: ${all.join(', ')}.`,
      );
    }
  }
  const needsEngine = names.some((n) => n.startsWith('engine'));
  let vectors: Awaited<ReturnType<typeof buildItemVectors>> | undefined;
  if (options.embeddings) {
    t = performance.now();
    vectors = await buildItemVectors(dataset, train);
    timings.embeddings = performance.now() - t;
  }
  t = performance.now();
  const engine = needsEngine ? buildTrainEngine(dataset, train, options.config) : undefined;
  if (engine !== undefined && vectors !== undefined) engine.setVectors(vectors);
  if (engine !== undefined) timings.engine = performance.now() - t;
  let firstTs = cut;
  for (const e of dataset.train) firstTs = Math.min(firstTs, Date.parse(e.ts));
  const seed = options.seed ?? 1;
  let sessions: TrainSession[] | undefined;
  const sessionsOnce = () => {
    sessions ??= trainSessions(dataset.train);
    return sessions;
  };
  const methods = names.map((name): EvalMethod => {
    switch (name) {
      case 'random':
        return randomMethod(train, seed);
      case 'popular':
        return popularMethod(train, 'all');
      case 'popular-30d':
        return popularMethod(train, '30d');
      case 'buy-again':
        return buyAgainMethod(train);
      case 'covisit':
        return covisitMethod(train, true);
      case 'covisit-new':
        return covisitMethod(train, false);
      case 'buy-again+covisit':
      case 'covisit+pop':
        return blendedBaseline(train, name);
      case 'sr':
        return sequentialRulesMethod(sessionsOnce(), train);
      case 'vsknn':
        return vsknnMethod(name, sessionsOnce(), train, { k: 100, sampleSize: 500 });
      case 'vsknn-k200':
        return vsknnMethod(name, sessionsOnce(), train, { k: 200, sampleSize: 1000 });
      default:
        if (engine === undefined) throw new Error(`internal: engine missing for ${name}`);
        if (name === 'engine-embedding' && vectors === undefined) {
          throw new Error(
            "Method 'engine-embedding' needs embeddings: pass embeddings: true (--embeddings).",
          );
        }
        return engineMethod(name, engine, train, options.surface ?? 'forUser', firstTs);
    }
  });
  const tags = new Map(dataset.items.map((i) => [i.itemId, i.tags]));
  const similarity: ItemSimilarity = vectors
    ? (a, b) => {
        const va = vectors.get(a);
        const vb = vectors.get(b);
        return va && vb ? cosine(va, vb) : undefined;
      }
    : (a, b) => {
        const ta = tags.get(a);
        const tb = tags.get(b);
        return ta && tb && ta.length > 0 && tb.length > 0 ? tagJaccard(ta, tb) : undefined;
      };
  return { train, engine, methods, similarity, pop: popularityStats(train.interactions), timings };
}

/**
 * Evaluates baselines and the engine on a strict time split: every method is built from the train
 * half only and asked for predictions "now = cut".
 *
 * @example
 * const report = await runEvaluation(await loadEvalDataset({ source: 'online-retail' }), {
 *   protocol: 'user', ks: [10], config: ONLINE_RETAIL_PROFILE.config,
 * });
 * console.log(formatReportTable(report));
 */
export async function runEvaluation(dataset: EvalDataset, options: EvalOptions): Promise<EvalReport> {
  checkOptions(options);
  return evaluatePrepared(await prepareEvaluation(dataset, options), dataset, options);
}

/** Validates protocol and cut-offs; returns the sorted distinct cut-offs. */
export function checkOptions(options: EvalOptions): number[] {
  const ks = [...new Set(options.ks ?? [5, 10, 20])].sort((a, b) => a - b);
  if (ks.length === 0) throw new Error('runEvaluation: ks must list at least one cut-off, e.g. [10].');
  for (const k of ks) {
    if (!Number.isInteger(k) || k < 1 || k > 1000) {
      throw new Error(`runEvaluation: ks must be integers in 1…1000 (got ${k}).`);
    }
  }
  if (options.protocol !== 'user' && options.protocol !== 'next-item') {
    throw new Error(
      `runEvaluation: unknown protocol ${JSON.stringify(options.protocol)}; use 'user' or 'next-item'.`,
    );
  }
  return ks;
}

/** Scores already prepared methods (tuning re-scores one prepared engine under many configs). */
export function evaluatePrepared(
  prepared: PreparedEvaluation,
  dataset: EvalDataset,
  options: EvalOptions,
): EvalReport {
  const ks = checkOptions(options);
  return options.protocol === 'user'
    ? runUserProtocol(prepared, dataset, options, ks)
    : runNextItemProtocol(prepared, dataset, options, ks);
}
