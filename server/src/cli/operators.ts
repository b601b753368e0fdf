import { type Command, InvalidArgumentError } from 'commander';
import { UserError } from '../errors';
import { type GlobalOptions, withDatabase } from './context';

const ROLES = ['viewer', 'operator', 'admin'] as const;
type Role = (typeof ROLES)[number];
const roleArg = (value: string): Role => {
  if (!(ROLES as readonly string[]).includes(value))
    throw new InvalidArgumentError(`use ${ROLES.join(', ')}.`);
  return value as Role;
};

/** Reads the first line of stdin (for `--password-stdin`, so a password never sits in shell history). */
async function readStdinLine(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) chunks.push(chunk);
  return (Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '').trim();
}

const needNamespace = (namespace: string | undefined): string => {
  if (!namespace) throw new UserError('BAD_REQUEST', 'Pass the namespace (shop) with -n <id>.');
  return namespace;
};

/** `recsys operators add|remove|list|audit`: who may sign in to the admin console, and what they did. */
export function registerOperatorsCommand(program: Command, globals: () => GlobalOptions) {
  const operators = program
    .command('operators')
    .description('manage admin-console operators (viewer, operator, admin) and read what they changed');

  operators
    .command('add <name>')
    .description('add an operator; prints a generated password unless --password-stdin is given')
    .requiredOption('-n, --namespace <id>', 'the shop (namespace) the operator signs in to')
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
        opts: { namespace?: string; role: Role; passwordStdin?: boolean; replace?: boolean },
      ) => {
        const namespaceId = needNamespace(opts.namespace);
        const { randomBytes } = await import('node:crypto');
        const password = opts.passwordStdin ? await readStdinLine() : randomBytes(18).toString('base64url');
        await withDatabase(globals(), async (database) => {
          const { addOperator } = await import('../console/operators');
          const { getNamespace } = await import('../auth/namespaces');
          if (!(await getNamespace(database, namespaceId))) {
            throw new UserError(
              'NOT_FOUND',
              `Namespace "${namespaceId}" does not exist; see recsys namespace list.`,
            );
          }
          await addOperator(database, namespaceId, {
            name,
            role: opts.role,
            password,
            replace: opts.replace ?? false,
          });
        });
        console.log(
          `${opts.replace ? 'Updated' : 'Added'} ${opts.role} "${name}" for "${namespaceId}". Sign in at <server>/admin/.`,
        );
        if (!opts.passwordStdin) console.log(`Password (shown once): ${password}`);
      },
    );

  operators
    .command('remove <name>')
    .description('remove an operator; their sessions end at once')
    .requiredOption('-n, --namespace <id>', 'the shop (namespace)')
    .action((name: string, opts: { namespace?: string }) =>
      withDatabase(globals(), async (database) => {
        const namespaceId = needNamespace(opts.namespace);
        const { removeOperator } = await import('../console/operators');
        if (!(await removeOperator(database, namespaceId, name))) {
          throw new UserError(
            'NOT_FOUND',
            `No operator "${name}" in "${namespaceId}"; see recsys operators list.`,
          );
        }
        console.log(`Removed "${name}" from "${namespaceId}".`);
      }),
    );

  operators
    .command('list')
    .description('list the operators of a namespace (never passwords)')
    .requiredOption('-n, --namespace <id>', 'the shop (namespace)')
    .option('--json', 'print JSON')
    .action((opts: { namespace?: string; json?: boolean }) =>
      withDatabase(globals(), async (database) => {
        const { listOperators } = await import('../console/operators');
        const rows = await listOperators(database, needNamespace(opts.namespace));
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
