import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import {
  type Database,
  dumpMigratedPglite,
  migrationsFolder,
  openDatabase,
  openPgliteFromDump,
} from '../db/client';

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
 *
 * Both start from a template that holds every migration, made once per set of migrations and shared
 * by every test file and worker: the suites open hundreds of databases, and replaying each
 * migration into each of them was a large share of the suite's time. Each database still gets
 * `migrate()`, which finds nothing to do unless the template is behind.
 */
export function getTestDatabaseTargets(): TestDatabaseTarget[] {
  const targets: TestDatabaseTarget[] = [
    {
      name: 'pglite',
      async open() {
        const database = await openPgliteFromDump(await pgliteTemplate());
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

let migrationsHash: string | undefined;

/** Names the templates: a change to any migration file makes new ones. */
function hashOfMigrations(): string {
  if (migrationsHash) return migrationsHash;
  const hash = createHash('sha256');
  const add = (folder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) add(path);
      else hash.update(entry.name).update(readFileSync(path));
    }
  };
  add(migrationsFolder);
  migrationsHash = hash.digest('hex').slice(0, 16);
  return migrationsHash;
}

let pgliteDump: Promise<Blob> | undefined;

/**
 * The migrated PGlite data directory as a tar file in the system's temporary folder, written once
 * (atomically: a partly written file is never seen under its final name) and read by every file.
 */
function pgliteTemplate(): Promise<Blob> {
  pgliteDump ??= (async () => {
    const folder = join(tmpdir(), 'recsys-test-templates');
    const path = join(folder, `pglite-${hashOfMigrations()}.tar`);
    try {
      return new Blob([readFileSync(path)]);
    } catch {
      const dump = await dumpMigratedPglite();
      mkdirSync(folder, { recursive: true });
      const partial = `${path}.${process.pid}.${randomBytes(3).toString('hex')}`;
      writeFileSync(partial, Buffer.from(await dump.arrayBuffer()));
      renameSync(partial, path);
      return dump;
    }
  })();
  return pgliteDump;
}

const templates = new Map<string, Promise<string>>();

/**
 * The name of a migrated database on the server of `admin` to copy scratch databases from. Made
 * under a temporary name and renamed when complete, with an advisory lock so concurrent workers
 * make it once; nobody connects to it afterwards, which `CREATE DATABASE … TEMPLATE` requires.
 */
function postgresTemplate(url: string, admin: postgres.Sql): Promise<string> {
  const name = `recsys_template_${hashOfMigrations()}`;
  let made = templates.get(url);
  if (!made) {
    made = (async () => {
      await admin.reserve().then(async (session) => {
        try {
          await session`SELECT pg_advisory_lock(hashtext(${name}))`;
          const exists = await session`SELECT 1 FROM pg_database WHERE datname = ${name}`;
          if (exists.length === 0) {
            const partial = `${name}_${randomBytes(3).toString('hex')}`;
            await session.unsafe(`CREATE DATABASE ${partial}`);
            const partialUrl = new URL(url);
            partialUrl.pathname = `/${partial}`;
            const database = await openDatabase({ url: partialUrl.toString(), poolSize: 1 });
            try {
              await database.migrate();
            } finally {
              await database.close();
            }
            await session.unsafe(`ALTER DATABASE ${partial} RENAME TO ${name}`);
          }
        } finally {
          await session`SELECT pg_advisory_unlock(hashtext(${name}))`.catch(() => {});
          session.release();
        }
      });
      return name;
    })();
    made.catch(() => templates.delete(url));
    templates.set(url, made);
  }
  return made;
}

/** A throwaway database per suite on the server named by `url`, copied from the migrated template. */
async function openScratchPostgres(url: string) {
  const name = `recsys_test_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const admin = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 10 });
  try {
    const template = await postgresTemplate(url, admin);
    await admin.unsafe(`CREATE DATABASE ${name} TEMPLATE ${template}`);
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
