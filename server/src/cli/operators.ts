import { type Command, InvalidArgumentError, Option } from 'commander';
import { isOperatorRole, OPERATOR_ROLES, type OperatorRole } from '../db/operatorRoles';
import { UserError } from '../errors';
import { type GlobalOptions, withDatabase } from './context';

const roleArg = (value: string): OperatorRole => {
  if (!isOperatorRole(value)) throw new InvalidArgumentError(`use ${OPERATOR_ROLES.join(', ')}.`);
  return value;
};

/** Reads the first line of stdin (for `--password-stdin`, so a password never sits in shell history). */
async function readStdinLine(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) chunks.push(chunk);
  return (Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '').trim();
}

/** `--url`/`--key`: manage operators through a running server instead of opening its database. */
interface RemoteOptions {
  url?: string;
  key?: string;
  namespace?: string;
}

/** What `add`, `remove` and `list` need, from the database or from a running server. */
interface OperatorStore {
  add(input: {
    name: string;
    role: OperatorRole;
    replace: boolean;
    password?: string;
  }): Promise<{ password: string | null }>;
  /** False when there is no such operator. */
  remove(name: string): Promise<boolean>;
  list(): Promise<Array<{ name: string; role: string; createdAt: string }>>;
}

const needNamespace = (namespace: string | undefined): string => {
  if (!namespace) {
    throw new UserError(
      'BAD_REQUEST',
      'Pass the namespace (shop) with -n <id> (or --url <server> --key <sk_…> to go through a running server).',
    );
  }
  return namespace;
};

/**
 * Runs `fn` with the operators of the namespace the options select: through a running server
 * (`--url`, the `admin.operators.*` procedures; what works while an embedded server holds its
 * database), or in the database.
 */
async function withOperators(
  globals: GlobalOptions,
  opts: RemoteOptions,
  fn: (store: OperatorStore, namespaceId: string) => Promise<void>,
): Promise<void> {
  if (opts.url) {
    const { openRemoteClient } = await import('./remote');
    const { namespaceId, client, call } = await openRemoteClient(opts.url, opts.key, opts.namespace);
    return fn(
      {
        add: async (input) => {
          const added = await call(() => client.admin.operators.add.mutate(input));
          return { password: input.password === undefined ? added.password : null };
        },
        remove: async (name) => {
          await call(() => client.admin.operators.remove.mutate({ name }));
          return true;
        },
        list: () => call(() => client.admin.operators.list.query()),
      },
      namespaceId,
    );
  }
  if (opts.key) {
    throw new UserError(
      'BAD_REQUEST',
      '--key is for --url (a running server); without --url the CLI opens the database directly.',
    );
  }
  const namespaceId = needNamespace(opts.namespace);
  return withDatabase(globals, async (database) => {
    const { addOperator, listOperators, removeOperator } = await import('../console/operators');
    const { getNamespace } = await import('../auth/namespaces');
    if (!(await getNamespace(database, namespaceId))) {
      throw new UserError(
        'NOT_FOUND',
        `Namespace "${namespaceId}" does not exist; see recsys namespace list.`,
      );
    }
    await fn(
      {
        async add(input) {
          const { randomBytes } = await import('node:crypto');
          const password = input.password ?? randomBytes(18).toString('base64url');
          await addOperator(database, namespaceId, { ...input, password });
          return { password: input.password === undefined ? password : null };
        },
        remove: (name) => removeOperator(database, namespaceId, name),
        list: () => listOperators(database, namespaceId),
      },
      namespaceId,
    );
  });
}

/** `recsys operators add|remove|list|audit`: who may sign in to the admin console, and what they did. */
export function registerOperatorsCommand(program: Command, globals: () => GlobalOptions) {
  const operators = program
    .command('operators')
    .description(
      'manage admin-console operators (viewer, operator, admin) and read what they changed: in the database, or through a running server with --url and --key (RECSYS_URL, RECSYS_KEY)',
    );
  const subcommand = (spec: string, description: string) =>
    operators
      .command(spec)
      .description(description)
      .option('-n, --namespace <id>', "the shop (namespace) (with --url: the --key's namespace)")
      .addOption(
        new Option(
          '--url <url>',
          'a running server to manage the operators through, instead of opening the database',
        ).env('RECSYS_URL'),
      )
      .addOption(
        new Option('--key <secretKey>', 'a secret key of the namespace, for --url').env('RECSYS_KEY'),
      );

  subcommand('add <name>', 'add an operator; prints a generated password unless --password-stdin is given')
    .requiredOption(
      '-r, --role <role>',
      'viewer (reads), operator (also changes rules, experiments, config) or admin (also keys)',
      roleArg,
    )
    .option('--password-stdin', 'read the password from the first line of stdin (at least 12 characters)')
    .option('--replace', 'change an existing operator (role and password); ends their sessions')
    .action(
      async (
        name: string,
        opts: RemoteOptions & { role: OperatorRole; passwordStdin?: boolean; replace?: boolean },
      ) => {
        const piped = opts.passwordStdin ? await readStdinLine() : undefined;
        await withOperators(globals(), opts, async (store, namespaceId) => {
          const { password } = await store.add({
            name,
            role: opts.role,
            replace: opts.replace ?? false,
            ...(piped === undefined ? {} : { password: piped }),
          });
          console.log(
            `${opts.replace ? 'Updated' : 'Added'} ${opts.role} "${name}" for "${namespaceId}". Sign in at <server>/admin/.`,
          );
          if (password !== null) console.log(`Password (shown once): ${password}`);
        });
      },
    );

  subcommand('remove <name>', 'remove an operator; their sessions end at once').action(
    (name: string, opts: RemoteOptions) =>
      withOperators(globals(), opts, async (store, namespaceId) => {
        if (!(await store.remove(name))) {
          throw new UserError(
            'NOT_FOUND',
            `No operator "${name}" in "${namespaceId}"; see recsys operators list.`,
          );
        }
        console.log(`Removed "${name}" from "${namespaceId}".`);
      }),
  );

  subcommand('list', 'list the operators of a namespace (never passwords)')
    .option('--json', 'print JSON')
    .action((opts: RemoteOptions & { json?: boolean }) =>
      withOperators(globals(), opts, async (store) => {
        const rows = await store.list();
        if (opts.json) return console.log(JSON.stringify(rows));
        for (const o of rows) console.log(`${o.name}\t${o.role}\t${o.createdAt}`);
      }),
    );

  operators
    .command('audit')
    .description('changes made through the console, newest first: who, when, which procedure, what input')
    .requiredOption('-n, --namespace <id>', 'the shop (namespace)')
    .option('--operator <name>', 'only this operator')
    .option('--limit <n>', 'how many', (v) => Number.parseInt(v, 10), 50)
    .option('--json', 'print JSON')
    .action((opts: { namespace?: string; operator?: string; limit: number; json?: boolean }) =>
      withDatabase(globals(), async (database) => {
        const { listOperatorChanges } = await import('../console/audit');
        const rows = await listOperatorChanges(database, needNamespace(opts.namespace), {
          limit: opts.limit,
          ...(opts.operator ? { operator: opts.operator } : {}),
        });
        if (opts.json) return console.log(JSON.stringify(rows));
        for (const r of rows)
          console.log(`${r.at}\t${r.operator} (${r.role})\t${r.procedure}\t${JSON.stringify(r.input)}`);
      }),
    );
}
