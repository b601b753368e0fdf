import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../db/client';
import { failure, getTestDatabaseTargets, startTestServer, type TestTenant } from '../testing';

const now = Date.now();
const at = (minutesAgo: number) => new Date(now - minutesAgo * 60_000).toISOString();

/**
 * A tent shop selling in several countries: the stove only in Germany and the US (in dollars
 * there), the lantern everywhere but unavailable in France, the rest everywhere at their own price.
 * Shoppers view and buy the tent with each of the others.
 */
const catalog = [
  { itemId: 'tent', title: 'Tent', price: 200, currency: 'EUR', category: 'camping' },
  {
    itemId: 'stove',
    title: 'Stove',
    price: 50,
    currency: 'EUR',
    category: 'camping',
    markets: { de: { price: 55 }, US: { price: 60, currency: 'usd' } },
  },
  {
    itemId: 'lantern',
    title: 'Lantern',
    price: 20,
    currency: 'EUR',
    category: 'camping',
    markets: { DE: {}, FR: { available: false }, US: {} },
  },
  { itemId: 'mat', title: 'Mat', price: 30, currency: 'EUR', category: 'camping' },
];

function seedEvents() {
  const events: Array<Record<string, unknown>> = [];
  for (let u = 0; u < 6; u++) {
    for (const [i, itemId] of ['tent', 'stove', 'lantern', 'mat'].entries()) {
      for (const type of ['view', 'add', 'purchase'] as const) {
        events.push({
          eventId: `m-${u}-${itemId}-${type}`,
          type,
          itemId,
          userId: `m${u}`,
          sessionId: `m${u}-s`,
          ts: at(300 - i),
          ...(type === 'purchase' ? { meta: { orderId: `o-${u}` } } : {}),
        });
      }
    }
  }
  return events;
}

const ids = (list: { items: Array<{ itemId: string }> }) => list.items.map((i) => i.itemId);

describe.each(getTestDatabaseTargets())('markets on $name', (target) => {
  let database: Database & { drop(): Promise<void> };
  let stack: Awaited<ReturnType<typeof startTestServer>>;
  let shop: TestTenant;

  beforeAll(async () => {
    database = await target.open();
    stack = await startTestServer(database, { engine: { encoder: null, pollIntervalMs: 100 } });
    shop = await stack.tenant('markets');
    const stored = await shop.admin.items.upsert.mutate({ items: catalog });
    expect(stored).toEqual({ upserted: 4, rejected: [] });
    await shop.admin.events.batch.mutate({ events: seedEvents() });
    await stack.engines!.catchUp();
  });
  afterAll(async () => {
    await stack?.close();
    await database?.drop();
  });

  /** Every list a shopper in `country` can be shown, as the user m0 (who viewed and bought everything). */
  async function everyList(country: string | undefined) {
    const api = shop.admin.recs;
    const who = { userId: 'm0', k: 10, ...(country ? { country } : {}) };
    const lists = {
      forUser: await api.forUser.query(who),
      similar: await api.similar.query({ ...who, itemId: 'tent' }),
      cart: await api.cart.query({ ...who, itemIds: ['tent'] }),
      buyAgain: await api.buyAgain.query(who),
      trending: await api.trending.query(who),
      recentlyViewed: await api.recentlyViewed.query(who),
      bundle: await api.bundle.query({
        userId: 'm0',
        itemId: 'tent',
        maxItems: 4,
        ...(country ? { country } : {}),
      }),
      group: await api.group.query({
        members: [{ userId: 'm0' }, { userId: 'm1' }],
        k: 10,
        ...(country ? { country } : {}),
      }),
      rerank: await api.rerank.query({
        userId: 'm0',
        itemIds: ['mat', 'lantern', 'stove'],
        ...(country ? { country } : {}),
      }),
    };
    return lists;
  }

  it('stores markets with upper-case country codes and shows them on items.get', async () => {
    const [stove] = await shop.admin.items.get.query({ itemIds: ['stove'] });
    expect(stove!.markets).toEqual({
      DE: { available: true, price: 55 },
      US: { available: true, price: 60, currency: 'USD' },
    });
    const [mat] = await shop.admin.items.get.query({ itemIds: ['mat'] });
    expect(mat!.markets).toBeNull();
  });

  it('rejects a malformed market alone, saying where and what to send', async () => {
    const res = await shop.admin.items.upsert.mutate({
      items: [
        { itemId: 'x1', markets: { XX: {} } },
        { itemId: 'x2', markets: {} },
        { itemId: 'x3', markets: { DE: { price: -1 } } },
        { itemId: 'x4', markets: { DE: {}, de: {} } },
        { itemId: 'x5', markets: { DE: { available: true, stock: 3 } } },
        { itemId: 'ok', markets: { GB: { price: 9, currency: 'GBP' } } },
      ],
    });
    expect(res.upserted).toBe(1);
    expect(res.rejected.map((r) => [r.index, r.path])).toEqual([
      [0, 'markets.XX'],
      [1, 'markets'],
      [2, 'markets.DE.price'],
      [3, 'markets.de'],
      [4, 'markets.DE'],
    ]);
    expect(res.rejected[0]!.message).toMatch(/ISO 3166-1 alpha-2/);
    expect(res.rejected[1]!.message).toMatch(/send null to sell the item everywhere/);
  });

  it('never shows, on any list, an item not sold or unavailable in the request country', async () => {
    for (const [country, hidden] of [
      ['FR', ['stove', 'lantern']],
      ['GB', ['stove', 'lantern']],
      ['DE', []],
    ] as const) {
      const lists = await everyList(country);
      for (const [surface, list] of Object.entries(lists)) {
        for (const id of hidden) expect(ids(list), `${country} ${surface}`).not.toContain(id);
      }
      // Each list still has something to show there.
      expect(ids(lists.similar).length, country).toBeGreaterThan(0);
      expect(lists.rerank.removed.map((r) => [r.itemId, r.reason])).toEqual(
        hidden.map((id) => [id, 'not-sold-in-country']).reverse(),
      );
    }
    // Without a country every market counts: the stove is listed.
    expect(ids((await everyList(undefined)).similar)).toContain('stove');
  });

  it("shows the market's price and currency in every list's display fields", async () => {
    const us = await everyList('us');
    // Lists that must hold the stove for m0 (who viewed and bought it); the others may.
    for (const surface of ['similar', 'buyAgain', 'recentlyViewed', 'trending', 'rerank'] as const) {
      expect(ids(us[surface]), surface).toContain('stove');
    }
    for (const [surface, list] of Object.entries(us)) {
      const stove = list.items.find((i) => i.itemId === 'stove');
      if (stove) expect(stove, surface).toMatchObject({ price: 60, currency: 'USD' });
      // The mat has no market prices: its own.
      const mat = list.items.find((i) => i.itemId === 'mat');
      if (mat) expect(mat, surface).toMatchObject({ price: 30, currency: 'EUR' });
    }
    const de = await shop.admin.recs.similar.query({ itemId: 'tent', k: 10, country: 'DE' });
    expect(de.items.find((i) => i.itemId === 'stove')).toMatchObject({ price: 55, currency: 'EUR' });
    // A bundle totals the market's prices: in Germany 200 + 55 (+ lantern 20, mat 30 when chosen).
    const bundle = await shop.admin.recs.bundle.query({ itemId: 'tent', maxItems: 2, country: 'DE' });
    const partner = bundle.items[1]!;
    expect(bundle.price?.total).toBe(200 + (partner.itemId === 'stove' ? 55 : partner.price!));
  });

  it('filters by price in the market', async () => {
    // The stove is 50 EUR by default but 55 in Germany.
    const base = await shop.admin.recs.similar.query({
      itemId: 'tent',
      k: 10,
      filters: { priceBetween: [null, 52] },
    });
    expect(ids(base)).toContain('stove');
    const de = await shop.admin.recs.similar.query({
      itemId: 'tent',
      k: 10,
      country: 'DE',
      filters: { priceBetween: [null, 52] },
    });
    expect(ids(de)).not.toContain('stove');
  });

  it('refuses a country that is not an ISO 3166-1 alpha-2 code with a 400, on every surface', async () => {
    const api = shop.browser.recs;
    for (const country of ['XX', 'DEU', 'd', '', '12']) {
      for (const call of [
        api.forUser.query({ anonymousId: 'a', country }),
        api.similar.query({ itemId: 'tent', country }),
        api.bundle.query({ itemId: 'tent', country }),
        api.group.query({ members: [{ anonymousId: 'a' }, { anonymousId: 'b' }], country }),
        api.rerank.query({ itemIds: ['tent'], country }),
      ]) {
        const got = await failure(call);
        expect(got.status, country).toBe(400);
        expect(got.message, country).toMatch(/country.*ISO 3166-1 alpha-2/);
      }
    }
  });

  it('sells an item everywhere again once its markets are cleared with null', async () => {
    await shop.admin.items.upsert.mutate({ items: [{ itemId: 'lantern', markets: null }] });
    await stack.engines!.catchUp();
    const fr = await shop.admin.recs.similar.query({ itemId: 'tent', k: 10, country: 'FR' });
    expect(ids(fr)).toContain('lantern');
    const [lantern] = await shop.admin.items.get.query({ itemIds: ['lantern'] });
    expect(lantern!.markets).toBeNull();
    // A partial update that leaves markets out keeps them.
    await shop.admin.items.upsert.mutate({ items: [{ itemId: 'stove', price: 51 }] });
    const [stove] = await shop.admin.items.get.query({ itemIds: ['stove'] });
    expect(Object.keys(stove!.markets!)).toEqual(['DE', 'US']);
  });
});
