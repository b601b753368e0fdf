import { beforeAll, describe, expect, it } from 'vitest';
import { loadEvalDataset } from './dataset';
import { type EvalReport, runEvaluation, USER_METHODS } from './runEvaluation';

/** The single baselines of the user protocol (the engine's own ablations do not count). */
const BASELINES = USER_METHODS.filter((m) => !m.startsWith('engine'));

/**
 * The generated retail shop `recsys eval` runs on a fresh clone (seed 1, default cut), engine
 * defaults. Its shoppers rarely order (about one purchased item each before the cut) but often come
 * back to what they browsed, and the test half counts every interaction.
 */
describe('the generated retail shop, engine defaults', () => {
  let report: EvalReport;
  const ndcg = (method: string, segment: string) => {
    const row = report.rows.find(
      (r) => r.method === method && r.relevance === 'all' && r.segment === segment,
    );
    if (row === undefined) throw new Error(`no row ${method}/all/${segment}`);
    return row.metrics['ndcg@10']!;
  };

  beforeAll(async () => {
    const dataset = await loadEvalDataset({ source: 'generator', template: 'retail' });
    report = await runEvaluation(dataset, { protocol: 'user', ks: [10], methods: [...BASELINES, 'engine'] });
  });

  it.each(['all', 'warm'])(
    'ranks %s users at least as well as the best single baseline (NDCG@10, all interactions)',
    (segment) => {
      const best = Math.max(...BASELINES.map((m) => ndcg(m, segment)));
      expect(ndcg('engine', segment)).toBeGreaterThanOrEqual(best);
    },
  );
});
