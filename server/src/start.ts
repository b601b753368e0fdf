/*
 * Longer than the ~450-line guideline on purpose: the one place where a server is composed
 * (`composeRuntime`, used by `recsys serve`, the HTTP thread, the in-process suite and the tests)
 * and started (`startRecsys`), with the TSDoc of every start option; splitting the composition would
 * put the shutdown order, which must mirror the start order, in two files. Settings read from the
 * environment are in `config/settings.ts`.
 */
import type { EmbeddingEncoder } from '@recsys/engine';
import {
  createEncoder,
  describeCache,
  type EmbeddingsSetting,
  parseEmbeddingsSetting,
  rateLimitsFromEnv,
  recsCacheFromEnv,
} from './config/settings';
import { type Database, type DatabaseTimeouts, openDatabase } from './db/client';
import { defaultBundleDirs, loadBundles, scriptTag } from './http/bundles';
import type { RateLimitOptions } from './http/rateLimiter';
import {
  createRecsysServer,
  type RecsysServer,
  type RecsysServerOptions,
  type RouteHandler,
} from './http/server';
import { listenWhileStarting } from './http/startingServer';
import { startHttpThread } from './http/thread/startHttpThread';
import { JobScheduler } from './jobs/scheduler';
import { type JobsSetting, jobsFromEnv } from './jobs/schedules';
import { FreshnessRecorder } from './obs/freshnessRecorder';
import { createLogger, type Logger } from './obs/logger';
import { EngineHost } from './replicate/EngineHost';
import { describePlacement, type Placement } from './replicate/placement';
import type { EngineService } from './serve/EngineService';
import { RecLogWriter } from './serve/RecLogWriter';
import { createResponseCache, type ResponseCacheOptions } from './serve/ResponseCache';

export type { JobsSetting } from './jobs/schedules';

export interface StartOptions {
  /**
   * PostgreSQL URL; the embedded PGlite when absent. `null` forces the
   * embedded database even when `DATABASE_URL` is set (examples, tests).
   * @default process.env.DATABASE_URL
   */
  databaseUrl?: string | null | undefined;
  /**
   * Folder of the embedded database (`memory://` for none).
   * @default process.env.RECSYS_DATA_DIR ?? '.data/pglite'
   */
  dataDir?: string | undefined;
  /**
   * How long PostgreSQL may take to open a connection, and to answer a query before it is checked
   * (see `DatabaseOptions.connectTimeoutMs` and `queryTimeoutMs`): past them, on a database that
   * does not answer, requests that need it answer 503 with `Retry-After`. The HTTP thread's pool
   * uses the same.
   * @default { connectTimeoutMs: RECSYS_DB_CONNECT_TIMEOUT ?? 10000, queryTimeoutMs: RECSYS_DB_QUERY_TIMEOUT ?? 5000 }
   * @example { databaseTimeouts: { connectTimeoutMs: 5_000, queryTimeoutMs: 2_000 } }
   */
  databaseTimeouts?: DatabaseTimeouts | undefined;
  /** @default 8080 (0 picks a free port) */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
  /**
   * Embedding model. Parsed from `RECSYS_EMBEDDINGS` (`builtin`, `off` or
   * `transformer:<dir>`) when not given.
   * @default { kind: 'builtin' }
   */
  embeddings?: EmbeddingsSetting;
  /** Engine poll interval; see `EngineHostOptions.pollIntervalMs`. @default 500 */
  pollIntervalMs?: number;
  /**
   * Directory of engine snapshots (`recsys serve --snapshot-dir`); see `EngineHostOptions.snapshotDir`.
   * @default process.env.RECSYS_SNAPSHOT_DIR (unset: no snapshots)
   * @example { snapshotDir: '/var/lib/recsys/snapshots' }
   */
  snapshotDir?: string | undefined;
  /** See `EngineHostOptions.snapshotIntervalMs`. @default 600000 */
  snapshotIntervalMs?: number | undefined;
  /**
   * Run the engine host. `false` makes an ingestion-only process: events,
   * catalog and admin work, `recs.*` answer 503. Useful to scale ingestion
   * apart from serving; every process still shares one database.
   * @default true
   */
  engine?: boolean;
  logger?: Logger;
  /** Extra routes (the demo storefront serves its pages through this). */
  fallback?: RouteHandler;
  /**
   * Serve HTTP from a worker thread while the engines rank on the main one, so a serving process
   * uses two cores (see `startHttpThread`). Needs PostgreSQL (the embedded database lives in one
   * thread), the engine, and no `fallback` routes: `'auto'` uses it where it can, `true` fails
   * where it cannot, `false` serves from one thread.
   * @default 'auto'
   */
  httpThread?: boolean | 'auto';
  /**
   * Called with the base URL as soon as the port is open: before the database is open and migrated
   * (a large PGlite folder, a slow PostgreSQL), and before the engines have loaded (a minute on a
   * large catalog). `/healthz` answers 200 from then on; `/readyz` 503 with what is still missing
   * (`database: opening`, then the indexes loading); every API route 503 with `Retry-After` until
   * the database is open, `recs.*` until the engines are loaded. `startRecsys` itself resolves once
   * loaded.
   * @default nothing
   */
  onListening?: (url: string) => void;
  /**
   * Rate limits (see `RateLimitOptions`); `false` turns them off. `redisUrl` is read from
   * `REDIS_URL` and `trustProxy` from `RECSYS_TRUST_PROXY` when not given.
   * @default {} (the default limits; shared through Redis when REDIS_URL is set, in memory otherwise)
   */
  rateLimits?: RateLimitOptions | false;
  /**
   * The scheduled jobs (guardrail evaluation, trace and served-list retention), run once per slot
   * across every process on the database; `false` runs none in this process. Read from `RECSYS_JOBS`
   * (`name=<cron>;name=off`, or `off`) when not given.
   * @default every job on its default schedule
   */
  jobs?: JobsSetting | false;
  /**
   * The namespaces whose engines this process holds (`recsys serve --namespaces`/`--shard`): a
   * replica of a pool loads and serves only its share; every namespace's events and admin calls are
   * still accepted here.
   * @default every namespace
   */
  placement?: Placement;
  /**
   * The response cache of recommendation lists (see `ResponseCacheOptions`); `false` turns it off.
   * When not given, or for what is not given: the TTL from `RECSYS_RECS_CACHE_TTL` (seconds; `0` or
   * `off` turns the cache off), Redis from the rate limits' `redisUrl`, else `REDIS_URL`.
   * @default { ttlMs: 10000 } (in memory; shared through Redis when REDIS_URL is set)
   * @example { ttlMs: 5_000, redisUrl: 'redis://10.0.0.5:6379' }
   */
  recsCache?: ResponseCacheOptions | false;
}

export interface RunningRecsys {
  url: string;
  database: Database;
  engines: EngineHost | undefined;
  /** The HTTP server; absent when it runs on its own thread (`httpThread`). */
  server: RecsysServer | undefined;
  log: Logger;
  close(): Promise<void>;
}

/** Where a runtime's recommendations come from. */
export type RuntimeEngine =
  /** No engines: ingestion and admin only, `recs.*` answer 503. */
  | false
  /** An engine host in this thread, loading every namespace from the database. */
  | {
      encoder: EmbeddingEncoder | null;
      pollIntervalMs?: number | undefined;
      placement?: Placement | undefined;
      snapshotDir?: string | undefined;
      snapshotIntervalMs?: number | undefined;
      /** The response cache of `recs.*` lists; off when absent or false. */
      cache?: ResponseCacheOptions | false | undefined;
      /** An HTTP thread will keep the cache's lists near it (see `EngineHostOptions.keepListsNear`). */
      keepListsNear?: boolean | undefined;
    }
  /** Engines on another thread (the HTTP thread's view of them); closed with the runtime. */
  | { remote: EngineService & { close(): void } };

/** Options of {@link composeRuntime}. */
export interface RuntimeOptions {
  /** An open, migrated database. */
  database: Database;
  log: Logger;
  engine: RuntimeEngine;
  /**
   * Serve HTTP from this runtime (with these server options), or not: the engine thread of a
   * two-thread server only ranks, and its HTTP thread serves.
   */
  http: false | Omit<RecsysServerOptions, 'database' | 'log' | 'engines' | 'recLog'>;
  /**
   * Run the scheduled jobs in this runtime, with these schedules; one runtime per process should
   * (`startRecsys` gives them to the engine thread's). The HTTP server's `admin.jobs.list` shows them.
   * @default false (no scheduler: tests, the HTTP thread, the scenario server)
   */
  jobs?: JobsSetting | false;
  /**
   * What else `close()` releases, last and in this order (an encoder, the database the caller
   * opened for the runtime).
   * @default []
   */
  owned?: Array<() => unknown>;
}

/** Where and how {@link Runtime.start} listens. */
export interface ListenOptions {
  /** @default 0 (a free port) */
  port?: number | undefined;
  /** @default '127.0.0.1' */
  host?: string | undefined;
  /** See {@link StartOptions.onListening}. */
  onListening?: ((url: string) => void) | undefined;
}

/** One composed server process (or thread): see {@link composeRuntime}. */
export interface Runtime {
  database: Database;
  log: Logger;
  /** The engine host, when the engines run in this thread. */
  engines: EngineHost | undefined;
  /** The per-minute event → index waits of those engines (`index_freshness`), when they run here. */
  freshness: FreshnessRecorder | undefined;
  /** The served-list log, when this runtime serves HTTP with engines. */
  recLog: RecLogWriter | undefined;
  /** The HTTP server, when this runtime serves HTTP. */
  server: RecsysServer | undefined;
  /** The job scheduler, when this runtime runs the scheduled jobs (`jobs`). */
  scheduler: JobScheduler | undefined;
  /**
   * Listens (port 0 picks a free one) when this runtime serves HTTP, then loads the engines: probes
   * answer while they load. Resolves to the base URL once loaded, or undefined without HTTP. A failed
   * start releases everything.
   */
  start(listen?: ListenOptions): Promise<string | undefined>;
  /**
   * Stops accepting, finishes what is in flight, stops the scheduler (a running job stops at its next
   * safe point and is recorded), flushes the log, stops the engines, releases `owned`.
   */
  close(): Promise<void>;
}

/**
 * The one composition root: wires the database, engines, served-list log and HTTP server of a
 * process or thread. `recsys serve`, the HTTP thread, the in-process scenario server and the test
 * stack all call it, so start-up and shut-down happen in one order everywhere: on close, the HTTP
 * server first (no new work), then the job scheduler (waits for a running job to stop), then the
 * served-list log (flushes what was served), then the engines, then what the caller handed over
 * (`owned`).
 */
export function composeRuntime(options: RuntimeOptions): Runtime {
  const { database, log, engine } = options;
  const cache =
    engine && 'encoder' in engine && engine.cache ? createResponseCache(engine.cache, log) : undefined;
  // Per-minute event → index waits, for the console's freshness chart (engines of this process).
  const freshness = engine && 'encoder' in engine ? new FreshnessRecorder(database, log) : undefined;
  const engines =
    engine && 'encoder' in engine
      ? new EngineHost({
          database,
          log,
          encoder: engine.encoder,
          ...(engine.pollIntervalMs ? { pollIntervalMs: engine.pollIntervalMs } : {}),
          ...(engine.placement ? { placement: engine.placement } : {}),
          ...(engine.snapshotDir ? { snapshotDir: engine.snapshotDir } : {}),
          ...(engine.snapshotIntervalMs ? { snapshotIntervalMs: engine.snapshotIntervalMs } : {}),
          cache,
          ...(engine.keepListsNear ? { keepListsNear: true } : {}),
          onApplied: (lags) => freshness?.observe(lags),
        })
      : undefined;
  const service: EngineService | undefined =
    engines ?? (engine && 'remote' in engine ? engine.remote : undefined);
  const recLog = options.http && service ? new RecLogWriter(database, log) : undefined;
  const server = options.http
    ? createRecsysServer({
        database,
        log,
        ...(options.jobs === undefined || options.jobs === false
          ? {}
          : { jobSchedules: options.jobs.schedules ?? {} }),
        ...(engines ? { placement: engines.options.placement } : {}),
        ...options.http,
        ...(service ? { engines: service } : {}),
        ...(recLog ? { recLog } : {}),
      })
    : undefined;
  const scheduler = options.jobs
    ? new JobScheduler({
        database,
        log,
        ...options.jobs,
        // This process serves the paused experiment's control at once; other processes within 5 s.
        onExperimentPaused: (namespaceId) => server?.services.experiments?.invalidate(namespaceId),
        // A bandit's new weights likewise.
        onAllocationChanged: (namespaceId) => server?.services.experiments?.invalidate(namespaceId),
      })
    : undefined;
  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= (async () => {
      await server?.close();
      await scheduler?.close();
      await recLog?.close();
      await engines?.stop();
      await freshness?.flush();
      await cache?.close();
      if (engine && 'remote' in engine) engine.remote.close();
      for (const release of options.owned ?? []) await release();
    })();
    return closed;
  };
  return {
    database,
    log,
    engines,
    freshness,
    recLog,
    server,
    scheduler,
    async start(listen = {}) {
      try {
        // The port first: a large catalog takes a minute to load, and a supervisor's probes must
        // see a live process (/healthz) that is not ready yet (/readyz), not a refused connection.
        const url = await server?.listen(listen.port ?? 0, listen.host ?? '127.0.0.1');
        if (url) listen.onListening?.(url);
        // Lists are shared through Redis from the first one when it is up (a miss each when not).
        await cache?.ready;
        await engines?.start();
        scheduler?.start();
        return url;
      } catch (error) {
        // A taken port: nothing may stay open (engine polling, the pool) in a process that goes on.
        await close();
        throw error;
      }
    },
    close,
  };
}

/**
 * One log line per browser bundle served under `/static/`: its versioned URL, its Subresource
 * Integrity hash and the script tag to paste (with this server's URL; use your public one).
 */
function logBundles(log: Logger, url: string) {
  const dirs = defaultBundleDirs();
  const bundles = loadBundles(dirs);
  if (bundles.length === 0) {
    log.warn({ dirs }, 'no browser bundles to serve under /static/: build them with `pnpm build`');
  }
  for (const bundle of bundles) {
    log.info(
      {
        bundle: bundle.name,
        src: `${url}/static/${bundle.versionedName}`,
        integrity: bundle.integrity,
        tag: scriptTag(bundle, url),
      },
      'browser bundle',
    );
  }
}

/**
 * Opens and migrates the database, loads the engines, and serves the API.
 * What `recsys serve` and the demo storefront run.
 */
export async function startRecsys(options: StartOptions = {}): Promise<RunningRecsys> {
  const log = options.logger ?? createLogger();
  // An empty URL (DATABASE_URL= in a shell) means the embedded database, as for openDatabase.
  const databaseUrl =
    (options.databaseUrl === null ? undefined : (options.databaseUrl ?? process.env.DATABASE_URL)) ||
    undefined;
  const withEngine = options.engine ?? true;
  // Checked before anything is opened, so a refused setting leaves nothing running.
  const threaded = useHttpThread(options, databaseUrl, withEngine);
  const rateLimits = rateLimitsFromEnv(options.rateLimits);
  const cache = recsCacheFromEnv(options.recsCache, rateLimits);
  const jobs = options.jobs ?? jobsFromEnv(process.env.RECSYS_JOBS);
  const port = options.port ?? 8080;
  const host = options.host ?? '127.0.0.1';
  // The port before the database: opening a large PGlite folder, or reaching PostgreSQL and
  // migrating it, takes a while, and a supervisor's probes must see a live process (/healthz) that
  // is not ready yet (/readyz: database opening), not a refused connection. A taken port fails here,
  // before anything is opened.
  const starting = await listenWhileStarting({ port, host });
  const url = starting.url;
  log.info({ url, ...(threaded ? { httpThread: true } : {}) }, 'recsys listening');
  logBundles(log, url);
  options.onListening?.(url);
  let database: Database | undefined;
  let encoder: EmbeddingEncoder | null = null;
  try {
    database = await openDatabase({
      url: databaseUrl,
      dataDir: options.dataDir ?? process.env.RECSYS_DATA_DIR ?? '.data/pglite',
      ...options.databaseTimeouts,
      log,
    });
    await database.migrate();
    log.info({ database: database.describe() }, 'database ready');
    starting.phase = 'components';
    if (withEngine && options.placement && options.placement.kind !== 'all') {
      log.info({ placement: describePlacement(options.placement) }, 'engines hold a share of the namespaces');
    }
    if (withEngine) {
      encoder = await createEncoder(
        options.embeddings ?? parseEmbeddingsSetting(process.env.RECSYS_EMBEDDINGS),
      );
    }
  } catch (error) {
    await database?.close();
    await starting.release();
    throw error;
  }
  const opened = database;
  if (withEngine) log.info({ recsCache: cache ? describeCache(cache) : 'off' }, 'recommendation cache');
  let runtime: Runtime;
  try {
    runtime = composeRuntime({
      database: opened,
      log,
      engine: withEngine && {
        encoder,
        pollIntervalMs: options.pollIntervalMs,
        placement: options.placement,
        snapshotDir: options.snapshotDir ?? (process.env.RECSYS_SNAPSHOT_DIR || undefined),
        snapshotIntervalMs: options.snapshotIntervalMs,
        cache,
        keepListsNear: threaded,
      },
      // One thread: this runtime's server answers on the port opened above, on its connections.
      http: !threaded && {
        rateLimits,
        server: starting.server,
        ...(options.fallback ? { fallback: options.fallback } : {}),
      },
      jobs,
      owned: [() => encoder?.dispose(), () => opened.close()],
    });
  } catch (error) {
    // A refused setting (a rate limit) found while composing: nothing may stay open.
    await encoder?.dispose();
    await opened.close();
    await starting.release();
    throw error;
  }
  if (!threaded || !runtime.engines) {
    // A failed start closes the runtime, and with it the adopted server and its port.
    await runtime.start({
      port: starting.port,
      host,
      onListening: () => log.info({ url }, 'serving the API'),
    });
    if (runtime.engines) log.info({ url }, 'recsys ready');
    return {
      url,
      database: opened,
      engines: runtime.engines,
      server: runtime.server,
      log,
      close: runtime.close,
    };
  }
  let closing = false;
  let http: Awaited<ReturnType<typeof startHttpThread>> | undefined;
  try {
    http = await startHttpThread({
      engines: runtime.engines,
      databaseUrl: databaseUrl!,
      ...(options.databaseTimeouts ? { databaseTimeouts: options.databaseTimeouts } : {}),
      port: starting.port,
      host,
      logLevel: log.level,
      rateLimits,
      placement: runtime.engines.options.placement,
      ...(jobs === false ? {} : { jobSchedules: jobs.schedules ?? {} }),
      // This thread answers probes until the HTTP thread is ready to take the port.
      releasePort: () => starting.release(),
      onExit(error) {
        if (closing) return;
        // Nothing serves HTTP any more: exit so that a supervisor restarts the whole process.
        log.fatal({ err: error }, 'HTTP thread ended; exiting');
        process.exit(1);
      },
    });
    log.info({ url: http.url, httpThread: true }, 'serving the API');
    // The HTTP thread answers recs.* with 503 until these engines are loaded (see exposeEngine).
    await runtime.start();
    await http.syncEngines();
  } catch (error) {
    closing = true;
    await http?.close();
    await runtime.close();
    await starting.release();
    throw error;
  }
  log.info({ url: http.url, httpThread: true }, 'recsys ready');
  return {
    url: http.url,
    database: opened,
    engines: runtime.engines,
    server: undefined,
    log,
    async close() {
      closing = true;
      await http.close();
      await runtime.close();
    },
  };
}

/** Whether HTTP gets a thread of its own; throws when `httpThread: true` cannot be honoured. */
function useHttpThread(options: StartOptions, databaseUrl: string | undefined, withEngine: boolean): boolean {
  const setting = options.httpThread ?? 'auto';
  const possible = databaseUrl !== undefined && withEngine && options.fallback === undefined;
  if (setting === true && !possible) {
    throw new Error(
      'httpThread: true needs PostgreSQL (a database URL; the embedded database cannot be shared between threads), the engine, and no `fallback` routes. Use httpThread: "auto" to serve from one thread where it cannot.',
    );
  }
  return setting !== false && possible;
}
