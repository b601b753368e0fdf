/**
 * The cold-item protocol: items first sold at or after the cut have no behaviour at prediction
 * time, only text. For each, every method names k training items (items sold before the cut); the
 * score is the share of the cold item's later co-purchases (training items in the same basket) that
 * fall in those k. Popularity names the same k best sellers for every cold item; the raw text encoder
 * its k nearest look-alikes; the learned encoder the k training items whose co-purchase tower best
 * matches its learned query vector (see `trainCoPurchaseProjection`).
 */
import {
  builtinVectors,
  type CoPurchaseProjection,
  createBuiltinEncoder,
  createLearnedEncoder,
  itemText,
  projectVector,
  trainCoPurchaseProjection,
} from '@recsys/engine';
import type { FixtureEvent } from '@recsys/fixtures';
import { type EvalDataset, rollingFolds } from './dataset';
import { fixtureItemToEngine } from './fixtureEvents';
import { basketOf, buildTrainIndex, MAX_BASKET } from './trainIndex';

const DAY = 86_400_000;
/** `trainCoPurchaseProjection`'s default, used when the tuning fold has no cold item. */
const DEFAULT_RIDGE = 10;

/** Options of {@link runColdItemProtocol}. */
export interface ColdItemOptions {
  /** Cut-offs (neighbours per cold item). */
  k: number[];
  /**
   * Ridge strengths tried on the tuning fold (the 30 days before the cut, trained on everything
   * before them); the best at the largest k is retrained on all of train and reported.
   * @default [0.1, 1, 10, 100]
   */
  ridgeGrid?: number[];
  /** @default 30 days */
  tuneStepMs?: number;
}

/** One method's result at every k. */
export interface ColdItemRow {
  method: string;
  /** k → share of later co-purchases among the method's k neighbours. */
  share: Map<number, number>;
  /** k → share / popularity's share. */
  ratio: Map<number, number>;
}

export interface ColdItemReport {
  dataset: string;
  cut: string;
  coldItems: number;
  /** (cold item, training item, basket) co-purchases scored. */
  coPurchases: number;
  trainingItems: number;
  ridge: number;
  /** Ridge → share at the largest k on the tuning fold (empty when it has no cold item). */
  tuning: Array<{ ridge: number; share: number }>;
  tuneCut: string;
  rows: ColdItemRow[];
}

interface ColdTask {
  /** Cold item → its later co-purchase partners among training items, with basket counts. */
  partners: Map<string, Map<string, number>>;
  total: number;
  /** Items sold before the cut, best sellers (distinct baskets) first: popularity's list. */
  candidates: string[];
  trainBaskets: string[][];
  texts: Map<string, string>;
}

function basketsOf(events: readonly FixtureEvent[]): Map<string, Set<string>> {
  const baskets = new Map<string, Set<string>>();
  for (const e of events) {
    if (e.itemId === undefined || e.type !== 'purchase') continue;
    const key = basketOf(e);
    let set = baskets.get(key);
    if (set === undefined) {
      set = new Set();
      baskets.set(key, set);
    }
    set.add(e.itemId);
  }
  return baskets;
}

/** The cold items of a split, their later co-purchases, and what training sees. */
export function coldItemTask(dataset: EvalDataset, cut: number): ColdTask {
  const train = buildTrainIndex(dataset.items, dataset.train, cut);
  const candidates = train.popular;
  const candidateSet = new Set(candidates);
  const soldBefore = new Set(train.interactions.keys());
  const partners = new Map<string, Map<string, number>>();
  let total = 0;
  for (const basket of basketsOf(dataset.test).values()) {
    if (basket.size < 2 || basket.size > MAX_BASKET) continue;
    const warm = [...basket].filter((i) => candidateSet.has(i));
    for (const item of basket) {
      if (soldBefore.has(item) || warm.length === 0) continue;
      let m = partners.get(item);
      if (m === undefined) {
        m = new Map();
        partners.set(item, m);
      }
      for (const w of warm) m.set(w, (m.get(w) ?? 0) + 1);
      total += warm.length;
    }
  }
  const texts = new Map<string, string>();
  for (const item of dataset.items) {
    const text = itemText(fixtureItemToEngine(item, 0));
    if (text.length > 0) texts.set(item.itemId, text);
  }
  // A cold item without text has nothing to encode; it is left out for every method alike.
  for (const [id, m] of [...partners]) {
    if (texts.has(id)) continue;
    partners.delete(id);
    for (const n of m.values()) total -= n;
  }
  const trainBaskets = [...basketsOf(dataset.train).values()].map((s) => [...s]);
  return { partners, total, candidates, trainBaskets, texts };
}

/** Share of the task's co-purchases whose partner is among each cold item's neighbours, per k. */
function shareAt(
  task: ColdTask,
  neighbours: (item: string) => readonly string[],
  ks: number[],
): Map<number, number> {
  const hits = new Map(ks.map((k) => [k, 0]));
  for (const [item, partners] of task.partners) {
    const list = neighbours(item);
    for (const k of ks) {
      let h = 0;
      for (const n of list.slice(0, k)) h += partners.get(n) ?? 0;
      hits.set(k, hits.get(k)! + h);
    }
  }
  return new Map(ks.map((k) => [k, task.total === 0 ? 0 : hits.get(k)! / task.total]));
}

/** k nearest candidates of every cold item, by the dot product of query and candidate vectors. */
function nearestLists(
  task: ColdTask,
  queries: Map<string, Float32Array>,
  candidateVectors: Float32Array[],
  k: number,
): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [item, q] of queries) {
    const scored = candidateVectors.map((v, i) => {
      let dot = 0;
      for (let d = 0; d < v.length; d++) dot += v[d]! * q[d]!;
      return { i, dot };
    });
    // Ties go to the better seller (candidates are in popularity order), so the order is deterministic.
    scored.sort((a, b) => b.dot - a.dot || a.i - b.i);
    out.set(
      item,
      scored.slice(0, k).map((s) => task.candidates[s.i]!),
    );
  }
  return out;
}

async function encodeAll(
  encoder: { encode(texts: readonly string[]): Promise<Float32Array[]> },
  ids: readonly string[],
  texts: ReadonlyMap<string, string>,
): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (let i = 0; i < ids.length; i += 512) {
    const slice = ids.slice(i, i + 512);
    for (const v of await encoder.encode(slice.map((id) => texts.get(id) ?? ''))) out.push(v.slice());
  }
  return out;
}

/** Trains on the items sold before the cut only: a cold item's text is never seen in training. */
function trainOn(task: ColdTask, ridge: number): CoPurchaseProjection {
  const texts = new Map<string, string>();
  for (const id of task.candidates) {
    const text = task.texts.get(id);
    if (text !== undefined) texts.set(id, text);
  }
  return trainCoPurchaseProjection({ texts, baskets: task.trainBaskets }, { ridge });
}

/** The item tower's vectors in candidate order (zero for a candidate without text). */
function towerVectors(task: ColdTask, p: CoPurchaseProjection): Float32Array[] {
  const dim = p.model.dim;
  const row = new Map(p.itemIds.map((id, i) => [id, i]));
  return task.candidates.map((id) => {
    const i = row.get(id);
    return i === undefined ? new Float32Array(dim) : p.itemVectors.subarray(i * dim, (i + 1) * dim);
  });
}

/** Learned-encoder share at k on a task, through the TypeScript forward pass (tuning only). */
function tuneShare(task: ColdTask, ridge: number, k: number): number {
  const p = trainOn(task, ridge);
  const cold = [...task.partners.keys()];
  const queries = new Map<string, Float32Array>();
  builtinVectors(
    cold.map((id) => task.texts.get(id)!),
    p.model,
  ).forEach((x, i) => {
    queries.set(cold[i]!, projectVector(x, p.weights, p.model.dim));
  });
  const lists = nearestLists(task, queries, towerVectors(task, p), k);
  return shareAt(task, (item) => lists.get(item) ?? [], [k]).get(k)!;
}

/**
 * Runs the cold-item protocol: tunes the ridge strength on the 30 days before the cut, retrains on
 * everything before the cut, and scores popularity, the raw text encoder and the learned encoder on
 * the items first sold after it. Both encoders run through onnxruntime-node, as served.
 */
export async function runColdItemProtocol(
  dataset: EvalDataset,
  options: ColdItemOptions,
): Promise<ColdItemReport> {
  const ks = [...new Set(options.k)].sort((a, b) => a - b);
  const maxK = ks[ks.length - 1]!;
  const grid = options.ridgeGrid ?? [0.1, 1, 10, 100];
  const [fold] = rollingFolds(dataset, { folds: 1, stepMs: options.tuneStepMs ?? 30 * DAY });
  const tuneTask = coldItemTask(fold!, fold!.cutMs!);
  // A fold without cold items (or their co-purchases) has nothing to choose by: keep the default.
  const tuning =
    tuneTask.total === 0 ? [] : grid.map((ridge) => ({ ridge, share: tuneShare(tuneTask, ridge, maxK) }));
  const best = tuning.reduce((a, b) => (b.share > a.share ? b : a), {
    ridge: DEFAULT_RIDGE,
    share: Number.NEGATIVE_INFINITY,
  });

  const cut = dataset.cutMs!;
  const task = coldItemTask(dataset, cut);
  const cold = [...task.partners.keys()];
  const rows: ColdItemRow[] = [];
  const popShare = shareAt(task, () => task.candidates, ks);
  rows.push({ method: 'popularity', share: popShare, ratio: new Map() });

  const raw = await createBuiltinEncoder({ kind: 'builtin', idleReleaseMs: 0 });
  const projection = trainOn(task, best.ridge);
  const learned = await createLearnedEncoder(projection, { idleReleaseMs: 0 });
  try {
    const candidateVectors = await encodeAll(raw, task.candidates, task.texts);
    const rawQueries = await encodeAll(raw, cold, task.texts);
    const learnedQueries = await encodeAll(learned, cold, task.texts);
    for (const [method, queries, targets] of [
      ['text encoder (look-alikes)', rawQueries, candidateVectors],
      ['learned encoder', learnedQueries, towerVectors(task, projection)],
    ] as const) {
      const lists = nearestLists(task, new Map(cold.map((id, i) => [id, queries[i]!])), targets, maxK);
      rows.push({ method, share: shareAt(task, (item) => lists.get(item) ?? [], ks), ratio: new Map() });
    }
  } finally {
    await raw.dispose();
    await learned.dispose();
  }
  for (const row of rows) {
    for (const k of ks) {
      const p = popShare.get(k)!;
      row.ratio.set(k, p === 0 ? 0 : row.share.get(k)! / p);
    }
  }
  return {
    dataset: dataset.name,
    cut: new Date(cut).toISOString(),
    coldItems: cold.length,
    coPurchases: task.total,
    trainingItems: task.candidates.length,
    ridge: best.ridge,
    tuning,
    tuneCut: new Date(fold!.cutMs!).toISOString(),
    rows,
  };
}

/** The report as a plain-text table. */
export function formatColdItemReport(r: ColdItemReport, ks: number[]): string {
  const lines = [
    `Cold items — ${r.dataset}, cut ${r.cut}: ${r.coldItems} items first sold after the cut, ${r.coPurchases} co-purchases with ${r.trainingItems} training items`,
    r.tuning.length === 0
      ? `learned encoder ridge ${r.ridge} (the default: the fold cut at ${r.tuneCut} has no cold item to tune on)`
      : `learned encoder ridge ${r.ridge}, chosen on the fold cut at ${r.tuneCut} (share@${Math.max(...ks)}: ${r.tuning
          .map((t) => `${t.ridge} → ${t.share.toFixed(4)}`)
          .join(', ')})`,
    '',
    ['method'.padEnd(28), ...ks.map((k) => `share@${k}`.padStart(10) + `× pop`.padStart(8))].join(' '),
  ];
  for (const row of r.rows) {
    lines.push(
      [
        row.method.padEnd(28),
        ...ks.map(
          (k) => row.share.get(k)!.toFixed(4).padStart(10) + row.ratio.get(k)!.toFixed(2).padStart(8),
        ),
      ].join(' '),
    );
  }
  return lines.join('\n');
}
