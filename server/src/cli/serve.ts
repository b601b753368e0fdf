import { type Command, InvalidArgumentError, Option } from 'commander';
import type { GlobalOptions } from './context';

export function registerServeCommand(program: Command, globals: () => GlobalOptions) {
  program
    .command('serve')
    .description('run the API server (migrates the database first)')
    .option('-p, --port <port>', 'port to listen on', (v) => Number.parseInt(v, 10), 8080)
    .option('-H, --host <host>', 'interface to bind', '127.0.0.1')
    .option(
      '--embeddings <setting>',
      'builtin | off | transformer:<model folder>',
      process.env.RECSYS_EMBEDDINGS,
    )
    .option('--no-engine', 'ingestion and admin only: no engine host, recs.* answer 503')
    .option(
      '--no-http-thread',
      'serve HTTP from the engine thread (by default, on PostgreSQL, HTTP has a thread of its own)',
    )
    .option(
      '--redis-url <url>',
      'share rate limits and cached recommendation lists through this Redis (default: REDIS_URL; in memory without)',
    )
    .option(
      '--recs-cache-ttl <seconds>',
      'reuse a ranked recommendation list for this long; a change of the visitor, the catalog, the configuration or the rules makes the next one fresh; 0 or off turns the cache off (default: RECSYS_RECS_CACHE_TTL; 10)',
      process.env.RECSYS_RECS_CACHE_TTL,
    )
    .option(
      '--db-connect-timeout <seconds>',
      'PostgreSQL: a connection not ready within this long fails, and requests that need it answer 503 (default: RECSYS_DB_CONNECT_TIMEOUT; 10)',
      process.env.RECSYS_DB_CONNECT_TIMEOUT,
    )
    .option(
      '--db-query-timeout <seconds>',
      'PostgreSQL: a query without an answer for this long has the database checked on a new connection; if that gets no answer either, waiting queries fail (503) and the pool reconnects; slow work on a database that answers is never cut; 0 turns the check off (default: RECSYS_DB_QUERY_TIMEOUT; 5)',
      process.env.RECSYS_DB_QUERY_TIMEOUT,
    )
    .option(
      '--trust-proxy <proxies>',
      'take the client address from X-Forwarded-For set by these proxies: a hop count, or addresses and CIDR ranges (default: RECSYS_TRUST_PROXY; off)',
    )
    .option(
      '--job <name=schedule>',
      'a job\'s schedule, repeatable: a cron expression in UTC (5 fields, or 6 with seconds first) or off, e.g. --job "guardrails=*/2 * * * *" --job rec-log-retention=off (default: RECSYS_JOBS, entries separated by ";")',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option(
      '--namespaces <ids>',
      'hold the engines of these namespaces only, separated by commas: a pool of replicas for large shops (default: RECSYS_NAMESPACES; every namespace)',
      process.env.RECSYS_NAMESPACES,
    )
    .option(
      '--shard <i/n>',
      'hold the engines of the namespaces whose id hashes to shard i of n, counted from 1, e.g. 2/4 (default: RECSYS_SHARD; every namespace)',
      process.env.RECSYS_SHARD,
    )
    .option(
      '--snapshot-dir <dir>',
      'keep engine snapshots in this directory: a restart loads them and applies only the rows written since, instead of rebuilding every index (default: RECSYS_SNAPSHOT_DIR; no snapshots)',
      process.env.RECSYS_SNAPSHOT_DIR,
    )
    .addOption(
      new Option(
        '--snapshot-interval <seconds>',
        'how often changed namespaces are snapshotted, besides at shutdown (default: 600)',
      )
        .env('RECSYS_SNAPSHOT_INTERVAL')
        .argParser(parseSnapshotInterval),
    )
    .option(
      '--no-jobs',
      'run no scheduled jobs in this process (other replicas still run them; RECSYS_JOBS=off)',
    )
    .action(
      async (opts: {
        port: number;
        host: string;
        embeddings?: string;
        engine: boolean;
        httpThread: boolean;
        redisUrl?: string;
        recsCacheTtl?: string;
        dbConnectTimeout?: string;
        dbQueryTimeout?: string;
        trustProxy?: string;
        job?: string[];
        jobs: boolean;
        namespaces?: string;
        shard?: string;
        snapshotDir?: string;
        snapshotInterval?: number;
      }) => {
        // Checked before anything starts: a wrong share must not come up serving the wrong shops.
        const { parsePlacement } = await import('../replicate/placement');
        const placement = parsePlacement({ namespaces: opts.namespaces, shard: opts.shard });
        const [{ parseCacheTtl, parseEmbeddingsSetting }, { startRecsys }] = await Promise.all([
          import('../config/settings'),
          import('../start'),
        ]);
        const cacheTtlMs = parseCacheTtl(opts.recsCacheTtl);
        const { parseTimeoutSeconds } = await import('../db/client');
        const connectTimeoutMs = parseTimeoutSeconds('--db-connect-timeout', opts.dbConnectTimeout);
        const queryTimeoutMs = parseTimeoutSeconds('--db-query-timeout', opts.dbQueryTimeout);
        const { jobsFromEnv, parseJobSchedules } = await import('../jobs/schedules');
        const { BUILT_IN_JOBS } = await import('../jobs/definitions');
        const fromEnv = jobsFromEnv(process.env.RECSYS_JOBS);
        // Flags over the environment, entry by entry; --no-jobs over both.
        const jobs = opts.jobs && {
          schedules: {
            ...(fromEnv ? fromEnv.schedules : {}),
            ...parseJobSchedules(opts.job ?? [], BUILT_IN_JOBS),
          },
        };
        const { parseTrustProxy } = await import('../http/clientIp');
        const running = await startRecsys({
          databaseUrl: globals().databaseUrl,
          dataDir: globals().dataDir,
          port: opts.port,
          host: opts.host,
          embeddings: parseEmbeddingsSetting(opts.embeddings),
          engine: opts.engine,
          httpThread: opts.httpThread ? 'auto' : false,
          jobs: fromEnv === false && !opts.job?.length ? false : jobs,
          placement,
          snapshotDir: opts.snapshotDir || undefined,
          snapshotIntervalMs: opts.snapshotInterval === undefined ? undefined : opts.snapshotInterval * 1000,
          ...(cacheTtlMs === undefined ? {} : { recsCache: cacheTtlMs > 0 && { ttlMs: cacheTtlMs } }),
          databaseTimeouts: {
            ...(connectTimeoutMs === undefined ? {} : { connectTimeoutMs }),
            ...(queryTimeoutMs === undefined ? {} : { queryTimeoutMs }),
          },
          rateLimits: {
            ...(opts.redisUrl ? { redisUrl: opts.redisUrl } : {}),
            ...(opts.trustProxy !== undefined ? { trustProxy: parseTrustProxy(opts.trustProxy) } : {}),
          },
        });
        // Once only, and every later signal ignored: Ctrl-C reaches both the launcher (bin/recsys.js)
        // and this process, and the launcher forwards it, so a second SIGINT arrives mid-shutdown.
        let stopping = false;
        const shutdown = async (signal: string) => {
          if (stopping) return;
          stopping = true;
          running.log.info({ signal }, 'shutting down');
          await running.close();
          process.exit(0);
        };
        process.on('SIGINT', () => void shutdown('SIGINT'));
        process.on('SIGTERM', () => void shutdown('SIGTERM'));
      },
    );
}

/** `--snapshot-interval`: whole seconds, at least 10 (a snapshot pauses the polls while it is taken). */
function parseSnapshotInterval(value: string): number {
  const seconds = Number(value);
  if (!Number.isInteger(seconds) || seconds < 10) {
    throw new InvalidArgumentError(
      `expected whole seconds, at least 10 (got ${JSON.stringify(value)}), e.g. --snapshot-interval 600`,
    );
  }
  return seconds;
}
