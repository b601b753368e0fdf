import { describe, expect, it } from 'vitest';
import { compileWindow, insideWindow, localTime, parseInstant } from './schedule';

const iso = (ms: number) => new Date(ms).toISOString();

describe('schedule time zones', () => {
  it('reads an ISO time with a zone as written, whatever the rule time zone', () => {
    expect(iso(parseInstant('2026-12-24T18:00:00+01:00', 'America/New_York'))).toBe(
      '2026-12-24T17:00:00.000Z',
    );
  });

  it('reads a local time in the rule zone, in winter and in summer', () => {
    expect(iso(parseInstant('2026-01-15T09:00', 'Europe/Berlin'))).toBe('2026-01-15T08:00:00.000Z');
    expect(iso(parseInstant('2026-07-15T09:00', 'Europe/Berlin'))).toBe('2026-07-15T07:00:00.000Z');
    expect(iso(parseInstant('2026-07-15', 'Asia/Kolkata'))).toBe('2026-07-14T18:30:00.000Z');
  });

  it('a local time skipped by the spring DST change resolves one offset later', () => {
    // Berlin jumps from 02:00 to 03:00 on 2026-03-29: 02:30 does not exist; 03:30 CEST is 01:30Z.
    expect(iso(parseInstant('2026-03-29T02:30', 'Europe/Berlin'))).toBe('2026-03-29T01:30:00.000Z');
  });

  it('a local time repeated by the autumn DST change resolves to its first occurrence', () => {
    // Berlin goes from 03:00 back to 02:00 on 2026-10-25: 02:30 happens at 00:30Z and at 01:30Z.
    expect(iso(parseInstant('2026-10-25T02:30', 'Europe/Berlin'))).toBe('2026-10-25T00:30:00.000Z');
  });

  it('refuses impossible dates', () => {
    expect(parseInstant('2026-02-30T10:00', 'UTC')).toBeNaN();
    expect(parseInstant('tomorrow', 'UTC')).toBeNaN();
  });

  it('gives the local weekday and minute across the date line', () => {
    const t = localTime(Date.parse('2026-01-04T23:30:00Z'), 'Pacific/Auckland');
    // Sunday 23:30Z is Monday 12:30 in Auckland (UTC+13 in January).
    expect([t.weekday, t.minuteOfDay]).toEqual([1, 12 * 60 + 30]);
  });

  it('windows include from and exclude to; 24:00 closes the day', () => {
    const w = compileWindow({ days: ['mon'], from: '09:00', to: '24:00' });
    expect(insideWindow(w, 1, 9 * 60 - 1)).toBe(false);
    expect(insideWindow(w, 1, 9 * 60)).toBe(true);
    expect(insideWindow(w, 1, 1439)).toBe(true);
    expect(insideWindow(w, 2, 0)).toBe(false);
  });
});
