import { createServer } from 'node:net';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { getTestDatabaseTargets } from '../testing';
import { openDatabase } from './client';
import { isDatabaseUnavailable } from './unavailable';

/** What a call rejected with (the tests need real driver errors, not hand-made ones). */
async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}

/** A port nothing listens on: one that was free a moment ago. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

const postgresTarget = getTestDatabaseTargets().find((t) => t.name === 'postgres');

describe('isDatabaseUnavailable', () => {
  it('calls a refused connection an outage, as the postgres driver reports it', async () => {
    const client = postgres(`postgres://postgres@127.0.0.1:${await closedPort()}/none`, {
      max: 1,
      connect_timeout: 5,
    });
    const error = await failureOf(client`select 1`);
    await client.end({ timeout: 1 });
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it.skipIf(!postgresTarget)('calls a query on a closed pool an outage', async () => {
    const database = await postgresTarget!.open();
    const url = database.url!;
    await database.drop();
    const client = postgres(url, { max: 1 });
    await client.end();
    expect(isDatabaseUnavailable(await failureOf(client`select 1`))).toBe(true);
  });

  it('calls a closed PGlite an outage, also through drizzle', async () => {
    const database = await openDatabase({ dataDir: 'memory://' });
    await database.close();
    expect(isDatabaseUnavailable(await failureOf(database.query('select 1')))).toBe(true);
    expect(isDatabaseUnavailable(await failureOf(database.db.execute(sql`select 1`)))).toBe(true);
  });

  it.each(getTestDatabaseTargets())(
    'does not call what the database refuses on $name an outage: a constraint violation, a bad value',
    async (target) => {
      const database = await target.open();
      try {
        await database.query('CREATE TABLE t (id int PRIMARY KEY)');
        await database.query('INSERT INTO t VALUES (1)');
        const duplicate = await failureOf(database.query('INSERT INTO t VALUES (1)'));
        expect((duplicate as { code?: string }).code).toBe('23505');
        expect(isDatabaseUnavailable(duplicate)).toBe(false);
        const badValue = await failureOf(database.db.execute(sql`select 'x'::int`));
        expect(isDatabaseUnavailable(badValue)).toBe(false);
        expect(isDatabaseUnavailable(new Error('ECONNREFUSED in a message is not a code'))).toBe(false);
      } finally {
        await database.drop();
      }
    },
  );
});
