import { Command, InvalidArgumentError, Option } from 'commander';
import { UserError } from '../errors';
import { registerBackupCommands } from './backup';
import { registerBundlesCommand } from './bundles';
import { registerConfigCommand } from './config';
import { type GlobalOptions, withDatabase } from './context';
import { registerDataCommands } from './data';
import { registerEncoderCommand } from './encoder';
import { registerEvalCommand } from './eval';
import { registerExperimentsCommand } from './experiments';
import { registerForgetCommand } from './forget';
import { registerJobsCommand } from './jobs';
import { registerKeysCommand } from './keys';
import { registerModelCommand } from './model';
import { registerOperatorsCommand } from './operators';
import { registerResetCommand } from './reset';
import { registerRulesCommands } from './rules';
import { registerScenariosCommand } from './scenarios';
import { registerSeedCommand } from './seed';
import { registerServeCommand } from './serve';
import { registerSimulateCommand } from './simulate';
import { registerTraceCommands } from './traces';
import { registerTuneCommand } from './tune';

const program = new Command();

program
  .name('recsys')
  .description('Recsys: recommendations for online shops — server, storage and operator tools')
  .addOption(
    new Option('--database-url <url>', 'PostgreSQL connection string (default: embedded PGlite)').env(
      'DATABASE_URL',
    ),
  )
  .addOption(
    new Option('--data-dir <dir>', 'folder of the embedded database')
      .env('RECSYS_DATA_DIR')
      .default('.data/pglite'),
  )
  .showHelpAfterError();

const globals = (): GlobalOptions => program.opts<GlobalOptions>();
const intArg = (value: string) => {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('use a whole number.');
  return Number(value);
};
// Each command imports what it runs when it runs (here and in ./*.ts): `recsys --help` and the
// start of every command load commander and the option definitions, not the database drivers,
// ONNX or the lab.

program
  .command('migrate')
  .description('apply pending database migrations (the server also does this at start-up)')
  .action(() =>
    withDatabase(globals(), async (database) => {
      console.log(`Migrations applied on ${database.describe()}.`);
    }),
  );

const onOffArg = (value: string) => {
  if (value !== 'on' && value !== 'off') throw new InvalidArgumentError('use "on" or "off".');
  return value === 'on';
};

const ns = program
  .command('namespace')
  .description('manage namespaces (one catalog, its users, events and config)');
ns.command('create <id>')
  .description('create a namespace')
  .option('--name <name>', 'display name')
  .action((id: string, opts: { name?: string }) =>
    withDatabase(globals(), async (database) => {
      const { createNamespace } = await import('../auth/namespaces');
      await createNamespace(database, id, opts.name);
      console.log(`Created namespace "${id}". Next: recsys keys create --namespace ${id} --kind secret`);
    }),
  );
ns.command('settings <id>')
  .description('change a namespace setting (prints the settings)')
  .option('--pii <policy>', 'what to do with values that look like e-mails or phone numbers: reject | scrub')
  .option(
    '--publishable-limit <rate>',
    'requests per publishable key and client address, e.g. 50/s, 600/m, 1000/10s; "default" for the server\'s',
  )
  .option('--publishable-burst <n>', 'most requests accepted at once (with --publishable-limit)', intArg)
  .option('--secret-limit <rate>', 'requests per secret key and client address; "default" for the server\'s')
  .option('--secret-burst <n>', 'most requests accepted at once (with --secret-limit)', intArg)
  .option(
    '--trust-browser-user-ids <on|off>',
    'accept a userId from publishable-key requests without a user token (off: recommended)',
    onOffArg,
  )
  .option(
    '--trace-sample-rate <rate>',
    'share of served lists whose decision trace is stored, 0–1 (explain and x-recsys-trace: 1 are always traced)',
    Number,
  )
  .option('--trace-retention-days <days>', 'days a decision trace is kept (recsys traces prune)', intArg)
  .option(
    '--rec-log-retention-days <days>',
    'days a served list is kept, except those of experiments not completed (the rec-log-retention job)',
    intArg,
  )
  .action(
    (
      id: string,
      opts: {
        pii?: 'reject' | 'scrub';
        publishableLimit?: string;
        publishableBurst?: number;
        secretLimit?: string;
        secretBurst?: number;
        trustBrowserUserIds?: boolean;
        traceSampleRate?: number;
        traceRetentionDays?: number;
        recLogRetentionDays?: number;
      },
    ) =>
      withDatabase(globals(), async (database) => {
        const { updateNamespaceSettings } = await import('../auth/namespaces');
        const { parseRateText, updateNamespaceRateLimits } = await import('../auth/rateLimitSettings');
        const limit = (kind: string, rate: string | undefined, burst: number | undefined) => {
          if (rate === undefined) {
            if (burst !== undefined)
              throw new UserError('BAD_REQUEST', `--${kind}-burst needs --${kind}-limit.`);
            return undefined;
          }
          if (rate === 'default') return null;
          return parseRateText(rate, burst);
        };
        const publishable = limit('publishable', opts.publishableLimit, opts.publishableBurst);
        const secret = limit('secret', opts.secretLimit, opts.secretBurst);
        if (publishable !== undefined || secret !== undefined) {
          await updateNamespaceRateLimits(database, id, {
            ...(publishable !== undefined ? { publishable } : {}),
            ...(secret !== undefined ? { secret } : {}),
          });
        }
        const settings = await updateNamespaceSettings(database, id, {
          ...(opts.pii ? { pii: opts.pii } : {}),
          ...(opts.trustBrowserUserIds !== undefined
            ? { trustBrowserUserIds: opts.trustBrowserUserIds }
            : {}),
          ...(opts.traceSampleRate !== undefined ? { traceSampleRate: opts.traceSampleRate } : {}),
          ...(opts.traceRetentionDays !== undefined ? { traceRetentionDays: opts.traceRetentionDays } : {}),
          ...(opts.recLogRetentionDays !== undefined
            ? { recLogRetentionDays: opts.recLogRetentionDays }
            : {}),
        });
        console.log(JSON.stringify(settings));
      }),
  );
ns.command('list')
  .description('list namespaces')
  .action(() =>
    withDatabase(globals(), async (database) => {
      const { listNamespaces } = await import('../auth/namespaces');
      for (const row of await listNamespaces(database)) console.log(`${row.id}\t${row.name}`);
    }),
  );

registerKeysCommand(program, globals);
registerOperatorsCommand(program, globals);
registerBackupCommands(program, globals);
registerServeCommand(program, globals);

program
  .command('alerts')
  .description(
    'print the Prometheus alert rules, thresholds from RECSYS_ALERT_* (see the README, "Dashboards and alerts")',
  )
  .option('-o, --out <file>', 'write the rules to this file instead of stdout')
  .action(async (opts: { out?: string }) => {
    const { alertThresholds, renderAlertRules } = await import('../obs/alertRules');
    const rules = renderAlertRules(alertThresholds(process.env));
    if (!opts.out) return void process.stdout.write(rules);
    const { writeFileSync } = await import('node:fs');
    writeFileSync(opts.out, rules);
    console.log(`Alert rules written to ${opts.out}; check them with: promtool check rules ${opts.out}`);
  });
registerEvalCommand(program);
registerTuneCommand(program);
registerConfigCommand(program, globals);
registerTraceCommands(program, globals);
registerSeedCommand(program, globals);
registerResetCommand(program, globals);
registerForgetCommand(program, globals);
registerEncoderCommand(program, globals);
registerScenariosCommand(program, globals);
registerSimulateCommand(program, globals);
registerModelCommand(program);
registerExperimentsCommand(program, globals);
registerBundlesCommand(program, globals);
registerDataCommands(program, globals);
registerRulesCommands(program, globals);
registerJobsCommand(program, globals);

program.parseAsync().catch((error: unknown) => {
  if (error instanceof UserError) {
    console.error(`error: ${error.message}`);
    process.exitCode = 2;
    return;
  }
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
});
