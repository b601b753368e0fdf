import { type Command, Option } from 'commander';
import { UserError } from '../errors';
import { type GlobalOptions, withDatabase } from './context';

/**
 * `recsys forget`: GDPR erasure from the command line, the same as `users.forget`. Running
 * servers on PostgreSQL pick the change up on their next poll; an embedded database is held by
 * its server, so call `users.forget` with the secret key while the server runs.
 */
export function registerForgetCommand(program: Command, globals: () => GlobalOptions) {
  program
    .command('forget')
    .description('erase a user, or one anonymous visitor, and everything recorded under them')
    .requiredOption('-n, --namespace <id>', 'namespace')
    .addOption(
      new Option('--user-id <id>', 'the user, their traits, aliases and linked anonymous ids').conflicts(
        'anonymousId',
      ),
    )
    .option('--anonymous-id <id>', 'one anonymous visitor (a browser that may never have logged in)')
    .option('--json', 'print what was erased as JSON')
    .action((opts: { namespace: string; userId?: string; anonymousId?: string; json?: boolean }) =>
      withDatabase(globals(), async (database) => {
        const { forgetInputSchema } = await import('../ingest/contracts');
        const input = forgetInputSchema.safeParse({ userId: opts.userId, anonymousId: opts.anonymousId });
        if (!input.success) {
          const flag = (path: PropertyKey[]) => (path[0] === 'anonymousId' ? '--anonymous-id' : '--user-id');
          const issues = input.error.issues.map((i) => `${flag(i.path)}: ${i.message}`);
          throw new UserError('BAD_REQUEST', issues.join('; '));
        }
        const { forgetAnonymous, forgetUser } = await import('../ingest/forget');
        const result = input.data.userId
          ? await forgetUser(database, opts.namespace, input.data.userId)
          : await forgetAnonymous(database, opts.namespace, input.data.anonymousId!);
        if (opts.json) return console.log(JSON.stringify(result));
        const who = input.data.userId
          ? `user "${input.data.userId}"`
          : `anonymous id "${input.data.anonymousId}"`;
        console.log(
          `Forgot ${who} in "${opts.namespace}": ${result.userDeleted ? 'user row, ' : ''}${result.aliasesDeleted} aliases, ${result.eventsDeleted} events, ${result.recLogsDeleted} served lists, ${result.tracesDeleted} traces.`,
        );
      }),
    );
}
