import { sql } from 'drizzle-orm';
import { rowsOf } from '../db/backup/backupFormat';
import type { Database } from '../db/client';

/** The time ranges the console's overview offers, each with its bucket width. */
export const OVERVIEW_RANGES = {
  '1h': { rangeMinutes: 60, bucketMinutes: 1 },
  '24h': { rangeMinutes: 24 * 60, bucketMinutes: 30 },
  '7d': { rangeMinutes: 7 * 24 * 60, bucketMinutes: 6 * 60 },
} as const;
export type OverviewRange = keyof typeof OVERVIEW_RANGES;

/** Served lists, and what shoppers did with the items of served lists, per surface. */
export interface SurfaceTotals {
  surface: string;
  lists: number;
  fallback: number;
  empty: number;
  impressions: number;
  clicks: number;
  adds: number;
  purchases: number;
}

/** Counts per time bucket (`buckets[i]` is where bucket i starts), as `admin.overview` answers. */
export interface Overview {
  range: OverviewRange;
  from: string;
  to: string;
  bucketMinutes: number;
  buckets: string[];
  /** Events per bucket by type (event time), the busiest type first; types with none left out. */
  events: Array<{ type: string; counts: number[] }>;
  /** Lists served per bucket; those the fallback filled (any of), and those with no item. */
  lists: { served: number[]; fallback: number[]; empty: number[] };
  /**
   * Impressions, and clicks, adds to cart and purchases that name the `requestId` of a served list
   * (attributed to recommendations), per bucket.
   */
  funnel: { impressions: number[]; clicks: number[]; adds: number[]; purchases: number[] };
  /** The same, summed over the range per surface of the served list, busiest first. */
  surfaces: SurfaceTotals[];
  /**
   * p95 serving time over the range, ms: from the validated request to the finished list, as logged
   * with each served list (`rec_logs.duration_ms`). Null when no list in the range has one (lists
   * logged before serving times were kept). The HTTP time of each process is at `/metrics`.
   */
  latencyP95Ms: number | null;
  /** The same per bucket; null for a bucket without a timed list. */
  latencyP95MsByBucket: Array<number | null>;
  /**
   * Freshness: the longest an event waited between being stored and being applied to an engine
   * (the slowest replica's), ms, over the range and per bucket; null where no event was applied
   * (`index_freshness`, written a minute at a time by each replica).
   */
  indexLagMaxMs: number | null;
  indexLagMaxMsByBucket: Array<number | null>;
}

interface LagRow {
  b: number | null;
  lag: number | null;
}

interface LatencyRow {
  b: number | null;
  p95: number | null;
}

interface EventRow {
  b: number;
  type: string;
  surface: string | null;
  n: number;
}
interface ListRow {
  b: number;
  surface: string;
  lists: number;
  fallback: number;
  empty: number;
}

const FUNNEL = { impression: 'impressions', click: 'clicks', add: 'adds', purchase: 'purchases' } as const;

/**
 * The console's overview of one namespace over the last `range`, counted in SQL per time bucket.
 * Buckets end at the current bucket's end, so the newest one is partly in the future.
 */
export async function computeOverview(
  database: Database,
  namespaceId: string,
  range: OverviewRange,
  now = new Date(),
): Promise<Overview> {
  const { rangeMinutes, bucketMinutes } = OVERVIEW_RANGES[range];
  const bucketMs = bucketMinutes * 60_000;
  const end = Math.ceil((now.getTime() + 1) / bucketMs) * bucketMs;
  const start = end - rangeMinutes * 60_000;
  const n = rangeMinutes / bucketMinutes;
  const from = new Date(start).toISOString();
  const to = new Date(end).toISOString();
  const seconds = bucketMinutes * 60;
  const bucket = (column: ReturnType<typeof sql.raw>) =>
    sql`floor(extract(epoch from (${column} - ${from}::timestamptz)) / ${seconds})::int`;
  // Impressions count wherever they came from; clicks, adds and purchases only when they name the
  // served list they came from (`meta.requestId`): the others were not the recommendations' doing.
  // The surface is the served list's (an event's own `meta.surface` is a page, not a list).
  const eventRows = rowsOf<EventRow>(
    await database.db.execute(sql`
      SELECT ${bucket(sql.raw('e.ts'))} AS b, e.type,
             CASE WHEN e.type = 'impression' OR (e.type IN ('click', 'add', 'purchase') AND e.meta ? 'requestId')
                  THEN coalesce(r.surface, '(unknown list)') END AS surface,
             count(*)::int AS n
      FROM events e
      LEFT JOIN rec_logs r ON r.namespace_id = e.namespace_id AND r.request_id = e.meta->>'requestId'
      WHERE e.namespace_id = ${namespaceId} AND e.ts >= ${from}::timestamptz AND e.ts < ${to}::timestamptz
      GROUP BY 1, 2, 3`),
  );
  const listRows = rowsOf<ListRow>(
    await database.db.execute(sql`
      SELECT ${bucket(sql.raw('created_at'))} AS b, surface,
             count(*)::int AS lists,
             count(*) FILTER (WHERE fallback)::int AS fallback,
             count(*) FILTER (WHERE jsonb_array_length(items) = 0)::int AS empty
      FROM rec_logs
      WHERE namespace_id = ${namespaceId} AND created_at >= ${from}::timestamptz AND created_at < ${to}::timestamptz
      GROUP BY 1, 2`),
  );

  // One pass: the p95 per bucket and, in the grouping set without a bucket (b is null), over the range.
  const latencyRows = rowsOf<LatencyRow>(
    await database.db.execute(sql`
      SELECT ${bucket(sql.raw('created_at'))} AS b,
             percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms)::float8 AS p95
      FROM rec_logs
      WHERE namespace_id = ${namespaceId} AND created_at >= ${from}::timestamptz AND created_at < ${to}::timestamptz
        AND duration_ms IS NOT NULL
      GROUP BY GROUPING SETS ((1), ())`),
  );

  const lagRows = rowsOf<LagRow>(
    await database.db.execute(sql`
      SELECT ${bucket(sql.raw('minute'))} AS b, max(max_lag_ms)::float8 AS lag
      FROM index_freshness
      WHERE namespace_id = ${namespaceId} AND minute >= ${from}::timestamptz AND minute < ${to}::timestamptz
      GROUP BY GROUPING SETS ((1), ())`),
  );

  const zeros = () => new Array<number>(n).fill(0);
  const round = (ms: number | null) => (ms === null ? null : Math.round(Number(ms) * 100) / 100);
  const latencyP95MsByBucket = new Array<number | null>(n).fill(null);
  let latencyP95Ms: number | null = null;
  for (const row of latencyRows) {
    if (row.b === null) latencyP95Ms = round(row.p95);
    else if (Number(row.b) >= 0 && Number(row.b) < n) latencyP95MsByBucket[Number(row.b)] = round(row.p95);
  }
  const indexLagMaxMsByBucket = new Array<number | null>(n).fill(null);
  let indexLagMaxMs: number | null = null;
  for (const row of lagRows) {
    if (row.b === null) indexLagMaxMs = round(row.lag);
    else if (Number(row.b) >= 0 && Number(row.b) < n) indexLagMaxMsByBucket[Number(row.b)] = round(row.lag);
  }
  const byType = new Map<string, number[]>();
  const funnel = { impressions: zeros(), clicks: zeros(), adds: zeros(), purchases: zeros() };
  const lists = { served: zeros(), fallback: zeros(), empty: zeros() };
  const surfaces = new Map<string, SurfaceTotals>();
  const surfaceOf = (surface: string) => {
    let totals = surfaces.get(surface);
    if (!totals) {
      totals = { surface, lists: 0, fallback: 0, empty: 0, impressions: 0, clicks: 0, adds: 0, purchases: 0 };
      surfaces.set(surface, totals);
    }
    return totals;
  };
  for (const row of eventRows) {
    const b = Number(row.b);
    const count = Number(row.n);
    if (b < 0 || b >= n) continue;
    const counts = byType.get(row.type) ?? zeros();
    byType.set(row.type, counts);
    counts[b]! += count;
    const key = FUNNEL[row.type as keyof typeof FUNNEL];
    if (key && row.surface !== null) {
      funnel[key][b]! += count;
      surfaceOf(row.surface)[key] += count;
    }
  }
  for (const row of listRows) {
    const b = Number(row.b);
    if (b < 0 || b >= n) continue;
    lists.served[b]! += Number(row.lists);
    lists.fallback[b]! += Number(row.fallback);
    lists.empty[b]! += Number(row.empty);
    const totals = surfaceOf(row.surface);
    totals.lists += Number(row.lists);
    totals.fallback += Number(row.fallback);
    totals.empty += Number(row.empty);
  }
  const sum = (values: number[]) => values.reduce((a, v) => a + v, 0);
  return {
    range,
    from,
    to,
    bucketMinutes,
    buckets: Array.from({ length: n }, (_, i) => new Date(start + i * bucketMs).toISOString()),
    events: [...byType]
      .map(([type, counts]) => ({ type, counts }))
      .sort((a, b) => sum(b.counts) - sum(a.counts) || a.type.localeCompare(b.type)),
    lists,
    funnel,
    surfaces: [...surfaces.values()].sort(
      (a, b) => b.lists + b.impressions - (a.lists + a.impressions) || a.surface.localeCompare(b.surface),
    ),
    latencyP95Ms,
    latencyP95MsByBucket,
    indexLagMaxMs,
    indexLagMaxMsByBucket,
  };
}
