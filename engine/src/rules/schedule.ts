/**
 * Time zones through `Intl` (the runtime's IANA database): which local day and minute an instant is
 * in a zone, and which instant a local date-time is. No offsets are hard-coded, so DST and zone
 * changes follow the runtime's data.
 */
import { type RecurringWindow, WEEKDAYS } from './types';

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterOf(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      weekday: 'short',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** True when the runtime knows `timeZone` as an IANA zone. */
export function isTimeZone(timeZone: string): boolean {
  try {
    formatterOf(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** Local wall-clock fields of an instant in a zone. */
export interface LocalTime {
  year: number;
  month: number;
  day: number;
  /** 0 = Sunday. */
  weekday: number;
  /** Minutes since local midnight. */
  minuteOfDay: number;
  second: number;
}

const WEEKDAY_SHORT: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

export function localTime(epochMs: number, timeZone: string): LocalTime {
  const out = { year: 0, month: 0, day: 0, weekday: 0, minuteOfDay: 0, second: 0 };
  let hour = 0;
  let minute = 0;
  for (const part of formatterOf(timeZone).formatToParts(epochMs)) {
    switch (part.type) {
      case 'year':
        out.year = Number(part.value);
        break;
      case 'month':
        out.month = Number(part.value);
        break;
      case 'day':
        out.day = Number(part.value);
        break;
      case 'weekday':
        out.weekday = WEEKDAY_SHORT[part.value] ?? 0;
        break;
      case 'hour':
        hour = Number(part.value);
        break;
      case 'minute':
        minute = Number(part.value);
        break;
      case 'second':
        out.second = Number(part.value);
        break;
    }
  }
  out.minuteOfDay = hour * 60 + minute;
  return out;
}

/** The zone's offset from UTC at an instant, in ms (Berlin in winter: +3 600 000). */
function offsetAt(epochMs: number, timeZone: string): number {
  const t = localTime(epochMs, timeZone);
  const asUtc = Date.UTC(t.year, t.month - 1, t.day, 0, t.minuteOfDay, t.second);
  return asUtc - (epochMs - (((epochMs % 1000) + 1000) % 1000));
}

const DAY = 86_400_000;
const LOCAL = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?$/;
const WITH_ZONE = /(?:Z|[+-]\d{2}:?\d{2})$/i;

/**
 * The instant of an ISO-8601 date-time: with a zone as written, without one as local time in
 * `timeZone`. A local time skipped by a DST change (02:30 on a spring-forward night) resolves to
 * the instant one offset later (03:30); a repeated one to its first occurrence. NaN when invalid.
 * @example parseInstant('2026-03-29T02:30', 'Europe/Berlin') // 2026-03-29T01:30:00Z
 */
export function parseInstant(text: string, timeZone: string): number {
  if (WITH_ZONE.test(text)) {
    const ms = Date.parse(text);
    return Number.isFinite(ms) ? ms : Number.NaN;
  }
  const m = LOCAL.exec(text);
  if (!m) return Number.NaN;
  const [y, mo, d, h, mi, s] = m.slice(1).map((v) => Number(v ?? 0)) as number[];
  if (mo! < 1 || mo! > 12 || d! < 1 || d! > 31 || h! > 23 || mi! > 59 || s! > 59) return Number.NaN;
  const wall = Date.UTC(y!, mo! - 1, d!, h, mi, s);
  if (new Date(wall).getUTCDate() !== d) return Number.NaN;
  // The offsets in force a day either side: a DST change between them makes the wall time ambiguous
  // (both answers are consistent: take the first) or missing (neither is: keep the earlier offset).
  const before = offsetAt(wall - DAY, timeZone);
  const after = offsetAt(wall + DAY, timeZone);
  const consistent = [wall - before, wall - after].filter((c) => c + offsetAt(c, timeZone) === wall);
  return consistent.length > 0 ? Math.min(...consistent) : wall - before;
}

const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$/;

/** Minutes since midnight of `HH:MM`, or NaN (`24:00` is the end of the day). */
export function parseClock(text: string): number {
  if (text === '24:00') return 1440;
  const m = HHMM.exec(text);
  return m ? Number(m[1]) * 60 + Number(m[2]) : Number.NaN;
}

/** A recurring window resolved to numbers. */
export interface CompiledWindow {
  /** Bit d set: the window starts on weekday d (0 = Sunday). */
  days: number;
  from: number;
  to: number;
}

export function compileWindow(w: RecurringWindow): CompiledWindow {
  let days = 0;
  for (const d of w.days) days |= 1 << WEEKDAYS.indexOf(d);
  return { days, from: parseClock(w.from), to: parseClock(w.to) };
}

/**
 * Whether local time `t` is inside a weekly window. `from` ≤ time < `to` on a listed day; when
 * `to` ≤ `from` the window runs past midnight into the next day.
 */
export function insideWindow(w: CompiledWindow, weekday: number, minuteOfDay: number): boolean {
  if (w.from < w.to) return (w.days & (1 << weekday)) !== 0 && minuteOfDay >= w.from && minuteOfDay < w.to;
  const yesterday = (weekday + 6) % 7;
  return (
    ((w.days & (1 << weekday)) !== 0 && minuteOfDay >= w.from) ||
    ((w.days & (1 << yesterday)) !== 0 && minuteOfDay < w.to)
  );
}
