import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createNamespace } from '../auth/namespaces';
import type { Database } from '../db/client';
import { createLogger } from '../obs/logger';
import { getTestDatabaseTargets } from '../testing/databases';
import { RecLogWriter, type ServedList } from './RecLogWriter';

const log = createLogger({ level: 'silent' });
/** Long enough that only an explicit flush writes. */
const NEVER = 3_600_000;

const served = (n: number, extra: Partial<ServedList> = {}): ServedList => ({
  namespaceId: 'shop',
  requestId: `r${n}`,
  surface: 'similar',
  userId: n % 2 ? `u${n}` : null,
  anonymousId: n % 3 ? null : `a${n}`,
  items: [
    { itemId: `i${n}`, rank: 1, score: 0.5 },
    { itemId: `j${n}`, rank: 2, score: 0.25 },
  ],
  fallback: n % 5 === 0,
  configVersion: n % 7 ? 3 : null,
  ...extra,
});

type Row = {
  request_id: string;
  surface: string;
  user_id: string | null;
  anonymous_id: string | null;
  items: unknown;
  fallback: boolean;
  config_version: number | null;
};

describe.each(getTestDatabaseTargets())('the served-list log on $name', (target) => {
  let database: Database & { drop(): Promise<void> };
  beforeAll(async () => {
    database = await target.open();
    await createNamespace(database, 'shop');
  });
  afterAll(() => database.drop());
  beforeEach(() => database.query('DELETE FROM rec_logs'));

  const rows = () =>
    database.query<Row>(
      'SELECT request_id, surface, user_id, anonymous_id, items, fallback, config_version FROM rec_logs',
    );

  it('stores when a list was served, and its experiment and variant, however late its batch is written', async () => {
    const writer = new RecLogWriter(database, log, { flushIntervalMs: NEVER });
    const servedAt = Date.parse('2026-01-02T03:04:05.678Z');
    const now = vi.spyOn(Date, 'now').mockReturnValue(servedAt);
    writer.push(served(1, { experiment: { id: 'home-blend', variant: 'retail' } }));
    writer.push(served(2));
    now.mockRestore();
    await writer.flush();
    const stored = await database.query<{
      request_id: string;
      at: string;
      experiment_id: string | null;
      variant: string | null;
    }>(
      `SELECT request_id, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS') AS at, experiment_id, variant
       FROM rec_logs ORDER BY request_id`,
    );
    expect(stored).toEqual([
      { request_id: 'r1', at: '2026-01-02T03:04:05.678', experiment_id: 'home-blend', variant: 'retail' },
      { request_id: 'r2', at: '2026-01-02T03:04:05.678', experiment_id: null, variant: null },
    ]);
  });

  it("stores each list's segment (cut to 256 characters, never half a character) and serving time, and counts failed requests per variant", async () => {
    await database.query('DELETE FROM experiment_failures');
    const writer = new RecLogWriter(database, log, { flushIntervalMs: NEVER });
    const hostile = `vip "'; DROP TABLE rec_logs; -- 🙂`;
    // 255 letters then an emoji (two UTF-16 units): cutting at 256 would keep half of it.
    const long = `${'x'.repeat(255)}🙂tail`;
    writer.push(served(1, { segment: hostile, durationMs: 12.5, experiment: { id: 'e', variant: 'a' } }));
    writer.push(served(2, { segment: long, durationMs: Number.NaN }));
    writer.push(served(3, { segment: '' }));
    writer.push(served(4));
    const fail = (variant: string) =>
      writer.pushFailure({ namespaceId: 'shop', experiment: { id: 'e', variant } });
    fail('a');
    fail('b');
    fail('a');
    await writer.flush();
    fail('a');
    await writer.flush();
    const stored = await database.query<{
      request_id: string;
      segment: string | null;
      duration_ms: number | null;
    }>('SELECT request_id, segment, duration_ms FROM rec_logs ORDER BY request_id');
    expect(stored).toEqual([
      { request_id: 'r1', segment: hostile, duration_ms: 12.5 },
      { request_id: 'r2', segment: 'x'.repeat(255), duration_ms: null },
      { request_id: 'r3', segment: null, duration_ms: null },
      { request_id: 'r4', segment: null, duration_ms: null },
    ]);
    // Failures are counts, not served lists: no row in rec_logs, one counter per variant and minute.
    expect(
      await database.query(
        'SELECT variant, sum(failed)::int AS failed FROM experiment_failures GROUP BY variant ORDER BY variant',
      ),
    ).toEqual([
      { variant: 'a', failed: 3 },
      { variant: 'b', failed: 1 },
    ]);
  });

  it('writes every pushed list once, with its fields, across several batches', async () => {
    const writer = new RecLogWriter(database, log, { flushIntervalMs: NEVER });
    for (let n = 0; n < 2_500; n++) writer.push(served(n));
    expect(writer.pending).toBe(2_500);
    await writer.flush();
    expect(writer.pending).toBe(0);
    const stored = await rows();
    expect(stored).toHaveLength(2_500);
    const byId = new Map(stored.map((r) => [r.request_id, r]));
    for (const n of [0, 1, 3, 5, 7, 999, 1_000, 2_499]) {
      const s = served(n);
      expect(byId.get(`r${n}`)).toEqual({
        request_id: `r${n}`,
        surface: 'similar',
        user_id: s.userId,
        anonymous_id: s.anonymousId,
        items: s.items,
        fallback: s.fallback,
        config_version: s.configVersion,
      });
    }
    expect(writer.dropped).toBe(0);
  });

  it('keeps only the three logged fields of each item, and text outside ASCII intact', async () => {
    const writer = new RecLogWriter(database, log, { flushIntervalMs: NEVER });
    const items = [
      { itemId: 'crème-brûlée-🍮', rank: 1, score: 1, title: 'Crème', price: 3 },
      { itemId: '"quoted"\\slash', rank: 2, score: 0.5, title: null, price: null },
    ];
    writer.push(served(1, { items, userId: 'ユーザー' }));
    await writer.close();
    expect(await rows()).toMatchObject([
      {
        user_id: 'ユーザー',
        items: [
          { itemId: 'crème-brûlée-🍮', rank: 1, score: 1 },
          { itemId: '"quoted"\\slash', rank: 2, score: 0.5 },
        ],
      },
    ]);
  });

  it('writes a list larger than a whole batch buffer, between smaller ones', async () => {
    const writer = new RecLogWriter(database, log, { flushIntervalMs: NEVER });
    const big = Array.from({ length: 100 }, (_, i) => ({
      itemId: `${'x'.repeat(4_000)}${i}`,
      rank: i + 1,
      score: 1,
    }));
    writer.push(served(1));
    writer.push(served(2, { items: big }));
    writer.push(served(3));
    await writer.flush();
    const stored = await rows();
    expect(stored.map((r) => r.request_id).sort()).toEqual(['r1', 'r2', 'r3']);
    expect(stored.find((r) => r.request_id === 'r2')!.items).toEqual(big);
  });

  it('encodes a traced list after the turn it was served in, and stores it with its trace, ids hashed', async () => {
    await database.query('DELETE FROM rec_traces');
    const writer = new RecLogWriter(database, log, { flushIntervalMs: NEVER });
    let built = 0;
    const trace = () => {
      built++;
      return {
        body: { request: { k: 2 }, rules: [], engine: { items: [] } } as never,
        itemIds: ['i1', 'gone-1'],
        ruleIds: ['r-9'],
        experiment: null,
        variant: null,
      };
    };
    writer.push(served(1, { userId: 'person-1', anonymousId: 'browser-1', trace }));
    writer.push(served(2));
    // The untraced list is encoded at once; the traced one waits for the next turn of the loop.
    expect(built).toBe(0);
    expect(writer.pending).toBe(2);
    await writer.flush();
    expect(built).toBe(1);
    expect((await rows()).map((r) => r.request_id).sort()).toEqual(['r1', 'r2']);
    const traces = await database.query<{
      request_id: string;
      row: string;
      item_ids: string[];
      rule_ids: string[];
    }>('SELECT request_id, t::text AS row, item_ids, rule_ids FROM rec_traces t');
    expect(traces).toHaveLength(1);
    expect(traces[0]).toMatchObject({ request_id: 'r1', item_ids: ['i1', 'gone-1'], rule_ids: ['r-9'] });
    expect(traces[0]!.row).not.toMatch(/person-1|browser-1/);
    await writer.close();
  });

  it('encodes traced lists at once when 256 wait, for callers that never yield to the event loop', async () => {
    await database.query('DELETE FROM rec_traces');
    const writer = new RecLogWriter(database, log, { flushIntervalMs: NEVER });
    let built = 0;
    const trace = () => {
      built++;
      return { body: {} as never, itemIds: [], ruleIds: [], experiment: null, variant: null };
    };
    for (let n = 0; n < 300; n++) writer.push(served(n, { trace }));
    expect(built).toBe(256);
    expect(writer.pending).toBe(300);
    await writer.flush();
    expect(built).toBe(300);
    expect((await rows()).length).toBe(300);
    await writer.close();
  });

  it('keeps a list whose trace could not be made, and counts the trace as skipped', async () => {
    await database.query('DELETE FROM rec_traces');
    const writer = new RecLogWriter(database, log, { flushIntervalMs: NEVER });
    writer.push(
      served(1, {
        trace: () => {
          throw new Error('broken trace');
        },
      }),
    );
    await writer.flush();
    expect((await rows()).map((r) => r.request_id)).toEqual(['r1']);
    expect(writer.tracesSkipped).toBe(1);
    await writer.close();
  });

  it('keeps every list but leaves out traces once the buffer holds maxTraceBufferBytes', async () => {
    await database.query('DELETE FROM rec_traces');
    const writer = new RecLogWriter(database, log, { flushIntervalMs: NEVER, maxTraceBufferBytes: 1 });
    const trace = () => ({
      body: { request: { k: 2 }, rules: [], engine: { items: [] } } as never,
      itemIds: [],
      ruleIds: [],
      experiment: null,
      variant: null,
    });
    // The first list starts the buffer (0 bytes held); the next two find it over the bound.
    for (let n = 0; n < 3; n++) writer.push(served(n, { trace }));
    await writer.flush();
    expect((await rows()).length).toBe(3);
    const [traced] = await database.query<{ n: number }>('SELECT count(*)::int AS n FROM rec_traces');
    expect(traced!.n).toBe(1);
    expect(writer.tracesSkipped).toBe(2);
    await writer.close();
  });

  it('drops the oldest lists beyond maxBuffer, counts them, and writes the newest', async () => {
    const writer = new RecLogWriter(database, log, { flushIntervalMs: NEVER, maxBuffer: 10 });
    for (let n = 0; n < 25; n++) writer.push(served(n));
    expect(writer.pending).toBeLessThanOrEqual(10);
    expect(writer.dropped + writer.pending).toBe(25);
    const kept = writer.pending;
    await writer.flush();
    const ids = (await rows()).map((r) => Number(r.request_id.slice(1))).sort((a, b) => a - b);
    expect(ids).toEqual(Array.from({ length: kept }, (_, i) => 25 - kept + i));
  });

  it('close() resolves after every pushed list is stored, with flushes already running', async () => {
    const writer = new RecLogWriter(database, log, { flushIntervalMs: NEVER });
    for (let n = 0; n < 3_500; n++) writer.push(served(n));
    void writer.flush();
    void writer.flush();
    await writer.close();
    expect(await rows()).toHaveLength(3_500);
  });

  it('writes on its own after the flush interval', async () => {
    const writer = new RecLogWriter(database, log, { flushIntervalMs: 20 });
    writer.push(served(1));
    await expect.poll(async () => (await rows()).length, { timeout: 240_000 }).toBe(1);
    await writer.close();
  });

  it('stores every other list of a batch, other namespaces included, when the database refuses one', async () => {
    const writer = new RecLogWriter(database, log, { flushIntervalMs: NEVER });
    for (let n = 0; n < 40; n++) {
      // A null surface breaks NOT NULL: the database refuses that row, and only that row.
      const bad = n === 17 ? { surface: null as unknown as string } : {};
      writer.push(served(n, { namespaceId: n % 2 ? 'shop' : 'other', ...bad }));
    }
    await writer.flush();
    expect(writer.rejected).toBe(1);
    expect(writer.pending).toBe(0);
    const ids = (await rows()).map((r) => Number(r.request_id.slice(1))).sort((a, b) => a - b);
    expect(ids).toEqual(Array.from({ length: 40 }, (_, n) => n).filter((n) => n !== 17));
  });

  it('keeps lists while the database is unreachable and writes each once when it is back', async () => {
    let down = true;
    const flaky: Database = Object.assign(Object.create(database) as Database, {
      query: (text: string, params?: unknown[]) =>
        down
          ? Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:5432'))
          : database.query(text, params),
    });
    const writer = new RecLogWriter(flaky, log, { flushIntervalMs: 5, maxRetryDelayMs: 20 });
    for (let n = 0; n < 1_500; n++) writer.push(served(n));
    await writer.flush();
    expect(writer.pending).toBe(1_500);
    for (let n = 1_500; n < 1_600; n++) writer.push(served(n));
    down = false;
    // The writer retries on its own; nothing is dropped or written twice.
    await expect.poll(async () => (await rows()).length, { timeout: 240_000 }).toBe(1_600);
    expect(writer.pending).toBe(0);
    expect(writer.dropped + writer.rejected).toBe(0);
    await writer.close();
  });
});
