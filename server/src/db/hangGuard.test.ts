import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getTestDatabaseTargets, proxyDatabaseUrl, type TcpProxy } from '../testing';
import { type Database, openDatabase } from './client';
import { DatabaseNotAnsweringError } from './hangGuard';
import { isDatabaseUnavailable } from './unavailable';

// Only PostgreSQL is reached over a network that can hang.
const postgres = getTestDatabaseTargets().find((t) => t.name === 'postgres');

describe.skipIf(!postgres)('the pool of a PostgreSQL database that may hang', () => {
  let scratch: Database & { drop(): Promise<void>; url?: string };
  let proxy: TcpProxy;
  /** The scratch database's URL through the proxy. */
  let proxied: string;

  beforeAll(async () => {
    scratch = await postgres!.open();
    ({ proxy, url: proxied } = await proxyDatabaseUrl(scratch.url!));
  });
  afterAll(async () => {
    proxy?.resume();
    await proxy?.close();
    await scratch?.drop();
  });

  it('lets a query and a transaction run past the query timeout on a database that answers the check', async () => {
    // The check's own bound is generous: only a hung database may fail it, not a loaded machine.
    const database = await openDatabase({ url: scratch.url, queryTimeoutMs: 300, connectTimeoutMs: 60_000 });
    try {
      // Each sleeps through several checks, as a backup's or an engine load's long query does.
      await expect(database.query('SELECT 1 AS n FROM pg_sleep(1.5)')).resolves.toEqual([{ n: 1 }]);
      const slept = await database.db.transaction(async (tx) => {
        await tx.execute(sql`SELECT 1 FROM pg_sleep(1.5)`);
        return 'done';
      });
      expect(slept).toBe('done');
    } finally {
      await database.close();
    }
  });

  it('fails what waits on a hung database as not answering, an outage, and answers again once it does', async () => {
    const database = await openDatabase({ url: proxied, queryTimeoutMs: 500, connectTimeoutMs: 4_000 });
    try {
      await expect(database.query('SELECT 1 AS n')).resolves.toEqual([{ n: 1 }]);
      proxy.stall();
      // Each one's error, taken at once (they fail together, while the first is awaited).
      const failed = (waiting: PromiseLike<unknown>) =>
        Promise.resolve(waiting).then(
          () => undefined,
          (error: unknown) => error,
        );
      const errors = await Promise.all([
        failed(database.query('SELECT 2 AS n')),
        failed(database.db.execute(sql`SELECT 3 AS n`)),
        failed(database.db.transaction((tx) => tx.execute(sql`SELECT 4 AS n`))),
      ]);
      for (const error of errors) {
        expect(isDatabaseUnavailable(error)).toBe(true);
        // Drizzle wraps a query's error as its cause.
        let notAnswering = error;
        while (notAnswering instanceof Error && !(notAnswering instanceof DatabaseNotAnsweringError)) {
          notAnswering = notAnswering.cause;
        }
        expect(notAnswering).toBeInstanceOf(DatabaseNotAnsweringError);
        expect((notAnswering as Error).message).toMatch(/^The database does not answer: /);
      }
      proxy.resume();
      await expect
        .poll(() => database.query<{ n: number }>('SELECT 5 AS n').catch(() => []), { timeout: 240_000 })
        .toEqual([{ n: 5 }]);
    } finally {
      proxy.resume();
      await database.close();
    }
  });
});
