import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { type Database, openDatabase } from '../db/client';

export interface TestDatabaseTarget {
  name: 'pglite' | 'postgres';
  /**
   * Opens a fresh, migrated, empty database; `drop` removes it. PostgreSQL ones carry their `url`,
   * for a second connection (another thread or process).
   */
  open(): Promise<Database & { drop(): Promise<void>; url?: string }>;
}

/**
 * The databases every DB test suite runs against: in-memory PGlite always,
 * and real PostgreSQL when `DATABASE_URL` is set. Under `CI=true` a missing
 * or unreachable PostgreSQL is a failure, not a skip.
 */
export function getTestDatabaseTargets(): TestDatabaseTarget[] {
  const targets: TestDatabaseTarget[] = [
    {
      name: 'pglite',
      async open() {
        const database = await openDatabase({ dataDir: 'memory://' });
        await database.migrate();
        return Object.assign(database, { drop: () => database.close() });
      },
    },
  ];
  const url = process.env.DATABASE_URL;
  if (!url && process.env.CI === 'true') {
    throw new Error('CI=true but DATABASE_URL is not set: the PostgreSQL suite must run in CI.');
  }
  if (url) targets.push({ name: 'postgres', open: () => openScratchPostgres(url) });
  return targets;
}

/** A throwaway database per suite on the server named by `url`. */
async function openScratchPostgres(url: string) {
  const name = `recsys_test_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const admin = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 10 });
  try {
    await admin.unsafe(`CREATE DATABASE ${name}`);
  } catch (error) {
    await admin.end({ timeout: 1 });
    throw new Error(`Cannot create a scratch database on ${url}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const scratchUrl = new URL(url);
  scratchUrl.pathname = `/${name}`;
  const database = await openDatabase({ url: scratchUrl.toString(), poolSize: 10 });
  await database.migrate();
  return Object.assign(database, {
    url: scratchUrl.toString(),
    async drop() {
      await database.close();
      await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end({ timeout: 1 });
    },
  });
}
