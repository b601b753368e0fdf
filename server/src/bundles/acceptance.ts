import { BUNDLE_SURFACE, bundleKeyOf } from '@recsys/engine/protocol';
import { sql } from 'drizzle-orm';
import { rowsOf } from '../db/backup/backupFormat';
import type { Database } from '../db/client';
import { readWholeSets } from '../db/wholeSetReads';

/** Options of {@link bundleAcceptance}. */
export interface AcceptanceOptions {
  /**
   * Bundles served in the last this many days (UTC days, today included) are counted.
   * @default 30
   */
  days?: number;
  /**
   * A purchase that does not carry the bundle's `requestId` (an order sent by the shop's backend)
   * counts for the bundle when the same visitor bought the item within this many days of the bundle
   * being served.
   * @default 7
   */
  purchaseWindowDays?: number;
  /** The end of the period (tests). @default now */
  now?: Date;
}

/** The funnel of bundles served: shown → every item added → every item purchased. */
export interface AcceptanceCounts {
  /** Bundles served (each `recs.bundle` answer with items is one). */
  shown: number;
  /** Served bundles each of whose items was added to a cart with the bundle's `requestId`. */
  allAdded: number;
  /** Of those, bundles each of whose items was then purchased. */
  purchased: number;
  /** allAdded / shown; null when none was shown. */
  addAllRate: number | null;
  /** purchased / shown: the bundle's acceptance; null when none was shown. */
  acceptance: number | null;
}

/** One bundle (the same items, whatever the anchor): totals and its days. */
export interface BundleAcceptanceRow extends AcceptanceCounts {
  /** The item ids sorted and joined by ` + ` ({@link bundleKeyOf}). */
  bundleKey: string;
  itemIds: string[];
  days: Array<AcceptanceCounts & { day: string }>;
}

/** What `admin.bundles.acceptance` and `recsys bundles acceptance` return. */
export interface BundleAcceptance {
  /** First and last day counted (UTC, `YYYY-MM-DD`). */
  from: string;
  to: string;
  totals: AcceptanceCounts;
  /** Every bundle served in the period, most shown first. */
  bundles: BundleAcceptanceRow[];
  /** Every day of the period with a bundle served, oldest first. */
  byDay: Array<AcceptanceCounts & { day: string }>;
  /**
   * When the counts were computed: now, or (read from the table with `stored`) when the oldest
   * stored day among them was last backfilled.
   */
  computedAt: string;
  /** Read from `bundle_acceptance_days` (what the last backfill stored) rather than computed now. */
  stored?: boolean;
}

interface Row extends Record<string, unknown> {
  item_ids: string[] | string;
  day: string;
  shown: number;
  all_added: number;
  purchased: number;
}

const DAY_MS = 86_400_000;

function counts(shown: number, allAdded: number, purchased: number): AcceptanceCounts {
  return {
    shown,
    allAdded,
    purchased,
    addAllRate: shown > 0 ? allAdded / shown : null,
    acceptance: shown > 0 ? purchased / shown : null,
  };
}

/**
 * Bundle acceptance of a namespace, read from the served-list log (`rec_logs`, surface `bundle`) and
 * the stored events on every call (`recsys bundles backfill` stores the same per-day counts, and
 * {@link storedBundleAcceptance} reads them back).
 *
 * A bundle counts as all added when an `add` event carrying its `requestId` (`meta.requestId`, as the
 * bundle widget and `recommendationContext` send it) exists for each of its items; as purchased when,
 * besides, each item has a `purchase` event that carries the `requestId` or comes from the same visitor
 * (user id, anonymous id, or the user an anonymous id is linked to) within `purchaseWindowDays` after
 * the bundle was served. Days are the UTC days the bundles were served on.
 */
export async function bundleAcceptance(
  database: Database,
  namespaceId: string,
  options: AcceptanceOptions = {},
): Promise<BundleAcceptance> {
  const { from, to, rows } = await acceptanceDayRows(database, namespaceId, options);
  return assembleAcceptance(from, to, rows, new Date().toISOString());
}

/** One bundle on one day: the unit both the computation and the stored table have. */
export interface AcceptanceDayRow {
  itemIds: string[];
  day: string;
  shown: number;
  allAdded: number;
  purchased: number;
}

/** The first day (UTC midnight) of a period of `days` days ending on `now`'s day. */
export function periodStart(now: Date, days: number): Date {
  return new Date(Math.floor(now.getTime() / DAY_MS) * DAY_MS - (days - 1) * DAY_MS);
}

/** The per-bundle, per-day counts of a period, computed from `rec_logs` and the events. */
export async function acceptanceDayRows(
  database: Database,
  namespaceId: string,
  options: AcceptanceOptions = {},
): Promise<{ from: string; to: string; rows: AcceptanceDayRow[] }> {
  const days = options.days ?? 30;
  const windowDays = options.purchaseWindowDays ?? 7;
  const now = options.now ?? new Date();
  const since = periodStart(now, days).toISOString();
  const query = sql`WITH served AS MATERIALIZED (
       SELECT r.request_id, r.created_at, r.items,
              coalesce(r.user_id, a.user_id) AS uid, r.anonymous_id AS anon,
              (SELECT jsonb_agg(x->>'itemId' ORDER BY x->>'itemId') FROM jsonb_array_elements(r.items) x) AS item_ids
       FROM rec_logs r
       LEFT JOIN aliases a ON a.namespace_id = r.namespace_id AND a.anonymous_id = r.anonymous_id
       WHERE r.namespace_id = ${namespaceId} AND r.surface = ${BUNDLE_SURFACE}
         AND r.created_at >= ${since}::timestamptz AND r.created_at <= ${now.toISOString()}::timestamptz
         AND jsonb_array_length(r.items) >= 2
     ),
     lines AS MATERIALIZED (
       SELECT s.request_id, x->>'itemId' AS item_id
       FROM served s CROSS JOIN LATERAL jsonb_array_elements(s.items) x
     ),
     added AS MATERIALIZED (
       SELECT DISTINCT e.meta->>'requestId' AS rid, e.item_id
       FROM events e
       WHERE e.namespace_id = ${namespaceId} AND e.type = 'add' AND e.meta ? 'requestId'
         -- Client clocks may run a day behind the server's.
         AND e.ts >= ${since}::timestamptz - interval '1 day'
     ),
     bought AS MATERIALIZED (
       SELECT e.item_id, e.meta->>'requestId' AS rid, coalesce(e.user_id, a.user_id) AS uid,
              e.anonymous_id AS anon, e.received_at
       FROM events e
       LEFT JOIN aliases a ON a.namespace_id = e.namespace_id AND a.anonymous_id = e.anonymous_id
       WHERE e.namespace_id = ${namespaceId} AND e.type = 'purchase'
         AND e.ts >= ${since}::timestamptz - interval '1 day'
     ),
     -- Equi-joins only (request id, visitor, item), so every join can be a hash join: a correlated
     -- lookup per bundle line would cost lines × purchases.
     added_lines AS (
       SELECT DISTINCT l.request_id, l.item_id
       FROM lines l JOIN added d ON d.rid = l.request_id AND d.item_id = l.item_id
     ),
     bought_lines AS (
       SELECT l.request_id, l.item_id
       FROM lines l JOIN bought b ON b.rid = l.request_id AND b.item_id = l.item_id
       UNION
       SELECT l.request_id, l.item_id
       FROM lines l JOIN served s ON s.request_id = l.request_id
       JOIN bought b ON b.item_id = l.item_id AND (b.uid = s.uid OR b.anon = s.anon)
       -- A minute's allowance for the clocks of different replicas.
       WHERE b.received_at >= s.created_at - interval '1 minute'
         AND b.received_at <= s.created_at + ${windowDays} * interval '1 day'
     ),
     per_list AS (
       SELECT l.request_id,
              bool_and(a.request_id IS NOT NULL) AS all_added,
              bool_and(a.request_id IS NOT NULL AND b.request_id IS NOT NULL) AS purchased
       FROM lines l
       LEFT JOIN added_lines a ON a.request_id = l.request_id AND a.item_id = l.item_id
       LEFT JOIN bought_lines b ON b.request_id = l.request_id AND b.item_id = l.item_id
       GROUP BY l.request_id
     )
     SELECT s.item_ids, to_char(s.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day,
            count(*)::int AS shown,
            count(*) FILTER (WHERE p.all_added)::int AS all_added,
            count(*) FILTER (WHERE p.purchased)::int AS purchased
     FROM served s JOIN per_list p ON p.request_id = s.request_id
     GROUP BY 1, 2
     ORDER BY 2, 1`;
  // As in experiment results: the planner's estimates for tables not yet analysed pick nested loops,
  // which cost rows × rows here; hash joins suit any size.
  const rows = await readWholeSets(database, async (tx) => {
    return rowsOf<Row>(await tx.execute(query));
  });
  return {
    from: since.slice(0, 10),
    to: now.toISOString().slice(0, 10),
    rows: rows.map((row) => ({
      itemIds: typeof row.item_ids === 'string' ? JSON.parse(row.item_ids) : row.item_ids,
      day: row.day,
      shown: Number(row.shown),
      allAdded: Number(row.all_added),
      purchased: Number(row.purchased),
    })),
  };
}

/** Totals per bundle and per day of per-day rows (sorted by day, then bundle). */
export function assembleAcceptance(
  from: string,
  to: string,
  rows: AcceptanceDayRow[],
  computedAt: string,
): BundleAcceptance {
  const bundles = new Map<string, { itemIds: string[]; days: Array<AcceptanceCounts & { day: string }> }>();
  const byDay = new Map<string, [number, number, number]>();
  const total: [number, number, number] = [0, 0, 0];
  for (const row of rows) {
    const { itemIds, shown, allAdded, purchased } = row;
    const key = bundleKeyOf(itemIds);
    let bundle = bundles.get(key);
    if (!bundle) {
      bundle = { itemIds, days: [] };
      bundles.set(key, bundle);
    }
    bundle.days.push({ day: row.day, ...counts(shown, allAdded, purchased) });
    const d = byDay.get(row.day) ?? [0, 0, 0];
    byDay.set(row.day, [d[0] + shown, d[1] + allAdded, d[2] + purchased]);
    total[0] += shown;
    total[1] += allAdded;
    total[2] += purchased;
  }
  const sum = (list: AcceptanceCounts[], k: 'shown' | 'allAdded' | 'purchased') =>
    list.reduce((n, c) => n + c[k], 0);
  return {
    from,
    to,
    totals: counts(...total),
    bundles: [...bundles]
      .map(([bundleKey, b]) => ({
        bundleKey,
        itemIds: b.itemIds,
        ...counts(sum(b.days, 'shown'), sum(b.days, 'allAdded'), sum(b.days, 'purchased')),
        days: b.days,
      }))
      .sort((a, b) => b.shown - a.shown || a.bundleKey.localeCompare(b.bundleKey)),
    byDay: [...byDay]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([day, [shown, allAdded, purchased]]) => ({ day, ...counts(shown, allAdded, purchased) })),
    computedAt,
  };
}
