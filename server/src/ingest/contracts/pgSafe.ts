import { z } from 'zod';

/**
 * What PostgreSQL will accept, checked before a value reaches it. A value it
 * refuses fails the whole statement, so one bad row would turn a batch into a
 * 500 and lose every good row with it; checked here, the row is rejected on
 * its own with its path and a message that says what to change.
 */

/** Largest value of an `integer` (int4) column. */
export const PG_INT_MAX = 2_147_483_647;

/** Deepest nesting accepted in a JSON value (props, meta, traits). */
export const MAX_JSON_DEPTH = 32;

/** `String.prototype.isWellFormed` (Node 20); the shared `lib` stops at ES2023 for the browser packages. */
const isWellFormed = (text: string) => (text as unknown as { isWellFormed(): boolean }).isWellFormed();

/**
 * Why PostgreSQL cannot store `text` as given, or undefined when it can.
 * NUL is refused by `text` and `jsonb`. A lone surrogate (half of a UTF-16
 * pair, e.g. "\ud800") is refused by `jsonb` and silently becomes U+FFFD in
 * `text`, so two different ids would collide.
 */
export function pgTextProblem(text: string): string | undefined {
  if (text.includes('\u0000')) {
    return 'contains a NUL character (\\u0000), which PostgreSQL cannot store; remove it';
  }
  if (!isWellFormed(text)) {
    return 'contains a lone surrogate (half of a UTF-16 pair, e.g. \\ud800), which is not valid Unicode; send whole characters';
  }
  return undefined;
}

const refinePgText = (text: string, ctx: z.RefinementCtx) => {
  const problem = pgTextProblem(text);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
};

/** A string PostgreSQL can store as `text`: no NUL, well-formed UTF-16. Chain `.max()` etc. as usual. */
export const pgText = () => z.string().superRefine(refinePgText);

export interface JsonProblem {
  path: PropertyKey[];
  message: string;
}

/**
 * Every reason PostgreSQL's `jsonb` would refuse `value` (or store something
 * else than was sent), with the path to it: NUL or lone surrogates in keys
 * and strings, numbers JSON cannot hold, nesting deeper than
 * {@link MAX_JSON_DEPTH}.
 */
export function pgJsonProblems(value: unknown, path: PropertyKey[] = [], depth = 0): JsonProblem[] {
  if (typeof value === 'string') {
    const message = pgTextProblem(value);
    return message ? [{ path, message }] : [];
  }
  if (typeof value === 'number') {
    return Number.isFinite(value) ? [] : [{ path, message: 'must be a finite number' }];
  }
  if (value === null || typeof value !== 'object') return [];
  if (depth >= MAX_JSON_DEPTH) {
    return [{ path, message: `nests deeper than ${MAX_JSON_DEPTH} levels; flatten it` }];
  }
  const problems: JsonProblem[] = [];
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      problems.push(...pgJsonProblems(v, [...path, i], depth + 1));
    });
    return problems;
  }
  for (const [key, v] of Object.entries(value)) {
    const keyProblem = pgTextProblem(key);
    if (keyProblem) problems.push({ path: [...path, key], message: `key ${keyProblem}` });
    else problems.push(...pgJsonProblems(v, [...path, key], depth + 1));
  }
  return problems;
}

/** A `superRefine` for JSON-valued fields (meta, props, traits): reports each problem at its path. */
export function refinePgJson(value: unknown, ctx: z.RefinementCtx): void {
  for (const { path, message } of pgJsonProblems(value)) ctx.addIssue({ code: 'custom', path, message });
}

const ISO_TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(?:Z|([+-])(\d{2}):?(\d{2}))$/;
const MIN_TIME = Date.parse('0001-01-01T00:00:00.000Z');
const MAX_TIME = Date.parse('9999-12-31T23:59:59.999Z');
const isLeap = (year: number) => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
const daysInMonth = (year: number, month: number) =>
  month === 2 ? (isLeap(year) ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;

/**
 * Reads an ISO-8601 timestamp with a zone strictly: the calendar date and
 * the time must exist (no `2026-02-30`, `T24:00` or `T23:60`, which
 * `Date.parse` would quietly move to another day), and the instant must lie
 * in years 0001–9999, in UTC too (PostgreSQL has no year 0000).
 *
 * @returns the instant in milliseconds, or a message saying what is wrong.
 * @example parseIsoTimestamp('2026-03-01T12:00:00+01:00') // { ms: 1772362800000 }
 */
export function parseIsoTimestamp(text: string): { ms: number } | { error: string } {
  const m = ISO_TIMESTAMP.exec(text);
  if (!m) return { error: 'must be an ISO-8601 timestamp with a time zone, e.g. 2026-03-01T12:00:00Z' };
  const [year, month, day, hour, minute, second = 0] = m.slice(1, 7).map((p) => Number(p ?? 0)) as number[];
  if (year! < 1) return { error: 'year must be between 0001 and 9999' };
  if (month! < 1 || month! > 12) return { error: `month ${m[2]} does not exist; use 01–12` };
  if (day! < 1 || day! > daysInMonth(year!, month!)) {
    return { error: `${m[1]}-${m[2]} has no day ${m[3]}` };
  }
  if (hour! > 23 || minute! > 59 || second > 59) {
    return { error: 'time must be between 00:00:00 and 23:59:59 (no 24:00, no leap seconds)' };
  }
  const offsetHours = Number(m[9] ?? 0);
  const offsetMinutes = Number(m[10] ?? 0);
  if (offsetHours > 14 || offsetMinutes > 59 || (offsetHours === 14 && offsetMinutes > 0)) {
    return { error: 'zone offset must be between -14:00 and +14:00' };
  }
  const date = new Date(0);
  // setUTCFullYear, not Date.UTC: Date.UTC reads years 0–99 as 1900–1999.
  date.setUTCFullYear(year!, month! - 1, day!);
  date.setUTCHours(hour!, minute!, second, Math.floor(Number(`0${m[7] ?? ''}`) * 1000));
  const sign = m[8] === '-' ? -1 : 1;
  const ms = date.getTime() - sign * (offsetHours * 60 + offsetMinutes) * 60_000;
  if (ms < MIN_TIME || ms > MAX_TIME) {
    return { error: 'is outside years 0001–9999 once converted to UTC' };
  }
  return { ms };
}

/**
 * An ISO-8601 timestamp with a zone (`Z` or `+01:00`) that PostgreSQL can
 * store, read strictly by {@link parseIsoTimestamp}; the output is the same
 * instant as `toISOString()` (UTC, milliseconds).
 */
export const isoTimestampSchema = z.string().transform((text, ctx) => {
  const parsed = parseIsoTimestamp(text);
  if ('error' in parsed) {
    ctx.addIssue({ code: 'custom', message: parsed.error });
    return z.NEVER;
  }
  return new Date(parsed.ms).toISOString();
});
