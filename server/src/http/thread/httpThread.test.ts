import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, createNamespace } from '../../auth/namespaces';
import type { Database } from '../../db/client';
import { ingestEvents } from '../../ingest/events';
import { upsertItems } from '../../ingest/items';
import { createLogger } from '../../obs/logger';
import { EngineHost } from '../../replicate/EngineHost';
import { createClient, getTestDatabaseTargets } from '../../testing';
import { type HttpThread, startHttpThread } from './startHttpThread';

const postgres = getTestDatabaseTargets().find((t) => t.name === 'postgres');
if (!postgres) console.warn('httpThread.test: skipped, it needs PostgreSQL (set DATABASE_URL)');

const log = createLogger({ level: 'silent' });
const items = ['a', 'b', 'c', 'd', 'e', 'f'].map((id) => ({
  itemId: id,
  title: `Item ${id}`,
  price: 10,
  currency: 'EUR',
  category: id < 'd' ? 'left' : 'right',
}));
const hour = 3_600_000;
/** Sessions that view a with b and c, and d with e: co-visitation pairs. */
function sessions(prefix: string, pairs: Array<[string, string]>, count: number) {
  const events: Array<Record<string, unknown>> = [];
  const t0 = Date.now() - 24 * hour;
  for (let s = 0; s < count; s++) {
    for (const [x, y] of pairs) {
      for (const itemId of [x, y]) {
        events.push({
          eventId: `${prefix}-${s}-${x}${y}-${itemId}`,
          type: 'view',
          itemId,
          userId: `${prefix}-u${s}`,
          sessionId: `${prefix}-s${s}`,
          ts: new Date(t0 + s * 60_000).toISOString(),
        });
      }
    }
  }
  return events;
}

// Waits for a state, not for a time: the deadline only stops a test that would otherwise hang, so it is
// far above what a loaded machine needs (how fast events apply is measured by `pnpm bench`).
async function waitFor<T>(probe: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (accept(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(!postgres)('the HTTP thread, on PostgreSQL', () => {
  let database: Database & { drop(): Promise<void>; url?: string };
  let engines: EngineHost;
  let thread: HttpThread;
  let key: string;

  beforeAll(async () => {
    database = await postgres!.open();
    await createNamespace(database, 'shop');
    key = (await createApiKey(database, 'shop', { kind: 'secret' })).key;
    await upsertItems(database, 'shop', items);
    await ingestEvents(database, 'shop', {}, [
      ...sessions('ab', [['a', 'b']], 6),
      ...sessions('ac', [['a', 'c']], 3),
      ...sessions('de', [['d', 'e']], 4),
    ]);
    engines = new EngineHost({ database, log, encoder: null, pollIntervalMs: 100 });
    await engines.start();
    thread = await startHttpThread({ engines, databaseUrl: database.url!, port: 0, logLevel: 'silent' });
  });
  afterAll(async () => {
    await thread?.close();
    await engines?.stop();
    await database?.drop();
  });

  it('serves recs from its own thread with the lists the engine host ranks on this one', async () => {
    expect(thread.worker.threadId).toBeGreaterThan(0);
    const client = createClient(thread.url, key);
    const similar = await client.recs.similar.query({ itemId: 'a', k: 3, explain: true });
    const local = await engines.serve('shop', 'similar', { itemId: 'a', k: 3, explain: true });
    // Popularity decays with the clock between the two calls: scores agree to many digits, not all.
    const shape = (items: typeof similar.items) =>
      items.map(({ score, reasons, ...rest }) => ({
        ...rest,
        score: score.toFixed(9),
        reasons: reasons?.map(({ contribution, ...r }) => ({ ...r, contribution: contribution.toFixed(9) })),
      }));
    expect(shape(similar.items)).toEqual(shape(local.items));
    expect(similar.items.map((i) => i.itemId).slice(0, 2)).toEqual(['b', 'c']);
    expect(similar.items[0]).toMatchObject({ title: 'Item b', price: 10, currency: 'EUR' });
    expect(similar.items[0]!.reasons!.length).toBeGreaterThan(0);
    const forUser = await client.recs.forUser.query({ userId: 'de-u1', k: 4 });
    expect(shape(forUser.items)).toEqual(
      shape((await engines.serve('shop', 'forUser', { userId: 'de-u1', k: 4, explain: false })).items),
    );
  });

  it('logs each served list through its own database pool', async () => {
    const client = createClient(thread.url, key);
    const { requestId } = await client.recs.similar.query({ itemId: 'd', k: 2, placement: 'pdp' });
    const rows = await waitFor(
      () =>
        database.query<{ surface: string; items: Array<{ itemId: string }> }>(
          'SELECT surface, items FROM rec_logs WHERE request_id = $1',
          [requestId],
        ),
      (r) => r.length > 0,
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.surface).toBe('pdp');
    expect(rows[0]!.items[0]!.itemId).toBe('e');
  });

  it('serves product bundles across the bridge, as the engine host makes them on this one', async () => {
    const client = createClient(thread.url, key);
    await ingestEvents(
      database,
      'shop',
      {},
      [0, 1, 2].flatMap((o) =>
        ['d', 'e'].map((itemId) => ({
          eventId: `bundle-order-${o}-${itemId}`,
          type: 'purchase',
          itemId,
          userId: `bundle-u${o}`,
          ts: new Date().toISOString(),
          meta: { orderId: `bundle-order-${o}` },
        })),
      ),
    );
    engines.nudge();
    const bundle = await waitFor(
      () => client.recs.bundle.query({ itemId: 'd' }),
      (b) => b.items.length === 2,
    );
    expect(bundle).toMatchObject({
      surface: 'bundle',
      anchorItemId: 'd',
      price: { total: 20, currency: 'EUR' },
    });
    const { userId: _u, configVersion: _c, ...local } = engines.serveBundle('shop', { itemId: 'd' });
    expect(bundle.items.map((i) => [i.itemId, i.role, i.reason.text])).toEqual(
      local.items.map((i) => [i.itemId, i.role, i.reason.text]),
    );
    expect(bundle.items.map((i) => i.itemId)).toEqual(['d', 'e']);
  });

  it('serves group and reranked lists across the bridge, as the engine host makes them on this one', async () => {
    const client = createClient(thread.url, key);
    const members = [{ userId: 'ab-u1' }, { userId: 'de-u1' }];
    const group = await client.recs.group.query({ members, k: 4, rule: 'avg', explain: true });
    const local = engines.serveGroup('shop', { members, k: 4, rule: 'avg', explain: true });
    expect(group.items.map((i) => [i.itemId, i.locked, i.title])).toEqual(
      local.items.map((i) => [i.itemId, i.locked, i.title]),
    );
    expect(group.items.length).toBeGreaterThan(0);
    expect(group.explain).toEqual(local.summary);
    const reranked = await client.recs.rerank.query({ userId: 'de-u1', itemIds: ['a', 'zz', 'e'] });
    const { configVersion: _c, ...here } = engines.serveRerank('shop', {
      userId: 'de-u1',
      itemIds: ['a', 'zz', 'e'],
      explain: false,
    });
    expect(reranked.items.map((i) => i.itemId)).toEqual(here.items.map((i) => i.itemId));
    expect(reranked.items.map((i) => i.itemId)).toEqual(['e', 'zz', 'a']);
    expect(reranked.unknownItemIds).toEqual(['zz']);
  });

  it('writes rules from its thread, the engines apply them within a poll, and previews go through the bridge', async () => {
    const client = createClient(thread.url, key);
    const report = await client.admin.rules.preview.mutate({
      change: { upsert: [{ id: 'pin-f', kind: 'pin', items: { itemIds: ['f'] }, slot: 0 }] },
      requests: [{ surface: 'similar', itemId: 'a', k: 2 }],
    });
    expect(report.lists[0]?.rows.map((r) => [r.before, r.after, r.mark])).toEqual([
      ['b', 'f', 'new'],
      ['c', 'b', 'down 1'],
    ]);
    await client.admin.rules.create.mutate({
      rule: { id: 'pin-f', kind: 'pin', items: { itemIds: ['f'] }, slot: 0 },
    });
    // On two threads a write nudges the engine thread's poll instead of waiting for it.
    const pinned = await waitFor(
      () => client.recs.similar.query({ itemId: 'a', k: 2 }),
      (r) => r.items[0]?.itemId === 'f',
    );
    expect(pinned.items.map((i) => i.itemId)).toEqual(['f', 'b']);
    await client.admin.rules.remove.mutate({ ruleId: 'pin-f' });
    await waitFor(
      () => client.recs.similar.query({ itemId: 'a', k: 2 }),
      (r) => r.items[0]?.itemId === 'b',
    );
  });

  it('ingests events on its thread and the engines apply them', async () => {
    const client = createClient(thread.url, key);
    // f has no co-visits yet: its list is all fallback.
    const before = await client.recs.similar.query({ itemId: 'f', k: 1 });
    expect(before.fallback.used).toBe(true);
    const accepted = await client.events.batch.mutate({ events: sessions('fa', [['f', 'a']], 5) });
    expect(accepted.accepted).toBe(10);
    const after = await waitFor(
      () => client.recs.similar.query({ itemId: 'f', k: 1 }),
      (r) => !r.fallback.used,
    );
    expect(after.fallback.used).toBe(false);
    expect(after.items[0]?.itemId).toBe('a');
  });

  it('answers recs with 503 until the engines it serves have loaded', async () => {
    const loading = new EngineHost({ database, log, encoder: null });
    const second = await startHttpThread({
      engines: loading,
      databaseUrl: database.url!,
      port: 0,
      logLevel: 'silent',
    });
    try {
      const client = createClient(second.url, key);
      await expect(client.recs.similar.query({ itemId: 'a', k: 2 })).rejects.toMatchObject({
        data: { code: 'SERVICE_UNAVAILABLE', httpStatus: 503 },
        message: 'The engine is still loading; retry in a moment.',
      });
      await loading.start();
      const served = await waitFor(
        () => client.recs.similar.query({ itemId: 'a', k: 2 }).catch(() => undefined),
        (r) => r !== undefined,
      );
      expect(served?.items[0]?.itemId).toBe('b');
    } finally {
      await second.close();
      await loading.stop();
    }
  });

  it('counts rate limits on its own thread, where the requests arrive', async () => {
    const limited = await startHttpThread({
      engines,
      databaseUrl: database.url!,
      port: 0,
      logLevel: 'silent',
      rateLimits: { secret: { points: 2, duration: 3600 } },
    });
    try {
      const client = createClient(limited.url, key);
      await client.recs.similar.query({ itemId: 'a', k: 1 });
      await client.recs.similar.query({ itemId: 'a', k: 1 });
      await expect(client.recs.similar.query({ itemId: 'a', k: 1 })).rejects.toMatchObject({
        data: { code: 'TOO_MANY_REQUESTS', httpStatus: 429, limit: 'key' },
      });
    } finally {
      await limited.close();
    }
  });

  it("reports the engine thread's garbage-collection pauses and event-loop delay in its /metrics", async () => {
    // This test's thread is the engines' thread: short-lived garbage makes it scavenge.
    let kept = 0;
    for (let i = 0; i < 2_000_000; i++) kept += [i, { i }].length;
    expect(kept).toBeGreaterThan(0);
    const minorPauses = (text: string) =>
      Number(/^recsys_engine_thread_gc_pause_seconds_count\{kind="minor"\} (\d+)$/m.exec(text)?.[1] ?? 0);
    const text = await waitFor(
      () => fetch(`${thread.url}/metrics`).then((r) => r.text()),
      (t) => minorPauses(t) > 0,
    );
    expect(minorPauses(text)).toBeGreaterThan(0);
    expect(text).toMatch(/^recsys_engine_thread_event_loop_delay_seconds\{stat="max"\} [\d.e-]+$/m);
    expect(text).toMatch(/^recsys_engine_thread_event_loop_delay_seconds\{stat="p99"\} [\d.e-]+$/m);
  });

  it('rejects with the reason when it cannot listen, and close() ends the thread', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as { port: number }).port;
    try {
      await expect(
        startHttpThread({ engines, databaseUrl: database.url!, port, logLevel: 'silent' }),
      ).rejects.toThrow(/EADDRINUSE/);
    } finally {
      taken.close();
    }
    const extra = await startHttpThread({ engines, databaseUrl: database.url!, port: 0, logLevel: 'silent' });
    const exited = new Promise<number>((r) => extra.worker.once('exit', r));
    await extra.close();
    expect(await exited).toBe(0);
    await expect(fetch(`${extra.url}/healthz`)).rejects.toThrow();
  });
});
