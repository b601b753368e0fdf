import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNamespace } from '../auth/namespaces';
import type { Database } from '../db/client';
import { getTestDatabaseTargets, startTestServer, TEST_ORIGIN, type TestTenant } from '../testing';

/**
 * The GET fast path must be indistinguishable from tRPC's adapter: the same requests go to a
 * server with it and one without, over one database, and the answers are compared.
 */
describe.each(getTestDatabaseTargets())('GET queries answered without the adapter on $name', (target) => {
  let database: Database & { drop(): Promise<void> };
  let fast: Awaited<ReturnType<typeof startTestServer>>;
  let adapter: Awaited<ReturnType<typeof startTestServer>>;
  let shop: TestTenant;

  beforeAll(async () => {
    database = await target.open();
    fast = await startTestServer(database, { engine: { encoder: null } });
    adapter = await startTestServer(database, { engine: { encoder: null }, fastQueries: false });
    shop = await fast.tenant('fast-shop');
    await shop.admin.items.upsert.mutate({
      items: ['a', 'b', 'c', 'd'].map((id, i) => ({ itemId: id, title: `Item ${id}`, price: 10 + i })),
    });
    await shop.admin.events.batch.mutate({
      events: ['a', 'b', 'c', 'a', 'b', 'd'].map((itemId, i) => ({
        eventId: `e-${i}`,
        type: 'view',
        itemId,
        anonymousId: `anon-${i % 2}`,
        ts: new Date(Date.now() - (10 - i) * 60_000).toISOString(),
      })),
    });
    await Promise.all([fast.engines!.catchUp(), adapter.engines!.catchUp()]);
  });
  afterAll(async () => {
    await fast?.close();
    await adapter?.close();
    await database?.drop();
  });

  async function both(path: string, key: string | null = shop.publishableKey, method = 'GET') {
    const headers: Record<string, string> = { origin: TEST_ORIGIN, 'x-request-id': 'same-request' };
    if (key) headers.authorization = `Bearer ${key}`;
    const get = async (url: string) => {
      const res = await fetch(`${url}/trpc/${path}`, { method, headers });
      const text = await res.text();
      return {
        status: res.status,
        contentType: res.headers.get('content-type'),
        vary: res.headers.get('vary'),
        length: res.headers.get('content-length'),
        // Each served list gets a fresh id, and scores decay between the two calls.
        body: text
          .replace(/"requestId":"[0-9a-f-]{36}"/g, '"requestId":"<served list>"')
          .replace(/-?\d+\.\d{7,}/g, (n) => String(Number(Number(n).toFixed(6)))),
        raw: text,
      };
    };
    return { fast: await get(fast.url), adapter: await get(adapter.url) };
  }
  const q = (input: unknown) => `input=${encodeURIComponent(JSON.stringify(input))}`;

  it.each([
    ['a single recommendation query', `recs.similar?${q({ itemId: 'a', k: 3, explain: true })}`],
    ['a query without input', `recs.trending`],
    [
      'a batch of queries',
      `recs.trending,recs.forUser?batch=1&${q({ 0: { k: 2 }, 1: { anonymousId: 'anon-0', k: 2 } })}`,
    ],
    ['invalid input', `recs.forUser?${q({ anonymousId: 'anon-0', k: 0 })}`],
    ['a batch where one call fails', `recs.trending,recs.similar?batch=1&${q({ 0: { k: 2 }, 1: { k: 2 } })}`],
  ])('answers %s exactly as the adapter does', async (_, path) => {
    const { fast: f, adapter: a } = await both(path);
    expect(f.status).toBe(a.status);
    expect(f.contentType).toBe(a.contentType);
    expect(f.vary).toBe(a.vary);
    expect(f.body).toBe(a.body);
    // A complete body with its length: proof the fast path answered (the adapter streams).
    expect(f.length).toBe(String(Buffer.byteLength(f.raw)));
    expect(a.length).toBeNull();
  });

  it('answers a missing or wrong key exactly as the adapter does', async () => {
    for (const key of [null, 'pk_nope_0000000000000000_000000000000000000000000000000000000000000000000']) {
      const { fast: f, adapter: a } = await both(`recs.trending?${q({ k: 2 })}`, key);
      expect(f.status).toBe(a.status);
      expect({ key, status: f.status }).toEqual({ key, status: 401 });
      expect(f.body).toBe(a.body);
    }
  });

  it('leaves everything else to the adapter', async () => {
    await createNamespace(database, 'unused');
    for (const [path, method] of [
      [`items.upsert?${q({ items: [] })}`, 'GET'],
      [`recs.nothing?${q({})}`, 'GET'],
      ['recs.trending?input=%7Bnot-json', 'GET'],
      ['constructor', 'GET'],
      [`__proto__?${q({})}`, 'GET'],
      [`recs.trending?${q({ k: 2 })}&extra=1`, 'GET'],
      [`recs.trending?${q({ k: 2 })}`, 'HEAD'],
    ] as const) {
      const { fast: f, adapter: a } = await both(path, shop.secretKey, method);
      expect({ path, status: f.status, body: f.body }).toEqual({ path, status: a.status, body: a.body });
      expect(f.length).toBe(a.length);
    }
  });
});
