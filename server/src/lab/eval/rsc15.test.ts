import { describe, expect, it } from 'vitest';
import { defaultDataDir, loadEvalDataset } from './dataset';
import { formatReportTable } from './formatReport';
import { findRsc15Dir } from './rsc15';
import { runEvaluation } from './runEvaluation';

const present = findRsc15Dir(defaultDataDir) !== undefined;
if (!present)
  console.info(`skipping the RSC15 next-item evaluation: ${defaultDataDir}/rsc15-sample not found`);

describe.skipIf(!present)('RSC15 sample, next-item protocol (validation day)', () => {
  it('the engine continuing the session beats V-SkNN and sequential rules on HitRate@20 and MRR@20', async () => {
    const dataset = await loadEvalDataset({ source: 'rsc15' });
    // Session-rec's split: every train click before the cut, test sessions end after it.
    expect(dataset.train.every((e) => Date.parse(e.ts) < dataset.cutMs!)).toBe(true);
    const report = await runEvaluation(dataset, {
      protocol: 'next-item',
      ks: [20],
      methods: ['popular', 'sr', 'vsknn', 'engine'],
    });
    console.info(formatReportTable(report));
    const metric = (method: string, name: string) =>
      report.rows.find((r) => r.method === method && r.segment === 'all')!.metrics[name]!;
    expect(report.rows.find((r) => r.method === 'vsknn' && r.segment === 'all')!.users).toBe(12_455);
    // The published range of the baselines on this sample (session-rec): V-SkNN ≈ .64 / .35.
    expect(metric('vsknn', 'hit@20')).toBeGreaterThan(0.6);
    expect(metric('vsknn', 'mrr@20')).toBeGreaterThan(0.33);
    for (const name of ['hit@20', 'mrr@20']) {
      expect(metric('engine', name)).toBeGreaterThan(metric('vsknn', name));
      expect(metric('engine', name)).toBeGreaterThan(metric('sr', name));
      expect(metric('sr', name)).toBeGreaterThan(metric('popular', name));
    }
  }, 600_000);
});
