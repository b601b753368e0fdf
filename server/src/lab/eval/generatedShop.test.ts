import type { PartialEngineConfig } from '@recsys/engine';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadProfile } from '../../index';
import { loadEvalDataset } from './dataset';
import { type EvalReport, runEvaluation, USER_METHODS } from './runEvaluation';

/** The single baselines of the user protocol (the engine's own ablations do not count). */
const BASELINES = USER_METHODS.filter((m) => !m.startsWith('engine'));

/**
 * The generated retail shop `recsys eval` runs on a fresh clone (seed 1, default cut). Its shoppers
 * rarely order (about one purchased item each before the cut) but often come back to what they
 * browsed, and the test half counts every interaction.
 */
async function evaluate(config: PartialEngineConfig | undefined): Promise<EvalReport> {
  const dataset = await loadEvalDataset({ source: 'generator', template: 'retail' });
  return runEvaluation(dataset, { protocol: 'user', ks: [10], config, methods: [...BASELINES, 'engine'] });
}

function ndcgOf(report: EvalReport, method: string, relevance: 'all' | 'discovery', segment: string) {
  const row = report.rows.find(
    (r) => r.method === method && r.relevance === relevance && r.segment === segment,
  );
  if (row === undefined) throw new Error(`no row ${method}/${relevance}/${segment}`);
  return row.metrics['ndcg@10']!;
}

/** The best single baseline of one segment (buy-again has no discovery row). */
function bestBaseline(report: EvalReport, relevance: 'all' | 'discovery', segment: string): number {
  const scores = report.rows
    .filter(
      (r) => BASELINES.includes(r.method as never) && r.relevance === relevance && r.segment === segment,
    )
    .map((r) => r.metrics['ndcg@10']!);
  if (scores.length === 0) throw new Error(`no baseline rows for ${relevance}/${segment}`);
  return Math.max(...scores);
}

describe('the generated retail shop, engine defaults', () => {
  let report: EvalReport;
  beforeAll(async () => {
    report = await evaluate(undefined);
  });

  it.each(['all', 'warm'])(
    'ranks %s users at least as well as the best single baseline (NDCG@10, all interactions)',
    (segment) => {
      expect(ndcgOf(report, 'engine', 'all', segment)).toBeGreaterThanOrEqual(
        bestBaseline(report, 'all', segment),
      );
    },
  );
});

describe('the generated retail shop, generated-shop profile', () => {
  let report: EvalReport;
  beforeAll(async () => {
    report = await evaluate(loadProfile('generated-shop').config);
  });

  it.each([
    ['all', 'all'],
    ['all', 'warm'],
    ['all', 'cold'],
    ['discovery', 'all'],
    ['discovery', 'warm'],
    ['discovery', 'cold'],
  ] as const)(
    'ranks at least as well as the best single baseline under %s relevance, %s users',
    (relevance, segment) => {
      expect(ndcgOf(report, 'engine', relevance, segment)).toBeGreaterThanOrEqual(
        bestBaseline(report, relevance, segment),
      );
    },
  );
});
