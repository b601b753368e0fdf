import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadProfile } from '../../index';
import { defaultDataDir, type EvalDataset, loadEvalDataset } from './dataset';
import { formatReportTable } from './formatReport';
import { type EvalReport, runEvaluation } from './runEvaluation';

const file = resolve(defaultDataDir, 'online-retail/online-retail-2010-12-to-2011-08.csv.gz');
const present = existsSync(file);
if (!present) console.info(`skipping the Online Retail reference reproduction: ${file} not found`);

/**
 * The reference protocol (EVAL-REFERENCE.md): cut at London midnight 2011-06-01, K = 10, relevance =
 * distinct StockCodes bought in the test period by customers with an id. Parsed and evaluated once.
 */
describe.skipIf(!present)('Online Retail reference reproduction', () => {
  let dataset: EvalDataset;
  let report: EvalReport;
  const row = (method: string, relevance: 'all' | 'discovery', segment: 'warm' | 'cold') => {
    const r = report.rows.find(
      (x) => x.method === method && x.relevance === relevance && x.segment === segment,
    );
    if (r === undefined) throw new Error(`no row ${method}/${relevance}/${segment}`);
    return r;
  };
  const ndcg = (method: string, relevance: 'all' | 'discovery', segment: 'warm' | 'cold' = 'warm') =>
    row(method, relevance, segment).metrics['ndcg@10']!;

  beforeAll(async () => {
    dataset = await loadEvalDataset({ source: 'online-retail' });
    const profile = loadProfile('online-retail');
    report = await runEvaluation(dataset, {
      protocol: 'user',
      ks: [10],
      config: profile.config,
      methods: ['popular', 'popular-30d', 'buy-again', 'covisit', 'engine'],
    });
    console.info(formatReportTable(report));
  });

  it('finds the reference population: 1,349 warm and 599 cold customers', () => {
    expect(row('popular', 'all', 'warm').users).toBe(1349);
    expect(row('popular', 'all', 'cold').users).toBe(599);
  });

  it('reproduces the reference popularity numbers (validates the metric and split code)', () => {
    expect(ndcg('popular', 'all')).toBeCloseTo(0.15, 2);
    expect(row('popular', 'all', 'warm').metrics['recall@10']).toBeCloseTo(0.144, 2);
    expect(ndcg('popular-30d', 'all')).toBeCloseTo(0.173, 2);
    expect(ndcg('popular', 'discovery')).toBeCloseTo(0.062, 2);
    expect(ndcg('popular-30d', 'discovery')).toBeCloseTo(0.1, 2);
    expect(ndcg('popular', 'all', 'cold')).toBeCloseTo(0.101, 2);
    // Buy-again alone beats every popularity list on all purchases: repeat purchases dominate.
    expect(ndcg('buy-again', 'all')).toBeGreaterThan(0.35);
  });

  it('beats the best single baseline in every segment with the online-retail profile: buy-again on warm users, co-visitation on discovery, popularity on cold users', () => {
    expect(row('engine', 'all', 'warm').users).toBe(1349);
    expect(ndcg('engine', 'all')).toBeGreaterThanOrEqual(0.43);
    expect(ndcg('engine', 'all')).toBeGreaterThan(ndcg('buy-again', 'all'));
    expect(ndcg('engine', 'discovery')).toBeGreaterThanOrEqual(ndcg('covisit', 'discovery'));
    expect(ndcg('engine', 'all', 'cold')).toBeGreaterThanOrEqual(ndcg('popular', 'all', 'cold'));
  });
});
