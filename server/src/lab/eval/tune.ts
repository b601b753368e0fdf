import type { PartialEngineConfig } from '@recsys/engine';
import { resolveEngineConfig } from '@recsys/engine';
import { mulberry32 } from '@recsys/engine/random';
import { hashString } from './baselines';
import type { EvalDataset } from './dataset';
import { mainK } from './formatReport';
import { type EvalOptions, type EvalReport, evaluatePrepared, prepareEvaluation } from './runEvaluation';

type Value = number | string | boolean;

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
const UNIT: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

function parseValue(raw: string): Value {
  const v = raw.trim();
  if (v === 'true' || v === 'false') return v === 'true';
  const d = DURATION.exec(v);
  if (d) return Number(d[1]) * UNIT[d[2]!]!;
  const n = Number(v);
  if (v !== '' && Number.isFinite(n)) return n;
  return v;
}

/**
 * Parses a duration such as `30d`, `12h` or `90m` into milliseconds; undefined when it is not one.
 *
 * @example parseDuration('30d') // 2592000000
 */
export function parseDuration(raw: string): number | undefined {
  const d = DURATION.exec(raw.trim());
  return d ? Number(d[1]) * UNIT[d[2]!]! : undefined;
}

/**
 * Parses `path=v1,v2,…` (e.g. `blend.forUser.buyAgain=0.5,1,2`, `profile.halfLifeMs=14d,60d`).
 * Durations (`ms`, `s`, `m`, `h`, `d`) become milliseconds; `true`/`false` become booleans.
 *
 * @example parseGridSpec('covisit.halfLifeMs=7d,30d') // ['covisit.halfLifeMs', [604800000, 2592000000]]
 */
export function parseGridSpec(spec: string): [string, Value[]] {
  const eq = spec.indexOf('=');
  const path = spec.slice(0, eq).trim();
  if (eq < 1 || !/^[A-Za-z]+(\.[A-Za-z]+)*$/.test(path)) {
    throw new Error(
      `--grid '${spec}': expected <config.path>=<v1>,<v2>,… e.g. blend.forUser.buyAgain=0.5,1,2`,
    );
  }
  const values = spec
    .slice(eq + 1)
    .split(',')
    .filter((s) => s.trim() !== '')
    .map(parseValue);
  if (values.length === 0) throw new Error(`--grid '${spec}': give at least one value after '='.`);
  return [path, values];
}

/** Returns a deep copy of `obj` with `path` (dot-separated) set to `value`. */
export function setPath<T extends object>(obj: T, path: string, value: Value): T {
  const out = structuredClone(obj) as Record<string, unknown>;
  const keys = path.split('.');
  let node = out;
  keys.forEach((key, i) => {
    if (i === keys.length - 1) {
      node[key] = value;
      return;
    }
    const next = node[key];
    if (typeof next !== 'object' || next === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  });
  return out as T;
}

/** What a tuning run maximises. */
export interface TuneObjective {
  /**
   * @default 'ndcg@10'
   * @example 'recall@20'
   */
  metric: string;
  /**
   * @default 'all' (user protocol) or 'next-item'
   */
  relevance: 'all' | 'discovery' | 'next-item';
  /**
   * @default 'warm' when present, else 'all'
   */
  segment?: string;
}

/** Options of {@link runTuning}. */
export interface TuneOptions {
  /** Search space: config path → candidate values (see {@link parseGridSpec}). */
  grid: Record<string, Value[]>;
  /**
   * `grid` tries every combination; `random` samples `trials` distinct combinations with `seed`.
   * @default 'grid'
   */
  mode?: 'grid' | 'random';
  /**
   * Combinations tried in random mode.
   * @default 20
   */
  trials?: number;
  /** Config the grid values are applied over. @default {} */
  base?: PartialEngineConfig;
  /** What to maximise. @default { metric: 'ndcg@<main K>', relevance: 'all' } */
  objective?: Partial<TuneObjective>;
  /** Evaluation settings; methods are forced to `['engine']`. */
  evaluation: Omit<EvalOptions, 'config' | 'methods'>;
  /** Called after each trial. */
  onTrial?: (trial: TuneTrial, done: number, total: number) => void;
}

/** One evaluated combination. */
export interface TuneTrial {
  /** 1-based order of evaluation. */
  id: number;
  params: Record<string, Value>;
  config: PartialEngineConfig;
  /**
   * The objective; with several folds, its value on the worst fold (trials are ranked by how they
   * do when the data is least kind to them, not by one lucky split).
   */
  score: number;
  /** Catalog coverage at the objective's K on the same row (the worst fold's). */
  coverage: number;
  /** Every metric of the objective's row (the worst fold's). */
  metrics: Record<string, number>;
  /** The objective metric on the other user relevance (discovery when tuning on all, and vice versa). */
  other?: number;
  /** With several folds: the objective on each, in fold order, their mean and spread (max − min). */
  folds?: { scores: number[]; mean: number; spread: number };
}

/** Result of {@link runTuning}. */
export interface TuneResult {
  objective: TuneObjective;
  /** Best first. */
  trials: TuneTrial[];
  best: TuneTrial;
  dataset: string;
  /** The folds' names (cut dates), when tuned on several. */
  folds?: string[];
}

function combinations(grid: Record<string, Value[]>): Array<Record<string, Value>> {
  let out: Array<Record<string, Value>> = [{}];
  for (const [path, values] of Object.entries(grid)) {
    out = out.flatMap((c) => values.map((v) => ({ ...c, [path]: v })));
  }
  return out;
}

function rowOf(report: EvalReport, objective: TuneObjective) {
  const rows = report.rows.filter((r) => r.method === 'engine' && r.relevance === objective.relevance);
  return rows.find((r) => r.segment === objective.segment) ?? rows.find((r) => r.segment === 'all');
}

/**
 * Searches engine settings against the offline evaluation. The train index and engine are built
 * once per fold; each trial swaps the config in (index-shaping settings — half-lives, windows — replay
 * the train log; blend weights are instant), so trials are ordered to rebuild as rarely as possible.
 * Given several folds (see {@link rollingFolds}), every trial runs on each and is ranked by its worst
 * fold, with the mean and spread reported beside it.
 *
 * @example
 * const result = await runTuning(dataset, {
 *   grid: { 'blend.forUser.buyAgain': [1, 2, 3], 'profile.halfLifeMs': [14 * DAY, 60 * DAY] },
 *   evaluation: { protocol: 'user', ks: [10] },
 * });
 * saveProfile({ name: 'my-shop', config: result.best.config }, 'my-shop.json');
 */
export async function runTuning(
  datasets: EvalDataset | EvalDataset[],
  options: TuneOptions,
): Promise<TuneResult> {
  const folds = Array.isArray(datasets) ? datasets : [datasets];
  if (folds.length === 0) throw new Error('runTuning: give a dataset, or at least one fold.');
  const paths = Object.keys(options.grid);
  if (paths.length === 0) throw new Error('runTuning: give at least one --grid <path>=<values>.');
  let combos = combinations(options.grid);
  if ((options.mode ?? 'grid') === 'random') {
    const rng = mulberry32(hashString('tune', options.evaluation.seed ?? 1));
    const n = Math.min(options.trials ?? 20, combos.length);
    for (let i = combos.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [combos[i], combos[j]] = [combos[j]!, combos[i]!];
    }
    combos = combos.slice(0, n);
  }
  const base = options.base ?? {};
  const configs = combos.map((params) => {
    let config = base;
    for (const [path, value] of Object.entries(params)) config = setPath(config, path, value);
    try {
      resolveEngineConfig(config);
    } catch (error) {
      throw new Error(
        `runTuning: ${JSON.stringify(params)} gives an invalid config: ${(error as Error).message}`,
      );
    }
    return { params, config };
  });
  // Group by the settings that shape indexes so the engine replays its log only when they change.
  const shape = (c: PartialEngineConfig) => {
    const r = resolveEngineConfig(c);
    return JSON.stringify([r.eventWeights, r.covisit, r.popularity, r.profile]);
  };
  configs.sort((a, b) =>
    shape(a.config) < shape(b.config) ? -1 : shape(a.config) > shape(b.config) ? 1 : 0,
  );

  const evalOptions: EvalOptions = {
    ...options.evaluation,
    methods: ['engine'],
    config: configs[0]?.config ?? base,
  };
  const ks = evalOptions.ks ?? [5, 10, 20];
  const user = evalOptions.protocol === 'user';
  const objective: TuneObjective = {
    metric: options.objective?.metric ?? `ndcg@${mainK(ks)}`,
    relevance: options.objective?.relevance ?? (user ? 'all' : 'next-item'),
    segment: options.objective?.segment ?? 'warm',
  };
  const k = objective.metric.split('@')[1] ?? String(mainK(ks));
  // perFold[f][i]: trial i on fold f. Folds run one after another, so one engine is in memory at a time.
  const perFold: TuneTrial[][] = [];
  for (const [f, dataset] of folds.entries()) {
    const prepared = await prepareEvaluation(dataset, evalOptions);
    const trials: TuneTrial[] = [];
    for (const [i, { params, config }] of configs.entries()) {
      prepared.engine?.setConfig(config);
      const report = evaluatePrepared(prepared, dataset, { ...evalOptions, config, onProgress: undefined });
      const trial = trialOf(report, objective, user, k, { id: i + 1, params, config });
      trials.push(trial);
      if (f === folds.length - 1) {
        options.onTrial?.(
          folds.length === 1 ? trial : combine([...perFold, trials], i),
          i + 1,
          configs.length,
        );
      }
    }
    perFold.push(trials);
  }
  const last = perFold.at(-1)!;
  const trials = folds.length === 1 ? last : last.map((_, i) => combine(perFold, i));
  trials.sort((a, b) => b.score - a.score || (b.folds?.mean ?? 0) - (a.folds?.mean ?? 0) || a.id - b.id);
  return {
    objective,
    trials,
    best: trials[0]!,
    dataset: folds.length === 1 ? folds[0]!.name : folds[0]!.name.replace(/ fold 1 .*$/, ''),
    ...(folds.length > 1 ? { folds: folds.map((d) => d.name) } : {}),
  };
}

/** The objective's row of one report as a trial. */
function trialOf(
  report: EvalReport,
  objective: TuneObjective,
  user: boolean,
  k: string,
  base: Pick<TuneTrial, 'id' | 'params' | 'config'>,
): TuneTrial {
  const row = rowOf(report, objective);
  if (row === undefined)
    throw new Error(`runTuning: no '${objective.relevance}' rows in the report; check the protocol.`);
  const score = row.metrics[objective.metric];
  if (score === undefined) {
    throw new Error(
      `runTuning: unknown metric '${objective.metric}'; use one of ${Object.keys(row.metrics).join(', ')}.`,
    );
  }
  const trial: TuneTrial = {
    ...base,
    score,
    coverage: row.metrics[`coverage@${k}`] ?? 0,
    metrics: row.metrics,
  };
  if (user) {
    const otherRow = rowOf(report, {
      ...objective,
      relevance: objective.relevance === 'all' ? 'discovery' : 'all',
    });
    const other = otherRow?.metrics[objective.metric];
    if (other !== undefined) trial.other = other;
  }
  return trial;
}

/** Trial `i` over every fold: the worst fold's row, with each fold's score, the mean and the spread. */
function combine(perFold: TuneTrial[][], i: number): TuneTrial {
  const all = perFold.map((trials) => trials[i]!);
  const scores = all.map((t) => t.score);
  const worst = all.reduce((w, t) => (t.score < w.score ? t : w));
  return {
    ...worst,
    folds: {
      scores,
      mean: scores.reduce((a, b) => a + b, 0) / scores.length,
      spread: Math.max(...scores) - Math.min(...scores),
    },
  };
}

/** Leaderboard as a text table, best first. */
export function formatLeaderboard(result: TuneResult, limit = 20): string {
  const paths = Object.keys(result.best.params);
  const otherName =
    result.objective.relevance === 'all'
      ? 'discovery'
      : result.objective.relevance === 'discovery'
        ? 'all'
        : '';
  const folds = result.folds?.length ?? 0;
  const header = [
    'rank',
    'trial',
    folds > 0 ? `${result.objective.metric} worst` : result.objective.metric,
    ...(folds > 0 ? ['mean', 'spread', ...result.folds!.map((_, f) => `fold ${f + 1}`)] : []),
    ...(otherName ? [otherName] : []),
    'coverage',
    ...paths,
  ];
  const rows = [header];
  result.trials.slice(0, limit).forEach((t, i) => {
    rows.push([
      String(i + 1),
      `#${t.id}`,
      t.score.toFixed(4),
      ...(t.folds
        ? [t.folds.mean.toFixed(4), t.folds.spread.toFixed(4), ...t.folds.scores.map((x) => x.toFixed(4))]
        : []),
      ...(otherName ? [t.other === undefined ? '—' : t.other.toFixed(4)] : []),
      t.coverage.toFixed(4),
      ...paths.map((p) => String(t.params[p])),
    ]);
  });
  const widths = header.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => cell.padStart(widths[c]!)).join('  ')).join('\n');
}

/**
 * Accuracy (y) against catalog coverage (x) as a terminal scatter: `*` is the best trial, digits are
 * leaderboard ranks 1–9, `o` the rest.
 */
export function renderScatterText(result: TuneResult, width = 60, height = 16): string {
  const t = result.trials;
  const xs = t.map((x) => x.coverage);
  const ys = t.map((x) => x.score);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const grid = Array.from({ length: height }, () => Array.from({ length: width }, () => ' '));
  const col = (x: number) =>
    x1 > x0 ? Math.round(((x - x0) / (x1 - x0)) * (width - 1)) : Math.floor(width / 2);
  const row = (y: number) =>
    y1 > y0 ? height - 1 - Math.round(((y - y0) / (y1 - y0)) * (height - 1)) : Math.floor(height / 2);
  for (let i = t.length - 1; i >= 0; i--) {
    const mark = i === 0 ? '*' : i < 9 ? String(i + 1) : 'o';
    grid[row(ys[i]!)]![col(xs[i]!)] = mark;
  }
  const label = (v: number) => v.toFixed(4).padStart(7);
  const lines = grid.map((r, i) => {
    const y = i === 0 ? label(y1) : i === height - 1 ? label(y0) : ' '.repeat(7);
    return `${y} |${r.join('')}`;
  });
  lines.push(`${' '.repeat(8)}+${'-'.repeat(width)}`);
  lines.push(`${' '.repeat(9)}${x0.toFixed(4)}${' '.repeat(Math.max(1, width - 16))}${x1.toFixed(4)}`);
  return [
    `${result.objective.metric} (${result.objective.relevance}) vs catalog coverage; * = best`,
    ...lines,
  ].join('\n');
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** The same chart as a standalone SVG; hovering a point shows its parameters. */
export function renderScatterSvg(result: TuneResult): string {
  const W = 720;
  const H = 440;
  const m = { l: 70, r: 20, t: 40, b: 50 };
  const t = result.trials;
  const xs = t.map((x) => x.coverage);
  const ys = t.map((x) => x.score);
  const pad = (lo: number, hi: number) =>
    hi > lo ? [lo - (hi - lo) * 0.05, hi + (hi - lo) * 0.05] : [lo - 0.01, hi + 0.01];
  const [x0, x1] = pad(Math.min(...xs), Math.max(...xs)) as [number, number];
  const [y0, y1] = pad(Math.min(...ys), Math.max(...ys)) as [number, number];
  const px = (x: number) => m.l + ((x - x0) / (x1 - x0)) * (W - m.l - m.r);
  const py = (y: number) => H - m.b - ((y - y0) / (y1 - y0)) * (H - m.t - m.b);
  const ticks = (lo: number, hi: number) => Array.from({ length: 5 }, (_, i) => lo + ((hi - lo) * i) / 4);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${esc(`${result.dataset}: ${result.objective.metric} (${result.objective.relevance}) vs catalog coverage`)}</text>`,
    `<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="#333"/>`,
    `<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="#333"/>`,
  ];
  for (const x of ticks(x0, x1)) {
    parts.push(
      `<text x="${px(x).toFixed(1)}" y="${H - m.b + 18}" text-anchor="middle">${x.toFixed(3)}</text>`,
    );
  }
  for (const y of ticks(y0, y1)) {
    parts.push(`<text x="${m.l - 8}" y="${(py(y) + 4).toFixed(1)}" text-anchor="end">${y.toFixed(3)}</text>`);
    parts.push(
      `<line x1="${m.l}" y1="${py(y).toFixed(1)}" x2="${W - m.r}" y2="${py(y).toFixed(1)}" stroke="#eee"/>`,
    );
  }
  parts.push(`<text x="${W / 2}" y="${H - 10}" text-anchor="middle">catalog coverage@K</text>`);
  parts.push(
    `<text transform="translate(16 ${H / 2}) rotate(-90)" text-anchor="middle">${esc(result.objective.metric)}</text>`,
  );
  t.forEach((trial, i) => {
    const best = i === 0;
    const title = `#${trial.id} rank ${i + 1}: ${trial.score.toFixed(4)} @ coverage ${trial.coverage.toFixed(4)}\n${JSON.stringify(trial.params)}`;
    parts.push(
      `<circle cx="${px(trial.coverage).toFixed(1)}" cy="${py(trial.score).toFixed(1)}" r="${best ? 7 : 5}" fill="${best ? '#d62728' : '#1f77b4'}" fill-opacity="0.75"><title>${esc(title)}</title></circle>`,
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
