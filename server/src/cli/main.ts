import { Command, InvalidArgumentError, Option } from 'commander';
import { UserError } from '../errors';
import { registerConfigCommand } from './config';
import { type GlobalOptions, withDatabase } from './context';
import { registerEvalCommand } from './eval';
import { registerModelCommand } from './model';
import { registerResetCommand } from './reset';
import { registerScenariosCommand } from './scenarios';
import { registerSeedCommand } from './seed';
import { registerServeCommand } from './serve';
import { registerSimulateCommand } from './simulate';
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
  .description('change a namespace setting')
  .option('--pii <policy>', 'what to do with values that look like e-mails or phone numbers: reject | scrub')
  .option(
    '--trust-browser-user-ids <on|off>',
    'accept a userId from publishable-key requests without a user token (off: recommended)',
    onOffArg,
  )
  .action((id: string, opts: { pii?: 'reject' | 'scrub'; trustBrowserUserIds?: boolean }) =>
    withDatabase(globals(), async (database) => {
      const { updateNamespaceSettings } = await import('../auth/namespaces');
      const settings = await updateNamespaceSettings(database, id, {
        ...(opts.pii ? { pii: opts.pii } : {}),
        ...(opts.trustBrowserUserIds !== undefined ? { trustBrowserUserIds: opts.trustBrowserUserIds } : {}),
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

const collect = (value: string, previous: string[] = []) => [...previous, value];
const kindArg = (value: string) => {
  if (value !== 'secret' && value !== 'publishable')
    throw new InvalidArgumentError('use "secret" or "publishable".');
  return value;
};

const keys = program.command('keys').description('manage API keys');
keys
  .command('create')
  .description('create an API key; it is printed once and stored hashed')
  .requiredOption('-n, --namespace <id>', 'namespace the key belongs to')
  .requiredOption('-k, --kind <kind>', 'secret (server-side) or publishable (browser)', kindArg)
  .option('-o, --origin <origin>', 'allowed browser origin for a publishable key (repeatable)', collect)
  .option('-l, --label <label>', 'a note to recognise the key by')
  .option('--json', 'print JSON')
  .action(
    (opts: {
      namespace: string;
      kind: 'secret' | 'publishable';
      origin?: string[];
      label?: string;
      json?: boolean;
    }) =>
      withDatabase(globals(), async (database) => {
        const { createApiKey } = await import('../auth/namespaces');
        const created = await createApiKey(database, opts.namespace, {
          kind: opts.kind,
          allowedOrigins: opts.origin ?? [],
          ...(opts.label ? { label: opts.label } : {}),
        });
        if (opts.json) return console.log(JSON.stringify(created));
        console.log(created.key);
        console.error(
          `\n${opts.kind} key ${created.keyId} for "${opts.namespace}". Store it now: it is not shown again.`,
        );
      }),
  );
keys
  .command('list')
  .description('list the keys of a namespace (ids only; keys are never stored)')
  .requiredOption('-n, --namespace <id>', 'namespace')
  .action((opts: { namespace: string }) =>
    withDatabase(globals(), async (database) => {
      const { listApiKeys } = await import('../auth/namespaces');
      for (const k of await listApiKeys(database, opts.namespace)) {
        const state = k.revokedAt ? `revoked ${k.revokedAt.toISOString()}` : 'active';
        console.log(`${k.keyId}\t${k.kind}\t${state}\t${k.allowedOrigins.join(',')}\t${k.label ?? ''}`);
      }
    }),
  );
keys
  .command('revoke <keyId>')
  .description('revoke a key (stops working within seconds)')
  .requiredOption('-n, --namespace <id>', 'namespace')
  .action((keyId: string, opts: { namespace: string }) =>
    withDatabase(globals(), async (database) => {
      const { revokeApiKey } = await import('../auth/namespaces');
      const revoked = await revokeApiKey(database, opts.namespace, keyId);
      if (!revoked) throw new UserError('NOT_FOUND', `No active key ${keyId} in "${opts.namespace}".`);
      console.log(`Revoked ${keyId}.`);
    }),
  );

registerServeCommand(program, globals);
registerEvalCommand(program);
registerTuneCommand(program);
registerConfigCommand(program, globals);
registerSeedCommand(program, globals);
registerResetCommand(program, globals);
registerScenariosCommand(program, globals);
registerSimulateCommand(program, globals);
registerModelCommand(program);

program.parseAsync().catch((error: unknown) => {
  if (error instanceof UserError) {
    console.error(`error: ${error.message}`);
    process.exitCode = 2;
    return;
  }
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
});
