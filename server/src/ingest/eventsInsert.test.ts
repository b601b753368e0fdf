import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNamespace } from '../auth/namespaces';
import { readCurrentXmin } from '../replicate/reads';
import { getTestDatabaseTargets } from '../testing';
import { ingestEvents } from './events';

/**
 * What the bulk event insert must keep, however its statement is built: each eventId stored once
 * (within a batch, across batches, and between batches racing each other), per-row errors beside
 * good rows, every value stored exactly as sent, "accepted" meaning committed, and the writing
 * transaction's id on every row for the engines' poll.
 */
describe.each(getTestDatabaseTargets())('bulk event insert on $name', (target) => {
  let database: Awaited<ReturnType<typeof target.open>>;
  let n = 0;
  const ns = () => `ins-${n++}`;
  const ts = '2026-11-21T10:00:00.000Z';
  const view = (eventId: string, extra: Record<string, unknown> = {}) => ({
    eventId,
    type: 'view',
    itemId: 'sku-1',
    anonymousId: 'a-1',
    ts,
    ...extra,
  });
  const stored = (namespaceId: string) =>
    database.query<{ event_id: string; item_id: string | null; session_id: string | null; meta: unknown }>(
      'SELECT event_id, item_id, session_id, meta FROM events WHERE namespace_id = $1 ORDER BY event_id',
      [namespaceId],
    );

  beforeAll(async () => {
    database = await target.open();
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('stores a repeated eventId of one batch once, keeping its first row, and counts the rest as duplicates', async () => {
    const id = ns();
    await createNamespace(database, id);
    const result = await ingestEvents(database, id, {}, [
      view('e-1', { itemId: 'first' }),
      view('e-2'),
      view('e-1', { itemId: 'second' }),
      view('e-1', { itemId: 'third' }),
    ]);
    expect(result).toEqual({ accepted: 2, duplicates: 2, rejected: [] });
    expect((await stored(id)).map((r) => [r.event_id, r.item_id])).toEqual([
      ['e-1', 'first'],
      ['e-2', 'sku-1'],
    ]);
  });

  it('skips ids stored by an earlier batch and keeps the stored row unchanged', async () => {
    const id = ns();
    await createNamespace(database, id);
    await ingestEvents(database, id, {}, [view('e-1', { itemId: 'original' }), view('e-2')]);
    const again = await ingestEvents(database, id, {}, [
      view('e-2'),
      view('e-1', { itemId: 'replayed' }),
      view('e-3'),
    ]);
    expect(again).toEqual({ accepted: 1, duplicates: 2, rejected: [] });
    expect((await stored(id)).map((r) => [r.event_id, r.item_id])).toEqual([
      ['e-1', 'original'],
      ['e-2', 'sku-1'],
      ['e-3', 'sku-1'],
    ]);
  });

  it('stores tabs, newlines, backslashes and a literal \\N exactly, beside rejected rows named by index and path', async () => {
    const id = ns();
    await createNamespace(database, id);
    // Ids refuse control characters; meta strings keep them.
    const awkward = 'tab\there\nnew\rline \\ back\\slash \\N';
    const slashes = 'back\\slash \\N \\t';
    const result = await ingestEvents(database, id, {}, [
      view('bad-ts', { ts: '2026-02-30T10:00:00Z' }),
      view(`e-${slashes}`, { sessionId: slashes, meta: { name: awkward, note: '"quoted" \\u0041' } }),
      view('nul', { meta: { note: 'a\u0000b' } }),
      view('\\N'),
      { eventId: 'no-visitor', type: 'view', itemId: 'sku-1', ts },
      view('e-plain', { value: 2.5, meta: { url: 'https://shop.example/p?q=1&r=\\2' } }),
    ]);
    expect(result.accepted).toBe(3);
    expect(result.duplicates).toBe(0);
    expect(result.rejected.map((r) => [r.index, r.path])).toEqual([
      [0, 'ts'],
      [2, 'meta.note'],
      [4, 'userId'],
    ]);
    for (const r of result.rejected) expect(r.message.length).toBeGreaterThan(10);
    const rows = await stored(id);
    expect(rows.map((r) => r.event_id).sort()).toEqual([`e-${slashes}`, 'e-plain', '\\N'].sort());
    const row = rows.find((r) => r.event_id === `e-${slashes}`)!;
    expect(row.session_id).toBe(slashes);
    expect(row.meta).toEqual({ name: awkward, note: '"quoted" \\u0041' });
    // The literal two characters, not SQL NULL.
    expect(rows.find((r) => r.event_id === '\\N')!.session_id).toBeNull();
    expect(rows.find((r) => r.event_id === 'e-plain')!.meta).toEqual({
      url: 'https://shop.example/p?q=1&r=\\2',
    });
  });

  it('has every row committed when it resolves, under the writing transaction id the poll reads', async () => {
    const id = ns();
    await createNamespace(database, id);
    const before = await readCurrentXmin(database);
    const result = await ingestEvents(
      database,
      id,
      {},
      Array.from({ length: 500 }, (_, i) => view(`e-${i}`)),
    );
    expect(result.accepted).toBe(500);
    const txs = await database.query<{ tx: string; n: number }>(
      'SELECT tx::text AS tx, count(*)::int AS n FROM events WHERE namespace_id = $1 GROUP BY tx',
      [id],
    );
    // One transaction wrote the batch, at or after the poll's last xmin, and it has committed (the
    // poll takes it once every older transaction of the server has finished too).
    expect(txs).toHaveLength(1);
    expect(txs[0]!.n).toBe(500);
    expect(Number(txs[0]!.tx)).toBeGreaterThanOrEqual(before);
    const [status] = await database.query<{ s: string }>('SELECT pg_xact_status($1::text::xid8) AS s', [
      txs[0]!.tx,
    ]);
    expect(status!.s).toBe('committed');
    if (database.url) {
      // Another connection sees them at once: accepted means committed.
      const other = postgres(database.url, { max: 1, onnotice: () => {} });
      const [row] = await other<
        { n: number }[]
      >`SELECT count(*)::int AS n FROM events WHERE namespace_id = ${id}`;
      await other.end();
      expect(row!.n).toBe(500);
    }
  });

  it('stores each id once when batches with the same ids arrive together', async () => {
    const id = ns();
    await createNamespace(database, id);
    const ids = Array.from({ length: 300 }, (_, i) => `e-${i}`);
    const batches = [ids.slice(0, 200), ids.slice(100, 300), ids.slice(50, 250), ids].map((b) =>
      b.map((eventId) => view(eventId)),
    );
    const results = await Promise.all(batches.map((b) => ingestEvents(database, id, {}, b)));
    expect(results.reduce((a, r) => a + r.accepted, 0)).toBe(300);
    expect(results.reduce((a, r) => a + r.accepted + r.duplicates, 0)).toBe(200 + 200 + 200 + 300);
    expect(await stored(id)).toHaveLength(300);
  });

  it.runIf(target.name === 'postgres')(
    'waits for a transaction holding the same ids and counts them as duplicates once it commits',
    async () => {
      const id = ns();
      await createNamespace(database, id);
      const other = postgres(database.url!, { max: 1, onnotice: () => {} });
      let commit!: () => void;
      const gate = new Promise<void>((resolve) => {
        commit = resolve;
      });
      let inserted!: () => void;
      const holding = new Promise<void>((resolve) => {
        inserted = resolve;
      });
      const writer = other.begin(async (tx) => {
        await tx`INSERT INTO events (namespace_id, event_id, type, item_id, anonymous_id, ts, received_at)
                 SELECT ${id}, 'e-' || i, 'view', 'held', 'a-1', now(), now() FROM generate_series(0, 9) AS i`;
        inserted();
        await gate;
      });
      await holding;
      let settled = false;
      const batch = ingestEvents(
        database,
        id,
        {},
        Array.from({ length: 20 }, (_, i) => view(`e-${i}`)),
      ).finally(() => {
        settled = true;
      });
      await new Promise((r) => setTimeout(r, 300));
      // Blocked on the other transaction's uncommitted ids: nothing answered yet.
      expect(settled).toBe(false);
      commit();
      await writer;
      await other.end();
      expect(await batch).toEqual({ accepted: 10, duplicates: 10, rejected: [] });
      const rows = await stored(id);
      expect(rows).toHaveLength(20);
      expect(rows.filter((r) => r.item_id === 'held')).toHaveLength(10);
    },
  );
});
