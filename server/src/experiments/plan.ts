import { SURFACES } from '@recsys/engine/protocol';
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { rowsOf } from '../db/backup/backupFormat';
import type { Database } from '../db/client';
import { readWholeSets } from '../db/wholeSetReads';
import { EXPERIMENT_METRICS, type ExperimentMetric } from './contracts';
import { fixedHorizonSampleSize, sequentialSampleSize } from './stats/power';
import { listExperiments } from './store';

/**
 * What `admin.experiments.plan` takes: the parts of an experiment that decide how long it must run.
 * The defaults are those of `admin.experiments.create`.
 */
export const planExperimentSchema = z
  .object({
    /** Surfaces the experiment would run on; all when absent. */
    surfaces: z.array(z.enum(SURFACES)).min(1).max(SURFACES.length).optional(),
    /** @default 'conversionRate' */
    primaryMetric: z.enum(EXPERIMENT_METRICS).default('conversionRate'),
    /** Relative lift to detect, e.g. 0.05 for +5 %. @default 0.05 */
    minimumDetectableEffect: z
      .number()
      .min(0.001, 'at least 0.001 (a lift of 0.1 %)')
      .max(10, 'at most 10 (a lift of 1000 %)')
      .default(0.05),
    /** The variants' weights, control first. @default [1, 1] */
    weights: z
      .array(z.number().finite().positive('weights are > 0').max(1_000))
      .min(2, 'an experiment needs a control and at least one other variant')
      .max(10, 'at most 10 variants')
      .default([1, 1]),
    /** Share of targeted visitors who enter the experiment, 0–1. @default 1 */
    traffic: z.number().min(0.0001, 'at least 0.0001').max(1, 'at most 1 (everyone)').default(1),
    /** Days of served lists the control's rate and the traffic are read from. @default 14 */
    lookbackDays: z
      .number()
      .int('a whole number of days')
      .min(1, 'at least 1 day')
      .max(90, 'at most 90 days')
      .default(14),
    /**
     * The control's rate of the primary metric (0–1, exclusive) to plan with instead of the measured
     * one: for a surface with no history yet, or to ask "what if".
     */
    baseRate: z
      .number()
      .gt(0, 'a rate above 0, e.g. 0.03 for 3 %')
      .lt(1, 'a rate below 1, e.g. 0.03 for 3 %')
      .optional(),
  })
  .strict();
export type PlanExperimentInput = z.input<typeof planExperimentSchema>;

/** What `admin.experiments.plan` answers. */
export interface ExperimentPlan {
  primaryMetric: ExperimentMetric;
  minimumDetectableEffect: number;
  /** The surfaces read (null: all). */
  surfaces: string[] | null;
  /** The lookback actually covered: from the first list served in it (at least 1 day) to now. */
  observedDays: number;
  /** Lists served on the surfaces in the lookback, and the distinct visitors they reached. */
  traffic: { lists: number; visitors: number; listsPerDay: number; visitorsPerDay: number };
  /**
   * The control's rate of the primary metric: measured on lists served by the active configuration
   * (outside experiments, or under an experiment's control), or the `baseRate` given.
   */
  baseRate: number | null;
  baseRateSource: 'measured' | 'given' | null;
  /** The lists (CTR) or visitors (the other metrics) the measured rate is over. */
  baseSample: number;
  /** Visitors (lists for CTR) per variant the always-valid test needs; null when it cannot be planned. */
  perVariant: number | null;
  /** What a read-once fixed-horizon test would need, for comparison. */
  fixedHorizonPerVariant: number | null;
  /** Units a day reaching the smallest variant at the given weights and traffic share. */
  smallestVariantPerDay: number | null;
  /** Days until the smallest variant has `perVariant`, at the recent traffic; null when unknown. */
  days: number | null;
  /** Why a number is null, and what the numbers assume. */
  notes: string[];
}

interface PlanRow extends Record<string, unknown> {
  lists: number;
  visitors: number;
  first_epoch: number | null;
  control_lists: number;
  control_clicked: number;
  control_visitors: number;
  adders: number;
  buyers: number;
}

const DAY_MS = 86_400_000;

/**
 * Sizes an experiment before it exists: the control's current rate of the primary metric on the
 * surfaces (measured the way results measure it, over the lookback), the visitors per variant the
 * always-valid test needs for the minimum detectable effect (80 % power, α = 0.05), and the days
 * that takes at the surfaces' recent traffic for the smallest variant.
 */
export async function planExperiment(
  database: Database,
  namespaceId: string,
  input: z.output<typeof planExperimentSchema>,
  now = new Date(),
): Promise<ExperimentPlan> {
  const from = new Date(now.getTime() - input.lookbackDays * DAY_MS).toISOString();
  // The control of every experiment serves the active configuration, as lists outside experiments do.
  const controls = (await listExperiments(database, namespaceId)).flatMap((x) =>
    x.variants[0] ? [sql`(${x.id}, ${x.variants[0].key})`] : [],
  );
  const isControl = controls.length
    ? sql`(r.experiment_id IS NULL OR (r.experiment_id, r.variant) IN (${sql.join(controls, sql`, `)}))`
    : sql`r.experiment_id IS NULL`;
  const onSurfaces = input.surfaces
    ? sql`AND r.surface IN (${sql.join(
        input.surfaces.map((s) => sql`${s}`),
        sql`, `,
      )})`
    : sql``;
  const q = sql`WITH served AS MATERIALIZED (
       SELECT r.request_id, r.created_at, ${isControl} AS control,
              coalesce(r.user_id, a.user_id, r.anonymous_id) AS visitor
       FROM rec_logs r
       LEFT JOIN aliases a ON a.namespace_id = r.namespace_id AND a.anonymous_id = r.anonymous_id
       WHERE r.namespace_id = ${namespaceId} AND r.created_at >= ${from}::timestamptz ${onSurfaces}
     ),
     clicks AS MATERIALIZED (
       SELECT DISTINCT meta->>'requestId' AS rid FROM events
       WHERE namespace_id = ${namespaceId} AND type = 'click' AND meta ? 'requestId'
         AND ts >= ${from}::timestamptz - interval '1 day'
     ),
     firsts AS MATERIALIZED (
       SELECT visitor, min(created_at) AS first_at FROM served
       WHERE control AND visitor IS NOT NULL GROUP BY visitor
     ),
     evs AS MATERIALIZED (
       SELECT e.type, e.received_at, coalesce(e.user_id, a.user_id, e.anonymous_id) AS visitor
       FROM events e
       LEFT JOIN aliases a ON a.namespace_id = e.namespace_id AND a.anonymous_id = e.anonymous_id
       WHERE e.namespace_id = ${namespaceId} AND e.type IN ('add', 'purchase')
         AND e.received_at >= ${from}::timestamptz
     ),
     acted AS (
       -- As results count them: an add or purchase received after the visitor's first list (a
       -- minute's allowance for the clocks of different replicas).
       SELECT f.visitor,
              bool_or(ev.type = 'add') AS added,
              bool_or(ev.type = 'purchase') AS purchased
       FROM firsts f JOIN evs ev ON ev.visitor = f.visitor AND ev.received_at >= f.first_at - interval '1 minute'
       GROUP BY f.visitor
     )
     SELECT (SELECT count(*) FROM served)::int AS lists,
            (SELECT count(DISTINCT visitor) FROM served)::int AS visitors,
            (SELECT extract(epoch FROM min(created_at)) FROM served)::float8 AS first_epoch,
            (SELECT count(*) FROM served WHERE control)::int AS control_lists,
            (SELECT count(*) FROM served s JOIN clicks c ON c.rid = s.request_id WHERE s.control)::int AS control_clicked,
            (SELECT count(*) FROM firsts)::int AS control_visitors,
            (SELECT count(*) FROM acted WHERE added)::int AS adders,
            (SELECT count(*) FROM acted WHERE purchased)::int AS buyers`;
  const row = await readWholeSets(database, async (tx) => {
    return rowsOf<PlanRow>(await tx.execute(q))[0];
  });
  const lists = Number(row?.lists ?? 0);
  const visitors = Number(row?.visitors ?? 0);
  const firstAt = row?.first_epoch == null ? now.getTime() : Number(row.first_epoch) * 1000;
  const observedDays = Math.min(input.lookbackDays, Math.max(1, (now.getTime() - firstAt) / DAY_MS));
  const notes: string[] = [];
  const metric = input.primaryMetric;
  const byLists = metric === 'ctr';

  let measured: { rate: number; sample: number } | null = null;
  const controlLists = Number(row?.control_lists ?? 0);
  const controlVisitors = Number(row?.control_visitors ?? 0);
  if (metric === 'ctr' && controlLists > 0)
    measured = { rate: Number(row?.control_clicked ?? 0) / controlLists, sample: controlLists };
  if (metric === 'addToCartRate' && controlVisitors > 0)
    measured = { rate: Number(row?.adders ?? 0) / controlVisitors, sample: controlVisitors };
  if (metric === 'conversionRate' && controlVisitors > 0)
    measured = { rate: Number(row?.buyers ?? 0) / controlVisitors, sample: controlVisitors };

  const baseRate = input.baseRate ?? measured?.rate ?? null;
  const baseRateSource = input.baseRate !== undefined ? 'given' : measured ? 'measured' : null;
  const where = input.surfaces ? `on ${input.surfaces.join(', ')}` : 'on any surface';
  let perVariant: number | null = null;
  let fixedHorizonPerVariant: number | null = null;
  if (metric === 'revenuePerVisitor') {
    notes.push(
      'Revenue per visitor has no planner: its spread depends on basket sizes, not on one rate. Plan with conversion rate, which revenue mostly follows.',
    );
  } else if (baseRate === null) {
    notes.push(
      `No list served by the active configuration ${where} in the last ${input.lookbackDays} days, so there is no control rate to plan with: give the rate you expect (baseRate).`,
    );
  } else if (baseRate === 0) {
    notes.push(
      `The control's ${metric} ${where} was 0 over ${measured?.sample ?? 0} ${byLists ? 'lists' : 'visitors'}: no lift of it can be detected. Check that ${byLists ? 'clicks carry the list’s meta.requestId' : 'adds and purchases are sent'}, or give the rate you expect (baseRate).`,
    );
  } else if (baseRate * (1 + input.minimumDetectableEffect) >= 1) {
    notes.push(
      `A ${(input.minimumDetectableEffect * 100).toFixed(1)} % lift of a ${(baseRate * 100).toFixed(2)} % rate would exceed 100 %: choose a smaller minimum detectable effect.`,
    );
  } else {
    const plan = { baseRate, minimumDetectableEffect: input.minimumDetectableEffect };
    perVariant = sequentialSampleSize(plan);
    fixedHorizonPerVariant = fixedHorizonSampleSize(plan);
  }
  if (measured && baseRateSource === 'measured' && measured.sample < 100)
    notes.push(
      `The control's rate is read from only ${measured.sample} ${byLists ? 'lists' : 'visitors'}: treat the plan as a rough guide.`,
    );

  const listsPerDay = lists / observedDays;
  const visitorsPerDay = visitors / observedDays;
  const totalWeight = input.weights.reduce((a, w) => a + w, 0);
  const smallestShare = Math.min(...input.weights) / totalWeight;
  const unitsPerDay = byLists ? listsPerDay : visitorsPerDay;
  const smallestVariantPerDay = unitsPerDay > 0 ? unitsPerDay * input.traffic * smallestShare : null;
  let days: number | null = null;
  if (perVariant !== null && smallestVariantPerDay !== null)
    days = Math.max(1, Math.ceil(perVariant / smallestVariantPerDay));
  if (perVariant !== null && smallestVariantPerDay === null)
    notes.push(
      `No list was served ${where} in the last ${input.lookbackDays} days, so the duration is unknown.`,
    );
  if (days !== null && !byLists)
    notes.push(
      'Days assume new visitors keep arriving at the recent rate of distinct visitors; returning visitors count once, so a long test reaches fewer new ones a day than a short look suggests.',
    );
  return {
    primaryMetric: metric,
    minimumDetectableEffect: input.minimumDetectableEffect,
    surfaces: input.surfaces ?? null,
    observedDays: Number(observedDays.toFixed(2)),
    traffic: {
      lists,
      visitors,
      listsPerDay: Number(listsPerDay.toFixed(1)),
      visitorsPerDay: Number(visitorsPerDay.toFixed(1)),
    },
    baseRate,
    baseRateSource,
    baseSample: measured?.sample ?? 0,
    perVariant,
    fixedHorizonPerVariant,
    smallestVariantPerDay: smallestVariantPerDay === null ? null : Number(smallestVariantPerDay.toFixed(1)),
    days,
    notes,
  };
}
