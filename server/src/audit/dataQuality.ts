import { and, desc, eq, gte, isNotNull, isNull, lt, max, min, type SQL, sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { events, items } from '../db/schema';
import { UserError } from '../errors';

export interface DataQualityOptions {
  /**
   * First day (UTC, `YYYY-MM-DD`) of the report.
   * @default 13 days before `to`, or the day of the first stored event when that is later
   */
  from?: string | undefined;
  /**
   * Last day (UTC, inclusive).
   * @default today when the newest stored event is at most 14 days old (so a stop shows as gaps),
   * otherwise the day of the newest stored event
   */
  to?: string | undefined;
  /**
   * A day or hour is a spike above its trailing median + `madFactor` × MAD.
   * @default 5
   */
  madFactor?: number;
  /**
   * An empty hour is a gap when the same hour on neighbouring days has at least this many events
   * (median); quieter hours are empty by chance too often to say anything.
   * @default 5
   */
  minExpectedPerHour?: number;
  /**
   * The current time, for the default range.
   * @default new Date()
   */
  now?: Date;
}

/** One day's counts; every "share" is of that day's events. */
export interface DataQualityDay {
  day: string;
  events: number;
  /** Events naming an item the catalog does not hold. */
  unknownItem: number;
  noSessionId: number;
  purchases: number;
  /** Purchases without `value` (the quantity). */
  purchaseNoValue: number;
  /** Purchases without `meta.unitPrice`. */
  purchaseNoPrice: number;
  /** Events with an anonymousId only, no userId. */
  anonymousOnly: number;
  /** Events beyond the first with the same visitor, type, item and second (different eventIds). */
  duplicates: number;
  /** Hours with no event where the day's pattern expects some. */
  gapHours: number;
  /** Whether the day's total is a spike; and how many of its hours are. */
  daySpike: boolean;
  spikeHours: number;
}

export interface DataQualityGap {
  day: string;
  /** `HH:00` to `HH:00` (end exclusive, `24:00` for midnight). */
  from: string;
  to: string;
  /** Events the same hours have on neighbouring days (sum of medians). */
  expected: number;
}

export interface DataQualitySpike {
  scope: 'day' | 'hour';
  /** `YYYY-MM-DD` or `YYYY-MM-DDTHH:00`. */
  at: string;
  events: number;
  /** Median and MAD of the 7 days (or same hours) before. */
  median: number;
  mad: number;
  threshold: number;
}

export interface DataQualityReport {
  namespaceId: string;
  from: string;
  to: string;
  totals: Omit<DataQualityDay, 'day' | 'daySpike'> & { spikeDays: number };
  days: DataQualityDay[];
  gaps: DataQualityGap[];
  spikes: DataQualitySpike[];
  /** The unknown item ids seen most, to fix the catalog sync first where it matters. */
  topUnknownItems: Array<{ itemId: string; events: number }>;
  /** A few duplicate-looking groups, with their event ids. */
  duplicateSamples: Array<{ ts: string; type: string; itemId: string | null; eventIds: string[] }>;
  settings: { madFactor: number; minExpectedPerHour: number; trailingDays: number };
}

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
/** How many days before (spikes) or around (gaps) a day make its expected pattern. */
const TRAILING_DAYS = 7;
const DAY_PATTERN = /^\d{4}-\d{2}-\d{2}$/;

const utcDay = (column: SQL | typeof events.ts) =>
  sql<string>`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD')`;
const utcHour = sql<string>`to_char(${events.ts} at time zone 'UTC', 'YYYY-MM-DD"T"HH24')`;
const countWhere = (condition: SQL) => sql<number>`count(*) filter (where ${condition})`.mapWith(Number);

/**
 * A per-day account of what the stored events lack or look wrong in: events for items the catalog
 * does not hold, missing fields that matter (sessionId; quantity and unit price on purchases;
 * events with an anonymousId only), duplicate-looking events, hours with no events where the day's
 * pattern expects some, and days or hours far above their trailing median. Every count is SQL over
 * the stored events (UTC days); the gap and spike rules run on the hourly counts it returns.
 */
export async function dataQualityReport(
  database: Database,
  namespaceId: string,
  options: DataQualityOptions = {},
): Promise<DataQualityReport> {
  const madFactor = options.madFactor ?? 5;
  const minExpectedPerHour = options.minExpectedPerHour ?? 5;
  const { db } = database;
  const inNamespace = eq(events.namespaceId, namespaceId);
  const [span] = await db
    .select({ first: min(events.ts), last: max(events.ts) })
    .from(events)
    .where(inNamespace);
  for (const [flag, value] of [
    ['--from', options.from],
    ['--to', options.to],
  ] as const) {
    if (value !== undefined && (!DAY_PATTERN.test(value) || Number.isNaN(Date.parse(`${value}T00:00:00Z`)))) {
      throw new UserError('BAD_REQUEST', `${flag} "${value}" is not a day: write YYYY-MM-DD (UTC).`);
    }
  }
  const now = options.now ?? new Date();
  const today = dayOf(now.getTime());
  const lastDay = span?.last ? dayOf(span.last.getTime()) : today;
  const firstDataDay = span?.first ? dayOf(span.first.getTime()) : lastDay;
  // A namespace that was live recently is reported up to today, so events that stopped arriving show
  // as gaps; an old import is reported up to its newest event.
  const recent = now.getTime() - Date.parse(`${lastDay}T00:00:00Z`) <= 14 * DAY_MS;
  const to = options.to ?? (recent && today > lastDay ? today : lastDay);
  // By default two weeks, but never days before the first stored event: they would only say "empty".
  const from =
    options.from ?? [dayOf(Date.parse(`${to}T00:00:00Z`) - 13 * DAY_MS), firstDataDay].sort().at(-1)!;
  const fromMs = Date.parse(`${from}T00:00:00Z`);
  const toMs = Date.parse(`${to}T00:00:00Z`) + DAY_MS;
  if (fromMs >= toMs) throw new UserError('BAD_REQUEST', `--from ${from} is after --to ${to}.`);
  if ((toMs - fromMs) / DAY_MS > 366) {
    throw new UserError('BAD_REQUEST', 'A report covers at most 366 days; narrow --from/--to.');
  }
  const inRange = and(inNamespace, gte(events.ts, new Date(fromMs)), lt(events.ts, new Date(toMs)))!;

  const perDay = await db
    .select({
      day: utcDay(events.ts),
      events: sql<number>`count(*)`.mapWith(Number),
      unknownItem: countWhere(and(isNotNull(events.itemId), isNull(items.itemId))!),
      noSessionId: countWhere(isNull(events.sessionId)),
      purchases: countWhere(eq(events.type, 'purchase')),
      purchaseNoValue: countWhere(and(eq(events.type, 'purchase'), isNull(events.value))!),
      purchaseNoPrice: countWhere(
        and(eq(events.type, 'purchase'), sql`${events.meta} -> 'unitPrice' is null`)!,
      ),
      anonymousOnly: countWhere(isNull(events.userId)),
    })
    .from(events)
    .leftJoin(items, and(eq(items.namespaceId, events.namespaceId), eq(items.itemId, events.itemId)))
    .where(inRange)
    .groupBy(sql`1`);

  // Duplicate-looking: the same visitor, type and item within the same second, under different ids.
  const groups = db
    .select({
      day: utcDay(events.ts).as('day'),
      extra: sql<number>`count(*) - 1`.as('extra'),
    })
    .from(events)
    .where(inRange)
    .groupBy(
      sql`1`,
      events.type,
      events.itemId,
      events.userId,
      events.anonymousId,
      sql`date_trunc('second', ${events.ts})`,
    )
    .having(sql`count(*) > 1`)
    .as('groups');
  const duplicates = await db
    .select({ day: groups.day, extra: sql<number>`sum(${groups.extra})`.mapWith(Number) })
    .from(groups)
    .groupBy(groups.day);
  const duplicateSamples = await db
    .select({
      ts: sql<string>`to_char(date_trunc('second', ${events.ts}) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')`,
      type: events.type,
      itemId: events.itemId,
      eventIds: sql<string[]>`array_agg(${events.eventId} order by ${events.eventId})`,
    })
    .from(events)
    .where(inRange)
    .groupBy(
      sql`date_trunc('second', ${events.ts})`,
      events.type,
      events.itemId,
      events.userId,
      events.anonymousId,
    )
    .having(sql`count(*) > 1`)
    .orderBy(sql`1`)
    .limit(5);

  const unknownCount = sql<number>`count(*)`.mapWith(Number);
  const topUnknownItems = await db
    .select({ itemId: sql<string>`${events.itemId}`, events: unknownCount })
    .from(events)
    .leftJoin(items, and(eq(items.namespaceId, events.namespaceId), eq(items.itemId, events.itemId)))
    .where(and(inRange, isNotNull(events.itemId), isNull(items.itemId)))
    .groupBy(events.itemId)
    .orderBy(desc(unknownCount), events.itemId)
    .limit(5);

  // Hourly counts from a week before to a week after the range: the pattern each hour is held to.
  const hourly = await db
    .select({ hour: utcHour, events: sql<number>`count(*)`.mapWith(Number) })
    .from(events)
    .where(
      and(
        inNamespace,
        gte(events.ts, new Date(fromMs - TRAILING_DAYS * DAY_MS)),
        lt(events.ts, new Date(toMs + TRAILING_DAYS * DAY_MS)),
      ),
    )
    .groupBy(sql`1`);
  const byHour = new Map(hourly.map((r) => [r.hour, r.events]));
  const hourCount = (dayMs: number, h: number) => byHour.get(`${dayOf(dayMs)}T${pad(h)}`) ?? 0;
  const dayTotal = (dayMs: number) => {
    let n = 0;
    for (let h = 0; h < 24; h++) n += hourCount(dayMs, h);
    return n;
  };
  const firstDataMs = Date.parse(`${firstDataDay}T00:00:00Z`);
  const lastDataMs = Date.parse(`${lastDay}T00:00:00Z`);
  /** Days with stored history around `dayMs` (never before the first event or after the last). */
  const neighbours = (dayMs: number, before: number, after: number) => {
    const out: number[] = [];
    for (let d = -before; d <= after; d++) {
      const ms = dayMs + d * DAY_MS;
      if (d !== 0 && ms >= firstDataMs && ms <= lastDataMs) out.push(ms);
    }
    return out;
  };

  const dayRows = new Map(perDay.map((r) => [r.day, r]));
  const dupRows = new Map(duplicates.map((r) => [r.day, r.extra]));
  const days: DataQualityDay[] = [];
  const gaps: DataQualityGap[] = [];
  const spikes: DataQualitySpike[] = [];
  for (let dayMs = fromMs; dayMs < toMs; dayMs += DAY_MS) {
    const day = dayOf(dayMs);
    const row = dayRows.get(day);
    const entry: DataQualityDay = {
      day,
      events: row?.events ?? 0,
      unknownItem: row?.unknownItem ?? 0,
      noSessionId: row?.noSessionId ?? 0,
      purchases: row?.purchases ?? 0,
      purchaseNoValue: row?.purchaseNoValue ?? 0,
      purchaseNoPrice: row?.purchaseNoPrice ?? 0,
      anonymousOnly: row?.anonymousOnly ?? 0,
      duplicates: dupRows.get(day) ?? 0,
      gapHours: 0,
      daySpike: false,
      spikeHours: 0,
    };
    days.push(entry);

    // Gaps: empty hours whose neighbouring days (a week either side) are busy at that hour. Days
    // before the first event are before the shop sent any: not gaps.
    const around = dayMs < firstDataMs ? [] : neighbours(dayMs, TRAILING_DAYS, TRAILING_DAYS);
    let open: DataQualityGap | undefined;
    for (let h = 0; h < 24; h++) {
      // An hour that has not ended yet is not empty, only unfinished.
      const unfinished = dayMs + (h + 1) * HOUR_MS > now.getTime();
      const expected = around.length && !unfinished ? median(around.map((d) => hourCount(d, h))) : 0;
      const isGap = hourCount(dayMs, h) === 0 && expected >= minExpectedPerHour;
      if (isGap) {
        entry.gapHours++;
        if (open) {
          open.to = `${pad(h + 1)}:00`;
          open.expected += expected;
        } else {
          open = { day, from: `${pad(h)}:00`, to: `${pad(h + 1)}:00`, expected };
          gaps.push(open);
        }
      } else open = undefined;
    }

    // Spikes: the day, and each hour, against the same span on the days before.
    const before = neighbours(dayMs, TRAILING_DAYS, 0);
    if (before.length >= 3) {
      const daySpike = spikeOf(entry.events, before.map(dayTotal), madFactor);
      if (daySpike) {
        entry.daySpike = true;
        spikes.push({ scope: 'day', at: day, events: entry.events, ...daySpike });
      }
      for (let h = 0; h < 24; h++) {
        const n = hourCount(dayMs, h);
        const hourSpike = spikeOf(
          n,
          before.map((d) => hourCount(d, h)),
          madFactor,
        );
        if (hourSpike) {
          entry.spikeHours++;
          spikes.push({ scope: 'hour', at: `${day}T${pad(h)}:00`, events: n, ...hourSpike });
        }
      }
    }
  }

  const sum = (key: keyof DataQualityDay) => days.reduce((n, d) => n + Number(d[key]), 0);
  return {
    namespaceId,
    from,
    to,
    totals: {
      events: sum('events'),
      unknownItem: sum('unknownItem'),
      noSessionId: sum('noSessionId'),
      purchases: sum('purchases'),
      purchaseNoValue: sum('purchaseNoValue'),
      purchaseNoPrice: sum('purchaseNoPrice'),
      anonymousOnly: sum('anonymousOnly'),
      duplicates: sum('duplicates'),
      gapHours: sum('gapHours'),
      spikeHours: sum('spikeHours'),
      spikeDays: days.filter((d) => d.daySpike).length,
    },
    days,
    gaps,
    spikes,
    topUnknownItems,
    duplicateSamples,
    settings: { madFactor, minExpectedPerHour, trailingDays: TRAILING_DAYS },
  };
}

/**
 * A spike when `value` is above median + factor × MAD of the history. The MAD is floored at
 * √median (the noise of a count that size) and at 2, so a flat or sparse history does not make
 * every small rise a spike.
 */
function spikeOf(value: number, history: number[], factor: number) {
  const m = median(history);
  const mad = median(history.map((x) => Math.abs(x - m)));
  const threshold = m + factor * Math.max(mad, Math.sqrt(m), 2);
  return value > threshold ? { median: m, mad, threshold: Math.round(threshold * 10) / 10 } : undefined;
}

function median(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const pad = (n: number) => String(n).padStart(2, '0');
