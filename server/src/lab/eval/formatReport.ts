import type { EvalReport, EvalReportRow } from './runEvaluation';

function cell(v: number | undefined, digits = 3): string {
  return v === undefined || Number.isNaN(v) ? '—' : v.toFixed(digits);
}

function pad(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows) {
    r.forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, c.length);
    });
  }
  return rows
    .map((r) =>
      r
        .map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** The cut-off shown in detail: 10 when evaluated, else the middle one. */
export function mainK(ks: readonly number[]): number {
  return ks.includes(10) ? 10 : (ks[Math.floor(ks.length / 2)] ?? 10);
}

/**
 * Renders a report as plain-text tables, one per relevance definition: accuracy at every K, then
 * beyond-accuracy metrics and the NDCG lift over popularity at the main K (10 when evaluated).
 *
 * @example console.log(formatReportTable(await runEvaluation(ds, { protocol: 'user' })));
 */
export function formatReportTable(report: EvalReport): string {
  const k = mainK(report.ks);
  const out: string[] = [
    `Dataset ${report.dataset} — ${report.protocol} protocol, K = ${report.ks.join(', ')}`,
  ];
  for (const note of report.notes ?? []) out.push(`  ${note}`);
  const relevances = [...new Set(report.rows.map((r) => r.relevance))];
  for (const relevance of relevances) {
    const rows = report.rows.filter((r) => r.relevance === relevance);
    const segments = [...new Set(rows.map((r) => r.segment))];
    const header = ['method', 'segment', 'users'];
    for (const kk of report.ks) header.push(`ndcg@${kk}`, `recall@${kk}`);
    header.push(`mrr@${k}`, `hit@${k}`, `cov@${k}`, `tail@${k}`, `nov@${k}`, `ild@${k}`, `lift ndcg@${k}`);
    const table: string[][] = [header];
    for (const segment of segments) {
      for (const r of rows.filter((x) => x.segment === segment)) table.push(line(r, report.ks, k));
    }
    out.push('', `Relevance: ${relevance}`, pad(table));
  }
  if (report.methods) {
    out.push('', 'Methods:');
    for (const [name, d] of Object.entries(report.methods)) out.push(`  ${name.padEnd(18)} ${d}`);
  }
  const t = Object.entries(report.timings)
    .map(([name, ms]) => `${name} ${(ms / 1000).toFixed(2)}s`)
    .join(', ');
  out.push('', `Timings: ${t}`);
  return out.join('\n');
}

function line(r: EvalReportRow, ks: readonly number[], k: number): string[] {
  const m = r.metrics;
  const row = [r.method, r.segment, String(r.users)];
  for (const kk of ks) row.push(cell(m[`ndcg@${kk}`]), cell(m[`recall@${kk}`]));
  const lift = r.lift?.[`ndcg@${k}`];
  row.push(
    cell(m[`mrr@${k}`]),
    cell(m[`hit@${k}`]),
    cell(m[`coverage@${k}`]),
    cell(m[`longtail@${k}`]),
    cell(m[`novelty@${k}`], 2),
    cell(m[`ild@${k}`]),
    lift === undefined ? '' : `×${lift.toFixed(2)}`,
  );
  return row;
}
