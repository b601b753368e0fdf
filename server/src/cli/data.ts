import { writeFileSync } from 'node:fs';
import { extname } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { type GlobalOptions, withDatabase } from './context';
import { formatCatalogDiff, formatDataQuality, formatImport } from './dataFormat';

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
    .option(
      '--to <day>',
      "last day, YYYY-MM-DD (UTC); default today, or the newest event's day when older than 2 weeks",
    )
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
