import { createHash } from 'node:crypto';
import { replayTrace } from '@recsys/engine';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { updateNamespaceSettings } from '../auth/namespaces';
import type { Database } from '../db/client';
import { getTestDatabaseTargets, startTestServer, TEST_ORIGIN, type TestTenant } from '../testing';
import { pruneTraces } from './traceStore';

const HOUR = 3_600_000;
const base = Date.now() - 48 * HOUR;
const at = (h: number) => new Date(base + h * HOUR).toISOString();

/** Shoes go with socks; one sock is archived, one sold out; a hat sells on its own. */
const catalog = [
  { itemId: 'shoe-1', title: 'Trail running shoe', price: 90, brand: 'acme', category: 'shoes' },
  { itemId: 'shoe-2', title: 'Road running shoe', price: 110, brand: 'acme', category: 'shoes' },
  { itemId: 'sock-1', title: 'Running socks', price: 9, brand: 'acme', category: 'socks' },
  { itemId: 'sock-2', title: 'Wool socks', price: 14, brand: 'bolt', category: 'socks' },
  { itemId: 'gone-1', title: 'Discontinued sock', price: 5, brand: 'acme', category: 'socks' },
  { itemId: 'oos-1', title: 'Sold-out sock', price: 7, brand: 'acme', category: 'socks', available: false },
  { itemId: 'hat-1', title: 'Sun hat', price: 25, brand: 'dune', category: 'hats' },
];

function seedEvents() {
  const events: Array<Record<string, unknown>> = [];
  let n = 0;
  const add = (type: string, itemId: string, user: string, h: number) =>
    events.push({ eventId: `seed-${n++}`, type, itemId, userId: user, sessionId: `${user}-s`, ts: at(h) });
  for (let u = 0; u < 10; u++) {
    for (const [i, item] of ['shoe-1', 'sock-1', 'gone-1', 'oos-1', 'sock-2', 'shoe-2'].entries())
      add('view', item, `u${u}`, u + i / 10);
    add('purchase', 'shoe-1', `u${u}`, u + 0.9);
  }
  for (let i = 0; i < 8; i++) add('purchase', 'hat-1', `t${i}`, 40 + i);
  return events;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe.each(getTestDatabaseTargets())('decision traces on $name', (target) => {
  let database: Database & { drop(): Promise<void> };
  let stack: Awaited<ReturnType<typeof startTestServer>>;
  let shop: TestTenant;
  const salt = async (ns: string) =>
    (await database.query<{ s: string }>('SELECT trace_salt AS s FROM namespaces WHERE id = $1', [ns]))[0]!.s;
  const written = () => stack.recLog!.flush();
  /**
   * Polls until the namespace's engine holds `items` catalog items and `events` events (and the
   * config version, when given): on a busy PostgreSQL, rows become visible to the poll only once
   * every older transaction of the server has ended.
   */
  const applied = (ns: string, configVersion?: number) =>
    vi.waitFor(
      async () => {
        await stack.engines!.catchUp();
        const rt = stack.engines!.get(ns);
        if (
          rt.engine.stats().events === 0 ||
          (configVersion !== undefined && rt.configVersion !== configVersion)
        )
          throw new Error(`the engine of ${ns} has not applied the seed yet`);
      },
      { timeout: 240_000, interval: 100 },
    );

  beforeAll(async () => {
    database = await target.open();
    stack = await startTestServer(database, { engine: { encoder: null, pollIntervalMs: 100 } });
    shop = await stack.tenant('trace-shop');
    await shop.admin.items.upsert.mutate({ items: catalog });
    await shop.admin.items.remove.mutate({ itemIds: ['gone-1'] });
    await shop.admin.events.batch.mutate({ events: seedEvents() });
    await shop.admin.admin.config.save.mutate({ config: { diversity: { maxPerBrand: 1 } }, activate: true });
    await applied('trace-shop', 1);
  });
  afterAll(async () => {
    await stack?.close();
    await database?.drop();
  });

  it('stores the trace of a served list: request without ids, config version, signals, removals and why, final items', async () => {
    const res = await shop.browser.recs.similar.query({
      itemId: 'shoe-1',
      k: 3,
      anonymousId: 'visitor-7',
      placement: 'pdp',
      filters: { priceBetween: [null, 100] },
    });
    await written();
    const trace = await shop.admin.admin.traces.get.query({ requestId: res.requestId });
    expect(trace).toMatchObject({
      requestId: res.requestId,
      surface: 'pdp',
      configVersion: 1,
      userHash: null,
      experiment: null,
      variant: null,
      request: {
        surface: 'similar',
        placement: 'pdp',
        k: 3,
        itemId: 'shoe-1',
        filters: { priceBetween: [null, 100] },
        identity: { user: false, anonymous: true, session: false, userProven: true },
      },
      rules: [],
    });
    expect(trace.anonymousHash).toBe(sha256(`${await salt('trace-shop')}:a:visitor-7`));
    const removed = Object.fromEntries(
      trace.engine!.removed.map((r) => [r.itemId, `${r.reason}: ${r.detail}`]),
    );
    expect(removed['gone-1']).toMatch(/^archived/);
    expect(removed['oos-1']).toMatch(/^unavailable/);
    expect(removed['shoe-2']).toBe('price: price 110 is above 100');
    const covisit = trace.engine!.signals.find((s) => s.signal === 'covisit')!;
    expect(covisit.top.map((t) => t.itemId)).toContain('sock-1');
    expect(covisit.normalizer).toBe(covisit.top[0]!.score);
    expect(trace.engine!.items.map((i) => i.itemId)).toEqual(res.items.map((i) => i.itemId));
    expect(trace.engine!.items[0]!.reasons[0]!.text).toBe('often viewed with Trail running shoe');
  });

  it('replays a served list exactly from its stored trace, and its stored request serves it again', async () => {
    const requests = [
      () => shop.browser.recs.similar.query({ itemId: 'shoe-1', k: 4, seed: 3 }),
      () => shop.admin.recs.forUser.query({ userId: 'u3', k: 5 }),
      () => shop.browser.recs.trending.query({ k: 4, explain: true }),
      () => shop.browser.recs.cart.query({ itemIds: ['shoe-1'], k: 6 }),
    ];
    for (const request of requests) {
      const res = await request();
      await written();
      const trace = await shop.admin.admin.traces.get.query({ requestId: res.requestId });
      // Rebuilt from the stored numbers alone: same items, ranks and scores.
      expect(replayTrace(trace.engine!)).toEqual(
        res.items.map(({ itemId, rank, score }) => ({ itemId, rank, score })),
      );
    }
    // A request without a user needs nothing but its trace to be sent again.
    const first = await shop.browser.recs.similar.query({ itemId: 'shoe-1', k: 4, seed: 9 });
    await written();
    const { request } = await shop.admin.admin.traces.get.query({ requestId: first.requestId });
    const again = await shop.browser.recs.similar.query({
      itemId: request.itemId!,
      k: request.k,
      ...(request.seed !== undefined ? { seed: request.seed } : {}),
    });
    expect(again.items).toEqual(first.items);
  });

  it('stores user and anonymous ids only as salted hashes', async () => {
    await shop.browserAs('user-secret-42').recs.forUser.query({
      userId: 'user-secret-42',
      anonymousId: 'anon-secret-42',
      k: 3,
    });
    await written();
    const rows = await database.query<{ row: string; user_hash: string }>(
      `SELECT t::text AS row, user_hash FROM rec_traces t WHERE namespace_id = 'trace-shop'`,
    );
    expect(rows.length).toBeGreaterThan(0);
    for (const { row } of rows) {
      expect(row).not.toContain('user-secret-42');
      expect(row).not.toContain('anon-secret-42');
    }
    expect(rows.map((r) => r.user_hash)).toContain(sha256(`${await salt('trace-shop')}:u:user-secret-42`));
  });

  it('searches by user, anonymous id, item (shown or filtered), surface and time, page by page', async () => {
    const s = await stack.tenant('trace-search');
    await s.admin.items.upsert.mutate({ items: catalog });
    await s.admin.events.batch.mutate({ events: seedEvents() });
    await applied(s.namespaceId);
    const served: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await s.browser.recs.similar.query({
        itemId: 'shoe-1',
        k: 2,
        anonymousId: i < 3 ? 'finder' : `other-${i}`,
        placement: i % 2 ? 'cart-page' : 'pdp',
      });
      served.push(res.requestId);
    }
    const byUser = await s.admin.recs.forUser.query({ userId: 'u1', k: 2 });
    await written();

    const all: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await s.admin.admin.traces.search.query({ limit: 2, ...(cursor ? { cursor } : {}) });
      expect(page.traces.length).toBeLessThanOrEqual(2);
      all.push(...page.traces.map((t) => t.requestId));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(all).toHaveLength(6);
    expect(new Set(all)).toEqual(new Set([...served, byUser.requestId]));

    const ids = async (query: Record<string, unknown>) =>
      (await s.admin.admin.traces.search.query(query)).traces.map((t) => t.requestId).sort();
    expect(await ids({ anonymousId: 'finder' })).toEqual(served.slice(0, 3).sort());
    expect(await ids({ userId: 'u1' })).toEqual([byUser.requestId]);
    expect(await ids({ userId: 'finder' })).toEqual([]);
    expect(await ids({ surface: 'cart-page' })).toEqual([served[1], served[3]].sort());
    expect(await ids({ requestId: served[2] })).toEqual([served[2]]);
    // oos-1 is unavailable: filtered from every list that proposed it, each similar list included.
    expect(await ids({ itemId: 'oos-1' })).toEqual(expect.arrayContaining(served));
    const shown = (await s.admin.admin.traces.get.query({ requestId: served[0]! })).engine!.items[0]!.itemId;
    expect(await ids({ itemId: shown })).toEqual(expect.arrayContaining(served));
    expect(await ids({ itemId: 'no-such-item' })).toEqual([]);
    expect(await ids({ from: new Date(Date.now() + HOUR).toISOString() })).toEqual([]);
    expect(await ids({ to: new Date(Date.now() + HOUR).toISOString(), anonymousId: 'finder' })).toHaveLength(
      3,
    );
    // Rules report into traces when they apply; a search by rule looks in the stored rule ids.
    await database.query(
      `UPDATE rec_traces SET rule_ids = '{rule-7}' WHERE namespace_id = 'trace-search' AND request_id = $1`,
      [served[4]],
    );
    expect(await ids({ ruleId: 'rule-7' })).toEqual([served[4]]);
    // The other namespace's traces are never found.
    expect(await ids({ anonymousId: 'visitor-7' })).toEqual([]);
  });

  it('refuses a bad cursor or time with a 400 that says what to pass', async () => {
    await expect(shop.admin.admin.traces.search.query({ cursor: 'nonsense' })).rejects.toThrow(
      /cursor is not one this server gave/,
    );
    await expect(shop.admin.admin.traces.search.query({ from: 'yesterday' })).rejects.toThrow(/ISO-8601/);
    await expect(shop.admin.admin.traces.get.query({ requestId: 'never' })).rejects.toThrow(/not sampled/);
  });

  it('samples by the namespace rate, and always traces explain and the x-recsys-trace header', async () => {
    const s = await stack.tenant('trace-sampled');
    await updateNamespaceSettings(database, 'trace-sampled', { traceSampleRate: 0 });
    await s.admin.items.upsert.mutate({ items: catalog });
    await s.admin.events.batch.mutate({ events: seedEvents() });
    await applied(s.namespaceId);
    const plain = await s.browser.recs.similar.query({ itemId: 'shoe-1', k: 2 });
    const explained = await s.browser.recs.similar.query({ itemId: 'shoe-1', k: 2, explain: true });
    const input = encodeURIComponent(JSON.stringify({ itemId: 'shoe-1', k: 2 }));
    const headed = (await (
      await fetch(`${stack.url}/trpc/recs.similar?input=${input}`, {
        headers: { authorization: `Bearer ${s.publishableKey}`, origin: TEST_ORIGIN, 'x-recsys-trace': '1' },
      })
    ).json()) as { result: { data: { requestId: string } } };
    await written();
    const traced = (await s.admin.admin.traces.search.query({})).traces.map((t) => t.requestId);
    expect(traced.sort()).toEqual([explained.requestId, headed.result.data.requestId].sort());
    // The served list itself is logged whatever the rate.
    const logged = await database.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM rec_logs WHERE namespace_id = 'trace-sampled' AND request_id = $1`,
      [plain.requestId],
    );
    expect(logged[0]!.n).toBe(1);
  });

  it('refuses a sample rate or retention outside their ranges, naming the setting', async () => {
    await expect(updateNamespaceSettings(database, 'trace-shop', { traceSampleRate: 2 })).rejects.toThrow(
      /traceSampleRate must be a number from 0 to 1/,
    );
    await expect(updateNamespaceSettings(database, 'trace-shop', { traceRetentionDays: 0 })).rejects.toThrow(
      /traceRetentionDays must be a whole number/,
    );
  });

  it('prunes traces past each namespace retention, from the store and through admin.traces.prune', async () => {
    const a = await stack.tenant('trace-prune-a');
    const b = await stack.tenant('trace-prune-b');
    await updateNamespaceSettings(database, 'trace-prune-a', { traceRetentionDays: 7 });
    const insert = (ns: string, id: string, daysAgo: number) =>
      database.query(
        `INSERT INTO rec_traces (namespace_id, request_id, surface, trace, created_at)
         VALUES ($1, $2, 'similar', '{}', now() - make_interval(days => $3))`,
        [ns, id, daysAgo],
      );
    await insert('trace-prune-a', 'a-old', 8);
    await insert('trace-prune-a', 'a-new', 6);
    await insert('trace-prune-b', 'b-old', 31);
    await insert('trace-prune-b', 'b-mid', 10);
    const left = async () =>
      (
        await database.query<{ id: string }>(
          `SELECT request_id AS id FROM rec_traces WHERE namespace_id LIKE 'trace-prune-%' ORDER BY 1`,
        )
      ).map((r) => r.id);
    expect(await pruneTraces(database, { namespaceId: 'trace-prune-a' })).toEqual({
      deleted: 1,
      byNamespace: { 'trace-prune-a': 1 },
    });
    expect(await left()).toEqual(['a-new', 'b-mid', 'b-old']);
    // B keeps the default 30 days; through the procedure, B's key prunes only B.
    expect(await b.admin.admin.traces.prune.mutate({})).toEqual({ deleted: 1 });
    expect(await left()).toEqual(['a-new', 'b-mid']);
    // Later, everything ages out.
    const later = new Date(Date.now() + 30 * 86_400_000);
    expect(await pruneTraces(database, { now: later })).toMatchObject({ deleted: expect.any(Number) });
    expect(await left()).toEqual([]);
    expect(a.namespaceId).toBe('trace-prune-a');
  });

  it('users.forget erases the traces of the user and of their linked anonymous ids, and no one else’s', async () => {
    const s = await stack.tenant('trace-forget');
    await s.admin.items.upsert.mutate({ items: catalog });
    await s.admin.events.batch.mutate({ events: seedEvents() });
    await s.admin.users.alias.mutate({ anonymousId: 'fg-browser', userId: 'fg-user' });
    await applied(s.namespaceId);
    const count = async (query: Record<string, unknown>) =>
      (await s.admin.admin.traces.search.query(query)).traces.length;
    await s.admin.recs.forUser.query({ userId: 'fg-user', k: 2 });
    await s.browser.recs.similar.query({ itemId: 'shoe-1', k: 2, anonymousId: 'fg-alone' });
    await s.browser.recs.similar.query({ itemId: 'shoe-1', k: 2, anonymousId: 'fg-other' });
    await written();
    // Before the alias resolves, a list for the linked browser is traced under its anonymous id.
    await database.query(
      `INSERT INTO rec_traces (namespace_id, request_id, surface, anonymous_hash, trace)
       SELECT 'trace-forget', 'fg-linked', 'similar', encode(sha256(convert_to(trace_salt || ':a:fg-browser', 'UTF8')), 'hex'), '{}'
       FROM namespaces WHERE id = 'trace-forget'`,
    );
    expect(await count({ anonymousId: 'fg-browser' })).toBe(1);

    const result = await s.admin.users.forget.mutate({ userId: 'fg-user' });
    expect(result.tracesDeleted).toBe(2);
    expect(await count({ userId: 'fg-user' })).toBe(0);
    expect(await count({ anonymousId: 'fg-browser' })).toBe(0);
    expect(await count({ anonymousId: 'fg-other' })).toBe(1);

    expect((await s.admin.users.forget.mutate({ anonymousId: 'fg-alone' })).tracesDeleted).toBe(1);
    expect(await count({ anonymousId: 'fg-alone' })).toBe(0);
    expect(await count({ anonymousId: 'fg-other' })).toBe(1);
  });
});
