import { describe, expect, it } from 'vitest';
import { createApiKey, createNamespace } from './auth/namespaces';
import { createLogger } from './obs/logger';
import { startRecsys } from './start';
import { createClient, getTestDatabaseTargets } from './testing';

const postgres = getTestDatabaseTargets().find((t) => t.name === 'postgres');

const quiet = { logger: createLogger({ level: 'silent' }), port: 0, embeddings: { kind: 'off' } } as const;

describe('startRecsys', () => {
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

  it.skipIf(!postgres).each([
    { mode: 'an HTTP thread', httpThread: 'auto' as const },
    { mode: 'one thread', httpThread: false as const },
  ])(
    'on PostgreSQL serves from $mode; a start on the taken port rejects, closes what it opened and leaves the first serving',
    async ({ httpThread }) => {
      const database = await postgres!.open();
      const name = new URL(database.url!).pathname.slice(1);
      const connections = async () =>
        Number(
          (
            await database.query<{ n: string }>(
              'SELECT count(*)::text AS n FROM pg_stat_activity WHERE datname = $1',
              [name],
            )
          )[0]!.n,
        );
      try {
        const running = await startRecsys({ ...quiet, databaseUrl: database.url!, httpThread });
        try {
          expect(running.server === undefined).toBe(httpThread !== false);
          expect((await fetch(`${running.url}/readyz`)).status).toBe(200);
          const before = await connections();
          const port = Number(new URL(running.url).port);
          await expect(
            startRecsys({ ...quiet, databaseUrl: database.url!, httpThread, port }),
          ).rejects.toThrow(/EADDRINUSE/);
          // The failed start's pools are closed: back to the connections there were before it.
          await expect.poll(connections, { timeout: 60_000 }).toBe(before);
          // Still serving (a failed start must not end the process or the running server).
          expect((await fetch(`${running.url}/healthz`)).status).toBe(200);
        } finally {
          await running.close();
        }
      } finally {
        await database.drop();
      }
    },
    60_000,
  );
});
