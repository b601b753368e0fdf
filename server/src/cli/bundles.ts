import { type Command, InvalidArgumentError, Option } from 'commander';
import type { AcceptanceCounts, BundleAcceptance } from '../bundles/acceptance';
import type { BackfillResult } from '../bundles/backfill';
import { UserError } from '../errors';
import { type GlobalOptions, withDatabase } from './context';
import { pad } from './experiments';
import { withTarget } from './traces';

interface Target {
  namespace?: string;
  url?: string;
  key?: string;
}

const intArg = (min: number, max: number) => (value: string) => {
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new InvalidArgumentError(`use a whole number from ${min} to ${max}.`);
  }
  return Number(value);
};

const pct = (x: number | null) => (x === null ? '—' : `${(x * 100).toFixed(1)}%`);
const row = (label: string, c: AcceptanceCounts) => [
  label,
  String(c.shown),
  String(c.allAdded),
  String(c.purchased),
  pct(c.addAllRate),
  pct(c.acceptance),
];
const HEADER = ['', 'shown', 'all added', 'purchased', 'add-all rate', 'acceptance'];

/** Acceptance as the terminal shows it: per bundle, then by day. */
export function formatAcceptance(a: BundleAcceptance): string {
  if (a.totals.shown === 0)
    return a.stored
      ? `No stored acceptance from ${a.from} to ${a.to}: run recsys bundles backfill first.`
      : `No bundles served from ${a.from} to ${a.to}.`;
  return [
    a.stored
      ? `Bundle acceptance ${a.from} … ${a.to} (stored by backfill; oldest day computed at ${a.computedAt})`
      : `Bundle acceptance ${a.from} … ${a.to} (computed from stored lists and events at ${a.computedAt})`,
    '',
    pad([
      ['bundle', ...HEADER.slice(1)],
      ...a.bundles.map((b) => row(b.bundleKey, b)),
      row('all bundles', a.totals),
    ]),
    '',
    pad([['day', ...HEADER.slice(1)], ...a.byDay.map((d) => row(d.day, d))]),
  ].join('\n');
}

const plural = (n: number, one: string) => `${n} ${n === 1 ? one : `${one}s`}`;

/** What a backfill did, as the terminal shows it. */
export function formatBackfill(r: BackfillResult): string {
  const replaced = r.dryRun ? `would replace ${r.replaced} stored` : `replaced ${r.replaced} stored before`;
  const head = `${r.dryRun ? 'Would store' : 'Stored'} ${plural(r.rows, 'bundle-day row')} for "${r.namespaceId}" ${r.from} … ${r.to} (${plural(r.bundles, 'bundle')} on ${plural(r.days, 'day')}; ${replaced}; purchase window ${plural(r.purchaseWindowDays, 'day')})${r.dryRun ? ' — dry run, nothing written' : ''}`;
  if (r.rows === 0) return `${head}\nNo bundles served from ${r.from} to ${r.to}.`;
  return [head, '', pad([['', ...HEADER.slice(1)], row('all bundles', r.totals)])].join('\n');
}

/** `--purchase-window-days`, as acceptance and backfill take it. */
const purchaseWindowOption = () =>
  new Option(
    '--purchase-window-days <n>',
    'a purchase without the bundle requestId counts when the same visitor made it within n days',
  )
    .argParser(intArg(0, 90))
    .default(7);

function requireNamespace(opts: Target): string {
  if (!opts.namespace) {
    throw new UserError(
      'BAD_REQUEST',
      'Pass the namespace with -n <id> (or --url <server> --key <sk_…> to go through a running server).',
    );
  }
  return opts.namespace;
}

/** `recsys bundles acceptance|backfill|seed-qa`. */
export function registerBundlesCommand(program: Command, globals: () => GlobalOptions) {
  const bundles = program
    .command('bundles')
    .description('product bundles ("frequently bought together"): acceptance and demo data');

  withTarget(
    bundles
      .command('acceptance')
      .description(
        'per bundle and by day: shown → every item added to cart → purchased (computed from stored events on each run, or with --stored read from what `bundles backfill` stored)',
      ),
  )
    .option('--days <n>', 'bundles served in the last n days, today included', intArg(1, 366), 30)
    .addOption(purchaseWindowOption())
    .option('--stored', 'read the per-day counts the last backfills stored (fast) instead of computing them')
    .option('--json', 'print the result as JSON')
    .action(
      async (
        opts: Target & { days: number; purchaseWindowDays: number; stored?: boolean; json?: boolean },
      ) => {
        const stored = opts.stored ?? false;
        const input = { days: opts.days, purchaseWindowDays: opts.purchaseWindowDays, stored };
        let result: BundleAcceptance;
        if (opts.url) {
          const { openRemoteClient } = await import('./remote');
          const { client, call } = await openRemoteClient(opts.url, opts.key, opts.namespace);
          result = await call(() => client.admin.bundles.acceptance.query(input));
        } else {
          const namespaceId = requireNamespace(opts);
          const { bundleAcceptance } = await import('../bundles/acceptance');
          const { storedBundleAcceptance } = await import('../bundles/backfill');
          result = await withDatabase(globals(), (database) =>
            stored
              ? storedBundleAcceptance(database, namespaceId, { days: opts.days })
              : bundleAcceptance(database, namespaceId, input),
          );
        }
        console.log(opts.json ? JSON.stringify(result, null, 2) : formatAcceptance(result));
      },
    );

  withTarget(
    bundles
      .command('backfill')
      .description(
        'recompute acceptance (shown → all added → purchased, per bundle per day) from stored events and store it; re-running replaces the same days',
      ),
  )
    .option('--lookback-days <n>', 'the days recomputed: the last n, today included', intArg(1, 366), 30)
    .addOption(purchaseWindowOption())
    .option('--dry-run', 'compute and print, write nothing')
    .option('--json', 'print the result as JSON')
    .action(
      async (
        opts: Target & { lookbackDays: number; purchaseWindowDays: number; dryRun?: boolean; json?: boolean },
      ) => {
        const input = {
          lookbackDays: opts.lookbackDays,
          purchaseWindowDays: opts.purchaseWindowDays,
          dryRun: opts.dryRun ?? false,
        };
        let result: BackfillResult;
        if (opts.url) {
          const { openRemoteClient } = await import('./remote');
          const { client, call } = await openRemoteClient(opts.url, opts.key, opts.namespace);
          result = await call(() => client.admin.bundles.backfill.mutate(input));
        } else {
          const { backfillBundleAcceptance } = await import('../bundles/backfill');
          const namespaceId = requireNamespace(opts);
          result = await withDatabase(globals(), (database) =>
            backfillBundleAcceptance(database, namespaceId, input),
          );
        }
        console.log(opts.json ? JSON.stringify(result, null, 2) : formatBackfill(result));
      },
    );

  bundles
    .command('seed-qa')
    .description(
      'seed a namespace with a generated retail catalog and history, then deterministic served bundles and what visitors did with them (for demos)',
    )
    .requiredOption('--slug <namespace>', 'the namespace to seed (created when missing), e.g. qa-catalog')
    .option('--seed <n>', 'generator seed: the same seed gives the same data', intArg(0, 2 ** 31 - 1), 1)
    .option('--days <n>', 'days of served bundles, ending today', intArg(1, 90), 7)
    .option('--per-day <n>', 'bundles served per day', intArg(1, 10_000), 40)
    .option('--json', 'print what was written as JSON')
    .action(async (opts: { slug: string; seed: number; days: number; perDay: number; json?: boolean }) => {
      const { seedBundlesQa } = await import('../lab/bundles/seedQa');
      const result = await withDatabase(globals(), (database) =>
        seedBundlesQa(database, opts.slug, { seed: opts.seed, days: opts.days, perDay: opts.perDay }),
      );
      if (opts.json) return console.log(JSON.stringify(result, null, 2));
      console.log(
        `Seeded "${result.namespaceId}"${result.createdNamespace ? ' (created)' : ''}: ${result.items} items, ${result.historyEvents} history events; ${result.bundlesServed} bundles served over ${opts.days} days (${result.newlyRecorded} new), ${result.allAdded} added in full (${result.purchased} purchased), ${result.partiallyAdded} in part; ${result.bundleEvents} bundle events stored.`,
      );
      console.log(`See them: recsys bundles acceptance -n ${result.namespaceId} --days ${opts.days}`);
    });
}
