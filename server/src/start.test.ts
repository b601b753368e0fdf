import postgresClient from 'postgres';
import { describe, expect, it } from 'vitest';
import { createApiKey, createNamespace } from './auth/namespaces';
import { parseCacheTtl, recsCacheFromEnv } from './config/settings';
import { createLogger } from './obs/logger';
import { startRecsys } from './start';
import { createClient, getTestDatabaseTargets, proxyDatabaseUrl } from './testing';

const postgres = getTestDatabaseTargets().find((t) => t.name === 'postgres');

/** Both ways a PostgreSQL server serves HTTP. */
const THREAD_MODES = [
  { mode: 'an HTTP thread', httpThread: 'auto' as const },
  { mode: 'one thread', httpThread: false as const },
];

const quiet = { logger: createLogger({ level: 'silent' }), port: 0, embeddings: { kind: 'off' } } as const;

describe('startRecsys', () => {
  it('reads the recommendation cache TTL in seconds, turns the cache off with 0 or off, and refuses anything else before opening the database', async () => {
    expect(parseCacheTtl('2.5')).toBe(2_500);
    expect(parseCacheTtl(undefined)).toBeUndefined();
    expect(recsCacheFromEnv({ ttlMs: 0 }, false)).toBe(false);
    expect(parseCacheTtl('off')).toBe(0);
    expect(recsCacheFromEnv({ ttlMs: 3_000 }, { redisUrl: 'redis://10.0.0.5:6379' })).toEqual({
      ttlMs: 3_000,
      redisUrl: 'redis://10.0.0.5:6379',
    });
    expect(() => parseCacheTtl('soon')).toThrow(
      /cache TTL "soon" \(--recs-cache-ttl or RECSYS_RECS_CACHE_TTL\) is not understood: give seconds from 0 to 3600/,
    );
    await expect(
      startRecsys({
        ...quiet,
        databaseUrl: null,
        dataDir: '/nonexistent/never-created',
        recsCache: { ttlMs: -1 },
      }),
    ).rejects.toThrow(/cache TTL/);
  });

  it('refuses httpThread: true on the embedded database, saying what it needs', async () => {
    await expect(
      startRecsys({ ...quiet, databaseUrl: null, dataDir: 'memory://', httpThread: true }),
    ).rejects.toThrow(/httpThread: true needs PostgreSQL/);
  });

  it('serves from one thread on the embedded database, with the engine', async () => {
    const running = await startRecsys({ ...quiet, databaseUrl: null, dataDir: 'memory://' });
    try {
      expect(running.server).toBeDefined();
      expect(running.engines?.ready).toBe(true);
      await createNamespace(running.database, 'shop');
      const { key } = await createApiKey(running.database, 'shop', { kind: 'secret' });
      const list = await createClient(running.url, key).recs.trending.query({ k: 3 });
      expect(list.items).toEqual([]);
    } finally {
      await running.close();
    }
  });

  it('engine: false makes an ingestion-only process whose recs answer 503', async () => {
    const running = await startRecsys({ ...quiet, databaseUrl: null, dataDir: 'memory://', engine: false });
    try {
      expect(running.engines).toBeUndefined();
      await createNamespace(running.database, 'shop');
      const { key } = await createApiKey(running.database, 'shop', { kind: 'secret' });
      const client = createClient(running.url, key);
      await expect(client.recs.trending.query({ k: 3 })).rejects.toMatchObject({
        data: { code: 'SERVICE_UNAVAILABLE', httpStatus: 503 },
      });
      const stored = await client.events.batch.mutate({
        events: [
          { eventId: 'e1', type: 'view', itemId: 'a', anonymousId: 'v1', ts: new Date().toISOString() },
        ],
      });
      expect(stored).toMatchObject({ accepted: 1, rejected: [] });
    } finally {
      await running.close();
    }
  });

  it.skipIf(!postgres).each(THREAD_MODES)(
    'on PostgreSQL serves from $mode; a start on the taken port rejects, closes what it opened and leaves the first serving',
    async ({ httpThread }) => {
      const database = await postgres!.open();
      const name = new URL(database.url!).pathname.slice(1);
      // The failed start connects under its own application_name, so its connections are told
      // apart from the running server's, whose pools may still be opening connections meanwhile.
      const failedStart = 'recsys-failed-start';
      const failedUrl = new URL(database.url!);
      failedUrl.searchParams.set('application_name', failedStart);
      const connections = async () =>
        Number(
          (
            await database.query<{ n: string }>(
              'SELECT count(*)::text AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = $2',
              [name, failedStart],
            )
          )[0]!.n,
        );
      try {
        const running = await startRecsys({ ...quiet, databaseUrl: database.url!, httpThread });
        try {
          expect(running.server === undefined).toBe(httpThread !== false);
          expect((await fetch(`${running.url}/readyz`)).status).toBe(200);
          const port = Number(new URL(running.url).port);
          // The URL's application_name reaches the server, so the count below sees this start's pools.
          const probe = postgresClient(failedUrl.href, { max: 1, onnotice: () => {} });
          expect((await probe`SELECT current_setting('application_name') AS n`)[0]!.n).toBe(failedStart);
          await probe.end();
          await expect(
            startRecsys({ ...quiet, databaseUrl: failedUrl.href, httpThread, port }),
          ).rejects.toThrow(/EADDRINUSE/);
          // Its pools are closed: none of its connections is left.
          await expect.poll(connections, { timeout: 240_000 }).toBe(0);
          // Still serving (a failed start must not end the process or the running server).
          expect((await fetch(`${running.url}/healthz`)).status).toBe(200);
        } finally {
          await running.close();
        }
      } finally {
        await database.drop();
      }
    },
  );

  it.skipIf(!postgres).each(THREAD_MODES)(
    'from $mode opens the port before the engines load: /healthz 200, /readyz 503 with what is loading, recs 503 with Retry-After',
    async ({ httpThread }) => {
      const database = await postgres!.open();
      const holder = postgresClient(database.url!, { max: 1, onnotice: () => {} });
      try {
        for (const id of ['north', 'south', 'west']) await createNamespace(database, id);
        const { key } = await createApiKey(database, 'north', { kind: 'secret' });
        // Holds the load where a slow one spends its time, reading events: the engines wait for
        // this lock as they would for a large table, with no hook in the server.
        let release = () => {};
        const locked = new Promise<void>((resolveLocked) => {
          void holder.begin(async (tx) => {
            await tx`LOCK TABLE events IN ACCESS EXCLUSIVE MODE`;
            resolveLocked();
            await new Promise<void>((r) => {
              release = r;
            });
          });
        });
        await locked;
        let listening = (_url: string) => {};
        const opened = new Promise<string>((r) => {
          listening = r;
        });
        const starting = startRecsys({
          ...quiet,
          databaseUrl: database.url!,
          httpThread,
          onListening: listening,
        });
        const url = await opened;
        try {
          const health = await fetch(`${url}/healthz`);
          expect(health.status).toBe(200);
          expect(health.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
          const readiness = async () => {
            const res = await fetch(`${url}/readyz`);
            return { status: res.status, body: (await res.json()) as { checks: Record<string, unknown> } };
          };
          await expect
            .poll(async () => (await readiness()).body.checks.engine, { timeout: 240_000 })
            .toEqual({ ok: false, detail: 'indexes loading: 0 of 3 namespaces' });
          const loading = await readiness();
          expect(loading.status).toBe(503);
          expect(loading.body.checks.database).toEqual({ ok: true });
          expect(loading.body.checks.migrations).toMatchObject({ ok: true });
          const recs = await fetch(`${url}/trpc/recs.trending?input=${encodeURIComponent('{"k":3}')}`, {
            headers: { authorization: `Bearer ${key}` },
          });
          expect(recs.status).toBe(503);
          expect(recs.headers.get('retry-after')).toBe('5');
          const body = (await recs.json()) as { error: { message: string; data: { requestId: string } } };
          expect(body.error.message).toMatch(/still loading; retry/);
          expect(body.error.data.requestId).toBe(recs.headers.get('x-request-id'));
        } finally {
          release();
        }
        const running = await starting;
        try {
          expect(running.url).toBe(url);
          expect((await fetch(`${url}/readyz`)).status).toBe(200);
          const list = await createClient(url, key).recs.trending.query({ k: 3 });
          expect(list.items).toEqual([]);
        } finally {
          await running.close();
        }
      } finally {
        await holder.end({ timeout: 1 });
        await database.drop();
      }
    },
  );

  it.skipIf(!postgres).each(THREAD_MODES)(
    'from $mode opens the port before the database: /healthz 200, /readyz 503 with the database opening, API routes 503 with Retry-After, then serves once it answers',
    async ({ httpThread }) => {
      const database = await postgres!.open();
      // The database opens as slowly as the test needs: reached through a proxy that forwards nothing
      // until resumed, as a PostgreSQL still starting up or far away would.
      const { proxy, url: proxied } = await proxyDatabaseUrl(database.url!);
      try {
        await createNamespace(database, 'shop');
        const { key } = await createApiKey(database, 'shop', { kind: 'secret' });
        const publishable = await createApiKey(database, 'shop', {
          kind: 'publishable',
          allowedOrigins: ['*'],
        });
        proxy.stall();
        let listening = (_url: string) => {};
        const opened = new Promise<string>((r) => {
          listening = r;
        });
        const starting = startRecsys({
          ...quiet,
          databaseUrl: proxied,
          httpThread,
          onListening: listening,
          // No connect timeout may end the start while the test holds the database.
          databaseTimeouts: { connectTimeoutMs: 240_000 },
        });
        const url = await opened;
        try {
          const health = await fetch(`${url}/healthz`);
          expect(health.status).toBe(200);
          expect(health.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
          const readiness = await fetch(`${url}/readyz`);
          expect(readiness.status).toBe(503);
          expect(((await readiness.json()) as { checks: Record<string, unknown> }).checks.database).toEqual({
            ok: false,
            detail: 'opening',
          });
          const auth = { authorization: `Bearer ${key}` };
          const recs = await fetch(`${url}/trpc/recs.trending?input=${encodeURIComponent('{"k":3}')}`, {
            headers: auth,
          });
          expect(recs.status).toBe(503);
          expect(recs.headers.get('retry-after')).toBe('5');
          const body = (await recs.json()) as {
            error: { message: string; data: { code: string; requestId: string } };
          };
          expect(body.error.message).toMatch(/database is still opening; retry in 5 s/);
          expect(body.error.data.code).toBe('SERVICE_UNAVAILABLE');
          expect(body.error.data.requestId).toBe(recs.headers.get('x-request-id'));
          // A tRPC client reads the error as it reads tRPC's own 503s.
          await expect(createClient(url, key).items.get.query({ itemIds: ['a'] })).rejects.toMatchObject({
            data: { code: 'SERVICE_UNAVAILABLE', httpStatus: 503 },
          });
          const collect = await fetch(`${url}/v1/collect?key=${publishable.key}`, {
            method: 'POST',
            body: '{"events":[]}',
          });
          expect(collect.status).toBe(503);
          expect(collect.headers.get('retry-after')).toBe('5');
        } finally {
          proxy.resume();
        }
        const running = await starting;
        try {
          expect(running.url).toBe(url);
          await expect
            .poll(async () => (await fetch(`${url}/readyz`)).status, { timeout: 240_000 })
            .toBe(200);
          const list = await createClient(url, key).recs.trending.query({ k: 3 });
          expect(list.items).toEqual([]);
        } finally {
          await running.close();
        }
      } finally {
        proxy.resume();
        await proxy.close();
        await database.drop();
      }
    },
  );
});
