import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { UserError } from '../errors';
import type { Logger } from '../obs/logger';
import { packagePath } from '../paths';
import { lockDataDir } from './dataDirLock';
import { createHangGuard, createSocketRegistry } from './hangGuard';
import * as schema from './schema';

export type Schema = typeof schema;
/** The drizzle database, whichever driver is underneath. */
export type Db = PgDatabase<PgQueryResultHKT, Schema>;

/** Where the checked-in SQL migrations live. */
export const migrationsFolder = packagePath('drizzle');

export interface DatabaseOptions {
  /**
   * A PostgreSQL connection string. When set, the `postgres` driver is used;
   * otherwise the embedded PGlite.
   * @default process.env.DATABASE_URL
   * @example 'postgres://postgres@127.0.0.1:5432/recsys'
   */
  url?: string | undefined;
  /**
   * Folder for the embedded database's files; `memory://` keeps it in memory.
   * Ignored when `url` is set.
   * @default '.data/pglite'
   */
  dataDir?: string | undefined;
  /**
   * Connection pool size for PostgreSQL.
   * @default 10
   */
  poolSize?: number | undefined;
  /**
   * PostgreSQL: how long opening a connection may take (TCP, TLS, sign-in) before it fails as
   * unreachable (503 with `Retry-After` for a request). Also bounds the check of
   * {@link DatabaseOptions.queryTimeoutMs}.
   * @default process.env.RECSYS_DB_CONNECT_TIMEOUT (seconds) ?? 10000
   * @example { connectTimeoutMs: 5_000 }
   */
  connectTimeoutMs?: number | undefined;
  /**
   * PostgreSQL: how long a query may go without an answer before the database is checked with
   * `SELECT 1` on a new connection (within `connectTimeoutMs`). A database that answers the check is
   * only slow, and the query goes on (backups, engine loads and migrations are never cut); one that
   * does not is hung (a network partition, a frozen host): every query waiting fails as unreachable
   * (a request answers 503 with `Retry-After`), the pool's connections are dropped, new queries are
   * not sent before a check finds the database answering (they fail when it does not), and the pool
   * then reconnects. `0` turns the check off (a query then waits as long as TCP does). Ignored by the
   * embedded database, which lives in the process.
   * @default process.env.RECSYS_DB_QUERY_TIMEOUT (seconds) ?? 5000
   * @example { queryTimeoutMs: 2_000 }
   */
  queryTimeoutMs?: number | undefined;
  /** Where the database going silent and answering again is logged. @default nothing */
  log?: Logger | undefined;
}

/** The timeouts of a PostgreSQL pool (see {@link DatabaseOptions}). */
export type DatabaseTimeouts = Pick<DatabaseOptions, 'connectTimeoutMs' | 'queryTimeoutMs'>;

/** Default of {@link DatabaseOptions.connectTimeoutMs}. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** Default of {@link DatabaseOptions.queryTimeoutMs}. */
export const DEFAULT_QUERY_TIMEOUT_MS = 5_000;

/**
 * A timeout in seconds from the environment (`RECSYS_DB_CONNECT_TIMEOUT`, `RECSYS_DB_QUERY_TIMEOUT`),
 * in ms; undefined when unset.
 */
export function parseTimeoutSeconds(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds < 0 || seconds > 3_600) {
    throw new UserError(
      'BAD_REQUEST',
      `${name}="${value}" is not understood: give seconds from 0 to 3600 (decimals allowed, e.g. 2.5).`,
    );
  }
  return Math.round(seconds * 1000);
}

export interface Database {
  kind: 'pglite' | 'postgres';
  db: Db;
  /**
   * Runs raw SQL with positional parameters. Used for the hot paths
   * (bulk event inserts with `unnest`) where the query builder's per-row
   * parameters cost more than the database work.
   */
  query<T extends Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  /** Applies pending migrations; safe to call at every start-up. */
  migrate(): Promise<void>;
  close(): Promise<void>;
  /** Human-readable target, without credentials. */
  describe(): string;
}

/** Opens PGlite (default) or PostgreSQL (when a URL is given). */
export async function openDatabase(options: DatabaseOptions = {}): Promise<Database> {
  const url = options.url;
  if (url) {
    const connectTimeoutMs =
      options.connectTimeoutMs ??
      parseTimeoutSeconds('RECSYS_DB_CONNECT_TIMEOUT', process.env.RECSYS_DB_CONNECT_TIMEOUT) ??
      DEFAULT_CONNECT_TIMEOUT_MS;
    const queryTimeoutMs =
      options.queryTimeoutMs ??
      parseTimeoutSeconds('RECSYS_DB_QUERY_TIMEOUT', process.env.RECSYS_DB_QUERY_TIMEOUT) ??
      DEFAULT_QUERY_TIMEOUT_MS;
    if (connectTimeoutMs < 1) {
      throw new UserError(
        'BAD_REQUEST',
        'The database connect timeout must be at least 1 ms: a connection cannot open in no time.',
      );
    }
    return openPostgres(url, {
      max: options.poolSize ?? 10,
      connectTimeoutMs,
      queryTimeoutMs,
      log: options.log,
    });
  }
  return openPglite(options.dataDir ?? '.data/pglite');
}

async function openPglite(dataDir: string): Promise<Database> {
  const inMemory = dataDir === 'memory://' || dataDir === ':memory:';
  if (!inMemory) mkdirSync(dataDir, { recursive: true });
  const unlock = inMemory ? () => {} : lockDataDir(dataDir);
  let client: PGlite;
  try {
    client = inMemory ? new PGlite() : new PGlite(dataDir);
    await client.waitReady;
  } catch (error) {
    unlock();
    throw error;
  }
  return wrapPglite(client, inMemory ? 'PGlite (in memory)' : `PGlite (${dataDir})`, unlock);
}

/**
 * A migrated, empty in-memory database as a data-directory dump, for {@link openPgliteFromDump}.
 * Test suites start hundreds of databases; starting each from this dump skips replaying every
 * migration each time.
 */
export async function dumpMigratedPglite(): Promise<Blob> {
  const client = new PGlite();
  try {
    await wrapPglite(client, 'PGlite (template)', () => {}).migrate();
    return await client.dumpDataDir('none');
  } finally {
    await client.close();
  }
}

/** An in-memory database started from a dump made by {@link dumpMigratedPglite}. */
export async function openPgliteFromDump(dump: Blob): Promise<Database> {
  const client = await PGlite.create({ loadDataDir: dump });
  return wrapPglite(client, 'PGlite (in memory)', () => {});
}

function wrapPglite(client: PGlite, description: string, unlock: () => void): Database {
  const db = drizzlePglite({ client, schema }) as unknown as Db;
  return {
    kind: 'pglite',
    db,
    async query(text, params) {
      const result = await client.query(text, params);
      return result.rows as never;
    },
    migrate: () => migratePglite(db as never, { migrationsFolder }),
    async close() {
      try {
        await client.close();
      } finally {
        unlock();
      }
    },
    describe: () => description,
  };
}

async function openPostgres(
  url: string,
  options: { max: number; connectTimeoutMs: number; queryTimeoutMs: number; log: Logger | undefined },
): Promise<Database> {
  const sockets = createSocketRegistry();
  const client = postgres(url, {
    max: options.max,
    onnotice: () => {},
    connect_timeout: options.connectTimeoutMs / 1000,
    // In postgres.js's options, not in its types.
    ...({ socket: sockets.open } as object),
  });
  const { guard } = createHangGuard({
    url,
    queryTimeoutMs: options.queryTimeoutMs,
    connectTimeoutMs: options.connectTimeoutMs,
    onNotAnswering: () => sockets.destroyAll(),
    log: options.log,
  });
  // Every query and transaction drizzle runs goes through the guard; so do `query`'s below.
  const guarded = new Proxy(client, {
    get(target, property, receiver) {
      if (property === 'unsafe') return guardedUnsafe;
      if (property === 'begin') {
        const begin = target.begin as (...args: unknown[]) => Promise<unknown>;
        return (...args: unknown[]) => guard(() => begin(...args));
      }
      return Reflect.get(target, property, receiver);
    },
  });
  /** `unsafe` as drizzle calls it: awaited, or with `.values()` first (rows as arrays). */
  function guardedUnsafe(...args: Parameters<typeof client.unsafe>) {
    const pending = client.unsafe(...args);
    let values = false;
    const run = () => guard<unknown>(() => (values ? pending.values() : pending));
    const thenable = {
      values() {
        values = true;
        return thenable;
      },
      // biome-ignore lint/suspicious/noThenProperty: awaited where drizzle awaits postgres.js's query
      then<A, B>(onFulfilled?: (rows: never) => A, onRejected?: (error: unknown) => B) {
        return run().then(onFulfilled as never, onRejected);
      },
    };
    return thenable;
  }
  const db = drizzlePostgres({ client: guarded, schema }) as unknown as Db;
  // Fail fast with a clear message instead of on the first request.
  try {
    await guard(() => client`select 1`);
  } catch (error) {
    await client.end({ timeout: 1 }).catch(() => {});
    sockets.destroyAll();
    throw new Error(`Cannot reach PostgreSQL at ${redact(url)}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return {
    kind: 'postgres',
    db,
    async query(text, params) {
      // postgres.js needs array parameters wrapped to serialize them as arrays.
      const wrapped = params?.map((p) => (Array.isArray(p) ? client.array(p as never[]) : p));
      return (await guard(() => client.unsafe(text, wrapped as never[]))) as never;
    },
    migrate: () => migratePostgres(db as never, { migrationsFolder }),
    async close() {
      await client.end({ timeout: 5 });
      // A hung database's connections would otherwise stay open until TCP gives up on them.
      sockets.destroyAll();
    },
    describe: () => `PostgreSQL (${redact(url)})`,
  };
}

function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'invalid URL';
  }
}
