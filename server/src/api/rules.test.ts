import { TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../db/client';
import { createClient, getTestDatabaseTargets, startTestServer, type TestTenant } from '../testing';

const HOUR = 3_600_000;
const at = (h: number) => new Date(Date.now() - 24 * HOUR + h * 60_000).toISOString();

/** Six items sold 12, 10, 8, 6, 4, 2 times: trending ranks them p1…p6; `fresh` is new and unsold. */
const items = [
  ...[1, 2, 3, 4, 5, 6].map((n) => ({
    itemId: `p${n}`,
    title: `Product ${n}`,
    price: 10 * n,
    brand: n <= 3 ? 'acme' : 'zen',
    category: n % 2 ? 'odd' : 'even',
  })),
  { itemId: 'fresh', title: 'New arrival', price: 99, brand: 'fresh', category: 'new' },
];
const events = [1, 2, 3, 4, 5, 6].flatMap((n) =>
  Array.from({ length: 14 - 2 * n }, (_, i) => ({
    eventId: `buy-${n}-${i}`,
    type: 'purchase' as const,
    itemId: `p${n}`,
    userId: `u-${n}-${i}`,
    ts: at(n * 20 + i),
    meta: { orderId: `o-${n}-${i}` },
  })),
);
const trending = { k: 4, anonymousId: 'visitor-1', overrides: { diversity: { lambda: 1 } } };

/** The tRPC error's message and its zod issues (path → message). */
async function refusal(call: Promise<unknown>) {
  try {
    await call;
  } catch (error) {
    if (!(error instanceof TRPCClientError)) throw error;
    const data = error.data as { httpStatus: number; issues?: Array<{ path: string; message: string }> };
    return { status: data.httpStatus, message: error.message, issues: data.issues ?? [] };
  }
  throw new Error('expected the call to be refused');
}

describe.each(getTestDatabaseTargets())('admin.rules and admin.overrides through tRPC on $name', (target) => {
  let database: Database & { drop(): Promise<void> };
  let stack: Awaited<ReturnType<typeof startTestServer>>;
  let shop: TestTenant;
  /** The list once this process has applied every change written so far (a write only nudges the poll). */
  const top = async () => {
    await stack.engines!.catchUp();
    return (await shop.admin.recs.trending.query(trending)).items.map((i) => i.itemId);
  };

  beforeAll(async () => {
    database = await target.open();
    stack = await startTestServer(database, { engine: { encoder: null } });
    shop = await stack.tenant('rules-shop');
    await shop.admin.items.upsert.mutate({ items });
    await shop.admin.events.batch.mutate({ events });
    await stack.engines!.catchUp();
  });
  afterAll(async () => {
    await stack?.close();
    await database?.drop();
  });

  it('ranks p1…p4 before any rule (the baseline)', async () => {
    expect(await top()).toEqual(['p1', 'p2', 'p3', 'p4']);
  });

  it('creates, lists, gets, updates, disables, enables and removes a rule, each live at once and audited', async () => {
    const created = await shop.admin.admin.rules.create.mutate({
      rule: { id: 'hero', kind: 'pin', items: { itemIds: ['fresh'] }, slot: 0, name: 'launch' },
      note: 'new arrival on top',
    });
    expect(created).toMatchObject({ ruleId: 'hero', origin: 'rule', enabled: true, version: 1 });
    expect(created.createdBy).toMatch(/^key:[0-9a-f]{16}$/);
    expect(await top()).toEqual(['fresh', 'p1', 'p2', 'p3']);

    expect((await shop.admin.admin.rules.list.query()).map((r) => r.ruleId)).toEqual(['hero']);
    expect(await shop.admin.admin.rules.list.query({ kind: 'boost' })).toEqual([]);

    await shop.admin.admin.rules.update.mutate({
      rule: { id: 'hero', kind: 'pin', items: { itemIds: ['fresh'] }, slot: 2 },
    });
    expect(await top()).toEqual(['p1', 'p2', 'fresh', 'p3']);

    const disabled = await shop.admin.admin.rules.disable.mutate({ ruleId: 'hero', note: 'paused' });
    expect(disabled).toMatchObject({ enabled: false, version: 3 });
    expect(await top()).toEqual(['p1', 'p2', 'p3', 'p4']);
    expect(await shop.admin.admin.rules.list.query({ enabled: false })).toHaveLength(1);

    await shop.admin.admin.rules.enable.mutate({ ruleId: 'hero' });
    expect(await top()).toEqual(['p1', 'p2', 'fresh', 'p3']);

    const got = await shop.admin.admin.rules.get.query({ ruleId: 'hero' });
    expect(got.history.map((h) => [h.version, h.action])).toEqual([
      [4, 'enable'],
      [3, 'disable'],
      [2, 'update'],
      [1, 'create'],
    ]);
    expect(got.history[3]).toMatchObject({ note: 'new arrival on top', actor: created.createdBy });
    expect(got.history[1]?.note).toBe('paused');

    expect(await shop.admin.admin.rules.remove.mutate({ ruleId: 'hero' })).toEqual({
      ruleId: 'hero',
      removed: true,
      version: 5,
    });
    expect(await top()).toEqual(['p1', 'p2', 'p3', 'p4']);
    const gone = await refusal(shop.admin.admin.rules.get.query({ ruleId: 'hero' }));
    expect(gone.status).toBe(404);
    expect(gone.message).toMatch(/removed by key:[0-9a-f]{16} at .* \(version 5\)/);
  });

  it('refuses bad definitions with the field and the fix, and writes nothing', async () => {
    const bad = await refusal(
      shop.admin.admin.rules.create.mutate({
        rule: { id: 'bad', kind: 'boost', items: { tags: [] }, multiplier: 0.5 },
      }),
    );
    expect(bad.status).toBe(400);
    expect(bad.issues).toEqual([
      { path: 'rule.items.tags', message: 'must be a non-empty list of tags like "brand:acme" or "brand:*"' },
      { path: 'rule.multiplier', message: 'a boost multiplies by 1–1000 (use a bury rule to lower items)' },
    ]);
    expect(bad.message).toMatch(/rule\.multiplier: a boost multiplies by 1–1000/);
    expect(await shop.admin.admin.rules.list.query()).toEqual([]);

    const dup = { id: 'twice', kind: 'block' as const, items: { itemIds: ['p6'] } };
    await shop.admin.admin.rules.create.mutate({ rule: dup });
    const conflict = await refusal(shop.admin.admin.rules.create.mutate({ rule: dup }));
    expect(conflict.status).toBe(409);
    expect(conflict.message).toMatch(/already exists.*update, or pick another id/);
    const missing = await refusal(shop.admin.admin.rules.disable.mutate({ ruleId: 'nope' }));
    expect(missing.status).toBe(404);
    expect(missing.message).toMatch(/recsys rules list/);
    await shop.admin.admin.rules.remove.mutate({ ruleId: 'twice' });
  });

  it('exports and imports rules as JSON: merge, replace, and all-or-nothing on a bad rule', async () => {
    await shop.admin.admin.rules.create.mutate({
      rule: { id: 'no-zen', kind: 'block', items: { tags: ['brand:zen'] } },
    });
    await shop.admin.admin.rules.create.mutate({
      rule: { id: 'b-p3', kind: 'boost', items: { itemIds: ['p3'] }, multiplier: 3, enabled: false },
    });
    const file = await shop.admin.admin.rules.export.query();
    expect(file).toMatchObject({ format: 'recsys-rules', version: 1, namespaceId: 'rules-shop' });
    expect(file.rules.map((r) => [r.id, r.enabled])).toEqual([
      ['b-p3', false],
      ['no-zen', true],
    ]);

    const other = await stack.tenant('rules-copy');
    expect(await other.admin.admin.rules.import.mutate({ rules: file.rules })).toEqual({
      created: ['b-p3', 'no-zen'],
      updated: [],
      unchanged: [],
      removed: [],
    });
    const again = await other.admin.admin.rules.import.mutate({
      rules: [file.rules[1]!],
      mode: 'replace',
    });
    expect(again).toEqual({ created: [], updated: [], unchanged: ['no-zen'], removed: ['b-p3'] });

    const bad = await refusal(
      other.admin.admin.rules.import.mutate({
        rules: [
          { id: 'ok', kind: 'block', items: {} },
          { id: 'x', kind: 'promote', items: {} },
        ],
      }),
    );
    expect(bad.status).toBe(400);
    expect(bad.issues).toEqual([
      { path: 'rules.1.kind', message: 'must be one of block, filter, pin, inject, boost, bury' },
    ]);
    expect((await other.admin.admin.rules.list.query()).map((r) => r.ruleId)).toEqual(['no-zen']);

    await shop.admin.admin.rules.remove.mutate({ ruleId: 'no-zen' });
    await shop.admin.admin.rules.remove.mutate({ ruleId: 'b-p3' });
  });

  it('adds, lists and cancels a manual override; it outranks rules and must expire', async () => {
    await shop.admin.admin.rules.create.mutate({
      rule: { id: 'standing-pin', kind: 'pin', items: { itemIds: ['p4'] }, slot: 0 },
    });
    const ovr = await shop.admin.admin.overrides.add.mutate({
      kind: 'pin',
      itemIds: ['fresh'],
      slot: 0,
      hours: 48,
      reason: 'launch weekend',
      surfaces: ['trending'],
    });
    expect(ovr).toMatchObject({ origin: 'override', reason: 'launch weekend', enabled: true });
    expect(Date.parse(ovr.expiresAt!) - Date.now()).toBeGreaterThan(47 * HOUR);
    // Both pins want slot 0: the override's priority wins, the rule moves down one.
    expect(await top()).toEqual(['fresh', 'p4', 'p1', 'p2']);
    // Overrides are listed apart from rules.
    expect((await shop.admin.admin.rules.list.query()).map((r) => r.ruleId)).toEqual(['standing-pin']);
    const listed = await shop.admin.admin.overrides.list.query();
    expect(listed.map((o) => [o.ruleId, o.state])).toEqual([[ovr.ruleId, 'active']]);

    const cancelled = await shop.admin.admin.overrides.cancel.mutate({
      ruleId: ovr.ruleId,
      note: 'sold out',
    });
    expect(cancelled.enabled).toBe(false);
    expect((await shop.admin.admin.overrides.list.query())[0]?.state).toBe('cancelled');
    expect(await top()).toEqual(['p4', 'p1', 'p2', 'p3']);
    expect((await shop.admin.admin.rules.get.query({ ruleId: ovr.ruleId })).history[0]?.action).toBe(
      'cancel',
    );

    const noExpiry = await refusal(
      shop.admin.admin.overrides.add.mutate({
        kind: 'boost',
        itemIds: ['p5'],
        multiplier: 3,
        reason: 'why not',
      }),
    );
    expect(noExpiry.status).toBe(400);
    expect(noExpiry.issues[0]).toEqual({
      path: 'expiresAt',
      message: 'give either expiresAt (an instant) or hours (from now): an override always expires',
    });
    const past = await refusal(
      shop.admin.admin.overrides.add.mutate({
        kind: 'boost',
        itemIds: ['p5'],
        expiresAt: '2020-01-01T00:00:00Z',
        reason: 'too late',
      }),
    );
    expect(past.message).toMatch(/expiresAt: "2020-01-01T00:00:00Z" must be a future instant/);
    await shop.admin.admin.rules.remove.mutate({ ruleId: 'standing-pin' });
  });

  it('previews a change side by side without installing it, and counts the served lists it would touch', async () => {
    // Served lists of the last day: four trending lists.
    for (let i = 0; i < 4; i++)
      await shop.browser.recs.trending.query({ ...trending, anonymousId: `v-${i}` });
    await stack.recLog!.flush();
    const report = await shop.admin.admin.rules.preview.mutate({
      change: { upsert: [{ id: 'bury-p1', kind: 'bury', items: { itemIds: ['p1'] }, multiplier: 0.01 }] },
      requests: [{ surface: 'trending', ...trending }],
    });
    expect(report.lists).toHaveLength(1);
    const list = report.lists[0]!;
    expect(list.changed).toBe(true);
    expect(list.rows.map((r) => [r.before, r.after, r.mark])).toEqual([
      ['p1', 'p2', 'up 1'],
      ['p2', 'p3', 'up 1'],
      ['p3', 'p4', 'up 1'],
      ['p4', 'p5', 'new'],
    ]);
    expect(list.removed).toEqual(['p1']);
    expect(list.effects[0]).toMatchObject({ ruleId: 'bury-p1', kind: 'bury' });
    // Every served list had p1 at the top: each would have changed.
    expect(report.servedLastDay.lists).toBeGreaterThanOrEqual(4);
    expect(report.servedLastDay.touched).toBe(report.servedLastDay.lists);
    // Nothing was installed.
    expect(await top()).toEqual(['p1', 'p2', 'p3', 'p4']);

    // Without requests, recent served lists are shown; a change that touches nothing is said so
    // (p6 was never in a served list).
    const idle = await shop.admin.admin.rules.preview.mutate({
      change: { upsert: [{ id: 'no-p6', kind: 'block', items: { itemIds: ['p6'] } }] },
      sample: 2,
    });
    expect(idle.lists).toHaveLength(2);
    expect(idle.lists.every((l) => !l.changed && 'servedAt' in l.source)).toBe(true);
    expect(idle.servedLastDay.touched).toBe(0);

    const unknown = await refusal(shop.admin.admin.rules.preview.mutate({ change: { remove: ['ghost'] } }));
    expect(unknown.status).toBe(404);
    const empty = await refusal(shop.admin.admin.rules.preview.mutate({ change: {} }));
    expect(empty.issues[0]?.message).toMatch(/say what would change/);
  });

  it('reaches a second replica on the same database within one poll', async () => {
    const replica = await startTestServer(database, { engine: { encoder: null, pollIntervalMs: 60_000 } });
    try {
      const client = createClient(replica.url, shop.secretKey);
      const replicaTop = async () => (await client.recs.trending.query(trending)).items.map((i) => i.itemId);
      expect(await replicaTop()).toEqual(['p1', 'p2', 'p3', 'p4']);
      // Written through the first server; the replica has not polled yet.
      await shop.admin.admin.rules.create.mutate({
        rule: { id: 'everywhere', kind: 'block', items: { tags: ['brand:acme'] } },
      });
      expect(await replicaTop()).toEqual(['p1', 'p2', 'p3', 'p4']);
      await replica.engines!.catchUp();
      // Only three items are left with sales; `fresh` has none, so trending has nothing to fill with.
      expect(await replicaTop()).toEqual(['p4', 'p5', 'p6']);
      await shop.admin.admin.rules.disable.mutate({ ruleId: 'everywhere' });
      await replica.engines!.catchUp();
      expect(await replicaTop()).toEqual(['p1', 'p2', 'p3', 'p4']);
    } finally {
      await replica.close();
    }
  });
});
