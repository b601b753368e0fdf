import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Database, migrationsFolder } from '../db/client';
import type { LoadProgress } from '../serve/EngineService';

let expectedMigrations: number | undefined;

function countMigrationFiles(): number {
  expectedMigrations ??= (
    JSON.parse(readFileSync(join(migrationsFolder, 'meta', '_journal.json'), 'utf8')) as {
      entries: unknown[];
    }
  ).entries.length;
  return expectedMigrations;
}

/**
 * Database reachable, every checked-in migration applied, engine loaded; each check with what is
 * still missing (`indexes loading: 3 of 7 namespaces`).
 */
export async function checkReadiness(
  database: Database,
  engineReady: () => boolean,
  progress: LoadProgress | undefined,
) {
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
  const engineOk = engineReady();
  checks.engine = engineOk ? { ok: true } : { ok: false, detail: describeLoading(progress) };
  return { ready: Object.values(checks).every((c) => c.ok), checks };
}

function describeLoading(progress: LoadProgress | undefined): string {
  if (progress?.total === undefined) return 'indexes loading';
  return `indexes loading: ${progress.loaded} of ${progress.total} namespaces`;
}
