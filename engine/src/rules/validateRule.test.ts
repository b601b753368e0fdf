import { describe, expect, it } from 'vitest';
import { assertRules, RuleValidationError, validateRule } from './validateRule';

describe('validateRule', () => {
  it('accepts a complete rule of every kind', () => {
    const when = { surfaces: ['forUser'], countries: ['DE'], traits: { tier: ['gold'] } };
    const schedule = {
      start: '2026-12-01T00:00',
      end: '2026-12-24T00:00',
      timeZone: 'Europe/Berlin',
      recurring: [{ days: ['sat'], from: '08:00', to: '20:00' }],
    };
    for (const rule of [
      { id: 'a', kind: 'block', items: { tags: ['brand:*'] }, when, schedule },
      { id: 'b', kind: 'filter', items: { priceMin: 1, priceMax: 2, available: true } },
      { id: 'c', kind: 'pin', items: { itemIds: ['x'] }, slot: 0, allowUnavailable: true },
      { id: 'd', kind: 'inject', items: { createdAfter: '2026-11-01T00:00:00Z' }, count: 2, slot: 3 },
      { id: 'e', kind: 'boost', items: {}, multiplier: 3, add: 0.1, priority: 4 },
      { id: 'f', kind: 'bury', items: {}, subtract: 0.2, enabled: false },
    ]) {
      expect(validateRule(rule), rule.id).toEqual([]);
    }
  });

  it('names the field and the fix for each mistake', () => {
    expect(
      validateRule({
        id: 'x',
        kind: 'boost',
        items: { tag: ['a'] },
        multiplier: 0.5,
        when: { surfaces: ['home'] },
        schedule: { timeZone: 'Mars/Olympus', end: 'soon' },
      }),
    ).toEqual([
      {
        path: ['items', 'tag'],
        message: 'unknown item field; use itemIds, tags, priceMin, priceMax, available, createdAfter',
      },
      {
        path: ['when', 'surfaces', 0],
        message: 'unknown surface "home"; use forUser, similar, cart, buyAgain, trending, recentlyViewed',
      },
      {
        path: ['schedule', 'timeZone'],
        message: 'must be an IANA time zone such as "Europe/Berlin" or "America/New_York"',
      },
      {
        path: ['schedule', 'end'],
        message: 'must be a date-time like "2026-12-24T18:00" (local to timeZone) or "2026-12-24T17:00:00Z"',
      },
      { path: ['multiplier'], message: 'a boost multiplies by 1–1000 (use a bury rule to lower items)' },
    ]);
  });

  it('refuses an unknown kind, a missing matcher and an end before the start', () => {
    expect(validateRule({ id: 'x', kind: 'promote' })).toEqual([
      { path: ['kind'], message: 'must be one of block, filter, pin, inject, boost, bury' },
    ]);
    expect(validateRule({ id: 'x', kind: 'block' })[0]?.path).toEqual(['items']);
    expect(
      validateRule({
        id: 'x',
        kind: 'block',
        items: {},
        schedule: { start: '2026-02-01', end: '2026-01-01' },
      }),
    ).toEqual([{ path: ['schedule', 'end'], message: 'must be after start' }]);
  });

  it('refuses duplicate ids in a rule set', () => {
    expect(() =>
      assertRules([
        { id: 'a', kind: 'block', items: {} },
        { id: 'a', kind: 'block', items: {} },
      ]),
    ).toThrow(RuleValidationError);
  });
});
