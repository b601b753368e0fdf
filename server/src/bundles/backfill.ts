import { BUNDLE_SURFACE, bundleKeyOf } from '@recsys/engine/protocol';
import { and, asc, eq, gte, lte, sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { bundleAcceptanceDays, recLogs } from '../db/schema';
import {
  type AcceptanceCounts,
  type AcceptanceDayRow,
  acceptanceDayRows,
  assembleAcceptance,
  type BundleAcceptance,
  periodStart,
} from './acceptance';

/** Options of {@link backfillBundleAcceptance}. */
export interface BackfillOptions {
  /**
   * Recompute the bundles served in the last this many UTC days, today included.
   * @default 30
   */
  lookbackDays?: number;
  /** As in {@link bundleAcceptance}. @default 7 */
  purchaseWindowDays?: number;
  /** Compute and report, write nothing. @default false */
  dryRun?: boolean;
  /** The end of the period (tests). @default now */
  now?: Date;
}

/** What one namespace's backfill did (or, in a dry run, would do). */
export interface BackfillResult {
  namespaceId: string;
  /** The days replaced (UTC, `YYYY-MM-DD`), both included. */
  from: string;
  to: string;
  purchaseWindowDays: number;
  dryRun: boolean;
  /** Days of the period with a bundle served. */
  days: number;
  /** Distinct bundles served in the period. */
  bundles: number;
  /** Rows (one per bundle and day) computed, and written unless a dry run. */
  rows: number;
  /** Rows of the period that were stored before (deleted and replaced; in a dry run, would be). */
  replaced: number;
  totals: AcceptanceCounts;
  /** The per-bundle, per-day rows. */
  byDay: AcceptanceDayRow[];
  computedAt: string;
}

/**
 * Recomputes bundle acceptance (shown → all items added → purchased, per bundle per served day) from
 * the stored lists and events, exactly as {@link bundleAcceptance} does, and stores it in
 * `bundle_acceptance_days`: the days of the period are replaced as a whole in one transaction, so
 * running it again over the same days gives the same rows, and a bundle no longer found on a day (its
 * list aged out) leaves no stale row. A dry run computes the same and writes nothing.
 */
export async function backfillBundleAcceptance(
  database: Database,
  namespaceId: string,
  options: BackfillOptions = {},
): Promise<BackfillResult> {
  const lookbackDays = options.lookbackDays ?? 30;
  const purchaseWindowDays = options.purchaseWindowDays ?? 7;
  const dryRun = options.dryRun ?? false;
  const now = options.now ?? new Date();
  const { from, to, rows } = await acceptanceDayRows(database, namespaceId, {
    days: lookbackDays,
    purchaseWindowDays,
    now,
  });
  const computedAt = new Date();
  const inPeriod = and(
    eq(bundleAcceptanceDays.namespaceId, namespaceId),
    gte(bundleAcceptanceDays.day, from),
    lte(bundleAcceptanceDays.day, to),
  );
  const replaced = await database.db.transaction(async (tx) => {
    if (dryRun) {
      const [row] = await tx
        .select({ n: sql<number>`count(*)::int` })
        .from(bundleAcceptanceDays)
        .where(inPeriod);
      return Number(row?.n ?? 0);
    }
    const deleted = await tx
      .delete(bundleAcceptanceDays)
      .where(inPeriod)
      .returning({ day: bundleAcceptanceDays.day });
    // A backfill running at the same time inserted the same keys: the later one's counts win.
    for (let i = 0; i < rows.length; i += 1_000) {
      await tx
        .insert(bundleAcceptanceDays)
        .values(
          rows.slice(i, i + 1_000).map((r) => ({
            namespaceId,
            day: r.day,
            bundleKey: bundleKeyOf(r.itemIds),
            itemIds: r.itemIds,
            shown: r.shown,
            allAdded: r.allAdded,
            purchased: r.purchased,
            purchaseWindowDays,
            computedAt,
          })),
        )
        .onConflictDoUpdate({
          target: [
            bundleAcceptanceDays.namespaceId,
            bundleAcceptanceDays.day,
            bundleAcceptanceDays.bundleKey,
          ],
          set: {
            itemIds: sql`excluded.item_ids`,
            shown: sql`excluded.shown`,
            allAdded: sql`excluded.all_added`,
            purchased: sql`excluded.purchased`,
            purchaseWindowDays: sql`excluded.purchase_window_days`,
            computedAt: sql`excluded.computed_at`,
          },
        });
    }
    return deleted.length;
  });
  const totals = assembleAcceptance(from, to, rows, computedAt.toISOString()).totals;
  return {
    namespaceId,
    from,
    to,
    purchaseWindowDays,
    dryRun,
    days: new Set(rows.map((r) => r.day)).size,
    bundles: new Set(rows.map((r) => bundleKeyOf(r.itemIds))).size,
    rows: rows.length,
    replaced,
    totals,
    byDay: rows,
    computedAt: computedAt.toISOString(),
  };
}

/**
 * Bundle acceptance as the last backfills stored it, in the shape of {@link bundleAcceptance}: a read
 * of one small table instead of the whole computation. Days never backfilled are missing from it.
 */
export async function storedBundleAcceptance(
  database: Database,
  namespaceId: string,
  options: { days?: number; now?: Date } = {},
): Promise<BundleAcceptance> {
  const now = options.now ?? new Date();
  const from = periodStart(now, options.days ?? 30)
    .toISOString()
    .slice(0, 10);
  const to = now.toISOString().slice(0, 10);
  const rows = await database.db
    .select()
    .from(bundleAcceptanceDays)
    .where(
      and(
        eq(bundleAcceptanceDays.namespaceId, namespaceId),
        gte(bundleAcceptanceDays.day, from),
        lte(bundleAcceptanceDays.day, to),
      ),
    )
    .orderBy(asc(bundleAcceptanceDays.day), asc(bundleAcceptanceDays.bundleKey));
  const oldest = rows.reduce<Date | null>(
    (min, r) => (min === null || r.computedAt < min ? r.computedAt : min),
    null,
  );
  return {
    ...assembleAcceptance(from, to, rows, (oldest ?? now).toISOString()),
    stored: true,
  };
}

/** Namespaces that served a bundle since `since`, for the nightly job. */
export async function namespacesWithBundles(
  database: Database,
  since: Date,
  namespaceId: string | undefined,
): Promise<string[]> {
  const rows = await database.db
    .selectDistinct({ namespaceId: recLogs.namespaceId })
    .from(recLogs)
    .where(
      and(
        eq(recLogs.surface, BUNDLE_SURFACE),
        gte(recLogs.createdAt, since),
        namespaceId === undefined ? undefined : eq(recLogs.namespaceId, namespaceId),
      ),
    )
    .orderBy(asc(recLogs.namespaceId));
  return rows.map((r) => r.namespaceId);
}
