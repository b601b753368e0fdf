import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { TRPCClientError } from '@trpc/client';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createNamespace } from '../auth/namespaces';
import { updateNamespaceRateLimits } from '../auth/rateLimitSettings';
import { addOperator } from '../console/operators';
import { type Database, openDatabase } from '../db/client';
import { createLogger } from '../obs/logger';
import { createClient, startTestServer, TEST_ORIGIN } from '../testing';
import { createRateLimiter, type RateLimitOptions } from './rateLimiter';
import { createRecsysServer, type RecsysServer } from './server';

const REDIS_URL = 'redis://127.0.0.1:6379';
const HOUR = 3600;
// Windows of an hour: nothing refills while a test runs, however slow the machine.
const hourly = (points: number) => ({ points, duration: HOUR });

type Started = Awaited<ReturnType<typeof startTestServer>>;

/** `POST /v1/collect` with an empty batch, from the test origin (and a forwarded address, if given). */
function collect(url: string, key: string, forwardedFor?: string) {
  return fetch(`${url}/v1/collect?key=${key}`, {
    method: 'POST',
    headers: {
      origin: TEST_ORIGIN,
      'content-type': 'text/plain',
      ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}),
    },
    body: '{"events":[]}',
  });
}

const oneEvent = () => ({
  eventId: randomUUID(),
  type: 'view' as const,
  itemId: 'sku-1',
  anonymousId: 'anon-1',
  ts: new Date().toISOString(),
});

/** `events.batch` over tRPC with one event and the key as bearer token. */
function batch(url: string, key: string, headers: Record<string, string> = {}) {
  return fetch(`${url}/trpc/events.batch`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ events: [oneEvent()] }),
  });
}

async function statuses(send: () => Promise<Response>, count: number) {
  const seen: number[] = [];
  for (let i = 0; i < count; i++) seen.push((await send()).status);
  return seen;
}

const randomKey = (ns: string) =>
  `pk_${ns}_${randomBytes(8).toString('hex')}_${randomBytes(24).toString('hex')}`;

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const { port } = probe.address() as { port: number };
  await new Promise((r) => probe.close(r));
  return port;
}

describe('rate limits', () => {
  let database: Database;
  const servers: Array<Started | RecsysServer> = [];
  const prefixes: string[] = [];
  const redis = new Redis(REDIS_URL, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });

  beforeAll(async () => {
    await redis.connect().catch((error: Error) => {
      throw new Error(
        `Redis unreachable at ${REDIS_URL} (${error.message}): the shared-limit tests need it.`,
      );
    });
    database = await openDatabase({ dataDir: 'memory://' });
    await database.migrate();
  });
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.close();
  });
  afterAll(async () => {
    for (const prefix of prefixes) {
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
    }
    redis.disconnect();
    await database.close();
  });

  async function start(rateLimits: RateLimitOptions) {
    const started = await startTestServer(database, { rateLimits });
    servers.push(started);
    return started;
  }
  /** A Redis key prefix of this test only. */
  function redisPrefix() {
    const prefix = `recsys-test:${randomUUID()}`;
    prefixes.push(prefix);
    return prefix;
  }

  it('counts failed console sign-ins of every replica together through Redis, so spreading guesses over replicas gains nothing', async () => {
    await createNamespace(database, 'rl-console');
    const password = 'correct horse battery';
    await addOperator(database, 'rl-console', { name: 'ana@shop.test', role: 'viewer', password });
    const signIn = (url: string, guess: string) =>
      fetch(`${url}/admin/api/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: new URL(url).origin },
        body: JSON.stringify({ namespace: 'rl-console', name: 'ana@shop.test', password: guess }),
      });
    // Two replicas, four wrong guesses spread over them, four allowed: in memory each replica counts
    // its own two and still lets the right password in; through Redis they count four together.
    for (const shared of [false, true]) {
      const rateLimits: RateLimitOptions = shared ? { redisUrl: REDIS_URL, keyPrefix: redisPrefix() } : {};
      const replicas = [];
      for (let i = 0; i < 2; i++) {
        const started = await startTestServer(database, { rateLimits, console: { signInAttempts: 4 } });
        servers.push(started);
        replicas.push(started.url);
      }
      const [a, b] = replicas as [string, string];
      for (const url of [a, b, a, b]) expect((await signIn(url, 'a guess')).status).toBe(401);
      const right = await signIn(b, password);
      expect(right.status).toBe(shared ? 429 : 200);
      if (shared) {
        expect(Number(right.headers.get('retry-after'))).toBeGreaterThan(0);
        expect((await signIn(a, password)).status).toBe(429);
      }
    }
  });

  it('answers 429 with Retry-After and a body naming the limit once a key has spent its budget', async () => {
    const stack = await start({ publishable: hourly(3) });
    const shop = await stack.tenant('rl-basic');
    expect(await statuses(() => collect(stack.url, shop.publishableKey), 3)).toEqual([200, 200, 200]);

    const refused = await collect(stack.url, shop.publishableKey);
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(HOUR - 300);
    expect(retryAfter).toBeLessThanOrEqual(HOUR);
    const body = (await refused.json()) as { error: Record<string, unknown> };
    expect(body.error).toMatchObject({ code: 'TOO_MANY_REQUESTS', limit: 'key', retryAfter });
    expect(body.error.message).toMatch(
      new RegExp(
        `^Too many requests with this publishable key from this address \\(3 per 3600 s\\); retry in ${retryAfter} s\\.$`,
      ),
    );
    expect(body.error.requestId).toBe(refused.headers.get('x-request-id'));

    // tRPC clients read it as a tRPC error with its code.
    const error = await shop.browser.events.batch.mutate({ events: [] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TRPCClientError);
    expect((error as TRPCClientError<never>).data).toMatchObject({
      code: 'TOO_MANY_REQUESTS',
      httpStatus: 429,
      limit: 'key',
    });
    const scraped = await (await fetch(`${stack.url}/metrics`)).text();
    expect(scraped).toMatch(/recsys_request_errors_total\{procedure="collect",code="TOO_MANY_REQUESTS"\} 1/);
    expect(scraped).toMatch(
      /recsys_request_errors_total\{procedure="events.batch",code="TOO_MANY_REQUESTS"\} 1/,
    );
    expect(scraped).toMatch(/recsys_rate_limited_total\{limit="key",namespace="rl-basic"\} 2/);
  });

  it('counts each key and each client address apart', async () => {
    const stack = await start({ publishable: hourly(2), trustProxy: 1 });
    const shop = await stack.tenant('rl-apart');
    const other = await stack.tenant('rl-apart-other');
    expect(await statuses(() => collect(stack.url, shop.publishableKey, '203.0.113.1'), 3)).toEqual([
      200, 200, 429,
    ]);
    // Another key from the same address, and the same key from another address, go on.
    expect((await collect(stack.url, other.publishableKey, '203.0.113.1')).status).toBe(200);
    expect((await collect(stack.url, shop.publishableKey, '203.0.113.2')).status).toBe(200);
    // Secret keys have their own (much larger) budget.
    expect((await batch(stack.url, shop.secretKey, { 'x-forwarded-for': '203.0.113.1' })).status).toBe(200);
  });

  it('ignores X-Forwarded-For unless trustProxy is set, so a client cannot pick a fresh address', async () => {
    const stack = await start({ publishable: hourly(2) });
    const shop = await stack.tenant('rl-forged');
    let n = 0;
    const forged = () => collect(stack.url, shop.publishableKey, `198.51.100.${++n}`);
    expect(await statuses(forged, 3)).toEqual([200, 200, 429]);
  });

  it('limits one address across publishable keys', async () => {
    const stack = await start({ ip: hourly(3) });
    const a = await stack.tenant('rl-ip-a');
    const b = await stack.tenant('rl-ip-b');
    expect((await collect(stack.url, a.publishableKey)).status).toBe(200);
    expect((await collect(stack.url, b.publishableKey)).status).toBe(200);
    expect((await collect(stack.url, a.publishableKey)).status).toBe(200);
    const refused = await collect(stack.url, b.publishableKey);
    expect(refused.status).toBe(429);
    expect(await refused.json()).toMatchObject({ error: { limit: 'ip' } });
  });

  it("applies a namespace's own limit for its key kind, and only to that namespace", async () => {
    const stack = await start({ secret: hourly(1_000) });
    const strict = await stack.tenant('rl-override');
    const lenient = await stack.tenant('rl-override-default');
    await updateNamespaceRateLimits(database, 'rl-override', { secret: hourly(2) });
    expect(await statuses(() => batch(stack.url, strict.secretKey), 3)).toEqual([200, 200, 429]);
    expect(await statuses(() => batch(stack.url, lenient.secretKey), 3)).toEqual([200, 200, 200]);
    // The namespace's publishable keys keep the server's limit.
    expect((await collect(stack.url, strict.publishableKey)).status).toBe(200);
    const refused = await batch(stack.url, strict.secretKey);
    expect(await refused.json()).toMatchObject({
      error: { message: expect.stringMatching(/with this secret key from this address \(2 per 3600 s\)/) },
    });
  });

  it('refuses an address that keeps failing authentication before its keys are looked up', async () => {
    const stack = await start({ invalidKey: hourly(3), trustProxy: 1 });
    const shop = await stack.tenant('rl-guess');
    const guesses = await statuses(() => collect(stack.url, randomKey('rl-guess'), '192.0.2.7'), 3);
    expect(guesses).toEqual([401, 401, 401]);
    const fourth = await collect(stack.url, randomKey('rl-guess'), '192.0.2.7');
    expect(fourth.status).toBe(429);
    expect(await fourth.json()).toMatchObject({ error: { limit: 'invalidKey' } });
    const looked = stack.server.services.keys.cacheSize.unknown;
    // Further guesses, and even the real key, from that address get 429 without a lookup.
    expect(await statuses(() => collect(stack.url, randomKey('rl-guess'), '192.0.2.7'), 5)).toEqual([
      429, 429, 429, 429, 429,
    ]);
    expect((await collect(stack.url, shop.publishableKey, '192.0.2.7')).status).toBe(429);
    expect(stack.server.services.keys.cacheSize.unknown).toBe(looked);
    // Requests without a key count too.
    expect(
      (await fetch(`${stack.url}/trpc/events.list`, { headers: { 'x-forwarded-for': '192.0.2.7' } })).status,
    ).toBe(429);
    // Other addresses are not affected.
    expect((await collect(stack.url, shop.publishableKey, '192.0.2.8')).status).toBe(200);
  });

  it('shares the budget between two servers through Redis, while in memory each counts its own', async () => {
    const keyPrefix = redisPrefix();
    const shared = { publishable: hourly(4), redisUrl: REDIS_URL, keyPrefix };
    const a = await start(shared);
    const b = await start(shared);
    const shop = await a.tenant('rl-shared');
    expect(await statuses(() => collect(a.url, shop.publishableKey), 2)).toEqual([200, 200]);
    expect(await statuses(() => collect(b.url, shop.publishableKey), 2)).toEqual([200, 200]);
    expect((await collect(a.url, shop.publishableKey)).status).toBe(429);
    expect((await collect(b.url, shop.publishableKey)).status).toBe(429);

    const memoryA = await start({ publishable: hourly(4) });
    const memoryB = await start({ publishable: hourly(4) });
    expect(await statuses(() => collect(memoryA.url, shop.publishableKey), 4)).toEqual([200, 200, 200, 200]);
    expect(await statuses(() => collect(memoryB.url, shop.publishableKey), 4)).toEqual([200, 200, 200, 200]);
    expect((await collect(memoryA.url, shop.publishableKey)).status).toBe(429);
  });

  it('refuses invalid limits at start-up with the option that is wrong', () => {
    const log = createLogger({ level: 'silent' });
    expect(() => createRateLimiter({ publishable: { points: 0 } }, log)).toThrow(
      /^Rate limit rateLimits\.publishable is invalid: points: .*>=1/,
    );
    expect(() => createRateLimiter({ ip: { points: 10, burst: 5 } }, log)).toThrow(
      'Rate limit rateLimits.ip is invalid: burst: burst must be at least points',
    );
  });

  it('serves on and still limits, in memory, while Redis is unreachable', async () => {
    const port = await closedPort();
    const server = createRecsysServer({
      database,
      log: createLogger({ level: 'silent' }),
      rateLimits: { publishable: hourly(3), redisUrl: `redis://127.0.0.1:${port}`, keyPrefix: redisPrefix() },
    });
    servers.push(server);
    const url = await server.listen(0);
    const shop = await startTestServer(database).then(async (s) => {
      servers.push(s);
      return s.tenant('rl-insured');
    });
    expect(await statuses(() => collect(url, shop.publishableKey), 4)).toEqual([200, 200, 200, 429]);
    const client = createClient(url, shop.secretKey);
    await expect(client.events.batch.mutate({ events: [oneEvent()] })).resolves.toMatchObject({
      accepted: 1,
    });
  });
});
