import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { createNamespace } from '../auth/namespaces';
import { type Database, openDatabase } from '../db/client';
import { ingestEvents } from '../ingest/events';
import { getTestDatabaseTargets } from '../testing';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../../bin/recsys.js', import.meta.url));
const folder = mkdtempSync(join(tmpdir(), 'recsys-forget-'));

/** Where the CLI finds the database, and how the test opens it between commands. */
interface Storage {
  name: string;
  env: Record<string, string>;
  open(): Promise<Database>;
  release(database: Database): Promise<void>;
  drop(): Promise<void>;
}

const storages: Storage[] = [
  {
    name: 'pglite',
    env: { DATABASE_URL: '', RECSYS_DATA_DIR: join(folder, 'db') },
    async open() {
      const database = await openDatabase({ dataDir: join(folder, 'db') });
      await database.migrate();
      return database;
    },
    // One process per embedded database: the test lets go before the CLI opens it.
    release: (database) => database.close(),
    drop: async () => {},
  },
];
const postgres = getTestDatabaseTargets().find((t) => t.name === 'postgres');
if (postgres) {
  let scratch: Awaited<ReturnType<typeof postgres.open>> | undefined;
  storages.push({
    name: 'postgres',
    env: {},
    async open() {
      scratch ??= await postgres.open();
      this.env.DATABASE_URL = scratch.url!;
      return scratch;
    },
    release: async () => {},
    drop: async () => scratch?.drop(),
  });
}

async function recsys(env: Record<string, string>, ...args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], {
      env: { ...process.env, ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

afterAll(() => rmSync(folder, { recursive: true, force: true }));

describe.each(storages)('recsys forget on $name', (storage) => {
  afterAll(() => storage.drop());

  it('erases a user with their linked anonymous ids, and an anonymous visitor on their own', async () => {
    let database = await storage.open();
    await createNamespace(database, 'cli-forget');
    const ts = new Date().toISOString();
    const view = (eventId: string, ids: Record<string, string>) => ({
      eventId,
      type: 'view',
      itemId: 'sku-1',
      ts,
      ...ids,
    });
    await ingestEvents(database, 'cli-forget', {}, [
      view('e-1', { anonymousId: 'a-linked' }),
      view('e-2', { anonymousId: 'a-linked', userId: 'u-1' }),
      view('e-3', { anonymousId: 'a-alone' }),
      view('e-4', { anonymousId: 'a-other' }),
    ]);
    await storage.release(database);

    const user = await recsys(storage.env, 'forget', '-n', 'cli-forget', '--user-id', 'u-1', '--json');
    expect(user.code, user.stderr).toBe(0);
    expect(JSON.parse(user.stdout)).toEqual({
      userDeleted: false,
      aliasesDeleted: 0,
      eventsDeleted: 2,
      recLogsDeleted: 0,
      tracesDeleted: 0,
    });
    const visitor = await recsys(storage.env, 'forget', '-n', 'cli-forget', '--anonymous-id', 'a-alone');
    expect(visitor.code, visitor.stderr).toBe(0);
    expect(visitor.stdout).toMatch(/Forgot anonymous id "a-alone" in "cli-forget": 0 aliases, 1 events/);

    database = await storage.open();
    try {
      const left = await database.query<{ event_id: string }>(
        `SELECT event_id FROM events WHERE namespace_id = 'cli-forget' ORDER BY event_id`,
      );
      expect(left.map((r) => r.event_id)).toEqual(['e-4']);
      const naming = await database.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM changes WHERE payload::text ~ 'u-1|a-linked|a-alone'`,
      );
      expect(naming[0]?.n).toBe(0);
    } finally {
      await storage.release(database);
    }
  });

  it('says which flag to pass when given neither or both, and exits non-zero', async () => {
    for (const args of [[], ['--user-id', 'u', '--anonymous-id', 'a']]) {
      const result = await recsys(storage.env, 'forget', '-n', 'cli-forget', ...args);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(/--user-id|--anonymous-id/);
    }
  });
});
