import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../db/client';
import { createLogger } from '../obs/logger';
import type { EngineHost } from '../replicate/EngineHost';
import { startRecsys } from '../start';
import {
  createClient,
  createTcpProxy,
  createTestTenant,
  getTestDatabaseTargets,
  startTestServer,
  type TestTenant,
} from '../testing';
import type { RecLogWriter } from './RecLogWriter';
import type { ResponseCacheOptions } from './ResponseCache';

const REDIS_URL = 'redis://127.0.0.1:6379';
const HOUR = 3_600_000;
const at = (m: number) => new Date(Date.now() - 24 * HOUR + m * 60_000).toISOString();

/** Four items sold 8, 6, 4, 2 times: trending ranks them p1…p4; `fresh` is new and unsold. */
const items = [
  ...[1, 2, 3, 4].map((n) => ({ itemId: `p${n}`, title: `Product ${n}`, price: 10 * n, currency: 'EUR' })),
  { itemId: 'fresh', title: 'New arrival', price: 99, currency: 'EUR' },
];
const purchases = [1, 2, 3, 4].flatMap((n) =>
  Array.from({ length: 10 - 2 * n }, (_, i) => ({
    eventId: `buy-${n}-${i}`,
    type: 'purchase' as const,
    itemId: `p${n}`,
    userId: `u-${n}-${i}`,
    ts: at(n * 20 + i),
  })),
);
// No diversity: the list follows the scores, so what changes it is what the test changed.
const trending = { k: 4, overrides: { diversity: { lambda: 1 } } };
const view = (eventId: string, itemId: string, anonymousId: string) => ({
  eventId,
  type: 'view' as const,
  itemId,
  anonymousId,
  ts: new Date().toISOString(),
});
const ids = (list: { items: Array<{ itemId: string }> }) => list.items.map((i) => i.itemId);

/** The cache counters of a namespace on a server's /metrics. */
async function counted(url: string, namespaceId: string) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const read = (name: string) =>
    Number(new RegExp(`^${name}\\{namespace="${namespaceId}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
  return { hits: read('recsys_recs_cache_hits_total'), misses: read('recsys_recs_cache_misses_total') };
}

/** A running server as these tests use it, on one thread or with HTTP on a thread of its own. */
interface Stack {
  url: string;
  engines: EngineHost | undefined;
  /** The served-list log, when it runs on the test's thread. */
  recLog: RecLogWriter | undefined;
  tenant(namespaceId: string): Promise<TestTenant>;
  close(): Promise<void>;
}

/**
 * As `recsys serve` runs on PostgreSQL: HTTP on a thread of its own, which keeps the lists the
 * engine thread's cache answered near it (see NearCache).
 */
async function startThreaded(database: Database, cache: ResponseCacheOptions): Promise<Stack> {
  const running = await startRecsys({
    databaseUrl: (database as { url?: string }).url!,
    port: 0,
    httpThread: true,
    jobs: false,
    rateLimits: false,
    embeddings: { kind: 'off' },
    logger: createLogger({ level: 'silent' }),
    recsCache: cache,
  });
  return {
    url: running.url,
    engines: running.engines,
    recLog: undefined,
    tenant: (namespaceId) => createTestTenant(running.database, running.url, namespaceId),
    close: running.close,
  };
}

async function startShop(
  database: Database,
  namespaceId: string,
  cache: ResponseCacheOptions,
  threaded = false,
) {
  const stack: Stack = threaded
    ? await startThreaded(database, cache)
    : await startTestServer(database, { engine: { encoder: null, cache } });
  const shop = await stack.tenant(namespaceId);
  await shop.admin.items.upsert.mutate({ items });
  await shop.admin.events.batch.mutate({ events: purchases });
  await stack.engines!.catchUp();
  return { stack, shop };
}

/** Counter changes across `run`. */
async function delta(stack: Stack, namespaceId: string, run: () => Promise<unknown>) {
  const before = await counted(stack.url, namespaceId);
  await run();
  const after = await counted(stack.url, namespaceId);
  return { hits: after.hits - before.hits, misses: after.misses - before.misses };
}

describe.each(getTestDatabaseTargets())('the response cache of recs.* lists on $name', (target) => {
  let database: Database & { drop(): Promise<void> };
  beforeAll(async () => {
    database = await target.open();
  });
  afterAll(async () => {
    await database?.drop();
  });

  describe.each([
    { mode: 'one thread', threaded: false },
    { mode: 'an HTTP thread kept near', threaded: true },
  ])('in memory, served from $mode', ({ threaded }) => {
    const ns = threaded ? 'cache-near' : 'cache-memory';
    let stack: Stack;
    let shop: TestTenant;
    // The HTTP thread needs PostgreSQL (the embedded database lives in one thread).
    const skip = threaded && target.name !== 'postgres';
    beforeAll(async () => {
      if (skip) return;
      // A TTL far longer than the test: every miss below comes from a change, none from expiry.
      ({ stack, shop } = await startShop(database, ns, { ttlMs: 600_000 }, threaded));
    });
    afterAll(async () => {
      await stack?.close();
    });

    it.skipIf(skip)(
      'answers a second identical request from the cache as a list of its own: a new requestId, logged, counted as a hit',
      async () => {
        const query = { userId: 'u-1-0', k: 3 };
        let first: Awaited<ReturnType<typeof shop.admin.recs.forUser.query>> | undefined;
        let second: typeof first;
        const counts = await delta(stack, ns, async () => {
          first = await shop.admin.recs.forUser.query(query);
          second = await shop.admin.recs.forUser.query(query);
        });
        expect(counts).toEqual({ hits: 1, misses: 1 });
        // Changes are counted in shared memory only for an HTTP thread that keeps lists near it.
        expect(stack.engines!.nearCache !== undefined).toBe(threaded);
        expect(second!.items).toEqual(first!.items);
        expect(second!.requestId).not.toBe(first!.requestId);
        // The HTTP thread's log is flushed by its own timer: waited for, not forced.
        await stack.recLog?.flush();
        const logged = async () =>
          (
            await database.query<{ request_id: string }>(
              'SELECT request_id FROM rec_logs WHERE namespace_id = $1 AND request_id = ANY($2)',
              [ns, [first!.requestId, second!.requestId]],
            )
          )
            .map((r) => r.request_id)
            .sort();
        await expect.poll(logged, { timeout: 240_000 }).toEqual([first!.requestId, second!.requestId].sort());
      },
    );

    it.skipIf(skip)(
      "an event of that visitor makes their next list a miss with the event in it, while another visitor's stays a hit",
      async () => {
        await shop.admin.events.batch.mutate({
          events: [view('v1-a', 'p1', 'visitor-1'), view('v2-a', 'p2', 'visitor-2')],
        });
        await stack.engines!.catchUp();
        const recent = (anonymousId: string) => shop.admin.recs.recentlyViewed.query({ anonymousId, k: 5 });
        await recent('visitor-1');
        await recent('visitor-2');
        expect(await delta(stack, ns, () => recent('visitor-1'))).toEqual({ hits: 1, misses: 0 });

        await shop.admin.events.batch.mutate({ events: [view('v1-b', 'p3', 'visitor-1')] });
        await stack.engines!.catchUp();
        let list: Awaited<ReturnType<typeof recent>> | undefined;
        expect(
          await delta(stack, ns, async () => {
            list = await recent('visitor-1');
          }),
        ).toEqual({ hits: 0, misses: 1 });
        expect(ids(list!)).toEqual(['p3', 'p1']);
        expect(await delta(stack, ns, () => recent('visitor-2'))).toEqual({ hits: 1, misses: 0 });
      },
    );

    it.skipIf(skip)(
      'a rule change and a manual override each make the next list a miss with the rule applied',
      async () => {
        const top = () => shop.admin.recs.trending.query(trending);
        expect(ids(await top())).toEqual(['p1', 'p2', 'p3', 'p4']);
        expect(await delta(stack, ns, top)).toEqual({ hits: 1, misses: 0 });

        // The rule procedures wait until the engine on their thread has the change; the engine thread
        // is waited for here.
        await shop.admin.admin.rules.create.mutate({
          rule: { id: 'hero', kind: 'pin', items: { itemIds: ['fresh'] }, slot: 0 },
        });
        await stack.engines!.catchUp();
        let list: Awaited<ReturnType<typeof top>> | undefined;
        expect(
          await delta(stack, ns, async () => {
            list = await top();
          }),
        ).toEqual({ hits: 0, misses: 1 });
        expect(ids(list!)).toEqual(['fresh', 'p1', 'p2', 'p3']);

        await shop.admin.admin.overrides.add.mutate({
          kind: 'block',
          itemIds: ['p1'],
          hours: 1,
          reason: 'recalled',
        });
        await stack.engines!.catchUp();
        expect(
          await delta(stack, ns, async () => {
            list = await top();
          }),
        ).toEqual({ hits: 0, misses: 1 });
        expect(ids(list!)).toEqual(['fresh', 'p2', 'p3', 'p4']);
        await shop.admin.admin.rules.remove.mutate({ ruleId: 'hero' });
      },
    );

    it.skipIf(skip)(
      'an item change makes the next list a miss with the new price, and an item out of stock leaves it',
      async () => {
        const ns2 = threaded ? 'cache-items-near' : 'cache-items';
        const other = await stack.tenant(ns2);
        await other.admin.items.upsert.mutate({ items });
        await other.admin.events.batch.mutate({ events: purchases });
        await stack.engines!.catchUp();
        const top = () => other.admin.recs.trending.query(trending);
        expect((await top()).items[0]).toMatchObject({ itemId: 'p1', price: 10 });
        expect(await delta(stack, ns2, top)).toEqual({ hits: 1, misses: 0 });

        await other.admin.items.upsert.mutate({ items: [{ ...items[0]!, price: 12 }] });
        await stack.engines!.catchUp();
        let list: Awaited<ReturnType<typeof top>> | undefined;
        expect(
          await delta(stack, ns2, async () => {
            list = await top();
          }),
        ).toEqual({ hits: 0, misses: 1 });
        expect(list!.items[0]).toMatchObject({ itemId: 'p1', price: 12 });

        await other.admin.items.upsert.mutate({ items: [{ ...items[1]!, available: false }] });
        await stack.engines!.catchUp();
        expect(ids(await top())).toEqual(['p1', 'p3', 'p4']);
      },
    );

    it.skipIf(skip)('a configuration switch makes the next list a miss', async () => {
      const top = () => shop.admin.recs.trending.query({ k: 3 });
      await top();
      expect(await delta(stack, ns, top)).toEqual({ hits: 1, misses: 0 });
      await shop.admin.admin.config.save.mutate({
        config: { diversity: { maxPerBrand: 1 } },
        activate: true,
      });
      await stack.engines!.catchUp();
      expect(await delta(stack, ns, top)).toEqual({ hits: 0, misses: 1 });
      expect(await delta(stack, ns, top)).toEqual({ hits: 1, misses: 0 });
    });

    it.skipIf(skip)(
      "a login makes the anonymous visitor's next list a miss, made from the account's history",
      async () => {
        await shop.admin.events.batch.mutate({
          events: [
            view('v7-a', 'p4', 'visitor-7'),
            { eventId: 'm7-a', type: 'view', itemId: 'p2', userId: 'member-7', ts: new Date().toISOString() },
          ],
        });
        await stack.engines!.catchUp();
        const recent = () => shop.admin.recs.recentlyViewed.query({ anonymousId: 'visitor-7', k: 5 });
        expect(ids(await recent())).toEqual(['p4']);
        expect(await delta(stack, ns, recent)).toEqual({ hits: 1, misses: 0 });

        await shop.admin.users.alias.mutate({ anonymousId: 'visitor-7', userId: 'member-7' });
        await stack.engines!.catchUp();
        let list: Awaited<ReturnType<typeof recent>> | undefined;
        expect(
          await delta(stack, ns, async () => {
            list = await recent();
          }),
        ).toEqual({ hits: 0, misses: 1 });
        expect(ids(list!)).toContain('p2');
      },
    );

    it.skipIf(skip)(
      'a scheduled rule is in the first list asked for after it starts, though the TTL runs on',
      async () => {
        const query = { ...trending, k: 3 };
        const top = () => shop.admin.recs.trending.query(query);
        const startsAt = Date.now() + 4_000;
        await shop.admin.admin.rules.create.mutate({
          rule: {
            id: 'soon',
            kind: 'pin',
            items: { itemIds: ['fresh'] },
            slot: 0,
            schedule: { start: new Date(startsAt).toISOString() },
          },
        });
        await stack.engines!.catchUp();
        // Kept (on the HTTP thread too) before the start, unless this machine was slower than 4 s.
        const before = await top();
        if (Date.now() < startsAt) expect(ids(before)).not.toContain('fresh');
        await top();
        await expect.poll(async () => ids(await top())[0], { timeout: 240_000, interval: 200 }).toBe('fresh');
        await shop.admin.admin.rules.remove.mutate({ ruleId: 'soon' });
        await stack.engines!.catchUp();
      },
    );

    it.skipIf(skip)(
      'explain and the x-recsys-trace header bypass the cache: ranked every time, counted in neither',
      async () => {
        const explained = await delta(stack, ns, async () => {
          for (let i = 0; i < 2; i++) {
            const list = await shop.admin.recs.trending.query({ ...trending, explain: true });
            expect(list.items[0]!.reasons!.length).toBeGreaterThan(0);
          }
        });
        expect(explained).toEqual({ hits: 0, misses: 0 });
        const traced = await delta(stack, ns, async () => {
          for (let i = 0; i < 2; i++) {
            const res = await fetch(
              `${stack.url}/trpc/recs.trending?input=${encodeURIComponent(JSON.stringify(trending))}`,
              { headers: { authorization: `Bearer ${shop.secretKey}`, 'x-recsys-trace': '1' } },
            );
            expect(res.status).toBe(200);
          }
        });
        expect(traced).toEqual({ hits: 0, misses: 0 });
      },
    );
  });

  describe('in Redis', () => {
    const redis = new Redis(REDIS_URL, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    /** A key prefix of this run's own: nothing another test or run stored is read. */
    const keyPrefix = `recsys-test:${randomBytes(4).toString('hex')}:`;
    const stacks: Stack[] = [];
    beforeAll(async () => {
      await redis.connect().catch((error: Error) => {
        throw new Error(
          `Redis unreachable at ${REDIS_URL} (${error.message}): the shared-cache tests need it.`,
        );
      });
    });
    afterAll(async () => {
      for (const stack of stacks) await stack.close();
      const keys = await redis.keys(`${keyPrefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    });

    it('two replicas share their lists, and an event taken by one makes the next list a miss on the first to ask, then a hit on the other', async () => {
      const ns = 'cache-shared';
      // A generous command timeout: on a loaded test machine a reply can take more than the default.
      const cache = { ttlMs: 600_000, redisUrl: REDIS_URL, keyPrefix, redisTimeoutMs: 2_000 };
      // A second replica on the same database and Redis, running before the shop's data arrives (one
      // that has just loaded a namespace shares its lists only after TTL + 1 min: see ChangeVersions).
      const two = await startTestServer(database, { engine: { encoder: null, cache } });
      stacks.push(two);
      const one = await startShop(database, ns, cache);
      stacks.push(one.stack);
      await two.engines!.catchUp();
      const shopOnTwo = createClient(two.url, one.shop.secretKey);

      const query = { anonymousId: 'visitor-9', k: 5 };
      await one.shop.admin.events.batch.mutate({ events: [view('v9-a', 'p4', 'visitor-9')] });
      await Promise.all([one.stack.engines!.catchUp(), two.engines!.catchUp()]);
      const ranked = await one.shop.admin.recs.recentlyViewed.query(query);
      expect(ids(ranked)).toEqual(['p4']);
      let shared: typeof ranked | undefined;
      expect(
        await delta(two, ns, async () => {
          shared = await shopOnTwo.recs.recentlyViewed.query(query);
        }),
      ).toEqual({ hits: 1, misses: 0 });
      expect(shared!.items).toEqual(ranked.items);
      expect(shared!.requestId).not.toBe(ranked.requestId);
      expect((await redis.keys(`${keyPrefix}${ns}:*`)).length).toBeGreaterThan(0);

      // Taken by replica two; each replica applies it at its poll, and only then moves the version.
      await shopOnTwo.events.batch.mutate({ events: [view('v9-b', 'p2', 'visitor-9')] });
      await Promise.all([one.stack.engines!.catchUp(), two.engines!.catchUp()]);
      let fresh: typeof ranked | undefined;
      expect(
        await delta(one.stack, ns, async () => {
          fresh = await one.shop.admin.recs.recentlyViewed.query(query);
        }),
      ).toEqual({ hits: 0, misses: 1 });
      expect(ids(fresh!)).toEqual(['p2', 'p4']);
      expect(
        await delta(two, ns, async () => {
          shared = await shopOnTwo.recs.recentlyViewed.query(query);
        }),
      ).toEqual({ hits: 1, misses: 0 });
      expect(ids(shared!)).toEqual(['p2', 'p4']);
    });

    it('keeps serving while Redis is unreachable, from the engines and its own memory, and shares again once it is back', async () => {
      const ns = 'cache-outage';
      const proxy = await createTcpProxy({ target: { host: '127.0.0.1', port: 6379 } });
      try {
        const { stack, shop } = await startShop(database, ns, {
          ttlMs: 600_000,
          redisUrl: `redis://${proxy.host}:${proxy.port}`,
          keyPrefix,
        });
        stacks.push(stack);
        const top = (k: number) => shop.admin.recs.trending.query({ ...trending, k });
        expect(ids(await top(4))).toEqual(['p1', 'p2', 'p3', 'p4']);

        await proxy.refuse();
        proxy.cutAll();
        const started = performance.now();
        expect(
          await delta(stack, ns, async () => expect(ids(await top(3))).toEqual(['p1', 'p2', 'p3'])),
        ).toEqual({
          hits: 0,
          misses: 1,
        });
        expect(
          await delta(stack, ns, async () => expect(ids(await top(3))).toEqual(['p1', 'p2', 'p3'])),
        ).toEqual({
          hits: 1,
          misses: 0,
        });
        // Without Redis nothing waits for it: no connection, no command timeout.
        expect(performance.now() - started).toBeLessThan(2_000);

        await proxy.accept();
        // The client reconnects by itself; a list ranked then is stored in Redis again.
        let k = 4;
        await expect
          .poll(
            async () => {
              k = k >= 50 ? 5 : k + 1; // a list not in memory yet
              await top(k);
              return (await redis.keys(`${keyPrefix}${ns}:*`)).length;
            },
            { timeout: 240_000, interval: 200 },
          )
          .toBeGreaterThan(1);
      } finally {
        await proxy.close();
      }
    });
  });
});
