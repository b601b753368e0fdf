import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../db/client';
import { getTestDatabaseTargets, startTestServer } from '../testing';
import { FreshnessRecorder } from './freshnessRecorder';
import { createLogger } from './logger';

const log = createLogger({ level: 'silent' });
const T0 = Date.parse('2026-03-02T12:00:00Z');

describe.each(getTestDatabaseTargets())('index freshness per minute on $name', (target) => {
  let database: Database & { drop(): Promise<void> };
  const rows = async (namespaceId: string) =>
    database.query<{ minute: string; replica: string; lag: number }>(
      `SELECT to_char(minute AT TIME ZONE 'UTC', 'HH24:MI') AS minute, replica, max_lag_ms::float8 AS lag
       FROM index_freshness WHERE namespace_id = $1 ORDER BY minute, replica`,
      [namespaceId],
    );

  beforeAll(async () => {
    database = await target.open();
  });
  afterAll(() => database?.drop());

  it("writes each finished minute's longest wait per namespace, and nothing for polls that applied none", async () => {
    let now = T0 + 5_000;
    const recorder = new FreshnessRecorder(database, log, { replica: 'r1', now: () => now });
    recorder.observe({ 'fresh-a': 0.2, 'fresh-b': 0 });
    now = T0 + 30_000;
    recorder.observe({ 'fresh-a': 1.5 });
    now = T0 + 50_000;
    recorder.observe({ 'fresh-a': 0.4 });
    // Still the same minute: nothing written yet.
    expect(await rows('fresh-a')).toEqual([]);
    now = T0 + 65_000;
    recorder.observe({ 'fresh-a': 0.3 });
    await recorder.flush(Math.floor(now / 60_000) * 60_000);
    expect(await rows('fresh-a')).toEqual([{ minute: '12:00', replica: 'r1', lag: 1500 }]);
    expect(await rows('fresh-b')).toEqual([]);
    // At shutdown the minute under way is written too.
    await recorder.flush();
    expect(await rows('fresh-a')).toEqual([
      { minute: '12:00', replica: 'r1', lag: 1500 },
      { minute: '12:01', replica: 'r1', lag: 300 },
    ]);
  });

  it('keeps the longer wait when a minute is written twice, and each replica apart', async () => {
    let now = T0 + 10_000;
    const first = new FreshnessRecorder(database, log, { replica: 'r1', now: () => now });
    const second = new FreshnessRecorder(database, log, { replica: 'r2', now: () => now });
    first.observe({ 'fresh-c': 2 });
    second.observe({ 'fresh-c': 0.5 });
    await Promise.all([first.flush(), second.flush()]);
    now = T0 + 20_000;
    first.observe({ 'fresh-c': 0.1 });
    await first.flush();
    expect(await rows('fresh-c')).toEqual([
      { minute: '12:00', replica: 'r1', lag: 2000 },
      { minute: '12:00', replica: 'r2', lag: 500 },
    ]);
  });

  it('is fed by the engine host with the waits of the events it applied', async () => {
    const stack = await startTestServer(database, { engine: { encoder: null } });
    try {
      const shop = await stack.tenant('fresh-live');
      await shop.admin.events.batch.mutate({
        events: [
          { eventId: 'e1', type: 'view', itemId: 'sku-1', userId: 'u1', ts: new Date().toISOString() },
        ],
      });
      // Written when the engines have applied it (flush also writes the minute under way).
      await expect
        .poll(async () => {
          await stack.freshness!.flush();
          return (await rows('fresh-live')).length;
        })
        .toBe(1);
      expect((await rows('fresh-live'))[0]!.lag).toBeGreaterThan(0);
    } finally {
      await stack.close();
    }
  });
});
