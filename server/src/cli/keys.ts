import { type Command, InvalidArgumentError, Option } from 'commander';
import type { KeyKind } from '../auth/keys';
import { UserError } from '../errors';
import { type GlobalOptions, withDatabase } from './context';

/** `--url`/`--key`: manage keys through a running server instead of opening its database. */
interface RemoteOptions {
  url?: string;
  key?: string;
}

interface KeyRow {
  keyId: string;
  kind: KeyKind;
  label: string | null;
  allowedOrigins: string[];
  revokedAt: string | null;
}

/** Key management, whether it goes to the database directly or through a server's procedures. */
interface KeyStore {
  list(): Promise<KeyRow[]>;
  create(options: {
    kind: KeyKind;
    allowedOrigins: string[];
    label?: string;
  }): Promise<{ key: string; keyId: string }>;
  setOrigins(keyId: string, allowedOrigins: string[]): Promise<{ allowedOrigins: string[] }>;
  revoke(keyId: string): Promise<void>;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];
const kindArg = (value: string) => {
  if (value !== 'secret' && value !== 'publishable')
    throw new InvalidArgumentError('use "secret" or "publishable".');
  return value;
};

/** `recsys keys …`: create, list, change origins of and revoke API keys. */
export function registerKeysCommand(program: Command, globals: () => GlobalOptions) {
  const keys = program
    .command('keys')
    .description(
      'manage API keys: in the database, or through a running server with --url and --key (RECSYS_URL, RECSYS_KEY)',
    );
  const subcommand = (spec: string, description: string) =>
    keys
      .command(spec)
      .description(description)
      .option('-n, --namespace <id>', "namespace of the keys (with --url: the --key's namespace)")
      .addOption(
        new Option(
          '--url <url>',
          'a running server to manage the keys through, instead of opening the database',
        ).env('RECSYS_URL'),
      )
      .addOption(
        new Option('--key <secretKey>', 'a secret key of the namespace, for --url').env('RECSYS_KEY'),
      );

  subcommand('create', 'create an API key; it is printed once and stored hashed')
    .requiredOption('-k, --kind <kind>', 'secret (server-side) or publishable (browser)', kindArg)
    .option('-o, --origin <origin>', 'allowed browser origin for a publishable key (repeatable)', collect)
    .option('-l, --label <label>', 'a note to recognise the key by')
    .option('--json', 'print JSON')
    .action(
      (
        opts: RemoteOptions & {
          namespace?: string;
          kind: KeyKind;
          origin?: string[];
          label?: string;
          json?: boolean;
        },
      ) =>
        withKeyStore(globals(), opts, async (store, namespaceId) => {
          const created = await store.create({
            kind: opts.kind,
            allowedOrigins: opts.origin ?? [],
            ...(opts.label ? { label: opts.label } : {}),
          });
          if (opts.json) return console.log(JSON.stringify(created));
          console.log(created.key);
          console.error(
            `\n${opts.kind} key ${created.keyId} for "${namespaceId}". Store it now: it is not shown again.`,
          );
        }),
    );

  subcommand('list', 'list the keys of a namespace (ids only; keys are never stored)')
    .option('--json', 'print JSON')
    .action((opts: RemoteOptions & { namespace?: string; json?: boolean }) =>
      withKeyStore(globals(), opts, async (store) => {
        const rows = await store.list();
        if (opts.json) return console.log(JSON.stringify(rows));
        for (const k of rows) {
          const state = k.revokedAt ? `revoked ${k.revokedAt}` : 'active';
          console.log(`${k.keyId}\t${k.kind}\t${state}\t${k.allowedOrigins.join(',')}\t${k.label ?? ''}`);
        }
      }),
    );

  subcommand('origins <keyId>', 'replace the allowed browser origins of a publishable key')
    .requiredOption(
      '-o, --origin <origin>',
      'allowed browser origin (repeatable; replaces the list)',
      collect,
    )
    .action((keyId: string, opts: RemoteOptions & { namespace?: string; origin: string[] }) =>
      withKeyStore(globals(), opts, async (store) => {
        const { allowedOrigins } = await store.setOrigins(keyId, opts.origin);
        console.log(`Key ${keyId} now allows ${allowedOrigins.join(', ')}.`);
      }),
    );

  subcommand(
    'revoke <keyId>',
    'revoke a key (this server refuses it at once, other replicas within 10 s)',
  ).action((keyId: string, opts: RemoteOptions & { namespace?: string }) =>
    withKeyStore(globals(), opts, async (store) => {
      await store.revoke(keyId);
      console.log(`Revoked ${keyId}.`);
    }),
  );
}

/** Runs `fn` with the key store the options select: a server (`--url`) or the database. */
async function withKeyStore(
  globals: GlobalOptions,
  opts: RemoteOptions & { namespace?: string },
  fn: (store: KeyStore, namespaceId: string) => Promise<void>,
): Promise<void> {
  if (opts.url) {
    const { namespaceId, store } = await openRemoteStore(opts.url, opts.key, opts.namespace);
    return fn(store, namespaceId);
  }
  if (opts.key) {
    throw new UserError(
      'BAD_REQUEST',
      '--key is for --url (a running server); without --url the CLI opens the database directly.',
    );
  }
  const namespaceId = opts.namespace;
  if (!namespaceId) {
    throw new UserError(
      'BAD_REQUEST',
      'Pass the namespace with -n <id> (or --url <server> --key <sk_…> to go through a running server).',
    );
  }
  return withDatabase(globals, async (database) => {
    const { createApiKey, listApiKeys, revokeApiKey, setApiKeyOrigins } = await import('../auth/namespaces');
    const store: KeyStore = {
      list: async () =>
        (await listApiKeys(database, namespaceId)).map((k) => ({
          ...k,
          revokedAt: k.revokedAt?.toISOString() ?? null,
        })),
      create: (options) => createApiKey(database, namespaceId, options),
      setOrigins: (keyId, origins) => setApiKeyOrigins(database, namespaceId, keyId, origins),
      async revoke(keyId) {
        if (!(await revokeApiKey(database, namespaceId, keyId)))
          throw new UserError('NOT_FOUND', `No active key ${keyId} in "${namespaceId}".`);
      },
    };
    await fn(store, namespaceId);
  });
}

/** The key store of a running server, through the `admin.keys.*` procedures. */
async function openRemoteStore(
  url: string,
  key: string | undefined,
  namespace: string | undefined,
): Promise<{ namespaceId: string; store: KeyStore }> {
  const { openRemoteClient } = await import('./remote');
  const { namespaceId, client, call } = await openRemoteClient(url, key, namespace);
  const store: KeyStore = {
    list: () => call(() => client.admin.keys.list.query()),
    create: (options) => call(() => client.admin.keys.create.mutate(options)),
    setOrigins: (keyId, allowedOrigins) =>
      call(() => client.admin.keys.setOrigins.mutate({ keyId, allowedOrigins })),
    async revoke(keyId) {
      await call(() => client.admin.keys.revoke.mutate({ keyId }));
    },
  };
  return { namespaceId, store };
}
