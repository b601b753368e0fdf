import { type ChildProcess, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, createNamespace } from '../auth/namespaces';
import { openDatabase } from '../db/client';
import { createClient, itemIds, viewNow } from '../testing';
import { type ServeProcess, startServeProcess } from '../testing/serveProcess';
import { snapshotPath } from './snapshotFiles';

const started: ChildProcess[] = [];

async function ready(server: ServeProcess) {
  await expect
    .poll(async () => (await fetch(`${server.url}/readyz`)).status, { timeout: 120_000, interval: 50 })
    .toBe(200);
}

describe('`recsys serve --snapshot-dir` across a restart', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'recsys-snapshot-data-'));
  const snapshotDir = join(mkdtempSync(join(tmpdir(), 'recsys-snapshot-dir-')), 'snapshots');
  const env = { DATABASE_URL: '', RECSYS_DATA_DIR: dataDir, RECSYS_JOBS: 'off' };
  const args = ['--snapshot-dir', snapshotDir];
  let key: string;

  beforeAll(async () => {
    const database = await openDatabase({ dataDir });
    await database.migrate();
    await createNamespace(database, 'shop');
    ({ key } = await createApiKey(database, 'shop', { kind: 'secret' }));
    await database.close();
  });
  afterAll(() => {
    for (const launcher of started) if (launcher.exitCode === null) launcher.kill('SIGTERM');
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(join(snapshotDir, '..'), { recursive: true, force: true });
  });

  it('writes a snapshot at shutdown and is ready from it after a restart, serving the same lists and later events', async () => {
    const first = await startServeProcess(env, { started, args });
    await ready(first);
    const client = createClient(first.url, key);
    await client.items.upsert.mutate({
      items: ['kettle', 'teapot', 'mug', 'cup', 'saucer'].map((itemId) => ({ itemId, title: itemId })),
    });
    const views = ['kettle', 'teapot', 'mug', 'kettle', 'cup', 'teapot'].map((itemId, i) =>
      viewNow(`v-${i}`, itemId, `visitor-${i % 3}`),
    );
    await client.events.batch.mutate({ events: views });
    const lists = async (c: ReturnType<typeof createClient>) => ({
      recent: itemIds(await c.recs.recentlyViewed.query({ anonymousId: 'visitor-0', k: 5 })),
      similar: itemIds(await c.recs.similar.query({ itemId: 'kettle', k: 4 })),
      trending: itemIds(await c.recs.trending.query({ k: 5 })),
    });
    await expect
      .poll(async () => (await lists(client)).recent, { timeout: 60_000, interval: 50 })
      .toEqual(['kettle']);
    const before = await lists(client);

    first.launcher.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(first.logs.find((l) => l.msg === 'engine snapshot written')).toMatchObject({
      namespaceId: 'shop',
    });
    expect(existsSync(snapshotPath(snapshotDir, 'shop'))).toBe(true);

    const spawned = performance.now();
    const second = await startServeProcess(env, { started, args });
    try {
      await ready(second);
      console.info(
        `restarted from a snapshot: ready ${Math.round(performance.now() - spawned)} ms after spawn`,
      );
      // The log line travels through a pipe: it may reach this process after /readyz answered.
      await expect
        .poll(() => second.logs.find((l) => l.msg === 'engine restored from snapshot'), {
          timeout: 240_000,
          interval: 50,
        })
        .toMatchObject({ namespaceId: 'shop', snapshotEvents: views.length, eventsSince: 0 });
      const again = createClient(second.url, key);
      expect(await lists(again)).toEqual(before);

      const metrics = await (await fetch(`${second.url}/metrics`)).text();
      const age = /^recsys_engine_snapshot_age_seconds\{namespace="shop"\} ([\d.e+-]+)$/m.exec(metrics);
      expect(Number(age?.[1])).toBeGreaterThanOrEqual(0);
      expect(Number(age?.[1])).toBeLessThan(120);

      // It keeps following the database from the snapshot's watermark.
      await again.events.batch.mutate({ events: [viewNow('v-after', 'saucer', 'visitor-0')] });
      await expect
        .poll(async () => (await lists(again)).recent, { timeout: 60_000, interval: 50 })
        .toEqual(['saucer', 'kettle']);
    } finally {
      second.launcher.kill('SIGTERM');
      expect(await second.exited).toBe(0);
    }
  }, 300_000);

  it('refuses a snapshot interval it cannot use before starting anything', () => {
    const bin = fileURLToPath(new URL('../../bin/recsys.js', import.meta.url));
    for (const [args, extra] of [
      [['--snapshot-interval', '5'], {}],
      [[], { RECSYS_SNAPSHOT_INTERVAL: 'hourly' }],
    ] as const) {
      const run = spawnSync(process.execPath, [bin, 'serve', '--port', '0', ...args], {
        env: { ...process.env, ...env, ...extra },
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(run.status).not.toBe(0);
      expect(run.stderr).toMatch(/expected whole seconds, at least 10 \(got "(5|hourly)"\)/);
    }
  });
});
