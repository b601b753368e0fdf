import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../db/client';
import { getTestDatabaseTargets } from '../testing';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../../bin/recsys.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'recsys-backup-cli-'));
const embedded = join(dir, 'embedded');
const copy = join(dir, 'copy');
const file = join(dir, 'shop.recsys.gz');
const postgres = getTestDatabaseTargets().find((t) => t.name === 'postgres');

async function recsys(...args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], {
      env: { ...process.env, DATABASE_URL: '', RECSYS_DATA_DIR: embedded },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function countRows(database: Database) {
  const rows = await database.query<{ events: number; items: number; api_keys: number }>(
    'SELECT (SELECT count(*)::int FROM events) AS events, (SELECT count(*)::int FROM items) AS items, (SELECT count(*)::int FROM api_keys) AS api_keys',
  );
  return rows[0]!;
}

async function countIn(dataDir: string) {
  const database = await openDatabase({ dataDir });
  try {
    return await countRows(database);
  } finally {
    await database.close();
  }
}

describe('recsys backup and restore', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('backs up the embedded database and restores it into another folder, refusing one that has rows', async () => {
    const fixture = join(dir, 'shop.yml');
    writeFileSync(fixture, 'generate:\n  template: retail\n  seed: 5\n  items: 20\n  sessions: 40\n');
    expect((await recsys('seed', '-n', 'shop', fixture, '--no-progress', '--reports-dir', dir)).code).toBe(0);
    expect((await recsys('keys', 'create', '-n', 'shop', '-k', 'secret')).code).toBe(0);

    const backup = await recsys('backup', file);
    expect(backup.code).toBe(0);
    expect(backup.stdout).toMatch(/Backed up PGlite .* to .*shop\.recsys\.gz .*events \d+/);

    const restored = await recsys('--data-dir', copy, 'restore', file);
    expect(restored.code).toBe(0);
    expect(restored.stdout).toMatch(/Restored .* into PGlite/);
    const original = await countIn(embedded);
    expect(original.events).toBeGreaterThan(0);
    expect(await countIn(copy)).toEqual(original);

    const again = await recsys('--data-dir', copy, 'restore', file);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/target database is not empty .*pass --force/);
    const forced = await recsys('--data-dir', copy, 'restore', file, '--force');
    expect(forced.code).toBe(0);
    expect(await countIn(copy)).toEqual(original);
  });

  it.skipIf(!postgres)('moves the embedded database to PostgreSQL', async () => {
    const target = await postgres!.open();
    try {
      const moved = await recsys('--database-url', target.url!, 'restore', file);
      expect(moved.code).toBe(0);
      expect(await countRows(target)).toEqual(await countIn(embedded));
    } finally {
      await target.drop();
    }
  });

  it('says the server must be stopped to back up the embedded database it holds', async () => {
    const server = await openDatabase({ dataDir: embedded });
    try {
      const refused = await recsys('backup', join(dir, 'live.recsys.gz'));
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/open in another process .*need the server stopped/);
    } finally {
      await server.close();
    }
  });
});
