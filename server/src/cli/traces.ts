import { type Command, InvalidArgumentError, Option } from 'commander';
import { UserError } from '../errors';
import type { StoredTrace } from '../traces/storedTrace';
import type { TraceQuery } from '../traces/traceStore';
import { type GlobalOptions, withDatabase } from './context';

interface Target {
  namespace?: string;
  url?: string;
  key?: string;
}

/** Decision traces, read from the database or through a running server's procedures. */
interface TraceReader {
  get(requestId: string): Promise<StoredTrace | undefined>;
  search(query: TraceQuery): Promise<{ traces: StoredTrace[]; nextCursor: string | null }>;
  prune(): Promise<{ deleted: number }>;
}

const intArg = (value: string) => {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError('use a whole number ≥ 1.');
  return Number(value);
};

/** `-n` or `--url`/`--key`, as the other operator commands take them. */
export function withTarget(command: Command): Command {
  return command
    .option('-n, --namespace <id>', "namespace (with --url: the --key's namespace)")
    .addOption(
      new Option('--url <url>', 'a running server to ask, instead of opening the database').env('RECSYS_URL'),
    )
    .addOption(new Option('--key <secretKey>', 'a secret key of the namespace, for --url').env('RECSYS_KEY'));
}

/** `recsys why <requestId>`, `recsys traces search|prune`. */
export function registerTraceCommands(program: Command, globals: () => GlobalOptions) {
  withTarget(
    program
      .command('why <requestId>')
      .description(
        'explain a served list from its decision trace: request, rules, signals, removals, final items',
      ),
  )
    .option('--json', 'print the stored trace as JSON')
    .action((requestId: string, opts: Target & { json?: boolean }) =>
      withReader(globals(), opts, async (reader, namespaceId) => {
        const trace = await reader.get(requestId);
        if (!trace) {
          throw new UserError(
            'NOT_FOUND',
            `No trace of request ${requestId} in "${namespaceId}": it was not sampled (traceSampleRate), is older than traceRetentionDays, or was erased.`,
          );
        }
        if (opts.json) return console.log(JSON.stringify(trace, null, 2));
        const { formatTrace } = await import('../traces/formatTrace');
        console.log(formatTrace(trace));
      }),
    );

  const traces = program.command('traces').description('search, export and prune decision traces');
  withTarget(
    traces.command('search').description('find traces, newest first (every option given must match)'),
  )
    .option('--request-id <id>', 'one served list')
    .option('--user-id <id>', 'lists served to this user (hashed before the search)')
    .option('--anonymous-id <id>', 'lists served to this visitor (hashed before the search)')
    .option('--item-id <id>', 'lists that showed the item, or removed it (filter, cap or rule)')
    .option('--rule-id <id>', 'lists a rule touched')
    .option('--surface <name>', 'placement or surface')
    .option('--from <time>', 'served at or after (ISO-8601)')
    .option('--to <time>', 'served at or before (ISO-8601)')
    .option('--limit <n>', 'most traces to print (with --jsonl: all when absent)', intArg)
    .option('--jsonl', 'print whole traces, one JSON object per line (an export)')
    .action(
      (
        opts: Target & {
          requestId?: string;
          userId?: string;
          anonymousId?: string;
          itemId?: string;
          ruleId?: string;
          surface?: string;
          from?: string;
          to?: string;
          limit?: number;
          jsonl?: boolean;
        },
      ) =>
        withReader(globals(), opts, async (reader) => {
          for (const [flag, value] of [
            ['--from', opts.from],
            ['--to', opts.to],
          ] as const) {
            if (value !== undefined && Number.isNaN(Date.parse(value)))
              throw new UserError(
                'BAD_REQUEST',
                `${flag} "${value}" is not a time; use ISO-8601, e.g. 2026-01-31T12:00:00Z.`,
              );
          }
          const query: TraceQuery = {
            requestId: opts.requestId,
            userId: opts.userId,
            anonymousId: opts.anonymousId,
            itemId: opts.itemId,
            ruleId: opts.ruleId,
            surface: opts.surface,
            from: opts.from,
            to: opts.to,
          };
          for (const k of Object.keys(query) as Array<keyof TraceQuery>)
            if (query[k] === undefined) delete query[k];
          const max = opts.limit ?? (opts.jsonl ? Number.POSITIVE_INFINITY : 20);
          let printed = 0;
          let cursor: string | undefined;
          do {
            const page = await reader.search({
              ...query,
              limit: Math.min(100, max - printed),
              ...(cursor ? { cursor } : {}),
            });
            for (const t of page.traces) {
              if (opts.jsonl) process.stdout.write(`${JSON.stringify(t)}\n`);
              else {
                const shown = ((t.engine ?? t.bundle)?.items ?? []).map((i) => i.itemId).join(',');
                console.log(`${t.requestId}\t${t.createdAt}\t${t.surface}\t${shown}`);
              }
            }
            printed += page.traces.length;
            cursor = page.nextCursor ?? undefined;
          } while (cursor && printed < max);
          if (!opts.jsonl && printed === 0) console.error('No traces match.');
        }),
    );

  withTarget(
    traces
      .command('prune')
      .description(
        "delete traces older than each namespace's traceRetentionDays (default 30); every namespace without -n or --url",
      ),
  ).action((opts: Target) => {
    const g = globals();
    if (!opts.url && !opts.namespace) {
      return withDatabase(g, async (database) => {
        const { pruneTraces } = await import('../traces/traceStore');
        const { deleted } = await pruneTraces(database);
        console.log(`Pruned ${deleted} traces past their retention, in every namespace.`);
      });
    }
    return withReader(g, opts, async (reader, namespaceId) => {
      const { deleted } = await reader.prune();
      console.log(`Pruned ${deleted} traces of "${namespaceId}" past their retention.`);
    });
  });
}

/** Runs `fn` with the reader the options select: a server (`--url`) or the database (`-n`). */
async function withReader(
  globals: GlobalOptions,
  opts: Target,
  fn: (reader: TraceReader, namespaceId: string) => Promise<void>,
): Promise<void> {
  if (opts.url) {
    const { openRemoteClient } = await import('./remote');
    const { namespaceId, client, call } = await openRemoteClient(opts.url, opts.key, opts.namespace);
    const reader: TraceReader = {
      async get(requestId) {
        try {
          return await call(() => client.admin.traces.get.query({ requestId }));
        } catch (error) {
          if (error instanceof UserError && error.code === 'NOT_FOUND') return undefined;
          throw error;
        }
      },
      search: (query) => call(() => client.admin.traces.search.query(query)),
      prune: () => call(() => client.admin.traces.prune.mutate({})),
    };
    return fn(reader, namespaceId);
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
    const { getTrace, pruneTraces, searchTraces } = await import('../traces/traceStore');
    await fn(
      {
        get: (requestId) => getTrace(database, namespaceId, requestId),
        search: (query) => searchTraces(database, namespaceId, query),
        prune: () => pruneTraces(database, { namespaceId }),
      },
      namespaceId,
    );
  });
}
