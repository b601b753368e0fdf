import { writeFileSync } from 'node:fs';
import { extname } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { CatalogDiff, CatalogMismatch } from '../audit/catalogDiff';
import type { DataQualityReport } from '../audit/dataQuality';
import type { ImportCsvResult } from '../ingest/tabular/importCsv';
import { type GlobalOptions, withDatabase } from './context';

const positiveInt = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('use a positive whole number.');
  return n;
};
const positiveNumber = (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('use a positive number.');
  return n;
};
const delimiterArg = (value: string) => (value === '\\t' || value.toLowerCase() === 'tab' ? '\t' : value);
const fmt = (n: number) => n.toLocaleString('en-US');

/**
 * The data tools: `recsys catalog diff` (a shop's export against the stored catalog), `recsys data
 * quality` (what the stored events lack, per day) and `recsys import` (a CSV of events or items
 * through the API's validation). All work on the database directly, like the other commands.
 */
export function registerDataCommands(program: Command, globals: () => GlobalOptions) {
  program
    .command('catalog')
    .description("compare the stored catalog with the shop's own")
    .command('diff <file>')
    .description(
      "compare a shop's catalog export (CSV or JSON) with the items a namespace holds; prints the mismatches",
    )
    .requiredOption('-n, --namespace <id>', 'namespace')
    .option('--map <field=column,…>', 'columns (CSV) or keys (JSON) named otherwise: itemId=sku,title=name,…')
    .option('--delimiter <char>', 'CSV field delimiter ("tab" for TSV)', delimiterArg, ',')
    .option('--out <file>', 'write every mismatch to a .json or .csv file')
    .option('--limit <n>', 'mismatches listed per kind on screen', positiveInt, 10)
    .option('--fail-on-diff', 'exit 1 when anything disagrees (for CI)')
    .option('--json', 'print the whole diff as JSON')
    .action(
      (
        file: string,
        opts: {
          namespace: string;
          map?: string;
          delimiter: string;
          out?: string;
          limit: number;
          failOnDiff?: boolean;
          json?: boolean;
        },
      ) =>
        withDatabase(globals(), async (database) => {
          const { parseColumnMap } = await import('../ingest/tabular/columnMap');
          const { CATALOG_FILE_FIELDS, readCatalogFile } = await import('../audit/readCatalogFile');
          const { diffCatalog, mismatchesToCsv } = await import('../audit/catalogDiff');
          const { requireNamespace } = await import('../audit/requireNamespace');
          await requireNamespace(database, opts.namespace);
          const map = parseColumnMap(opts.map, CATALOG_FILE_FIELDS);
          const parsed = await readCatalogFile(file, { map, delimiter: opts.delimiter });
          const diff = await diffCatalog(database, opts.namespace, parsed);
          if (opts.out) {
            const { UserError } = await import('../errors');
            const ext = extname(opts.out).toLowerCase();
            if (ext !== '.json' && ext !== '.csv') {
              throw new UserError('BAD_REQUEST', `--out ${opts.out}: name a .json or .csv file.`);
            }
            writeFileSync(
              opts.out,
              ext === '.csv'
                ? mismatchesToCsv(diff.mismatches)
                : `${JSON.stringify(diff.mismatches, null, 2)}\n`,
            );
          }
          if (opts.json) console.log(JSON.stringify(diff, null, 2));
          else console.log(formatCatalogDiff(diff, file, opts.limit, parsed.unusedColumns));
          if (opts.out) console.error(`Mismatches written to ${opts.out} (${diff.mismatches.length}).`);
          if (opts.failOnDiff && diff.mismatches.length > 0) process.exitCode = 1;
        }),
    );

  program
    .command('data')
    .description('reports on the stored data')
    .command('quality')
    .description(
      'per day: events for unknown items, missing fields, duplicate-looking events, gaps and spikes',
    )
    .requiredOption('-n, --namespace <id>', 'namespace')
    .option(
      '--from <day>',
      'first day, YYYY-MM-DD (UTC); default 13 days before --to (not before the first event)',
    )
    .option('--to <day>', 'last day, YYYY-MM-DD (UTC); default the day of the newest event')
    .option('--mad <factor>', 'a spike is above the trailing median + factor × MAD', positiveNumber, 5)
    .option(
      '--min-expected <n>',
      'an empty hour is a gap when neighbouring days have this many',
      positiveNumber,
      5,
    )
    .option('--json', 'print the report as JSON')
    .action(
      (opts: {
        namespace: string;
        from?: string;
        to?: string;
        mad: number;
        minExpected: number;
        json?: boolean;
      }) =>
        withDatabase(globals(), async (database) => {
          const { dataQualityReport } = await import('../audit/dataQuality');
          const { requireNamespace } = await import('../audit/requireNamespace');
          await requireNamespace(database, opts.namespace);
          const report = await dataQualityReport(database, opts.namespace, {
            from: opts.from,
            to: opts.to,
            madFactor: opts.mad,
            minExpectedPerHour: opts.minExpected,
          });
          console.log(opts.json ? JSON.stringify(report, null, 2) : formatDataQuality(report));
        }),
    );

  program
    .command('import <file>')
    .description(
      'import a CSV of events or items (gzip too) with a column mapping, as the API validates them',
    )
    .requiredOption('-n, --namespace <id>', 'namespace (must exist)')
    .addOption(
      new Option('--kind <kind>', 'what the rows are').choices(['events', 'items']).default('events'),
    )
    .option(
      '--map <field=column,…>',
      'file columns for fields named otherwise: eventId=id,type=event,itemId=sku,userId=customer,ts=time,meta.orderId=order',
    )
    .option('--type <type>', 'event type for rows without one (e.g. purchase)')
    .option('--type-map <raw=type,…>', 'rename event types: pageview=view,addtocart=add')
    .addOption(
      new Option('--ts-format <format>', 'how times are written')
        .choices(['iso', 'unix-s', 'unix-ms', 'local'])
        .default('iso'),
    )
    .option('--time-zone <zone>', 'IANA zone of --ts-format local times', 'UTC')
    .option('--delimiter <char>', 'field delimiter ("tab" for TSV)', delimiterArg, ',')
    .option('--batch-size <n>', 'rows per store call (default: the API batch limit)', positiveInt)
    .option('--no-progress', 'no progress bar')
    .option('--json', 'print the summary as JSON')
    .action(
      (
        file: string,
        opts: {
          namespace: string;
          kind: 'events' | 'items';
          map?: string;
          type?: string;
          typeMap?: string;
          tsFormat: 'iso' | 'unix-s' | 'unix-ms' | 'local';
          timeZone: string;
          delimiter: string;
          batchSize?: number;
          progress: boolean;
          json?: boolean;
        },
      ) =>
        withDatabase(globals(), async (database) => {
          const { parseColumnMap } = await import('../ingest/tabular/columnMap');
          const { EVENT_FIELDS, ITEM_FIELDS, importCsv, parseTypeMap, parseEventType } = await import(
            '../ingest/tabular/importCsv'
          );
          const map = parseColumnMap(opts.map, opts.kind === 'events' ? EVENT_FIELDS : ITEM_FIELDS);
          const bar = await importProgress(opts.progress && Boolean(process.stderr.isTTY));
          const result = await importCsv(database, opts.namespace, file, {
            kind: opts.kind,
            map,
            delimiter: opts.delimiter,
            tsFormat: opts.tsFormat,
            timeZone: opts.timeZone,
            ...(opts.batchSize ? { batchSize: opts.batchSize } : {}),
            ...(opts.type ? { defaultType: parseEventType(opts.type, '--type') } : {}),
            ...(opts.typeMap ? { typeMap: parseTypeMap(opts.typeMap) } : {}),
            onProgress: bar.update,
          }).finally(bar.stop);
          if (opts.json) console.log(JSON.stringify(result, null, 2));
          else console.log(formatImport(result, file, opts.namespace));
        }),
    );
}

/** A byte-based bar on stderr (a file's row count is unknown until it is read). */
async function importProgress(enabled: boolean) {
  if (!enabled) return { update: () => {}, stop: () => {} };
  const { Presets, SingleBar } = await import('cli-progress');
  const bar = new SingleBar(
    {
      format: '  import [{bar}] {percentage}% | {rows} rows, {stored} stored, {rejected} rejected',
      hideCursor: true,
      stream: process.stderr,
    },
    Presets.shades_classic,
  );
  let started = false;
  return {
    update(p: { bytesRead: number; totalBytes: number; rowsRead: number; stored: number; rejected: number }) {
      const payload = { rows: fmt(p.rowsRead), stored: fmt(p.stored), rejected: fmt(p.rejected) };
      if (!started) {
        bar.start(Math.max(p.totalBytes, 1), 0, payload);
        started = true;
      }
      bar.update(Math.min(p.bytesRead, p.totalBytes), payload);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

function formatCatalogDiff(diff: CatalogDiff, file: string, limit: number, unused: string[]): string {
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

function formatDataQuality(report: DataQualityReport): string {
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

function formatImport(result: ImportCsvResult, file: string, namespaceId: string): string {
  const lines = [
    `Imported ${result.kind} from ${file} into "${namespaceId}" in ${(result.ms / 1000).toFixed(1)} s`,
    `  ${fmt(result.rowsRead)} rows read, ${fmt(result.stored)} stored${
      result.kind === 'events' ? `, ${fmt(result.duplicates)} already stored (same eventId)` : ''
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
