import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { packagePath } from '../paths';
import { lockDataDir } from './dataDirLock';
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
  if (url) return openPostgres(url, options.poolSize ?? 10);
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

async function openPostgres(url: string, max: number): Promise<Database> {
  const client = postgres(url, { max, onnotice: () => {}, connect_timeout: 10 });
  const db = drizzlePostgres({ client, schema }) as unknown as Db;
  // Fail fast with a clear message instead of on the first request.
  try {
    await client`select 1`;
  } catch (error) {
    await client.end({ timeout: 1 }).catch(() => {});
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
      return (await client.unsafe(text, wrapped as never[])) as never;
    },
    migrate: () => migratePostgres(db as never, { migrationsFolder }),
    close: () => client.end({ timeout: 5 }),
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
