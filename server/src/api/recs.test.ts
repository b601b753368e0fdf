import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Database } from '../db/client';
import { getTestDatabaseTargets, startTestServer, type TestTenant } from '../testing';

const HOUR = 3_600_000;
const base = Date.now() - 48 * HOUR;
const at = (h: number) => new Date(base + h * HOUR).toISOString();

/**
 * A small shop: shoes go with socks, shirts with ties, hats on their own.
 * Sessions make the pairs co-visited; orders make them bought together.
 */
const catalog = [
  {
    itemId: 'shoe-1',
    title: 'Trail running shoe',
    price: 90,
    currency: 'EUR',
    brand: 'acme',
    category: 'shoes',
    props: { url: '/p/shoe-1', imageUrl: '/i/shoe-1.png' },
  },
  {
    itemId: 'shoe-2',
    title: 'Road running shoe',
    price: 110,
    currency: 'EUR',
    brand: 'acme',
    category: 'shoes',
  },
  { itemId: 'shoe-3', title: 'Leather shoe', price: 150, currency: 'EUR', brand: 'bolt', category: 'shoes' },
  { itemId: 'sock-1', title: 'Running socks', price: 9, currency: 'EUR', brand: 'acme', category: 'socks' },
  { itemId: 'sock-2', title: 'Wool socks', price: 14, currency: 'EUR', brand: 'bolt', category: 'socks' },
  {
    itemId: 'shirt-1',
    title: 'Oxford shirt',
    price: 60,
    currency: 'EUR',
    brand: 'crest',
    category: 'shirts',
  },
  { itemId: 'tie-1', title: 'Silk tie', price: 40, currency: 'EUR', brand: 'crest', category: 'ties' },
  { itemId: 'hat-1', title: 'Sun hat', price: 25, currency: 'EUR', brand: 'dune', category: 'hats' },
  {
    itemId: 'gone-1',
    title: 'Discontinued running sock',
    price: 5,
    currency: 'EUR',
    brand: 'acme',
    category: 'socks',
  },
  {
    itemId: 'oos-1',
    title: 'Sold-out running sock',
    price: 7,
    currency: 'EUR',
    brand: 'acme',
    category: 'socks',
    available: false,
  },
];

function seedEvents() {
  const events: Array<Record<string, unknown>> = [];
  let n = 0;
  const add = (type: string, itemId: string, user: string, h: number, extra: Record<string, unknown> = {}) =>
    events.push({
      eventId: `seed-${n++}`,
      type,
      itemId,
      userId: user,
      sessionId: `${user}-s${Math.floor(h / 6)}`,
      ts: at(h),
      ...extra,
    });
  for (let u = 0; u < 12; u++) {
    const user = `u${u}`;
    add('view', 'shoe-1', user, u);
    add('view', 'sock-1', user, u + 0.1);
    add('view', 'gone-1', user, u + 0.15);
    add('view', 'oos-1', user, u + 0.16);
    add('add', 'shoe-1', user, u + 0.2);
    add('add', 'sock-1', user, u + 0.25);
    add('purchase', 'shoe-1', user, u + 0.3, { meta: { orderId: `o-${u}` } });
    add('purchase', 'sock-1', user, u + 0.3, { meta: { orderId: `o-${u}` } });
    if (u % 2 === 0) {
      add('view', 'shirt-1', user, u + 30);
      add('view', 'tie-1', user, u + 30.1);
      add('purchase', 'shirt-1', user, u + 30.2, { meta: { orderId: `o2-${u}` } });
      add('purchase', 'tie-1', user, u + 30.2, { meta: { orderId: `o2-${u}` } });
    }
    if (u % 3 === 0) add('view', 'shoe-2', user, u + 0.05);
  }
  // hat-1 is trending: bought a lot in the last hour, never before.
  for (let i = 0; i < 15; i++) add('purchase', 'hat-1', `t${i}`, 47 + i / 20);
  // The bolt items are seen a little.
  for (let i = 0; i < 3; i++) {
    add('view', 'shoe-3', `b${i}`, 20 + i);
    add('view', 'sock-2', `b${i}`, 40 + i);
  }
  return events;
}

describe.each(getTestDatabaseTargets())('recommendation procedures on $name', (target) => {
  let database: Database & { drop(): Promise<void> };
  let stack: Awaited<ReturnType<typeof startTestServer>>;
  let shop: TestTenant;
  const ids = (list: { items: Array<{ itemId: string }> }) => list.items.map((i) => i.itemId);

  beforeAll(async () => {
    database = await target.open();
    stack = await startTestServer(database, { engine: { encoder: null, pollIntervalMs: 100 } });
    shop = await stack.tenant('recs-shop');
    await shop.admin.items.upsert.mutate({ items: catalog });
    await shop.admin.items.remove.mutate({ itemIds: ['gone-1'] });
    const events = seedEvents();
    for (let i = 0; i < events.length; i += 500)
      await shop.admin.events.batch.mutate({ events: events.slice(i, i + 500) });
    await stack.engines!.catchUp();
  });
  afterAll(async () => {
    await stack?.close();
    await database?.drop();
  });

  it('similar: ranks co-visited items first, never the anchor, with display fields and a requestId', async () => {
    const res = await shop.browser.recs.similar.query({ itemId: 'shoe-1', k: 5 });
    expect(res.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.surface).toBe('similar');
    expect(res.items[0]).toMatchObject({
      itemId: 'sock-1',
      rank: 1,
      title: 'Running socks',
      price: 9,
      currency: 'EUR',
    });
    expect(ids(res)).not.toContain('shoe-1');
    expect(res.items.map((i) => i.rank)).toEqual(res.items.map((_, i) => i + 1));
  });

  it('never recommends archived or unavailable items', async () => {
    for (const list of [
      await shop.browser.recs.similar.query({ itemId: 'shoe-1', k: 20 }),
      await shop.browserAs('u1').recs.forUser.query({ userId: 'u1', k: 20 }),
      await shop.browser.recs.trending.query({ k: 20 }),
      await shop.browser.recs.cart.query({ itemIds: ['shoe-1'], k: 20 }),
    ]) {
      expect(ids(list)).not.toContain('gone-1');
      expect(ids(list)).not.toContain('oos-1');
    }
  });

  it('explain: every item carries reasons in words naming the related item', async () => {
    const res = await shop.browser.recs.similar.query({ itemId: 'shoe-1', k: 3, explain: true });
    for (const item of res.items) expect(item.reasons?.length).toBeGreaterThan(0);
    const sock = res.items.find((i) => i.itemId === 'sock-1');
    expect(sock?.reasons?.map((r) => r.text).join(' ')).toMatch(/Trail running shoe/);
    const plain = await shop.browser.recs.similar.query({ itemId: 'shoe-1', k: 3 });
    expect(plain.items[0]).not.toHaveProperty('reasons');
  });

  it('cart: suggests complements and never the items already in the cart', async () => {
    const res = await shop.browser.recs.cart.query({ itemIds: ['shirt-1'], k: 5 });
    expect(ids(res)[0]).toBe('tie-1');
    expect(ids(res)).not.toContain('shirt-1');
    const both = await shop.browser.recs.cart.query({ itemIds: ['shoe-1', 'sock-1'], k: 10 });
    expect(ids(both)).not.toContain('shoe-1');
    expect(ids(both)).not.toContain('sock-1');
  });

  it('buyAgain: lists what the user bought, most bought first', async () => {
    const res = await shop.browserAs('u0').recs.buyAgain.query({ userId: 'u0', k: 5 });
    expect(ids(res).slice(0, 4).sort()).toEqual(['shirt-1', 'shoe-1', 'sock-1', 'tie-1']);
  });

  it("never reveals a user's history to a publishable key without that user's token", async () => {
    const own = ids(await shop.browserAs('u0').recs.buyAgain.query({ userId: 'u0', k: 5 }));
    expect(own.length).toBeGreaterThan(0);
    for (const client of [shop.browser, shop.browserAs('u1')]) {
      // answered as the anonymous visitor it is: nothing bought, nothing viewed
      expect(ids(await client.recs.buyAgain.query({ userId: 'u0', k: 5 }))).toEqual([]);
      expect(ids(await client.recs.recentlyViewed.query({ userId: 'u0', k: 5 }))).toEqual([]);
      const visitor = await client.recs.buyAgain.query({ userId: 'u0', anonymousId: 'someone-else', k: 5 });
      for (const id of own) expect(ids(visitor)).not.toContain(id);
    }
  });

  it('recentlyViewed: newest first for the user', async () => {
    const res = await shop.browserAs('u1').recs.recentlyViewed.query({ userId: 'u1', k: 3 });
    expect(ids(res)[0]).toBe('sock-1');
    expect(ids(res)).toContain('shoe-1');
  });

  it('trending: surfaces the item gaining views now, and filters by category', async () => {
    const all = await shop.browser.recs.trending.query({ k: 3 });
    expect(ids(all)[0]).toBe('hat-1');
    const socks = await shop.browser.recs.trending.query({ k: 5, category: 'socks' });
    expect(ids(socks).length).toBeGreaterThan(0);
    for (const id of ids(socks)) expect(id.startsWith('sock-')).toBe(true);
  });

  it('honours priceBetween, includeTagsAny, excludeTagsAny and excludeIds', async () => {
    const cheap = await shop.browserAs('u2').recs.forUser.query({
      userId: 'u2',
      k: 10,
      filters: { priceBetween: [null, 20] },
    });
    expect(cheap.items.length).toBeGreaterThan(0);
    for (const item of cheap.items) expect(item.price).toBeLessThanOrEqual(20);
    const bolt = await shop.browser.recs.trending.query({
      k: 10,
      filters: { includeTagsAny: ['Brand: Bolt'] },
    });
    expect(ids(bolt).sort()).toEqual(['shoe-3', 'sock-2']);
    const noAcme = await shop.browser.recs.trending.query({
      k: 10,
      filters: { excludeTagsAny: ['brand:acme'] },
    });
    expect(ids(noAcme).some((id) => ['shoe-1', 'shoe-2', 'sock-1'].includes(id))).toBe(false);
    const without = await shop.browser.recs.similar.query({
      itemId: 'shoe-1',
      k: 10,
      filters: { excludeIds: ['sock-1'] },
    });
    expect(ids(without)).not.toContain('sock-1');
  });

  it('caps items per brand when asked to', async () => {
    const res = await shop.browser.recs.trending.query({
      k: 8,
      overrides: { diversity: { maxPerBrand: 1 } },
    });
    const brands = res.items.map((i) => catalog.find((c) => c.itemId === i.itemId)?.brand);
    expect(new Set(brands).size).toBe(brands.length);
  });

  it('gives a cold visitor a full list of popular and trending items', async () => {
    const res = await shop.browser.recs.forUser.query({ anonymousId: 'never-seen', k: 6 });
    expect(res.items).toHaveLength(6);
    expect(ids(res)).toContain('hat-1');
  });

  it('fills a thin list with category best-sellers, then popular items, and says so', async () => {
    // shoe-3 was only viewed alone: it has almost no neighbours.
    const res = await shop.browser.recs.similar.query({ itemId: 'shoe-3', k: 6, explain: true });
    expect(res.items).toHaveLength(6);
    expect(res.fallback.used).toBe(true);
    expect(res.fallback.sources).toEqual(['category-bestsellers', 'popular']);
    expect(res.fallback.filled).toBeGreaterThan(0);
    const firstFilled = res.items[res.items.length - res.fallback.filled];
    expect(['shoe-1', 'shoe-2']).toContain(firstFilled?.itemId);
  });

  it('returns the same list for the same seed, every time', async () => {
    const a = await shop.browserAs('u3').recs.forUser.query({ userId: 'u3', k: 8, seed: 42 });
    const b = await shop.browserAs('u3').recs.forUser.query({ userId: 'u3', k: 8, seed: 42 });
    // Scores decay with the clock between the two calls; the list does not change.
    expect(ids(a)).toEqual(ids(b));
    expect(a.items.length).toBe(8);
  });

  it('uses session context items as anchors without storing them', async () => {
    const res = await shop.browser.recs.forUser.query({
      anonymousId: 'headless',
      k: 3,
      contextItemIds: ['shirt-1'],
    });
    // The session's own item may come back (shoppers here view shirt-1, then buy it); after it, its
    // co-visited tie leads.
    expect(ids(res).filter((id) => id !== 'shirt-1')[0]).toBe('tie-1');
    const recent = await shop.browser.recs.recentlyViewed.query({ anonymousId: 'headless', k: 3 });
    expect(ids(recent)).toEqual([]);
  });

  it('bounds k to 1..100 with a clear 400', async () => {
    await expect(shop.browser.recs.trending.query({ k: 0 })).rejects.toMatchObject({
      data: { httpStatus: 400 },
      message: expect.stringMatching(/k must be between 1 and 100/),
    });
    await expect(shop.browser.recs.trending.query({ k: 101 })).rejects.toMatchObject({
      data: { httpStatus: 400 },
    });
    await expect(shop.browser.recs.buyAgain.query({ k: 5 })).rejects.toMatchObject({
      message: expect.stringMatching(/needs a userId or an anonymousId/),
    });
  });

  it('logs every served list asynchronously with its requestId, ranks and surface', async () => {
    const res = await shop.browser.recs.similar.query({
      itemId: 'shoe-1',
      k: 3,
      anonymousId: 'logger',
      placement: 'pdp',
    });
    await stack.recLog!.flush();
    const [row] = await database.query<{ surface: string; anonymous_id: string; items: unknown }>(
      'SELECT surface, anonymous_id, items FROM rec_logs WHERE namespace_id = $1 AND request_id = $2',
      ['recs-shop', res.requestId],
    );
    expect(row?.surface).toBe('pdp');
    expect(row?.anonymous_id).toBe('logger');
    const items = typeof row?.items === 'string' ? JSON.parse(row.items) : row?.items;
    expect(items).toEqual(res.items.map(({ itemId, rank, score }) => ({ itemId, rank, score })));
  });

  it('reflects a new event within 2 seconds without a restart', async () => {
    const before = await shop.browser.recs.similar.query({ itemId: 'hat-1', k: 3 });
    expect(ids(before)[0]).not.toBe('shoe-3');
    const now = Date.now();
    await shop.admin.events.batch.mutate({
      events: [0, 1, 2, 3].flatMap((i) => [
        {
          eventId: `fresh-a${i}`,
          type: 'purchase',
          itemId: 'hat-1',
          userId: `f${i}`,
          ts: new Date(now).toISOString(),
          meta: { orderId: `fo${i}` },
        },
        {
          eventId: `fresh-b${i}`,
          type: 'purchase',
          itemId: 'shoe-3',
          userId: `f${i}`,
          ts: new Date(now).toISOString(),
          meta: { orderId: `fo${i}` },
        },
      ]),
    });
    await vi.waitFor(
      async () =>
        expect(ids(await shop.browser.recs.similar.query({ itemId: 'hat-1', k: 3 }))[0]).toBe('shoe-3'),
      { timeout: 240_000, interval: 50 },
    );
  });

  it('keeps a second replica on the same database in step', async () => {
    const replica = await startTestServer(database, { engine: { encoder: null, pollIntervalMs: 500 } });
    try {
      const { createClient } = await import('../testing');
      const viaReplica = createClient(replica.url, shop.secretKey);
      await shop.admin.events.batch.mutate({
        events: [0, 1, 2].map((i) => ({
          eventId: `replica-${i}`,
          type: 'view',
          itemId: 'shirt-1',
          anonymousId: 'replica-visitor',
          ts: new Date().toISOString(),
        })),
      });
      await vi.waitFor(
        async () =>
          expect(
            ids(await viaReplica.recs.recentlyViewed.query({ anonymousId: 'replica-visitor', k: 3 })),
          ).toEqual(['shirt-1']),
        { timeout: 240_000, interval: 50 },
      );
    } finally {
      await replica.close();
    }
  });

  it('merges an anonymous history into the user after login for personal lists', async () => {
    await shop.browser.events.batch.mutate({
      events: [
        {
          eventId: 'anon-hist-1',
          type: 'view',
          itemId: 'tie-1',
          anonymousId: 'pre-login',
          ts: new Date().toISOString(),
        },
      ],
    });
    await shop.browserAs('new-user').users.alias.mutate({ anonymousId: 'pre-login', userId: 'new-user' });
    await stack.engines!.catchUp();
    expect(
      ids(await shop.browserAs('new-user').recs.recentlyViewed.query({ userId: 'new-user', k: 3 })),
    ).toEqual(['tie-1']);
  });

  it('drops a forgotten user from personal lists in every process', async () => {
    await shop.admin.users.forget.mutate({ userId: 'u5' });
    await stack.engines!.catchUp();
    expect(ids(await shop.browserAs('u5').recs.recentlyViewed.query({ userId: 'u5', k: 5 }))).toEqual([]);
    expect(ids(await shop.browserAs('u5').recs.buyAgain.query({ userId: 'u5', k: 5 }))).not.toContain(
      'shirt-1',
    );
  });
});
