/**
 * Longer than the ~450-line guideline on purpose: the SQL that counts exposures and attributed events
 * and the statistics read off those counts, per metric, change together.
 */
import { and, eq, type SQL, sql } from 'drizzle-orm';
import { z } from 'zod';
import { rowsOf } from '../db/backup/backupFormat';
import type { Database } from '../db/client';
import { experimentFailures } from '../db/schema';
import { readWholeSets } from '../db/wholeSetReads';
import { describeZodError, UserError } from '../errors';
import { pgText } from '../ingest/contracts/pgSafe';
import { isBundleExperiment } from './assign';
import { type BanditAllocations, expectedVisitorShares, listAllocations } from './bandit/allocations';
import type { ExperimentMetric, GuardrailMetric, WINDOWED_GUARDRAIL_METRICS } from './contracts';
import { type ArmMoments, type Comparison, compareArms, proportionMoments } from './stats/compare';
import {
  type CovariateMoments,
  cupedAdjustedMoments,
  cupedTheta,
  emptyCovariateMoments,
  pooledMeanX,
} from './stats/cuped';
import { sequentialSampleSize } from './stats/power';
import type { SequentialTest } from './stats/sequential';
import { sampleRatioMismatch } from './stats/srm';
import { type Experiment, getExperiment } from './store';

/** A test's outcome as JSON has it: numbers that are not finite are null. */
export interface TestResult {
  estimate: number | null;
  ci: [number | null, number | null];
  pValue: number;
  significant: boolean;
}

/** One variant's exposures and metrics. */
export interface VariantResult {
  key: string;
  kind: string;
  weight: number;
  /** Lists served (exposures). */
  lists: number;
  /** Distinct visitors served at least one list. */
  visitors: number;
  /** Requests assigned to the variant that failed (no list served): the numerator of `errorRate`. */
  failed: number;
  /**
   * Rates per variant; null without exposures. `p95LatencyMs` is null while no list has a recorded
   * serving time (lists logged before it was recorded).
   */
  metrics: Record<GuardrailMetric, number | null>;
  /**
   * Seen exposures: lists served that an `impression` event (with their `requestId`) says were seen.
   * Null, like `seenVisitors` and `seenMetrics`, when no list of the experiment has an impression
   * (impressions were not sent; see the notes).
   */
  seen: number | null;
  /** Distinct visitors with at least one seen list (counted under the variant of their first). */
  seenVisitors: number | null;
  /** The rates over seen exposures: CTR of seen lists; adds, purchases and revenue per seen visitor. */
  seenMetrics: Record<GuardrailMetric, number | null> | null;
}

/** A treatment against the control on one metric. */
export interface MetricComparison {
  variant: string;
  metric: ExperimentMetric;
  control: number | null;
  treatment: number | null;
  difference: TestResult;
  /** Relative lift; null while the control has no data (see `note`). */
  lift: TestResult | null;
  note?: string;
  /** The interval and p-value use CUPED-adjusted values (the rates shown are the raw ones). */
  cuped?: boolean;
}

/**
 * What a breakdown slices by: the UTC day, the surface (the placement when the request named one),
 * or the segment — the request's `traits.segment`, what `target.segments` matches, as logged with
 * each served list (`''` for lists whose request named none, and for lists logged before segments
 * were recorded).
 */
export const BREAKDOWNS = ['day', 'surface', 'segment'] as const;
export type Breakdown = (typeof BREAKDOWNS)[number];

/** The options of {@link experimentResults} as `admin.experiments.results` and the CLI accept them. */
export const resultsOptionsShape = {
  /** Days of pre-period behaviour used by CUPED to narrow the intervals; 0 or absent: off. */
  cupedDays: z.number().int('a whole number of days').min(0).max(365).optional(),
  /**
   * Slice every variant's counts and rates by the UTC day, the surface or the segment
   * (`traits.segment` of the request) of the served lists.
   */
  breakdown: z.enum(BREAKDOWNS, { error: 'must be "day", "surface" or "segment"' }).optional(),
  /** Names of `custom` events (`meta.name`): per variant, the share of visitors who sent one. */
  customEvents: z
    .array(
      pgText()
        .trim()
        .min(1, 'an empty custom event name; pass the `meta.name` your custom events carry')
        .max(128, 'at most 128 characters (as `meta.name` of an event)'),
    )
    .max(20, 'at most 20 custom event names at once')
    .optional(),
};
const resultsOptionsSchema = z.object(resultsOptionsShape).strict();

/** Options of {@link experimentResults}. */
export interface ResultsOptions {
  /**
   * Days before the start whose behaviour of each visitor is the CUPED covariate for add-to-cart,
   * conversion and revenue per visitor; 0 turns CUPED off.
   * @default 0
   */
  cupedDays?: number;
  /** Adds `breakdown`: per variant and day, surface or segment, the same counts and rates (descriptive only). */
  breakdown?: Breakdown;
  /** Adds `customEvents`: per name and variant, the visitors who sent that custom event after their first list. */
  customEvents?: string[];
}

/** The metrics a breakdown shows per slice. */
export type SliceMetric = 'ctr' | 'addToCartRate' | 'conversionRate' | 'revenuePerVisitor';

/** One variant in one slice (a UTC day, a surface or a segment). */
export interface SliceResult {
  variant: string;
  /**
   * `YYYY-MM-DD` (UTC), the surface (the placement when the request named one), or the segment
   * (`''`: lists whose request named no `traits.segment`).
   */
  slice: string;
  /** Lists served in the slice. */
  lists: number;
  /**
   * By day: visitors whose first list was that day (each visitor in one day). By surface or segment:
   * visitors served in it (a visitor served in two is in both).
   */
  visitors: number;
  metrics: Record<SliceMetric, number | null>;
}

/**
 * A treatment against the control within one slice, on one metric: the slice's own rates and the
 * relative lift with its always-valid interval (each valid at any look, but many slices are many
 * comparisons; see the note).
 */
export interface SliceComparison {
  slice: string;
  variant: string;
  metric: SliceMetric;
  control: number | null;
  treatment: number | null;
  /** Null while the control has no data in the slice. */
  lift: TestResult | null;
}

/** A breakdown of the results: per slice, the counts and rates, and lifts against the control. */
export interface BreakdownResult {
  by: Breakdown;
  slices: SliceResult[];
  /** Per slice (in the order of `slices`), every other variant against the control on each metric. */
  comparisons: SliceComparison[];
}

/** One custom event for one variant. */
export interface CustomEventResult {
  name: string;
  variant: string;
  /** Visitors of the variant who sent the event after their first list. */
  visitors: number;
  /** `visitors` over the variant's visitors; null without visitors. */
  share: number | null;
  /** The events those visitors sent (after their first list). */
  events: number;
}

/** What `admin.experiments.results` returns. */
export interface ExperimentResults {
  experiment: Pick<
    Experiment,
    | 'id'
    | 'name'
    | 'status'
    | 'startedAt'
    | 'endedAt'
    | 'primaryMetric'
    | 'minimumDetectableEffect'
    | 'traffic'
  >;
  control: string;
  variants: VariantResult[];
  comparisons: MetricComparison[];
  /** Sample-ratio mismatch on visitors per variant against the configured weights. */
  srm: { chiSquare: number; pValue: number; mismatch: boolean };
  /** A bandit's settings and every allocation it has had (absent for fixed weights). */
  bandit?: BanditAllocations;
  /** Visitors per variant the always-valid test needs for the primary metric's minimum detectable effect. */
  plannedVisitorsPerVariant: number | null;
  /**
   * How each variant was served over the guardrails' recent window (`guardrails.windowMinutes`,
   * ending now, or when the experiment ended): what `p95LatencyMs`, `errorRate`, `emptyListRate` and
   * `fallbackRate` guardrails judge. `variants[].metrics` has the same over the whole experiment.
   */
  service: {
    windowMinutes: number;
    since: string;
    until: string;
    variants: Array<{
      key: string;
      lists: number;
      failed: number;
      metrics: Pick<VariantResult['metrics'], WindowedMetric>;
    }>;
  };
  /** With the `breakdown` option: per variant and slice, the counts and rates. */
  breakdown?: BreakdownResult;
  /** With the `customEvents` option: per name and variant (in that order). */
  customEvents?: CustomEventResult[];
  /** Why numbers are null or not to be trusted yet. */
  notes: string[];
  computedAt: string;
}

type WindowedMetric = (typeof WINDOWED_GUARDRAIL_METRICS)[number];

const finite = (x: number): number | null => (Number.isFinite(x) ? x : null);

function toResult(t: SequentialTest): TestResult {
  return {
    estimate: finite(t.estimate),
    ci: [finite(t.ci[0]), finite(t.ci[1])],
    pValue: t.pValue,
    significant: t.significant,
  };
}

interface ListRow extends Record<string, unknown> {
  variant: string;
  slice: string;
  lists: number;
  clicked: number;
  empty: number;
  fallback: number;
  /** The 95th percentile of the lists' serving times, ms; null when none has one. */
  p95_ms: number | null;
}

interface VisitorRow extends Record<string, unknown> {
  variant: string;
  slice: string;
  visitors: number;
  adders: number;
  buyers: number;
  revenue: number;
  revenue_sq: number;
}

/** Per-variant sums: what every metric and comparison is computed from. */
export interface VariantSums {
  lists: number;
  clicked: number;
  empty: number;
  fallback: number;
  visitors: number;
  adders: number;
  buyers: number;
  revenue: number;
  revenueSq: number;
  /** Bundles served with at least one partner (bundle experiments; 0 otherwise). */
  bundles?: number;
  /** Of those, bundles each of whose items was added to a cart with the bundle's `requestId`. */
  bundlesAllAdded?: number;
  /** Requests assigned to the variant that then failed (absent: not counted, as over seen exposure). */
  failed?: number;
  /** The 95th percentile of the serving time of its lists, ms (absent or null: none recorded). */
  p95LatencyMs?: number | null;
}

/**
 * Per variant of a bundle experiment: bundles served with a partner, and those each of whose items
 * then had an `add` event carrying the bundle's `requestId` (as the bundle widget sends them).
 */
async function readBundleSums(
  database: Database,
  namespaceId: string,
  experiment: Experiment,
): Promise<Array<{ variant: string; bundles: number; all_added: number }>> {
  const since = experiment.startedAt ?? experiment.createdAt;
  const q = sql`WITH served AS MATERIALIZED (
       SELECT r.request_id, r.variant, r.items FROM rec_logs r
       WHERE r.namespace_id = ${namespaceId} AND r.experiment_id = ${experiment.id}
         AND jsonb_array_length(r.items) >= 2
     ),
     added AS MATERIALIZED (
       SELECT DISTINCT e.meta->>'requestId' AS rid, e.item_id FROM events e
       WHERE e.namespace_id = ${namespaceId} AND e.type = 'add' AND e.meta ? 'requestId'
         AND e.ts >= ${since}::timestamptz - interval '1 day'
     )
     SELECT s.variant, count(*)::int AS bundles,
            count(*) FILTER (WHERE NOT EXISTS (
              SELECT 1 FROM jsonb_array_elements(s.items) x
              WHERE NOT EXISTS (SELECT 1 FROM added a WHERE a.rid = s.request_id AND a.item_id = x->>'itemId')
            ))::int AS all_added
     FROM served s GROUP BY s.variant`;
  return rowsOf<{ variant: string; bundles: number; all_added: number }>(await database.db.execute(q));
}

/**
 * The CTE `seen`: the request ids of lists an `impression` event (carrying `meta.requestId`, as the
 * widgets send it) says were seen, since a day before `since` (client clocks).
 */
const seenLists = (namespaceId: string, since: string | Date) =>
  sql`seen AS MATERIALIZED (
       SELECT DISTINCT meta->>'requestId' AS rid FROM events
       WHERE namespace_id = ${namespaceId} AND type = 'impression' AND meta ? 'requestId'
         AND ts >= ${since}::timestamptz - interval '1 day'
     )`;

/**
 * The CTEs `served` (every list of the experiment, with its visitor across anonymous and logged-in
 * ids) and `exposed` (each visitor once: the variant and time of their first list). With `seenSince`,
 * only lists with an impression (the CTE `seen`, impressions since then) count as exposures.
 */
export const exposedVisitors = (namespaceId: string, experimentId: string, seenSince?: string | Date) =>
  sql`${seenSince === undefined ? sql`` : sql`${seenLists(namespaceId, seenSince)},`}
     served AS MATERIALIZED (
       SELECT r.variant, r.created_at, r.surface, r.segment, coalesce(r.user_id, a.user_id, r.anonymous_id) AS visitor
       FROM rec_logs r
       LEFT JOIN aliases a ON a.namespace_id = r.namespace_id AND a.anonymous_id = r.anonymous_id
       WHERE r.namespace_id = ${namespaceId} AND r.experiment_id = ${experimentId}
         ${seenSince === undefined ? sql`` : sql`AND r.request_id IN (SELECT rid FROM seen)`}
     ),
     exposed AS MATERIALIZED (
       SELECT DISTINCT ON (visitor) visitor, variant, created_at AS first_at
       FROM served WHERE visitor IS NOT NULL ORDER BY visitor, created_at
     )`;

/**
 * Reads the per-variant sums of an experiment from the served-list log and the events.
 *
 * Exposure: a list served under the experiment. A visitor is counted once, under the variant of their
 * first exposure, across anonymous and logged-in ids (joined through the alias link). Clicks count for
 * the list whose `requestId` they carry; adds, purchases and revenue count for the visitor when they
 * arrive after the visitor's first exposure (by the server's clock, not the client's) (assignment is sticky, so every later list was the same
 * variant's). Revenue is quantity × `meta.unitPrice` (or the item's price) of purchase events.
 *
 * With `seenOnly`, the exposures are the lists seen (with an `impression` event carrying their
 * `requestId`): lists, clicks and visitors count only those, and a visitor's adds and purchases count
 * from their first seen list.
 */
export async function readVariantSums(
  database: Database,
  namespaceId: string,
  experiment: Experiment,
  options: { seenOnly?: boolean } = {},
): Promise<Map<string, VariantSums>> {
  const { lists, visitors } = await readSumRows(database, namespaceId, experiment, options.seenOnly ?? false);
  const out = new Map<string, VariantSums>();
  for (const v of experiment.variants) out.set(v.key, emptySums());
  for (const row of lists) addListRow(out.get(row.variant), row);
  for (const row of visitors) addVisitorRow(out.get(row.variant), row);
  if (!options.seenOnly) {
    // Failed requests have no list, so nothing was seen of them: seen exposure has no error rate.
    for (const s of out.values()) s.failed = 0;
    const failures = await database.db
      .select({ variant: experimentFailures.variant, failed: sql<number>`sum(${experimentFailures.failed})` })
      .from(experimentFailures)
      .where(
        and(
          eq(experimentFailures.namespaceId, namespaceId),
          eq(experimentFailures.experimentId, experiment.id),
        ),
      )
      .groupBy(experimentFailures.variant);
    for (const row of failures) {
      const s = out.get(row.variant);
      if (s) s.failed = Number(row.failed);
    }
  }
  if (isBundleExperiment(experiment)) {
    for (const v of out.values()) {
      v.bundles = 0;
      v.bundlesAllAdded = 0;
    }
    for (const row of await readBundleSums(database, namespaceId, experiment)) {
      const s = out.get(row.variant);
      if (!s) continue;
      s.bundles = Number(row.bundles);
      s.bundlesAllAdded = Number(row.all_added);
    }
  }
  return out;
}

/** The span of recent service the windowed guardrails judge: `minutes` up to `until`. */
export interface ServiceWindow {
  minutes: number;
  since: Date;
  until: Date;
}

/** The window of `minutes` that ends at `until`. */
export const serviceWindow = (minutes: number, until: Date): ServiceWindow => ({
  minutes,
  since: new Date(until.getTime() - minutes * 60_000),
  until,
});

/**
 * Per variant, how its lists were served within `span` (by the time each was served): lists,
 * empty and fallback lists, the p95 serving time, and the requests that failed (counted to the
 * minute). What the windowed guardrails (`WINDOWED_GUARDRAIL_METRICS`) judge; visitors and
 * what they did are left at zero.
 */
export async function readServiceSums(
  database: Database,
  namespaceId: string,
  experiment: Experiment,
  span: ServiceWindow,
): Promise<Map<string, VariantSums>> {
  const { since, until } = span;
  const out = new Map<string, VariantSums>();
  for (const v of experiment.variants) out.set(v.key, { ...emptySums(), failed: 0, p95LatencyMs: null });
  const lists = rowsOf<ListRow>(
    await database.db.execute(sql`SELECT r.variant, '' AS slice, count(*)::int AS lists, 0 AS clicked,
            count(*) FILTER (WHERE jsonb_array_length(r.items) = 0)::int AS empty,
            count(*) FILTER (WHERE r.fallback)::int AS fallback,
            percentile_cont(0.95) WITHIN GROUP (ORDER BY r.duration_ms)::float8 AS p95_ms
     FROM rec_logs r
     WHERE r.namespace_id = ${namespaceId} AND r.experiment_id = ${experiment.id}
       AND r.created_at > ${since.toISOString()}::timestamptz AND r.created_at <= ${until.toISOString()}::timestamptz
     GROUP BY 1`),
  );
  for (const row of lists) addListRow(out.get(row.variant), row);
  const failures = rowsOf<{ variant: string; failed: number }>(
    await database.db.execute(sql`SELECT variant, sum(failed)::int AS failed FROM experiment_failures
     WHERE namespace_id = ${namespaceId} AND experiment_id = ${experiment.id}
       AND minute >= date_trunc('minute', ${since.toISOString()}::timestamptz)
       AND minute <= ${until.toISOString()}::timestamptz
     GROUP BY 1`),
  );
  for (const row of failures) {
    const s = out.get(row.variant);
    if (s) s.failed = Number(row.failed);
  }
  return out;
}

const emptySums = (): VariantSums => ({
  lists: 0,
  clicked: 0,
  empty: 0,
  fallback: 0,
  visitors: 0,
  adders: 0,
  buyers: 0,
  revenue: 0,
  revenueSq: 0,
});

function addListRow(s: VariantSums | undefined, row: ListRow) {
  if (!s) return;
  s.lists = Number(row.lists);
  s.clicked = Number(row.clicked);
  s.empty = Number(row.empty);
  s.fallback = Number(row.fallback);
  s.p95LatencyMs = row.p95_ms === null || row.p95_ms === undefined ? null : Number(row.p95_ms);
}

function addVisitorRow(s: VariantSums | undefined, row: VisitorRow) {
  if (!s) return;
  s.visitors = Number(row.visitors);
  s.adders = Number(row.adders);
  s.buyers = Number(row.buyers);
  s.revenue = Number(row.revenue);
  s.revenueSq = Number(row.revenue_sq);
}

/**
 * Per breakdown, the slice of a list (`rec_logs` alias `r`) and the slices a visitor is in, from a
 * served list (`served` alias `s`) and the visitor's first list (`exposed` alias `x`): a day puts each
 * visitor in the day of their first list; a surface puts them in every surface that served them.
 */
const SLICES: Record<Breakdown, { list: SQL; visitor: SQL }> = {
  day: {
    list: sql`to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')`,
    visitor: sql`to_char(x.first_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')`,
  },
  surface: { list: sql`r.surface`, visitor: sql`s.surface` },
  segment: { list: sql`coalesce(r.segment, '')`, visitor: sql`coalesce(s.segment, '')` },
};

/** What each breakdown counts where, as the results' notes say it. */
const BREAKDOWN_NOTES: Record<Breakdown, string> = {
  day: "Lists and CTR are by each list's UTC day; visitors, with their adds, purchases and revenue whenever they came, by the day of their first list.",
  surface:
    "Lists and CTR are by each list's surface (the placement when the request named one); a visitor counts in every surface that served them, with what they did after their first list there, so visitors do not add up across surfaces.",
  segment:
    'Lists and CTR are by the segment each list\'s request named (traits.segment; "" when it named none, or the list was logged before segments were recorded); a visitor counts in every segment they were served in, with what they did after their first list there, so visitors do not add up across segments.',
};

/**
 * Per variant and breakdown slice, the list rows (lists served in the slice, with clicks) and the
 * visitor rows (visitors whose first list was in the slice, with what they did after it); see
 * {@link readVariantSums}.
 */
async function readSumRows(
  database: Database,
  namespaceId: string,
  experiment: Experiment,
  seenOnly: boolean,
  by: Breakdown | 'none' = 'none',
): Promise<{ lists: ListRow[]; visitors: VisitorRow[] }> {
  const since = experiment.startedAt ?? experiment.createdAt;
  const slice = by === 'none' ? { list: sql`''`, visitor: sql`''` } : SLICES[by];
  // Each visitor once per slice they are in, with the variant of their first list and the time of
  // their first list in the slice; without a breakdown, `exposed` itself.
  const sliced =
    by === 'none'
      ? sql`sliced AS (SELECT variant, visitor, '' AS slice, first_at FROM exposed)`
      : sql`sliced AS MATERIALIZED (
          SELECT DISTINCT ON (s.visitor, 3) x.variant, s.visitor, ${slice.visitor} AS slice, s.created_at AS first_at
          FROM served s JOIN exposed x ON x.visitor = s.visitor
          ORDER BY s.visitor, 3, s.created_at
        )`;
  const q1 = sql`WITH ${seenOnly ? sql`${seenLists(namespaceId, since)},` : sql``} clicks AS MATERIALIZED (
       SELECT DISTINCT meta->>'requestId' AS rid FROM events
       WHERE namespace_id = ${namespaceId} AND type = 'click' AND ts >= ${since}::timestamptz - interval '1 day'
         AND meta ? 'requestId'
     )
     SELECT r.variant, ${slice.list} AS slice,
            count(*)::int AS lists,
            count(c.rid)::int AS clicked,
            count(*) FILTER (WHERE jsonb_array_length(r.items) = 0)::int AS empty,
            count(*) FILTER (WHERE r.fallback)::int AS fallback,
            percentile_cont(0.95) WITHIN GROUP (ORDER BY r.duration_ms)::float8 AS p95_ms
     FROM rec_logs r LEFT JOIN clicks c ON c.rid = r.request_id
     ${seenOnly ? sql`JOIN seen ON seen.rid = r.request_id` : sql``}
     WHERE r.namespace_id = ${namespaceId} AND r.experiment_id = ${experiment.id}
     GROUP BY 1, 2`;

  const q2 = sql`WITH ${exposedVisitors(namespaceId, experiment.id, seenOnly ? since : undefined)},
     evs AS MATERIALIZED (
       SELECT e.type, e.received_at, e.value, e.meta, e.item_id,
              coalesce(e.user_id, a.user_id, e.anonymous_id) AS visitor
       FROM events e
       LEFT JOIN aliases a ON a.namespace_id = e.namespace_id AND a.anonymous_id = e.anonymous_id
       WHERE e.namespace_id = ${namespaceId} AND e.type IN ('add', 'purchase')
         -- Happened (client clock, an hour's allowance for slow clocks) and arrived after the start:
         -- history sent late, e.g. a backfill of past orders, is not the experiment's.
         AND e.ts >= ${since}::timestamptz - interval '1 hour' AND e.received_at >= ${since}::timestamptz
     ),
     ${sliced},
     per_visitor AS (
       SELECT x.variant, x.slice, x.visitor,
              coalesce(bool_or(ev.type = 'add'), false) AS added,
              coalesce(bool_or(ev.type = 'purchase'), false) AS purchased,
              coalesce(sum(CASE WHEN ev.type = 'purchase'
                THEN coalesce(ev.value, 1) * coalesce((ev.meta->>'unitPrice')::float8, i.price, 0) END), 0)::float8 AS revenue
       FROM sliced x
       -- Received (server clock) after the visitor's first list (in the slice) was served; a minute's allowance
       -- for clocks of different replicas.
       LEFT JOIN evs ev ON ev.visitor = x.visitor AND ev.received_at >= x.first_at - interval '1 minute'
       LEFT JOIN items i ON i.namespace_id = ${namespaceId} AND i.item_id = ev.item_id
       GROUP BY 1, 2, 3
     )
     SELECT variant, slice,
            count(*)::int AS visitors,
            count(*) FILTER (WHERE added)::int AS adders,
            count(*) FILTER (WHERE purchased)::int AS buyers,
            coalesce(sum(revenue), 0)::float8 AS revenue,
            coalesce(sum(revenue * revenue), 0)::float8 AS revenue_sq
     FROM per_visitor GROUP BY 1, 2`;
  // Every join here is between whole sets (lists × clicks, visitors × events): hash joins suit any
  // size, while the nested loops a planner picks from the estimates of not-yet-analysed tables cost
  // rows × rows (seconds for a few thousand visitors).
  const [lists, visitors] = await readWholeSets(database, async (tx) => {
    return [rowsOf<ListRow>(await tx.execute(q1)), rowsOf<VisitorRow>(await tx.execute(q2))] as const;
  });
  return { lists, visitors };
}

/**
 * Per variant and slice (UTC day, surface or segment), the counts and rates. Lists and CTR: by each
 * list's own day, surface or segment. Visitors, add-to-cart, conversion and revenue per visitor: by
 * day, each visitor in the day of their first list, with what they did after it whenever it happened
 * (a cohort: the days' visitors add up to the variant's); by surface or segment, each visitor in
 * every surface or segment they were served in, with what they did after their first list there (a
 * visitor of two counts in both). Slices are sorted; a variant has a row wherever it had a list or a
 * visitor.
 */
export async function readBreakdown(
  database: Database,
  namespaceId: string,
  experiment: Experiment,
  by: Breakdown,
): Promise<BreakdownResult> {
  const { lists, visitors } = await readSumRows(database, namespaceId, experiment, false, by);
  const order = new Map(experiment.variants.map((v, i) => [v.key, i]));
  const sums = new Map<string, { variant: string; slice: string; sums: VariantSums }>();
  const at = (variant: string, slice: string) => {
    const key = JSON.stringify([variant, slice]);
    let entry = sums.get(key);
    if (!entry) {
      entry = { variant, slice, sums: emptySums() };
      sums.set(key, entry);
    }
    return entry.sums;
  };
  for (const row of lists) if (order.has(row.variant)) addListRow(at(row.variant, row.slice), row);
  for (const row of visitors) if (order.has(row.variant)) addVisitorRow(at(row.variant, row.slice), row);
  const slices = [...sums.values()]
    .sort((a, b) =>
      a.slice === b.slice
        ? (order.get(a.variant) ?? 0) - (order.get(b.variant) ?? 0)
        : a.slice < b.slice
          ? -1
          : 1,
    )
    .map(({ variant, slice, sums: s }) => {
      const { ctr, addToCartRate, conversionRate, revenuePerVisitor } = variantRates(s);
      return {
        variant,
        slice,
        lists: s.lists,
        visitors: s.visitors,
        metrics: { ctr, addToCartRate, conversionRate, revenuePerVisitor },
      };
    });
  const control = experiment.variants[0]?.key ?? '';
  const comparisons: SliceComparison[] = [];
  for (const slice of new Set(slices.map((s) => s.slice))) {
    const controlSums = sums.get(JSON.stringify([control, slice]))?.sums ?? emptySums();
    for (const variant of experiment.variants.slice(1)) {
      const treated = sums.get(JSON.stringify([variant.key, slice]))?.sums ?? emptySums();
      for (const metric of METRICS) {
        const cmp = compareArms(metricMoments(controlSums, metric), metricMoments(treated, metric), {
          minimumDetectableEffect: experiment.minimumDetectableEffect,
        });
        comparisons.push({
          slice,
          variant: variant.key,
          metric,
          control: finite(cmp.controlMean),
          treatment: finite(cmp.treatmentMean),
          lift: cmp.lift ? toResult(cmp.lift) : null,
        });
      }
    }
  }
  return { by, slices, comparisons };
}

/**
 * Per custom event name and variant: the visitors (counted under the variant of their first list)
 * who sent a `custom` event with that `meta.name`, received after their first list (the same clocks
 * and allowances as adds and purchases), and how many such events they sent.
 */
export async function readCustomEvents(
  database: Database,
  namespaceId: string,
  experiment: Experiment,
  names: string[],
  visitorsOf: (variant: string) => number,
): Promise<CustomEventResult[]> {
  const since = experiment.startedAt ?? experiment.createdAt;
  const unique = [...new Set(names)];
  if (!unique.length) return [];
  const q = sql`WITH ${exposedVisitors(namespaceId, experiment.id)},
     custom AS MATERIALIZED (
       SELECT e.meta->>'name' AS name, e.received_at, coalesce(e.user_id, a.user_id, e.anonymous_id) AS visitor
       FROM events e
       LEFT JOIN aliases a ON a.namespace_id = e.namespace_id AND a.anonymous_id = e.anonymous_id
       WHERE e.namespace_id = ${namespaceId} AND e.type = 'custom'
         AND e.meta->>'name' IN (${sql.join(
           unique.map((n) => sql`${n}`),
           sql`, `,
         )})
         AND e.ts >= ${since}::timestamptz - interval '1 hour' AND e.received_at >= ${since}::timestamptz
     )
     SELECT x.variant, c.name, count(DISTINCT x.visitor)::int AS visitors, count(*)::int AS events
     FROM exposed x JOIN custom c ON c.visitor = x.visitor AND c.received_at >= x.first_at - interval '1 minute'
     GROUP BY 1, 2`;
  const rows = await readWholeSets(database, async (tx) => {
    return rowsOf<{ variant: string; name: string; visitors: number; events: number }>(await tx.execute(q));
  });
  return unique.flatMap((name) =>
    experiment.variants.map((v) => {
      const row = rows.find((r) => r.name === name && r.variant === v.key);
      const visitors = Number(row?.visitors ?? 0);
      const all = visitorsOf(v.key);
      return {
        name,
        variant: v.key,
        visitors,
        share: all > 0 ? visitors / all : null,
        events: Number(row?.events ?? 0),
      };
    }),
  );
}

/** The visitor metrics CUPED can adjust, with the pre-period covariate of each (the same metric before the start). */
const CUPED_METRICS = ['addToCartRate', 'conversionRate', 'revenuePerVisitor'] as const;
type CupedMetric = (typeof CUPED_METRICS)[number];

/**
 * Per variant and visitor metric, the sums CUPED needs: the metric in the experiment (y) and the same
 * visitor's value over the `days` before the experiment started (x), by event time.
 */
export async function readCovariateSums(
  database: Database,
  namespaceId: string,
  experiment: Experiment,
  days: number,
): Promise<Map<string, Record<CupedMetric, CovariateMoments>>> {
  const since = experiment.startedAt ?? experiment.createdAt;
  const revenue = sql`coalesce(ev.value, 1) * coalesce((ev.meta->>'unitPrice')::float8, i.price, 0)`;
  const q = sql`WITH ${exposedVisitors(namespaceId, experiment.id)},
     evs AS MATERIALIZED (
       SELECT e.type, e.ts, e.received_at, e.value, e.meta, e.item_id,
              coalesce(e.user_id, a.user_id, e.anonymous_id) AS visitor
       FROM events e
       LEFT JOIN aliases a ON a.namespace_id = e.namespace_id AND a.anonymous_id = e.anonymous_id
       WHERE e.namespace_id = ${namespaceId} AND e.type IN ('add', 'purchase')
         AND e.ts >= ${since}::timestamptz - make_interval(days => ${days} + 1)
     ),
     per_visitor AS (
       SELECT x.variant,
              coalesce(bool_or(ev.type = 'add' AND ev.received_at >= x.first_at - interval '1 minute' AND ev.ts >= ${since}::timestamptz - interval '1 hour'), false)::int AS y_add,
              coalesce(bool_or(ev.type = 'purchase' AND ev.received_at >= x.first_at - interval '1 minute' AND ev.ts >= ${since}::timestamptz - interval '1 hour'), false)::int AS y_buy,
              coalesce(sum(${revenue}) FILTER (WHERE ev.type = 'purchase' AND ev.received_at >= x.first_at - interval '1 minute' AND ev.ts >= ${since}::timestamptz - interval '1 hour'), 0)::float8 AS y_rev,
              coalesce(bool_or(ev.type = 'add' AND ev.ts < ${since}::timestamptz AND ev.ts >= ${since}::timestamptz - make_interval(days => ${days})), false)::int AS x_add,
              coalesce(bool_or(ev.type = 'purchase' AND ev.ts < ${since}::timestamptz AND ev.ts >= ${since}::timestamptz - make_interval(days => ${days})), false)::int AS x_buy,
              coalesce(sum(${revenue}) FILTER (WHERE ev.type = 'purchase' AND ev.ts < ${since}::timestamptz AND ev.ts >= ${since}::timestamptz - make_interval(days => ${days})), 0)::float8 AS x_rev
       FROM exposed x
       LEFT JOIN evs ev ON ev.visitor = x.visitor
       LEFT JOIN items i ON i.namespace_id = ${namespaceId} AND i.item_id = ev.item_id
       GROUP BY x.variant, x.visitor
     )
     SELECT variant, count(*)::int AS n,
       sum(y_add)::float8 AS add_y, sum(y_add * y_add)::float8 AS add_yy, sum(x_add)::float8 AS add_x, sum(x_add * x_add)::float8 AS add_xx, sum(x_add * y_add)::float8 AS add_xy,
       sum(y_buy)::float8 AS buy_y, sum(y_buy * y_buy)::float8 AS buy_yy, sum(x_buy)::float8 AS buy_x, sum(x_buy * x_buy)::float8 AS buy_xx, sum(x_buy * y_buy)::float8 AS buy_xy,
       sum(y_rev)::float8 AS rev_y, sum(y_rev * y_rev)::float8 AS rev_yy, sum(x_rev)::float8 AS rev_x, sum(x_rev * x_rev)::float8 AS rev_xx, sum(x_rev * y_rev)::float8 AS rev_xy
     FROM per_visitor GROUP BY variant`;
  const rows = await readWholeSets(database, async (tx) => {
    return rowsOf<Record<string, number | string>>(await tx.execute(q));
  });
  const out = new Map<string, Record<CupedMetric, CovariateMoments>>();
  for (const v of experiment.variants) {
    out.set(v.key, {
      addToCartRate: emptyCovariateMoments(),
      conversionRate: emptyCovariateMoments(),
      revenuePerVisitor: emptyCovariateMoments(),
    });
  }
  const prefix: Record<CupedMetric, string> = {
    addToCartRate: 'add',
    conversionRate: 'buy',
    revenuePerVisitor: 'rev',
  };
  for (const row of rows) {
    const arm = out.get(String(row.variant));
    if (!arm) continue;
    for (const metric of CUPED_METRICS) {
      const p = prefix[metric];
      arm[metric] = {
        n: Number(row.n),
        sumY: Number(row[`${p}_y`]),
        sumYY: Number(row[`${p}_yy`]),
        sumX: Number(row[`${p}_x`]),
        sumXX: Number(row[`${p}_xx`]),
        sumXY: Number(row[`${p}_xy`]),
      };
    }
  }
  return out;
}

/** The moments of one metric for one variant. */
export function metricMoments(s: VariantSums, metric: ExperimentMetric): ArmMoments {
  switch (metric) {
    case 'ctr':
      return proportionMoments(s.lists, s.clicked);
    case 'addToCartRate':
      return proportionMoments(s.visitors, s.adders);
    case 'conversionRate':
      return proportionMoments(s.visitors, s.buyers);
    case 'revenuePerVisitor':
      return { n: s.visitors, sum: s.revenue, sumSq: s.revenueSq };
  }
}

/** Every rate results and guardrails read, null where its denominator is zero. */
export function variantRates(s: VariantSums): Record<GuardrailMetric, number | null> {
  const rate = (num: number, den: number) => (den > 0 ? num / den : null);
  return {
    ctr: rate(s.clicked, s.lists),
    addToCartRate: rate(s.adders, s.visitors),
    conversionRate: rate(s.buyers, s.visitors),
    revenuePerVisitor: rate(s.revenue, s.visitors),
    emptyListRate: rate(s.empty, s.lists),
    fallbackRate: rate(s.fallback, s.lists),
    bundleAcceptance: rate(s.bundlesAllAdded ?? 0, s.bundles ?? 0),
    p95LatencyMs: s.p95LatencyMs ?? null,
    // Over every request the variant was assigned: the lists it served and those that failed.
    errorRate: s.failed === undefined ? null : rate(s.failed, s.lists + s.failed),
  };
}

const METRICS: ExperimentMetric[] = ['ctr', 'addToCartRate', 'conversionRate', 'revenuePerVisitor'];

/**
 * Results of an experiment: exposures and metrics per variant, every other variant against the
 * control (the first variant) on every metric with an always-valid interval and p-value (valid at any
 * look, so they can be read daily), a sample-ratio-mismatch check, and the planned sample size.
 */
export async function experimentResults(
  database: Database,
  namespaceId: string,
  id: string,
  options: ResultsOptions = {},
): Promise<ExperimentResults> {
  const parsed = resultsOptionsSchema.safeParse(options);
  if (!parsed.success) throw new UserError('BAD_REQUEST', describeZodError(parsed.error));
  const experiment = await getExperiment(database, namespaceId, id);
  const sums = await readVariantSums(database, namespaceId, experiment);
  const seenSums = await readVariantSums(database, namespaceId, experiment, { seenOnly: true });
  const impressionsSent = [...seenSums.values()].some((s) => s.lists > 0);
  const cupedDays = options.cupedDays ?? 0;
  const covariates =
    cupedDays > 0 ? await readCovariateSums(database, namespaceId, experiment, cupedDays) : null;
  // One θ per metric from every arm pooled, so each difference stays unbiased.
  const cuped = new Map<CupedMetric, { theta: number; meanX: number }>();
  if (covariates) {
    for (const metric of CUPED_METRICS) {
      const arms = [...covariates.values()].map((c) => c[metric]);
      cuped.set(metric, { theta: cupedTheta(arms), meanX: pooledMeanX(arms) });
    }
  }
  const momentsOf = (variant: string, metric: ExperimentMetric): ArmMoments => {
    const adjust = cuped.get(metric as CupedMetric);
    const arm = covariates?.get(variant)?.[metric as CupedMetric];
    if (adjust && arm) return cupedAdjustedMoments(arm, adjust.theta, adjust.meanX);
    return metricMoments(sums.get(variant) as VariantSums, metric);
  };
  const control = experiment.variants[0];
  if (!control) throw new Error(`experiment ${id} has no variants`);
  const controlSums = sums.get(control.key) as VariantSums;
  const notes: string[] = [];
  const comparisons: MetricComparison[] = [];
  for (const variant of experiment.variants.slice(1)) {
    const treated = sums.get(variant.key) as VariantSums;
    for (const metric of METRICS) {
      const cmp: Comparison = compareArms(momentsOf(control.key, metric), momentsOf(variant.key, metric), {
        minimumDetectableEffect: experiment.minimumDetectableEffect,
      });
      const out: MetricComparison = {
        variant: variant.key,
        metric,
        control: finite(cmp.controlMean),
        treatment: finite(cmp.treatmentMean),
        difference: toResult(cmp.difference),
        lift: cmp.lift ? toResult(cmp.lift) : null,
      };
      if (cuped.has(metric as CupedMetric)) {
        // The adjusted means equal the raw ones in expectation; the raw rates are what to show.
        out.control = finite(metricMoments(controlSums, metric).sum / metricMoments(controlSums, metric).n);
        out.treatment = finite(metricMoments(treated, metric).sum / metricMoments(treated, metric).n);
        out.cuped = true;
      }
      if (!cmp.lift)
        out.note = `no lift while the control "${control.key}" has no ${metric === 'ctr' ? 'lists or clicks' : 'visitors or events'} for ${metric}`;
      comparisons.push(out);
    }
  }
  if (!impressionsSent) {
    notes.push(
      "No list of this experiment has an impression event, so seen exposure (seen, seenVisitors, seenMetrics) is null: impressions were not sent. The widgets send them; a shop rendering lists itself sends `impression` events with the list's `meta.requestId`.",
    );
  }
  if (controlSums.visitors === 0)
    notes.push(`The control "${control.key}" has no visitors yet: every lift is null (unknown, not zero).`);
  const bandit =
    experiment.allocation === 'bandit' ? await listAllocations(database, namespaceId, id) : undefined;
  const srmCheck = sampleRatioMismatch(
    experiment.variants.map((v) => sums.get(v.key)?.visitors ?? 0),
    bandit
      ? await expectedVisitorShares(database, namespaceId, experiment, bandit.history)
      : experiment.variants.map((v) => v.weight),
  );
  if (bandit) {
    notes.push(
      `A bandit: weights follow ${bandit.settings.metric} (Thompson sampling, ${bandit.history.length} allocation${bandit.history.length === 1 ? '' : 's'} so far); the sample ratio is checked against the allocation in effect when each visitor arrived. The control "${bandit.control}" always keeps at least its ${(bandit.settings.holdout * 100).toFixed(0)}% holdout; lifts of an adaptively allocated test mix periods with different weights, so a trend over time can bias them: treat them as indicative.`,
    );
  }
  const breakdown = parsed.data.breakdown
    ? await readBreakdown(database, namespaceId, experiment, parsed.data.breakdown)
    : undefined;
  if (breakdown) {
    notes.push(
      `By ${breakdown.by}: each slice's lift has its own always-valid interval, but reading many slices is many comparisons: some slice will look significant by chance, so decide on the overall comparison and use slices to explain it. ${BREAKDOWN_NOTES[breakdown.by]}`,
    );
  }
  const span = serviceWindow(
    experiment.guardrails.windowMinutes,
    experiment.endedAt ? new Date(experiment.endedAt) : new Date(),
  );
  const recent = await readServiceSums(database, namespaceId, experiment, span);
  const customEvents = parsed.data.customEvents
    ? await readCustomEvents(
        database,
        namespaceId,
        experiment,
        parsed.data.customEvents,
        (v) => sums.get(v)?.visitors ?? 0,
      )
    : undefined;
  if (srmCheck.mismatch) {
    notes.push(
      `Sample-ratio mismatch (p = ${srmCheck.pValue.toExponential(2)}): visitors per variant do not follow the weights; find the cause (a variant that errors, bots, caching) before trusting any lift.`,
    );
  }
  const baseMoments = metricMoments(controlSums, experiment.primaryMetric);
  const baseRate = baseMoments.n > 0 ? baseMoments.sum / baseMoments.n : Number.NaN;
  let planned: number | null = null;
  if (
    experiment.primaryMetric !== 'revenuePerVisitor' &&
    baseRate > 0 &&
    baseRate * (1 + experiment.minimumDetectableEffect) < 1
  ) {
    planned = sequentialSampleSize({ baseRate, minimumDetectableEffect: experiment.minimumDetectableEffect });
  }
  return {
    experiment: {
      id: experiment.id,
      name: experiment.name,
      status: experiment.status,
      startedAt: experiment.startedAt,
      endedAt: experiment.endedAt,
      primaryMetric: experiment.primaryMetric,
      minimumDetectableEffect: experiment.minimumDetectableEffect,
      traffic: experiment.traffic,
    },
    control: control.key,
    variants: experiment.variants.map((v) => {
      const s = sums.get(v.key) as VariantSums;
      const seen = impressionsSent ? (seenSums.get(v.key) as VariantSums) : null;
      return {
        key: v.key,
        kind: v.kind,
        weight: v.weight,
        lists: s.lists,
        visitors: s.visitors,
        failed: s.failed ?? 0,
        metrics: variantRates(s),
        seen: seen ? seen.lists : null,
        seenVisitors: seen ? seen.visitors : null,
        seenMetrics: seen ? variantRates(seen) : null,
      };
    }),
    comparisons,
    service: {
      windowMinutes: span.minutes,
      since: span.since.toISOString(),
      until: span.until.toISOString(),
      variants: experiment.variants.map((v) => {
        const s = recent.get(v.key) as VariantSums;
        const { p95LatencyMs, errorRate, emptyListRate, fallbackRate } = variantRates(s);
        return {
          key: v.key,
          lists: s.lists,
          failed: s.failed ?? 0,
          metrics: { p95LatencyMs, errorRate, emptyListRate, fallbackRate },
        };
      }),
    },
    srm: { chiSquare: srmCheck.chiSquare, pValue: srmCheck.pValue, mismatch: srmCheck.mismatch },
    ...(bandit ? { bandit } : {}),
    plannedVisitorsPerVariant: planned,
    ...(breakdown ? { breakdown } : {}),
    ...(customEvents ? { customEvents } : {}),
    notes,
    computedAt: new Date().toISOString(),
  };
}
