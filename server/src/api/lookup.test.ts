import { count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../db/client';
import { recLogs } from '../db/schema';
import { getTestDatabaseTargets, startTestServer, type TestTenant } from '../testing';

describe.each(getTestDatabaseTargets())('looking up a visitor and an item on $name', (target) => {
  let database: Database & { drop(): Promise<void> };
  let stack: Awaited<ReturnType<typeof startTestServer>>;
  let shop: TestTenant;
  const base = Date.now() - 3_600_000;
  const at = (minutes: number) => new Date(base + minutes * 60_000).toISOString();

  beforeAll(async () => {
    database = await target.open();
    stack = await startTestServer(database, { engine: { encoder: null } });
    shop = await stack.tenant('lookup-shop');
    await shop.admin.items.upsert.mutate({
      items: [
        { itemId: 'kettle', title: 'Kettle', tags: ['category:kitchen'] },
        { itemId: 'teapot', title: 'Teapot', tags: ['category:kitchen'] },
        { itemId: 'mug', title: 'Mug', tags: ['category:kitchen'] },
      ],
    });
    await shop.admin.users.upsert.mutate({ users: [{ userId: 'ann', traits: { segment: 'vip' } }] });
    // Other shoppers put kettle and teapot together; ann views the kettle, then buys a mug.
    const together = ['a', 'b', 'c'].flatMap((s, i) => [
      { eventId: `t-${s}-1`, type: 'view' as const, itemId: 'kettle', userId: `u-${s}`, ts: at(i) },
      { eventId: `t-${s}-2`, type: 'view' as const, itemId: 'teapot', userId: `u-${s}`, ts: at(i + 1) },
    ]);
    await shop.admin.events.batch.mutate({
      events: [
        ...together,
        { eventId: 'ann-1', type: 'view', itemId: 'kettle', userId: 'ann', ts: at(10) },
        { eventId: 'ann-2', type: 'purchase', itemId: 'mug', userId: 'ann', value: 1, ts: at(11) },
      ],
    });
    await stack.engines!.catchUp();
  });
  afterAll(async () => {
    await stack?.close();
    await database?.drop();
  });

  it("shows a user's traits, latest events first, and the personal lists the engine would rank now", async () => {
    const found = await shop.admin.admin.lookup.user.query({ userId: 'ann' });
    expect(found.user).toMatchObject({ userId: 'ann', traits: { segment: 'vip' } });
    expect(found.events.map((e) => [e.eventId, e.type])).toEqual([
      ['ann-2', 'purchase'],
      ['ann-1', 'view'],
    ]);
    expect(found.note).toBeNull();
    const lists = Object.fromEntries(found.lists!.map((l) => [l.surface, l]));
    expect(Object.keys(lists)).toEqual(['forUser', 'recentlyViewed', 'buyAgain']);
    expect(lists.recentlyViewed!.items.map((i) => i.itemId)).toContain('kettle');
    expect(lists.buyAgain!.items.map((i) => i.itemId)).toEqual(['mug']);
    // Reasons in words, as a trace would give them.
    expect(lists.forUser!.items.every((i) => i.reasons.length > 0)).toBe(true);
  });

  it('shows an item with its latest events and its neighbours', async () => {
    const found = await shop.admin.admin.lookup.item.query({ itemId: 'kettle' });
    expect(found.item).toMatchObject({ itemId: 'kettle', title: 'Kettle' });
    expect(found.events).toHaveLength(4);
    const similar = found.lists!.find((l) => l.surface === 'similar')!;
    expect(similar.items[0]).toMatchObject({ itemId: 'teapot', title: 'Teapot' });
    expect(similar.items.map((i) => i.itemId)).not.toContain('kettle');
  });

  it('logs nothing: a lookup is not a served list', async () => {
    await stack.recLog!.flush();
    const [logged] = await database.db
      .select({ n: count() })
      .from(recLogs)
      .where(eq(recLogs.namespaceId, 'lookup-shop'));
    expect(logged!.n).toBe(0);
  });

  it('answers 404 naming the item when it does not exist, and a user with no record still shows', async () => {
    await expect(shop.admin.admin.lookup.item.query({ itemId: 'nope' })).rejects.toMatchObject({
      data: { httpStatus: 404 },
      message: expect.stringContaining('No item "nope" in "lookup-shop"'),
    });
    const stranger = await shop.admin.admin.lookup.user.query({ userId: 'stranger' });
    expect(stranger).toMatchObject({ user: null, events: [] });
  });
});
