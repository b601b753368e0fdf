import { describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, parseIsoTimestamp, pgJsonProblems, pgTextProblem } from './pgSafe';

describe('what PostgreSQL accepts', () => {
  it('refuses NUL and lone surrogates in text and accepts whole characters, U+FFFD and emoji included', () => {
    expect(pgTextProblem('a\u0000b')).toMatch(/NUL/);
    expect(pgTextProblem('\ud800')).toMatch(/lone surrogate/);
    expect(pgTextProblem('x\udfff')).toMatch(/lone surrogate/);
    expect(pgTextProblem('ok \ufffd 😀 \u0001')).toBeUndefined();
  });

  it('finds every bad key and value of a JSON value at its path, however deep', () => {
    expect(pgJsonProblems({ a: [1, { b: 'x\u0000' }], ['k\ud800']: 1, n: Number.POSITIVE_INFINITY })).toEqual(
      [
        { path: ['a', 1, 'b'], message: expect.stringMatching(/NUL/) },
        { path: ['k\ud800'], message: expect.stringMatching(/^key .*lone surrogate/) },
        { path: ['n'], message: 'must be a finite number' },
      ],
    );
    let deep: unknown = 'leaf';
    for (let i = 0; i < MAX_JSON_DEPTH + 1; i++) deep = [deep];
    expect(pgJsonProblems(deep)).toEqual([
      { path: expect.any(Array), message: expect.stringMatching(/deeper/) },
    ]);
  });

  it('reads real ISO-8601 instants in years 0001–9999, with any zone form the regex allows', () => {
    const ms = (text: string) =>
      'ms' in parseIsoTimestamp(text) ? (parseIsoTimestamp(text) as { ms: number }).ms : NaN;
    expect(ms('2026-03-01T12:00:00+01:00')).toBe(Date.parse('2026-03-01T11:00:00Z'));
    expect(ms('2026-03-01T12:00:00+0100')).toBe(Date.parse('2026-03-01T11:00:00Z'));
    expect(ms('2026-03-01T12:00Z')).toBe(Date.parse('2026-03-01T12:00:00Z'));
    expect(ms('2026-03-01T12:00:00.123456789Z')).toBe(Date.parse('2026-03-01T12:00:00.123Z'));
    expect(ms('0001-01-01T00:00:00Z')).toBe(Date.parse('0001-01-01T00:00:00Z'));
    expect(ms('0050-06-01T00:00:00Z')).toBe(Date.parse('0050-06-01T00:00:00Z'));
    expect(ms('9999-12-31T23:59:59.999Z')).toBe(Date.parse('9999-12-31T23:59:59.999Z'));
    expect(ms('2000-02-29T00:00:00Z')).toBe(Date.parse('2000-02-29T00:00:00Z'));
  });

  it('says what is wrong with dates that do not exist instead of moving them to another day', () => {
    const error = (text: string) =>
      'error' in parseIsoTimestamp(text) ? (parseIsoTimestamp(text) as { error: string }).error : '';
    expect(error('2026-02-30T00:00:00Z')).toBe('2026-02 has no day 30');
    expect(error('1900-02-29T00:00:00Z')).toBe('1900-02 has no day 29');
    expect(error('2026-04-31T00:00:00Z')).toBe('2026-04 has no day 31');
    expect(error('2026-01-01T24:00:00Z')).toMatch(/no 24:00/);
    expect(error('2026-01-01T23:60:00Z')).toMatch(/23:59:59/);
    expect(error('0000-01-01T00:00:00Z')).toMatch(/0001 and 9999/);
    expect(error('0001-01-01T00:00:00+00:01')).toMatch(/outside years/);
    expect(error('2026-01-01T00:00:00+14:30')).toMatch(/offset/);
    expect(error('2026-01-01 00:00:00Z')).toMatch(/ISO-8601/);
    expect(error('2026-01-01T00:00:00')).toMatch(/time zone/);
  });
});
