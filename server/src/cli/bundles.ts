import { type Command, InvalidArgumentError } from 'commander';
import type { AcceptanceCounts, BundleAcceptance } from '../bundles/acceptance';
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
  if (a.totals.shown === 0) return `No bundles served from ${a.from} to ${a.to}.`;
  return [
    `Bundle acceptance ${a.from} … ${a.to} (computed from stored lists and events at ${a.computedAt})`,
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

/** `recsys bundles acceptance|seed-qa`. */
export function registerBundlesCommand(program: Command, globals: () => GlobalOptions) {
  const bundles = program
    .command('bundles')
    .description('product bundles ("frequently bought together"): acceptance and demo data');

  withTarget(
    bundles
      .command('acceptance')
      .description(
        'per bundle and by day: shown → every item added to cart → purchased (computed from stored events on each run; nothing to backfill)',
      ),
  )
    .option('--days <n>', 'bundles served in the last n days, today included', intArg(1, 366), 30)
    .option(
      '--purchase-window-days <n>',
      'a purchase without the bundle requestId counts when the same visitor made it within n days',
      intArg(0, 90),
      7,
    )
    .option('--json', 'print the result as JSON')
    .action(async (opts: Target & { days: number; purchaseWindowDays: number; json?: boolean }) => {
      const input = { days: opts.days, purchaseWindowDays: opts.purchaseWindowDays };
      let result: BundleAcceptance;
      if (opts.url) {
        const { openRemoteClient } = await import('./remote');
        const { client, call } = await openRemoteClient(opts.url, opts.key, opts.namespace);
        result = await call(() => client.admin.bundles.acceptance.query(input));
      } else {
        const namespaceId = opts.namespace;
        if (!namespaceId) {
          throw new UserError(
            'BAD_REQUEST',
            'Pass the namespace with -n <id> (or --url <server> --key <sk_…> to go through a running server).',
          );
        }
        const { bundleAcceptance } = await import('../bundles/acceptance');
        result = await withDatabase(globals(), (database) => bundleAcceptance(database, namespaceId, input));
      }
      console.log(opts.json ? JSON.stringify(result, null, 2) : formatAcceptance(result));
    });

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
