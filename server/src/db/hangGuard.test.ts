import { sql } from 'drizzle-orm';
import postgresDriver from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getTestDatabaseTargets, proxyDatabaseUrl, type TcpProxy } from '../testing';
import { type Database, openDatabase } from './client';
import { DatabaseNotAnsweringError } from './hangGuard';
import { isDatabaseUnavailable } from './unavailable';

// Only PostgreSQL is reached over a network that can hang.
const postgres = getTestDatabaseTargets().find((t) => t.name === 'postgres');

describe.skipIf(!postgres)('the pool of a PostgreSQL database that may hang or drop its connections', () => {
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

  // postgres.js reads the server's array types on every new connection and dropped that query's
  // promise (porsager/postgres#1192, #1205): a connection reset during it was an unhandled rejection,
  // which ends a Node process or worker thread. In the fault suite it took the HTTP thread down
  // with its open requests at the moment the database went away. Patched in
  // server/patches/postgres@3.4.9.patch.
  it('fails the query the connection was opened for, and nothing else, when it is reset during the array-type read', async () => {
    const database = await openDatabase({ url: proxied });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      await expect(database.query('SELECT 1 AS n')).resolves.toEqual([{ n: 1 }]);
      // The pool's connection goes (a query may still be sent on it before the driver sees that);
      // the next one opens a new connection, which is reset as it asks for the array types.
      let sprung = false;
      void proxy.resetOnClientBytes('pg_catalog.pg_type').then(() => {
        sprung = true;
      });
      proxy.cutAll();
      const failures: unknown[] = [];
      for (let attempt = 0; attempt < 10 && !sprung; attempt++) {
        await database.query('SELECT 2 AS n').catch((error: unknown) => failures.push(error));
      }
      expect(sprung).toBe(true);
      expect(failures.length).toBeGreaterThan(0);
      for (const error of failures) expect(isDatabaseUnavailable(error)).toBe(true);
      // Unhandled rejections are reported once the microtasks of the turn that made them have run.
      for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
      await expect(database.query('SELECT 3 AS n')).resolves.toEqual([{ n: 3 }]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      await database.close();
    }
  });
  // postgres.js kept a query failed by a lost connection as the one in progress, and end() waited for
  // it: until its timeout (5 s per pool in `Database.close()`, so every shutdown after an outage, and
  // the fault suite's, took that much longer), or for ever without one (porsager/postgres#1130).
  // Patched in server/patches/postgres@3.4.9.patch.
  it('ends its connections at once after one was reset in the middle of a query', {
    timeout: 60_000,
  }, async () => {
    const driver = postgresDriver(proxied, { max: 1, onnotice: () => {} });
    try {
      await driver`SELECT 1`;
      const sprung = proxy.resetOnClientBytes('pg_sleep');
      await expect(driver`SELECT pg_sleep(30)`).rejects.toMatchObject({ code: 'ECONNRESET' });
      await sprung;
    } finally {
      // No timeout: without the patch this never resolved, and the test's own timeout failed it.
      await driver.end();
    }
  });
});
