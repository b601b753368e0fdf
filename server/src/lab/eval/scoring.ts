/**
 * What both protocols share once predictions exist: a deterministic sample of test cases, the
 * metrics of a set of lists, and each row's lift over the popularity baseline.
 */
import { hashString } from './baselines';
import {
  catalogCoverage,
  intraListDiversity,
  listAccuracy,
  longTailShare,
  meanDefined,
  novelty,
} from './metrics';
import type { EvalReportRow, PreparedEvaluation } from './runEvaluation';

const ACCURACY = ['ndcg', 'recall', 'mrr', 'hit'] as const;

/** At most `max` items, chosen by a seeded hash of their key (the same sample on every run). */
export function sample<T>(list: T[], max: number | undefined, seed: number, key: (t: T) => string): T[] {
  if (max === undefined || list.length <= max) return list;
  return [...list]
    .map((t) => ({ t, h: hashString(key(t), seed) }))
    .sort((a, b) => a.h - b.h)
    .slice(0, max)
    .map((x) => x.t);
}

/** Accuracy and beyond-accuracy metrics of `entries` at every cut-off. */
export function listMetrics(
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

/** Adds each row's accuracy relative to the `popular` row of the same relevance and segment. */
export function addLift(rows: EvalReportRow[]): void {
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
