import type { Engine, PartialEngineConfig, Surface } from '@recsys/engine';
import {
  blendedBaseline,
  buyAgainMethod,
  covisitMethod,
  type EvalMethod,
  hashString,
  popularMethod,
  randomMethod,
} from './baselines';
import { assertStrictSplit, type EvalDataset } from './dataset';
import { buildItemVectors, buildTrainEngine, engineMethod } from './engineMethods';
import {
  catalogCoverage,
  cosine,
  type ItemSimilarity,
  intraListDiversity,
  listAccuracy,
  longTailShare,
  meanDefined,
  novelty,
  type PopularityStats,
  popularityStats,
  tagJaccard,
} from './metrics';
import { buildTrainIndex, type TrainIndex } from './trainIndex';

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
  'engine',
] as const;

/** Methods of the next-item protocol, in report order. */
export const NEXT_ITEM_METHODS = [
  'random',
  'popular',
  'popular-30d',
  'covisit',
  'engine-covisit',
  'engine-embedding',
  'engine',
  'engine-cart',
] as const;

const ACCURACY = ['ndcg', 'recall', 'mrr', 'hit'] as const;

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

/** A user of the user protocol with their test items. */
interface TestUser {
  userId: string;
  warm: boolean;
  traits: Record<string, string>;
  relevant: Set<string>;
}

function traitsOf(dataset: EvalDataset): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  for (const u of dataset.users) {
    const t: Record<string, string> = {};
    for (const [k, v] of Object.entries(u.traits)) if (v !== undefined) t[k] = String(v);
    out.set(u.userId, t);
  }
  return out;
}

function sample<T>(list: T[], max: number | undefined, seed: number, key: (t: T) => string): T[] {
  if (max === undefined || list.length <= max) return list;
  return [...list]
    .map((t) => ({ t, h: hashString(key(t), seed) }))
    .sort((a, b) => a.h - b.h)
    .slice(0, max)
    .map((x) => x.t);
}

/** The users evaluated by the user protocol: everyone with a userId and an item in the test half. */
export function testUsers(
  dataset: EvalDataset,
  train: TrainIndex,
  options: Pick<EvalOptions, 'maxUsers' | 'seed'>,
): TestUser[] {
  const byUser = new Map<string, Set<string>>();
  for (const e of dataset.test) {
    if (e.userId === undefined || e.itemId === undefined) continue;
    let set = byUser.get(e.userId);
    if (set === undefined) {
      set = new Set();
      byUser.set(e.userId, set);
    }
    set.add(e.itemId);
  }
  const traits = traitsOf(dataset);
  const users = [...byUser.keys()].sort().map((userId) => ({
    userId,
    warm: train.users.has(userId),
    traits: traits.get(userId) ?? {},
    relevant: byUser.get(userId)!,
  }));
  return sample(users, options.maxUsers, options.seed ?? 1, (u) => u.userId);
}

/** Per-user predictions of one method under one relevance definition (exposed for leakage tests). */
export interface UserPredictions {
  method: string;
  relevance: 'all' | 'discovery';
  lists: Map<string, string[]>;
}

/** Runs every method for every test user, without scoring. */
export function predictUsers(
  prepared: PreparedEvaluation,
  users: TestUser[],
  k: number,
  onEach?: () => void,
): UserPredictions[] {
  const out: UserPredictions[] = [];
  for (const relevance of ['all', 'discovery'] as const) {
    for (const method of prepared.methods) {
      if (method.user === undefined || (relevance === 'discovery' && !method.discovery)) continue;
      const t = performance.now();
      const lists = new Map<string, string[]>();
      for (const u of users) {
        const history = prepared.train.users.get(u.userId);
        const exclude = relevance === 'discovery' ? new Set(history?.order ?? []) : new Set<string>();
        lists.set(
          u.userId,
          method.user({
            userId: u.userId,
            history,
            traits: u.traits,
            exclude,
            discovery: relevance === 'discovery',
            k,
          }),
        );
        onEach?.();
      }
      const key = `${method.name}/${relevance}`;
      prepared.timings[key] = (prepared.timings[key] ?? 0) + performance.now() - t;
      out.push({ method: method.name, relevance, lists });
    }
  }
  return out;
}

function listMetrics(
  entries: Array<{ list: string[]; relevant: Set<string> }>,
  ks: number[],
  prepared: PreparedEvaluation,
): Record<string, number> {
  const m: Record<string, number> = {};
  const lists = entries.map((e) => e.list);
  for (const k of ks) {
    const sums = { ndcg: 0, recall: 0, mrr: 0, hit: 0 };
    for (const e of entries) {
      const a = listAccuracy(e.list, e.relevant, k);
      for (const name of ACCURACY) sums[name] += a[name];
    }
    for (const name of ACCURACY) m[`${name}@${k}`] = entries.length === 0 ? 0 : sums[name] / entries.length;
    m[`coverage@${k}`] = catalogCoverage(lists, k, prepared.train.catalog.length);
    m[`longtail@${k}`] = longTailShare(lists, k, prepared.pop);
    m[`novelty@${k}`] = novelty(lists, k, prepared.pop);
    const ild = lists.map((l) => intraListDiversity(l, k, prepared.similarity));
    if (ild.some((v) => v !== undefined)) m[`ild@${k}`] = meanDefined(ild);
  }
  return m;
}

function addLift(rows: EvalReportRow[]): void {
  const base = new Map<string, EvalReportRow>();
  for (const r of rows) if (r.method === 'popular') base.set(`${r.relevance}\u0000${r.segment}`, r);
  for (const r of rows) {
    const b = base.get(`${r.relevance}\u0000${r.segment}`);
    if (b === undefined || r === b) continue;
    const lift: Record<string, number> = {};
    for (const [key, value] of Object.entries(r.metrics)) {
      if (!ACCURACY.some((a) => key.startsWith(`${a}@`))) continue;
      const bv = b.metrics[key];
      if (bv !== undefined && bv > 0) lift[key] = value / bv;
    }
    r.lift = lift;
  }
}

function traitSegments(users: TestUser[], by: string[], min: number): Map<string, string[]> {
  // user → extra segment names
  const out = new Map<string, string[]>();
  for (const trait of by) {
    const counts = new Map<string, number>();
    for (const u of users) {
      const v = u.traits[trait];
      if (v !== undefined) counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    for (const u of users) {
      const v = u.traits[trait];
      if (v === undefined) continue;
      const name = (counts.get(v) ?? 0) >= min ? `${trait}=${v}` : `${trait}=(other)`;
      out.set(u.userId, [...(out.get(u.userId) ?? []), name]);
    }
  }
  return out;
}

function runUserProtocol(
  prepared: PreparedEvaluation,
  dataset: EvalDataset,
  options: EvalOptions,
  ks: number[],
): EvalReport {
  const { train } = prepared;
  const users = testUsers(dataset, train, options);
  const maxK = Math.max(...ks);
  const perRelevance = prepared.methods.reduce((n, m) => n + (m.user ? 1 + (m.discovery ? 1 : 0) : 0), 0);
  const total = users.length * perRelevance;
  let done = 0;
  const predictions = predictUsers(prepared, users, maxK, () => {
    done++;
    if (options.onProgress && (done % 50 === 0 || done === total)) options.onProgress(done, total);
  });
  const extra = traitSegments(users, options.segmentBy ?? [], options.minSegmentUsers ?? 20);
  const segmentOrder = ['all', 'warm', 'cold', 'new-items'];
  for (const names of extra.values())
    for (const n of names) if (!segmentOrder.includes(n)) segmentOrder.push(n);
  segmentOrder.splice(4, segmentOrder.length - 4, ...segmentOrder.slice(4).sort());
  const rows: EvalReportRow[] = [];
  for (const p of predictions) {
    const segments = new Map<string, Array<{ list: string[]; relevant: Set<string> }>>();
    const push = (segment: string, entry: { list: string[]; relevant: Set<string> }) => {
      let list = segments.get(segment);
      if (list === undefined) {
        list = [];
        segments.set(segment, list);
      }
      list.push(entry);
    };
    for (const u of users) {
      const history = train.users.get(u.userId);
      const relevant =
        p.relevance === 'discovery' && history !== undefined
          ? new Set([...u.relevant].filter((i) => !history.baskets.has(i)))
          : u.relevant;
      if (relevant.size === 0) continue;
      const entry = { list: p.lists.get(u.userId) ?? [], relevant };
      push('all', entry);
      push(u.warm ? 'warm' : 'cold', entry);
      for (const s of extra.get(u.userId) ?? []) push(s, entry);
      const fresh = new Set([...relevant].filter((i) => !train.interactions.has(i)));
      if (fresh.size > 0) push('new-items', { list: entry.list, relevant: fresh });
    }
    for (const segment of segmentOrder) {
      const entries = segments.get(segment);
      if (entries === undefined || entries.length === 0) continue;
      rows.push({
        method: p.method,
        relevance: p.relevance,
        segment,
        users: entries.length,
        metrics: listMetrics(entries, ks, prepared),
      });
    }
  }
  addLift(rows);
  const warm = users.filter((u) => u.warm).length;
  return {
    dataset: dataset.name,
    protocol: 'user',
    ks,
    rows,
    timings: prepared.timings,
    methods: Object.fromEntries(prepared.methods.map((m) => [m.name, m.description])),
    notes: [
      `${users.length} test users (${warm} warm, ${users.length - warm} cold); cut ${new Date(train.cut).toISOString()}; ` +
        `${train.catalog.length} catalog items exist at the cut.`,
      'discovery: targets exclude, and recommendations never contain, items the user had before the cut.',
      'new-items: relevant items without any train interaction (items created after the cut cannot be recommended).',
    ],
  };
}

/** A test session of the next-item protocol: its items in time order (unknown items dropped). */
interface TestSession {
  key: string;
  warm: boolean;
  items: string[];
}

/** Test sessions with at least two items known in train (candidates are all training items). */
export function testSessions(
  dataset: EvalDataset,
  train: TrainIndex,
  options: Pick<EvalOptions, 'maxUsers' | 'seed'>,
): TestSession[] {
  const sessions = new Map<
    string,
    { user: string | undefined; events: Array<{ ts: number; item: string; i: number }> }
  >();
  dataset.test.forEach((e, i) => {
    if (e.itemId === undefined || !train.interactions.has(e.itemId) || !train.catalogSet.has(e.itemId))
      return;
    let s = sessions.get(e.sessionId);
    if (s === undefined) {
      s = { user: e.userId, events: [] };
      sessions.set(e.sessionId, s);
    }
    s.events.push({ ts: Date.parse(e.ts), item: e.itemId, i });
  });
  const out: TestSession[] = [];
  for (const [key, s] of [...sessions].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    if (s.events.length < 2) continue;
    s.events.sort((a, b) => a.ts - b.ts || a.i - b.i);
    out.push({
      key,
      warm: s.user !== undefined && train.users.has(s.user),
      items: s.events.map((e) => e.item),
    });
  }
  return sample(out, options.maxUsers, options.seed ?? 1, (s) => s.key);
}

function runNextItemProtocol(
  prepared: PreparedEvaluation,
  dataset: EvalDataset,
  options: EvalOptions,
  ks: number[],
): EvalReport {
  const sessions = testSessions(dataset, prepared.train, options);
  const maxK = Math.max(...ks);
  const methods = prepared.methods.filter((m) => m.session !== undefined);
  const points = sessions.reduce((n, s) => n + s.items.length - 1, 0);
  const total = points * methods.length;
  let done = 0;
  const rows: EvalReportRow[] = [];
  for (const method of methods) {
    const t = performance.now();
    const segments = new Map<string, Array<{ list: string[]; relevant: Set<string> }>>([
      ['all', []],
      ['warm', []],
      ['cold', []],
    ]);
    for (const s of sessions) {
      for (let n = 1; n < s.items.length; n++) {
        const list = method.session!({ sessionKey: s.key, prefix: s.items.slice(0, n), k: maxK });
        const entry = { list, relevant: new Set([s.items[n]!]) };
        segments.get('all')!.push(entry);
        segments.get(s.warm ? 'warm' : 'cold')!.push(entry);
        done++;
        if (options.onProgress && (done % 200 === 0 || done === total)) options.onProgress(done, total);
      }
    }
    prepared.timings[`${method.name}/next-item`] = performance.now() - t;
    for (const [segment, entries] of segments) {
      if (entries.length === 0) continue;
      rows.push({
        method: method.name,
        relevance: 'next-item',
        segment,
        users: entries.length,
        metrics: listMetrics(entries, ks, prepared),
      });
    }
  }
  addLift(rows);
  return {
    dataset: dataset.name,
    protocol: 'next-item',
    ks,
    rows,
    timings: prepared.timings,
    methods: Object.fromEntries(methods.map((m) => [m.name, m.description])),
    notes: [
      `${sessions.length} test sessions, ${points} next-item predictions; cut ${new Date(prepared.train.cut).toISOString()}.`,
      'users column = prediction points; test events of items unknown in train are dropped (candidates are all training items).',
      'the engine is only read during prediction: a session prefix never enters its indexes.',
    ],
  };
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
