import { createTextEncoder, type EmbeddingEncoder } from '@recsys/engine';
import { type Database, openDatabase } from './db/client';
import { createRecsysServer, type RecsysServer, type RouteHandler } from './http/server';
import { startHttpThread } from './http/thread/startHttpThread';
import { createLogger, type Logger } from './obs/logger';
import { EngineHost } from './replicate/EngineHost';
import { RecLogWriter } from './serve/RecLogWriter';

/** How item text becomes vectors. */
export type EmbeddingsSetting =
  | { kind: 'builtin'; dim?: number }
  | { kind: 'transformer'; dir: string; maxLength?: number }
  | { kind: 'off' };

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

export function parseEmbeddingsSetting(value: string | undefined): EmbeddingsSetting {
  if (!value || value === 'builtin') return { kind: 'builtin' };
  if (value === 'off') return { kind: 'off' };
  if (value.startsWith('transformer:'))
    return { kind: 'transformer', dir: value.slice('transformer:'.length) };
  throw new Error(
    `RECSYS_EMBEDDINGS="${value}" is not understood: use builtin, off or transformer:<model folder>.`,
  );
}

export async function createEncoder(setting: EmbeddingsSetting): Promise<EmbeddingEncoder | null> {
  if (setting.kind === 'off') return null;
  if (setting.kind === 'builtin')
    return createTextEncoder({ kind: 'builtin', ...(setting.dim ? { dim: setting.dim } : {}) });
  return createTextEncoder({
    kind: 'transformer',
    dir: setting.dir,
    ...(setting.maxLength ? { maxLength: setting.maxLength } : {}),
  });
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
  const database = await openDatabase({
    url: databaseUrl,
    dataDir: options.dataDir ?? process.env.RECSYS_DATA_DIR ?? '.data/pglite',
  });
  await database.migrate();
  log.info({ database: database.describe() }, 'database ready');
  const encoder = withEngine
    ? await createEncoder(options.embeddings ?? parseEmbeddingsSetting(process.env.RECSYS_EMBEDDINGS))
    : null;
  const engines = withEngine
    ? new EngineHost({
        database,
        log,
        encoder,
        ...(options.pollIntervalMs ? { pollIntervalMs: options.pollIntervalMs } : {}),
      })
    : undefined;
  /** Stops what was opened above: after a failed start, and last in `close()`. */
  const release = async () => {
    await engines?.stop();
    await encoder?.dispose();
    await database.close();
  };
  await engines?.start();
  const port = options.port ?? 8080;
  const host = options.host ?? '127.0.0.1';
  if (threaded && engines) {
    let closing = false;
    let http: Awaited<ReturnType<typeof startHttpThread>>;
    try {
      http = await startHttpThread({
        engines,
        databaseUrl: databaseUrl!,
        port,
        host,
        logLevel: log.level,
        onExit(error) {
          if (closing) return;
          // Nothing serves HTTP any more: exit so that a supervisor restarts the whole process.
          log.fatal({ err: error }, 'HTTP thread ended; exiting');
          process.exit(1);
        },
      });
    } catch (error) {
      await release();
      throw error;
    }
    log.info({ url: http.url, httpThread: true }, 'recsys listening');
    return {
      url: http.url,
      database,
      engines,
      server: undefined,
      log,
      async close() {
        closing = true;
        await http.close();
        await release();
      },
    };
  }
  const recLog = new RecLogWriter(database, log);
  const server = createRecsysServer({
    database,
    log,
    ...(engines ? { engines } : {}),
    recLog,
    ...(options.fallback ? { fallback: options.fallback } : {}),
  });
  let url: string;
  try {
    url = await server.listen(port, host);
  } catch (error) {
    // A taken port: nothing may stay open (engine polling, the pool) in a process that goes on.
    await release();
    throw error;
  }
  log.info({ url }, 'recsys listening');
  return {
    url,
    database,
    engines,
    server,
    log,
    async close() {
      await server.close();
      await recLog.close();
      await release();
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
