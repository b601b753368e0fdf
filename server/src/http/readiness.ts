import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Database, migrationsFolder } from '../db/client';

let expectedMigrations: number | undefined;

function countMigrationFiles(): number {
  expectedMigrations ??= (
    JSON.parse(readFileSync(join(migrationsFolder, 'meta', '_journal.json'), 'utf8')) as {
      entries: unknown[];
    }
  ).entries.length;
  return expectedMigrations;
}

/** Database reachable, every checked-in migration applied, engine loaded. */
export async function checkReadiness(database: Database, engineReady: () => boolean) {
  const checks: Record<string, { ok: boolean; detail?: string }> = {};
  try {
    const rows = await database.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations',
    );
    const applied = Number(rows[0]?.n ?? 0);
    const expected = countMigrationFiles();
    checks.database = { ok: true };
    checks.migrations = { ok: applied >= expected, detail: `${applied}/${expected} applied` };
  } catch (error) {
    checks.database = { ok: false, detail: (error as Error).message };
    checks.migrations = { ok: false, detail: 'unknown (database unreachable)' };
  }
  checks.engine = { ok: engineReady(), ...(engineReady() ? {} : { detail: 'indexes loading' }) };
  return { ready: Object.values(checks).every((c) => c.ok), checks };
}
