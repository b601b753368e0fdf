import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ResetResult } from '../../index';
import { formatScenarioTable, type ScenarioResult, scenariosToCsv } from '../scenarios';
import { barChart, escapeHtml, lineChart, scatterChart } from './charts';
import type { EvalReport } from './evalTypes';
import type { GuardrailCheck } from './guardrails';
import type { SeedResult } from './seed';

/** Where a simulation's numbers came from, for reproducing it. */
export interface SimulationMetadata {
  name: string;
  namespaceId: string;
  startedAt: string;
  finishedAt: string;
  /** `git rev-parse HEAD` of the working tree, when available. */
  gitCommit: string | null;
  source: string;
  /** Generator seed, when the data was generated. */
  seed: number | string | null;
  dataHash: string;
  configVersion: number | null;
  configName: string | null;
  configHash: string;
  /** How far seeded timestamps were moved to end at the run time. */
  shiftMs: number;
  evalOptions: Record<string, unknown>;
  database: string;
  node: string;
  /** Milliseconds per step. */
  timings: Record<string, number>;
}

export interface SimulationResult {
  metadata: SimulationMetadata;
  reset: ResetResult | null;
  seed: SeedResult;
  evaluation: EvalReport | null;
  /** Why evaluation did not run (e.g. no test events after the cut). */
  evaluationSkipped: string | null;
  scenarios: ScenarioResult[];
  guardrails: GuardrailCheck[];
  passed: boolean;
  bundleDir: string;
}

/** The K charts and guardrails focus on: 10 when evaluated, else the middle one. */
export function mainK(ks: readonly number[]): number {
  return ks.includes(10) ? 10 : (ks[Math.floor(ks.length / 2)] ?? 10);
}

function charts(report: EvalReport | null, method: string): string {
  if (!report) return '<p class="chart-empty">Evaluation did not run; no charts.</p>';
  const k = mainK(report.ks);
  const relevance =
    report.rows.find((r) => r.relevance === 'all')?.relevance ?? report.rows[0]?.relevance ?? 'all';
  const overall = report.rows.filter((r) => r.relevance === relevance && r.segment === 'all');
  const byK = lineChart(
    'metrics-by-k',
    `nDCG by K (${relevance}, all users)`,
    overall.map((r) => ({
      name: r.method,
      points: report.ks
        .map((kk) => ({ x: kk, y: r.metrics[`ndcg@${kk}`] }))
        .filter((p): p is { x: number; y: number } => p.y !== undefined && Number.isFinite(p.y)),
    })),
    'K',
    'nDCG',
  );
  const focus = report.rows.some((r) => r.method === method) ? method : (overall.at(-1)?.method ?? method);
  const lift = barChart(
    'lift-per-segment',
    `Lift of ${focus} over popular, nDCG@${k} per segment`,
    report.rows
      .filter((r) => r.method === focus && r.relevance === relevance && r.lift?.[`ndcg@${k}`] !== undefined)
      .map((r) => ({ label: r.segment, value: r.lift?.[`ndcg@${k}`] ?? 0 })),
    'lift (1 = popular)',
    1,
  );
  const scatter = scatterChart(
    'coverage-vs-accuracy',
    `Coverage vs accuracy @${k} per method`,
    overall
      .filter((r) => r.metrics[`coverage@${k}`] !== undefined && r.metrics[`ndcg@${k}`] !== undefined)
      .map((r) => ({ label: r.method, x: r.metrics[`coverage@${k}`] ?? 0, y: r.metrics[`ndcg@${k}`] ?? 0 })),
    `catalog coverage@${k}`,
    `nDCG@${k}`,
  );
  return byK + lift + scatter;
}

function table(header: string[], rows: Array<Array<string | number | null>>, cls = ''): string {
  const cell = (v: string | number | null) =>
    typeof v === 'number'
      ? `<td class="num">${Number.isInteger(v) ? v : v.toFixed(4)}</td>`
      : `<td>${escapeHtml(v ?? '-')}</td>`;
  return `<table class="${cls}"><thead><tr>${header.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map(cell).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

function metricsTable(report: EvalReport | null): string {
  if (!report) return '';
  const k = mainK(report.ks);
  const keys = ['ndcg', 'recall', 'hit', 'coverage', 'longtail', 'ild'].map((m) => `${m}@${k}`);
  const rows = report.rows.filter((r) => r.segment === 'all');
  return table(
    ['method', 'relevance', 'users', ...keys, `lift ndcg@${k}`],
    rows.map((r) => [
      r.method,
      r.relevance,
      r.users,
      ...keys.map((key) => r.metrics[key] ?? null),
      r.lift?.[`ndcg@${k}`] ?? null,
    ]),
    'metrics',
  );
}

/** The self-contained HTML report: inline CSS and SVG, no scripts, nothing loaded from elsewhere. */
export function renderReportHtml(result: SimulationResult, method = 'engine'): string {
  const m = result.metadata;
  const status = result.passed ? 'PASS' : 'FAIL';
  const breaches = result.guardrails.filter((g) => !g.passed);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>Recsys simulation ${escapeHtml(m.name)} — ${status}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;color:#111827;max-width:1200px}
h1 .status{padding:.1rem .5rem;border-radius:4px;color:#fff;font-size:.8em}
.pass{background:#16a34a}.fail{background:#dc2626}
.charts{display:flex;flex-wrap:wrap;gap:1rem}.chart-figure{margin:0;border:1px solid #e5e7eb;padding:.5rem;border-radius:6px}
figcaption{font-weight:600;margin-bottom:.25rem}
table{border-collapse:collapse;margin:.5rem 0 1.5rem;font-size:.9rem}th,td{border:1px solid #e5e7eb;padding:.25rem .5rem;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}tr.breach td{background:#fee2e2}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dt{font-weight:600}
</style></head><body>
<h1>Simulation ${escapeHtml(m.name)} <span class="status ${result.passed ? 'pass' : 'fail'}">${status}</span></h1>
<dl>
<dt>namespace</dt><dd>${escapeHtml(m.namespaceId)}</dd>
<dt>data</dt><dd>${escapeHtml(m.source)} (hash ${escapeHtml(m.dataHash)}${m.seed !== null ? `, seed ${escapeHtml(String(m.seed))}` : ''})</dd>
<dt>config</dt><dd>${m.configVersion === null ? 'engine defaults' : `version ${m.configVersion}`}${m.configName ? ` "${escapeHtml(m.configName)}"` : ''} (hash ${escapeHtml(m.configHash)})</dd>
<dt>commit</dt><dd>${escapeHtml(m.gitCommit ?? 'unknown')}</dd>
<dt>run</dt><dd>${escapeHtml(m.startedAt)} → ${escapeHtml(m.finishedAt)}</dd>
<dt>seeded</dt><dd>${result.seed.items.accepted} items, ${result.seed.users.accepted} users, ${result.seed.events.accepted} events</dd>
</dl>
<h2>Charts</h2>
<div class="charts">${charts(result.evaluation, method)}</div>
${result.evaluationSkipped ? `<p>Evaluation skipped: ${escapeHtml(result.evaluationSkipped)}</p>` : ''}
<h2>Guardrails (${breaches.length} breached)</h2>
${table(
  ['rule', 'expected', 'actual', 'result'],
  result.guardrails.map((g) => [g.rule, g.expected, g.actual, g.passed ? 'ok' : 'BREACH']),
  'guardrails',
).replace(
  /<tr><td>([^<]*)<\/td><td>([^<]*)<\/td><td[^>]*>([^<]*)<\/td><td>BREACH<\/td><\/tr>/g,
  '<tr class="breach"><td>$1</td><td>$2</td><td>$3</td><td>BREACH</td></tr>',
)}
<h2>Scenarios</h2>
${table(
  ['scenario', 'status', 'value', 'threshold', 'detail'],
  result.scenarios.map((s) => [
    `${s.id}@${s.version}`,
    s.status,
    s.value,
    `${s.direction === 'min' ? '>=' : '<='} ${s.threshold}`,
    s.detail,
  ]),
  'scenarios',
)}
<h2>Offline metrics (segment all)</h2>
${metricsTable(result.evaluation)}
</body></html>
`;
}

/** summary.md: what a reviewer reads in a CI log or a pull request. */
export function renderSummaryMd(result: SimulationResult): string {
  const m = result.metadata;
  const lines = [
    `# Simulation ${m.name}: ${result.passed ? 'PASS' : 'FAIL'}`,
    '',
    `- namespace: \`${m.namespaceId}\``,
    `- data: ${m.source} (hash \`${m.dataHash}\`${m.seed !== null ? `, seed ${m.seed}` : ''})`,
    `- config: ${m.configVersion === null ? 'engine defaults' : `version ${m.configVersion}`}${m.configName ? ` "${m.configName}"` : ''} (hash \`${m.configHash}\`)`,
    `- commit: \`${m.gitCommit ?? 'unknown'}\``,
    `- seeded: ${result.seed.items.accepted} items, ${result.seed.users.accepted} users, ${result.seed.events.accepted} events (${result.seed.events.rejected} rejected)`,
    `- timings (ms): ${Object.entries(m.timings)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
    '',
    '## Guardrails',
    '',
  ];
  const breaches = result.guardrails.filter((g) => !g.passed);
  if (breaches.length === 0) lines.push(`All ${result.guardrails.length} checks passed.`);
  else for (const b of breaches) lines.push(`- BREACH ${b.rule}: expected ${b.expected}, got ${b.actual}`);
  lines.push('', '## Scenarios', '', '```', formatScenarioTable(result.scenarios), '```', '');
  if (result.evaluation) {
    const k = mainK(result.evaluation.ks);
    lines.push(`## Offline evaluation (${result.evaluation.protocol}, segment all, @${k})`, '');
    lines.push(
      `| method | relevance | users | ndcg | recall | coverage | longtail | lift ndcg |`,
      '|---|---|---|---|---|---|---|---|',
    );
    const f = (v: number | undefined) => (v === undefined ? '-' : v.toFixed(4));
    for (const r of result.evaluation.rows.filter((row) => row.segment === 'all')) {
      lines.push(
        `| ${r.method} | ${r.relevance} | ${r.users} | ${f(r.metrics[`ndcg@${k}`])} | ${f(r.metrics[`recall@${k}`])} | ${f(r.metrics[`coverage@${k}`])} | ${f(r.metrics[`longtail@${k}`])} | ${f(r.lift?.[`ndcg@${k}`])} |`,
      );
    }
  } else lines.push(`Evaluation skipped: ${result.evaluationSkipped ?? 'unknown reason'}`);
  return `${lines.join('\n')}\n`;
}

/** Writes the bundle files into `result.bundleDir`. */
export function writeBundle(result: SimulationResult, method = 'engine'): string[] {
  mkdirSync(result.bundleDir, { recursive: true });
  const files: Record<string, string> = {
    'metadata.json': JSON.stringify(
      {
        ...result.metadata,
        passed: result.passed,
        guardrails: result.guardrails,
        seeding: result.seed,
        reset: result.reset,
      },
      null,
      2,
    ),
    'metrics.json': JSON.stringify(result.evaluation ?? { skipped: result.evaluationSkipped }, null, 2),
    'scenarios.csv': scenariosToCsv(result.scenarios),
    'report.html': renderReportHtml(result, method),
    'summary.md': renderSummaryMd(result),
  };
  for (const [name, body] of Object.entries(files)) writeFileSync(join(result.bundleDir, name), body);
  return Object.keys(files).map((f) => join(result.bundleDir, f));
}
