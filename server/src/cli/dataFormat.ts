import type { CatalogDiff, CatalogMismatch } from '../audit/catalogDiff';
import type { DataQualityReport } from '../audit/dataQuality';
import type { ImportCsvResult } from '../ingest/tabular/importCsv';

/** How the data tools print for people (`--json` prints the objects themselves). */

const fmt = (n: number) => n.toLocaleString('en-US');

export function formatCatalogDiff(diff: CatalogDiff, file: string, limit: number, unused: string[]): string {
  const { counts } = diff;
  const lines = [
    `Catalog diff for "${diff.namespaceId}": ${fmt(diff.fileItems)} items in ${file}, ${fmt(diff.recsysItems)} in Recsys`,
    `  compared: itemId${diff.fields.length ? `, ${diff.fields.join(', ')}` : ' only'}${unused.length ? ` (columns not read: ${unused.join(', ')})` : ''}`,
    `  missing in Recsys:   ${fmt(counts.missingInRecsys)}`,
    `  missing in the file: ${fmt(counts.missingInFile)}`,
    `  differing items:     ${fmt(counts.itemsDiffering)}${
      Object.keys(counts.byField).length
        ? ` (${Object.entries(counts.byField)
            .map(([f, n]) => `${f} ${fmt(n)}`)
            .join(', ')})`
        : ''
    }`,
    `  unreadable rows:     ${fmt(counts.unreadable)}`,
  ];
  const show = (title: string, list: CatalogMismatch[], line: (m: CatalogMismatch) => string) => {
    if (list.length === 0) return;
    lines.push('', `${title}:`);
    for (const m of list.slice(0, limit)) lines.push(`  ${line(m)}`);
    if (list.length > limit) lines.push(`  … ${fmt(list.length - limit)} more (--out writes them all)`);
  };
  const of = (kind: CatalogMismatch['kind']) => diff.mismatches.filter((m) => m.kind === kind);
  const value = (v: unknown) =>
    v === null || v === '' ? '(none)' : typeof v === 'string' ? JSON.stringify(v) : String(v);
  show('Missing in Recsys', of('missing-in-recsys'), (m) => `${m.itemId}  (${'at' in m ? m.at : ''})`);
  show('Missing in the file', of('missing-in-file'), (m) => m.itemId ?? '');
  show('Differing fields', of('field'), (m) =>
    m.kind === 'field' ? `${m.itemId}  ${m.field}: file ${value(m.file)}, Recsys ${value(m.recsys)}` : '',
  );
  show('Unreadable rows', of('unreadable'), (m) => (m.kind === 'unreadable' ? `${m.at}: ${m.message}` : ''));
  if (diff.mismatches.length === 0) lines.push('', 'The file and Recsys agree.');
  return lines.join('\n');
}

export function formatDataQuality(report: DataQualityReport): string {
  const pct = (n: number, of: number) =>
    of === 0 || n === 0 ? '0' : `${fmt(n)} (${((100 * n) / of).toFixed(1)}%)`;
  const header = [
    'day',
    'events',
    'unknown item',
    'no session',
    'purchases',
    'no qty',
    'no price',
    'anon only',
    'dup-like',
    'gap h',
    'spike',
  ];
  const rows = report.days.map((d) => [
    d.day,
    fmt(d.events),
    pct(d.unknownItem, d.events),
    pct(d.noSessionId, d.events),
    fmt(d.purchases),
    pct(d.purchaseNoValue, d.purchases),
    pct(d.purchaseNoPrice, d.purchases),
    pct(d.anonymousOnly, d.events),
    fmt(d.duplicates),
    fmt(d.gapHours),
    [d.daySpike ? 'day' : '', d.spikeHours ? `${d.spikeHours} h` : ''].filter(Boolean).join(', '),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  const t = report.totals;
  const out = [
    `Data quality for "${report.namespaceId}", ${report.from} to ${report.to} (UTC days): ${fmt(t.events)} events`,
    '',
    line(header),
    ...rows.map(line),
    '',
    `Gaps (empty hours that neighbouring days fill with ≥ ${report.settings.minExpectedPerHour} events):${report.gaps.length ? '' : ' none'}`,
    ...report.gaps.map(
      (g) => `  ${g.day} ${g.from}–${g.to}  (about ${fmt(Math.round(g.expected))} events expected)`,
    ),
    `Spikes (above the ${report.settings.trailingDays} days before: median + ${report.settings.madFactor} × MAD):${report.spikes.length ? '' : ' none'}`,
    ...report.spikes.map(
      (s) =>
        `  ${s.scope.padEnd(4)} ${s.at}  ${fmt(s.events)} events (median ${s.median}, threshold ${s.threshold})`,
    ),
  ];
  if (report.topUnknownItems.length) {
    out.push(
      `Unknown items seen most: ${report.topUnknownItems.map((u) => `${u.itemId} (${fmt(u.events)})`).join(', ')}`,
    );
  }
  if (report.duplicateSamples.length) {
    out.push('Duplicate-looking events (same visitor, type, item and second):');
    for (const d of report.duplicateSamples.slice(0, 3)) {
      out.push(`  ${d.ts} ${d.type} ${d.itemId ?? '(no item)'}: ${d.eventIds.join(', ')}`);
    }
  }
  return out.join('\n');
}

export function formatImport(result: ImportCsvResult, file: string, namespaceId: string): string {
  const lines = [
    `Imported ${result.kind} from ${file} into "${namespaceId}" in ${(result.ms / 1000).toFixed(1)} s`,
    `  ${fmt(result.rowsRead)} rows read, ${fmt(result.stored)} stored${
      result.kind === 'events' ? `, ${fmt(result.duplicates)} already stored (same eventId)` : ''
    }${result.archived ? `, ${fmt(result.archived)} archived` : ''}${
      result.restored ? `, ${fmt(result.restored)} restored` : ''
    }, ${fmt(result.rejected)} rejected`,
    `  columns: ${Object.entries(result.columns)
      .map(([field, column]) => (field === column ? field : `${field}←${column}`))
      .join(', ')}${result.unusedColumns.length ? `; not read: ${result.unusedColumns.join(', ')}` : ''}`,
  ];
  if (result.errors.length) {
    lines.push('Rejected rows:');
    for (const e of result.errors.slice(0, 20)) {
      lines.push(`  line ${e.line}, column ${e.column} (${e.field}): ${e.message}`);
    }
    if (result.rejected > 20) lines.push(`  … ${fmt(result.rejected - 20)} more (--json lists up to 100)`);
  }
  return lines.join('\n');
}
