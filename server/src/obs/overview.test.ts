import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../db/client';
import { getTestDatabaseTargets } from '../testing';
import { computeOverview } from './overview';

const NS = 'overview-shop';
const TIMED = 'overview-timed';
/** A fixed "now": 12:34:30 UTC, so the 1h range's buckets are the minutes 11:35 … 12:34. */
const NOW = new Date('2026-03-02T12:34:30Z');
const at = (minutesAgo: number) => new Date(NOW.getTime() - minutesAgo * 60_000).toISOString();

describe.each(getTestDatabaseTargets())('the console overview on $name', (target) => {
  let database: Database & { drop(): Promise<void> };

  const event = (id: string, type: string, minutesAgo: number, meta: Record<string, unknown> = {}) =>
    database.query(
      `INSERT INTO events (namespace_id, event_id, type, item_id, user_id, ts, received_at, meta)
       VALUES ($1, $2, $3, 'sku-1', 'u1', $4, $4, $5)`,
      [NS, id, type, at(minutesAgo), JSON.stringify(meta)],
    );
  const list = (
    id: string,
    surface: string,
    minutesAgo: number,
    items: number,
    fallback = false,
    durationMs: number | null = null,
    namespaceId = NS,
  ) =>
    database.query(
      `INSERT INTO rec_logs (namespace_id, request_id, surface, items, fallback, created_at, duration_ms)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [
        namespaceId,
        id,
        surface,
        JSON.stringify(Array.from({ length: items }, (_, i) => ({ itemId: `sku-${i}`, rank: i, score: 1 }))),
        fallback,
        at(minutesAgo),
        durationMs,
      ],
    );

  beforeAll(async () => {
    database = await target.open();
    await list('r1', 'trending', 2, 4);
    await list('r2', 'similar', 2, 0, true);
    await list('r3', 'similar', 30, 3, true);
    await list('old', 'trending', 120, 4);
    // Serving times: 21 lists at minute 10 (1 … 21 ms, p95 = 20 ms by linear interpolation), one
    // at minute 20 (100 ms); the range's p95 over all 22 is 20.95 ms. Lists without one are left out.
    // Another shop's, so the counts below stay as they are.
    for (let i = 1; i <= 21; i++) await list(`t${i}`, 'cart', 10, 1, false, i, TIMED);
    await list('slow', 'cart', 20, 1, false, 100, TIMED);
    await list('untimed', 'cart', 20, 1, false, null, TIMED);
    // Freshness: two replicas' waits in the minute 10 minutes ago, one replica's 20 minutes ago.
    for (const [minutesAgo, replica, lag] of [
      [10, 'r1', 250],
      [10, 'r2', 900],
      [20, 'r1', 40],
      [120, 'r1', 5000],
    ] as const) {
      await database.query(
        `INSERT INTO index_freshness (namespace_id, minute, replica, max_lag_ms) VALUES ($1, date_trunc('minute', $2::timestamptz), $3, $4)`,
        [TIMED, at(minutesAgo), replica, lag],
      );
    }
    await event('i1', 'impression', 2, { requestId: 'r1' });
    await event('i2', 'impression', 2, { requestId: 'r1' });
    await event('i3', 'impression', 30, { requestId: 'r3' });
    await event('c1', 'click', 1, { requestId: 'r1' });
    await event('a1', 'add', 1, { requestId: 'r1' });
    await event('p1', 'purchase', 0, { requestId: 'r3' });
    // Not from a served list: counted as events, not as the recommendations' clicks or purchases.
    await event('c2', 'click', 1);
    await event('p2', 'purchase', 1, { requestId: 'never-served' });
    await event('v1', 'view', 1);
    await event('v2', 'view', 5);
    await event('v-old', 'view', 90);
    await database.query(
      `INSERT INTO events (namespace_id, event_id, type, ts, received_at) VALUES ('other-shop', 'x', 'view', $1, $1)`,
      [at(1)],
    );
  });
  afterAll(() => database?.drop());

  it('counts events by type and served lists per minute bucket over the last hour', async () => {
    const o = await computeOverview(database, NS, '1h', NOW);
    expect(o.bucketMinutes).toBe(1);
    expect(o.buckets).toHaveLength(60);
    expect(o.from).toBe('2026-03-02T11:35:00.000Z');
    expect(o.to).toBe('2026-03-02T12:35:00.000Z');
    const last = 59;
    const byType = Object.fromEntries(o.events.map((e) => [e.type, e.counts]));
    // 12:33:30 (1 minute ago) is in bucket 12:33 = index 58; the other shop's view is not counted.
    expect(byType.view?.[last - 1]).toBe(1);
    expect(byType.view?.reduce((a, n) => a + n)).toBe(2);
    expect(byType.impression?.reduce((a, n) => a + n)).toBe(3);
    expect(o.events[0]?.type).toBe('impression');
    expect(o.lists.served.reduce((a, n) => a + n)).toBe(3);
    expect(o.lists.fallback.reduce((a, n) => a + n)).toBe(2);
    expect(o.lists.empty.reduce((a, n) => a + n)).toBe(1);
    expect(o.funnel.clicks.reduce((a, n) => a + n)).toBe(1);
    expect(o.funnel.adds.reduce((a, n) => a + n)).toBe(1);
    // The purchase naming a list that was never served still names a list: the recommendations' doing.
    expect(o.funnel.purchases.reduce((a, n) => a + n)).toBe(2);
    // No list of this shop was timed.
    expect(o.latencyP95Ms).toBeNull();
  });

  it('gives the p95 serving time of the timed lists over the range and per bucket', async () => {
    const o = await computeOverview(database, TIMED, '1h', NOW);
    const last = 59;
    // percentile_cont over 1 … 21 and 100: position 0.95 × 21 = 19.95 → 20 + 0.95 × (21 − 20).
    expect(o.latencyP95Ms).toBe(20.95);
    expect(o.latencyP95MsByBucket).toHaveLength(60);
    expect(o.latencyP95MsByBucket[last - 10]).toBe(20);
    expect(o.latencyP95MsByBucket[last - 20]).toBe(100);
    expect(o.latencyP95MsByBucket.filter((v) => v !== null)).toHaveLength(2);
    expect(o.lists.served.reduce((a, n) => a + n)).toBe(23);
  });

  it("gives the slowest replica's event → index wait per bucket and over the range", async () => {
    const o = await computeOverview(database, TIMED, '1h', NOW);
    const last = 59;
    expect(o.indexLagMaxMs).toBe(900);
    expect(o.indexLagMaxMsByBucket[last - 10]).toBe(900);
    expect(o.indexLagMaxMsByBucket[last - 20]).toBe(40);
    // The wait two hours ago is outside the range; minutes without applied events have none.
    expect(o.indexLagMaxMsByBucket.filter((v) => v !== null)).toHaveLength(2);
    const other = await computeOverview(database, NS, '1h', NOW);
    expect(other.indexLagMaxMs).toBeNull();
  });

  it('has no serving time where no list was timed', async () => {
    const o = await computeOverview(database, TIMED, '1h', new Date(NOW.getTime() + 3 * 3_600_000));
    expect(o.latencyP95Ms).toBeNull();
    expect(o.latencyP95MsByBucket.every((v) => v === null)).toBe(true);
    expect(o.indexLagMaxMs).toBeNull();
  });

  it('sums the funnel per surface of the served list, the busiest first', async () => {
    const o = await computeOverview(database, NS, '1h', NOW);
    expect(o.surfaces).toEqual([
      {
        surface: 'similar',
        lists: 2,
        fallback: 2,
        empty: 1,
        impressions: 1,
        clicks: 0,
        adds: 0,
        purchases: 1,
      },
      {
        surface: 'trending',
        lists: 1,
        fallback: 0,
        empty: 0,
        impressions: 2,
        clicks: 1,
        adds: 1,
        purchases: 0,
      },
      {
        surface: '(unknown list)',
        lists: 0,
        fallback: 0,
        empty: 0,
        impressions: 0,
        clicks: 0,
        adds: 0,
        purchases: 1,
      },
    ]);
  });

  it('widens the buckets with the range and takes in older rows', async () => {
    const day = await computeOverview(database, NS, '24h', NOW);
    expect(day.bucketMinutes).toBe(30);
    expect(day.buckets).toHaveLength(48);
    expect(day.lists.served.reduce((a, n) => a + n)).toBe(4);
    const week = await computeOverview(database, NS, '7d', NOW);
    expect(week.buckets).toHaveLength(28);
    expect(week.events.find((e) => e.type === 'view')?.counts.reduce((a, n) => a + n)).toBe(3);
  });
});
