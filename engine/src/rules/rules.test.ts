import { describe, expect, it } from 'vitest';
import type { RecRequest } from '../api';
import { createEngine } from '../createEngine';
import { DAY, ev, item, T0 } from '../testShop';
import type { RuleDefinition } from './types';
import { RuleValidationError } from './validateRule';

/**
 * Eight items a…h, sold 20, 18, 16, … times: by score the list is a, b, c, d, e, f, g, h. Even
 * positions (a, c, e, g) are `category:even`, a…d `brand:acme`, e…h `brand:zen`; prices 10…80.
 * Item `x` is out of stock and `z` archived; `n` is new (created a day after the rest) and unsold.
 */
function shop() {
  const engine = createEngine({ now: () => T0 + DAY });
  const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
  engine.upsertItems([
    ...names.map((n, i) =>
      item(n, {
        price: 10 * (i + 1),
        tags: [`category:${i % 2 ? 'odd' : 'even'}`, `brand:${i < 4 ? 'acme' : 'zen'}`],
        createdAt: T0,
      }),
    ),
    item('x', { available: false, tags: ['brand:acme'], createdAt: T0 }),
    item('z', { archived: true, tags: ['brand:acme'], createdAt: T0 }),
    item('n', { tags: ['category:new', 'brand:fresh'], price: 99, createdAt: T0 + DAY / 2 }),
  ]);
  engine.addEvents(
    names.flatMap((n, i) => Array.from({ length: 20 - 2 * i }, (_, u) => ev('purchase', n, `u${i}-${u}`, u))),
  );
  return engine;
}

// No diversity and no brand cap: the lists follow the scores, so each rule's effect is what changes them.
const base: RecRequest = {
  surface: 'trending',
  k: 5,
  overrides: { diversity: { lambda: 1, maxPerBrand: 0 } },
};
const listOf = (engine: ReturnType<typeof shop>, req: Partial<RecRequest> = {}) =>
  engine.recommend({ ...base, ...req }).items.map((i) => i.itemId);
const withRules = (rules: RuleDefinition[], req: Partial<RecRequest> = {}) => {
  const engine = shop();
  engine.setRules(rules);
  return engine.recommend({ ...base, ...req });
};
const ids = (r: { items: Array<{ itemId: string }> }) => r.items.map((i) => i.itemId);

describe('rules: each kind', () => {
  it('ranks a, b, c, d, e without rules (the baseline the other tests change)', () => {
    expect(listOf(shop())).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('block removes matching items and the list is refilled from the next candidates', () => {
    const r = withRules([{ id: 'no-acme', kind: 'block', items: { tags: ['brand:acme'] } }], { k: 4 });
    expect(ids(r)).toEqual(['e', 'f', 'g', 'h']);
    expect(r.ruleEffects).toEqual([
      { ruleId: 'no-acme', kind: 'block', effect: 'blocked 4 items', itemIds: ['a', 'b', 'c', 'd'] },
    ]);
  });

  it('block with a wildcard tag and a price range removes only items matching both', () => {
    const r = withRules([{ id: 'cheap', kind: 'block', items: { tags: ['brand:*'], priceMax: 25 } }]);
    expect(ids(r)).toEqual(['c', 'd', 'e', 'f', 'g']);
  });

  it('filter keeps only matching items, in the fallback fill too', () => {
    const r = withRules([{ id: 'even-only', kind: 'filter', items: { tags: ['category:even'] } }], { k: 8 });
    expect(ids(r)).toEqual(['a', 'c', 'e', 'g']);
    const fill = withRules([{ id: 'even-only', kind: 'filter', items: { tags: ['category:even'] } }], {
      surface: 'similar',
      itemId: 'b',
      k: 3,
    });
    expect(fill.fallback.used).toBe(true);
    for (const i of fill.items) expect(['a', 'c', 'e', 'g']).toContain(i.itemId);
  });

  it('two filters: an item must match both', () => {
    const r = withRules([
      { id: 'f1', kind: 'filter', items: { tags: ['category:even'] } },
      { id: 'f2', kind: 'filter', items: { tags: ['brand:zen'] } },
    ]);
    expect(ids(r)).toEqual(['e', 'g']);
  });

  it('pin puts a listed item at its slot and moves the rest down', () => {
    const r = withRules([{ id: 'hero', kind: 'pin', items: { itemIds: ['g'] }, slot: 0 }]);
    expect(ids(r)).toEqual(['g', 'a', 'b', 'c', 'd']);
    expect(r.ruleEffects).toEqual([
      { ruleId: 'hero', kind: 'pin', effect: 'pinned g at slot 0', itemIds: ['g'] },
    ]);
  });

  it('pin with a query takes the best-scored matching item already in the list', () => {
    expect(ids(withRules([{ id: 'zen-top', kind: 'pin', items: { tags: ['brand:zen'] }, slot: 1 }]))).toEqual(
      ['a', 'e', 'b', 'c', 'd'],
    );
  });

  it('pin of a non-candidate (the new item) brings it in', () => {
    expect(ids(withRules([{ id: 'new', kind: 'pin', items: { itemIds: ['n'] }, slot: 2 }]))).toEqual([
      'a',
      'b',
      'n',
      'c',
      'd',
    ]);
  });

  it('inject adds matching non-candidates at its slot, newest first', () => {
    const r = withRules([
      { id: 'launch', kind: 'inject', items: { createdAfter: '2024-01-01T06:00:00Z' }, slot: 1 },
    ]);
    expect(ids(r)).toEqual(['a', 'n', 'b', 'c', 'd']);
    expect(r.ruleEffects?.[0]).toMatchObject({ ruleId: 'launch', kind: 'inject', itemIds: ['n'] });
  });

  it('inject without a slot takes the end of the list', () => {
    expect(ids(withRules([{ id: 'launch', kind: 'inject', items: { itemIds: ['n'] } }]))).toEqual([
      'a',
      'b',
      'c',
      'd',
      'n',
    ]);
  });

  it('boost ×3 raises the third item above the first; additive boosts add score units', () => {
    expect(ids(withRules([{ id: 'b3', kind: 'boost', items: { itemIds: ['c'] }, multiplier: 3 }]))).toEqual([
      'c',
      'a',
      'b',
      'd',
      'e',
    ]);
    const plus = withRules([{ id: 'plus', kind: 'boost', items: { itemIds: ['h'] }, add: 10 }]);
    expect(ids(plus)[0]).toBe('h');
    expect(plus.items[0]!.score).toBeGreaterThan(10);
  });

  it('bury lowers matching items below the others', () => {
    const r = withRules([{ id: 'down', kind: 'bury', items: { itemIds: ['a', 'b'] }, multiplier: 0.1 }], {
      k: 8,
    });
    expect(ids(r)).toEqual(['c', 'd', 'e', 'f', 'g', 'h', 'a', 'b']);
    expect(r.ruleEffects?.[0]).toMatchObject({ ruleId: 'down', kind: 'bury', itemIds: ['a', 'b'] });
  });

  it('never shows archived items, nor out-of-stock ones unless the pin allows it', () => {
    const archived = withRules([{ id: 'p', kind: 'pin', items: { itemIds: ['z'] }, slot: 0 }]);
    expect(ids(archived)).not.toContain('z');
    expect(archived.ruleEffects?.[0]?.effect).toMatch(/z is archived/);
    const stock = withRules([{ id: 'p', kind: 'pin', items: { itemIds: ['x'] }, slot: 0 }]);
    expect(ids(stock)).not.toContain('x');
    expect(stock.ruleEffects?.[0]?.effect).toMatch(/x is out of stock \(set allowUnavailable/);
    const allowed = withRules([
      { id: 'p', kind: 'pin', items: { itemIds: ['x'] }, slot: 0, allowUnavailable: true },
    ]);
    expect(ids(allowed)[0]).toBe('x');
    const injected = withRules([{ id: 'i', kind: 'inject', items: { tags: ['brand:acme'] }, count: 3 }], {
      k: 3,
    });
    expect(ids(injected)).not.toContain('x');
    expect(ids(injected)).not.toContain('z');
  });

  it('a pin never overrides the request: the anchor of a similar list is not pinned into it', () => {
    const r = withRules([{ id: 'p', kind: 'pin', items: { itemIds: ['b'] }, slot: 0 }], {
      surface: 'similar',
      itemId: 'b',
    });
    expect(ids(r)).not.toContain('b');
  });
});

describe('rules: precedence and conflicts', () => {
  it('block beats pin: a pinned blocked item is not shown and the conflict is reported', () => {
    const r = withRules([
      { id: 'pin-g', kind: 'pin', items: { itemIds: ['g'] }, slot: 0 },
      { id: 'block-zen', kind: 'block', items: { tags: ['brand:zen'] } },
    ]);
    expect(ids(r)).toEqual(['a', 'b', 'c', 'd']);
    expect(r.ruleEffects).toContainEqual({
      ruleId: 'pin-g',
      kind: 'conflict',
      effect: 'not applied: g is blocked by block-zen (block wins over pin)',
      itemIds: [],
    });
  });

  it('filter beats pin and inject', () => {
    const r = withRules([
      { id: 'only-acme', kind: 'filter', items: { tags: ['brand:acme'] } },
      { id: 'pin-n', kind: 'pin', items: { itemIds: ['n'] }, slot: 0 },
      { id: 'inj-n', kind: 'inject', items: { itemIds: ['n'] } },
    ]);
    expect(ids(r)).toEqual(['a', 'b', 'c', 'd']);
    expect(r.ruleEffects?.find((e) => e.ruleId === 'pin-n')?.effect).toMatch(
      /fails filter only-acme \(filter wins over pin\)/,
    );
  });

  it('pin beats boost: a boosted item does not take a pinned slot', () => {
    const r = withRules([
      { id: 'b', kind: 'boost', items: { itemIds: ['h'] }, multiplier: 100 },
      { id: 'p', kind: 'pin', items: { itemIds: ['g'] }, slot: 0 },
    ]);
    expect(ids(r).slice(0, 2)).toEqual(['g', 'h']);
  });

  it('two pins for one slot: the higher priority keeps it, the other moves to the next free slot (reported)', () => {
    const r = withRules([
      { id: 'low', kind: 'pin', items: { itemIds: ['h'] }, slot: 0, priority: 1 },
      { id: 'high', kind: 'pin', items: { itemIds: ['g'] }, slot: 0, priority: 5 },
    ]);
    expect(ids(r)).toEqual(['g', 'h', 'a', 'b', 'c']);
    expect(r.ruleEffects).toContainEqual({
      ruleId: 'low',
      kind: 'conflict',
      effect: 'slot 0 is pinned by high (higher priority); h moved to slot 1',
      itemIds: ['h'],
    });
  });

  it('equal priorities: the rule id decides, alphabetically', () => {
    const r = withRules([
      { id: 'pin-b', kind: 'pin', items: { itemIds: ['h'] }, slot: 0 },
      { id: 'pin-a', kind: 'pin', items: { itemIds: ['g'] }, slot: 0 },
    ]);
    expect(ids(r).slice(0, 2)).toEqual(['g', 'h']);
  });

  it('boosts and buries compound: score × every multiplier + every add, in any order', () => {
    const engine = shop();
    const plain = engine.recommend({ ...base, k: 8 }).items.find((i) => i.itemId === 'h')!.score;
    engine.setRules([
      { id: 'x2', kind: 'boost', items: { itemIds: ['h'] }, multiplier: 2, priority: 2 },
      { id: 'plus', kind: 'boost', items: { itemIds: ['h'] }, add: 0.5, priority: 1 },
      {
        id: 'half',
        kind: 'bury',
        items: { tags: ['brand:zen'] },
        multiplier: 0.5,
        subtract: 0.1,
        priority: 9,
      },
      // Conditional rules join the precomputed ones for the requests they hold for.
      { id: 'x3-vip', kind: 'boost', items: { itemIds: ['h'] }, multiplier: 3, when: { segments: ['vip'] } },
    ]);
    const boosted = engine.recommend({ ...base, k: 8 }).items.find((i) => i.itemId === 'h')!.score;
    expect(boosted).toBeCloseTo(plain * 2 * 0.5 + 0.5 - 0.1, 9);
    const vip = engine
      .recommend({ ...base, k: 8, traits: { segment: 'vip' } })
      .items.find((i) => i.itemId === 'h')!;
    expect(vip.score).toBeCloseTo(plain * 2 * 0.5 * 3 + 0.5 - 0.1, 9);
  });

  it('compounds every boost of an item however many match it, each only on its surfaces and conditions', () => {
    const engine = shop();
    const plain = engine.recommend({ ...base, k: 8 }).items.find((i) => i.itemId === 'h')!.score;
    // More rules on one item than its inline row holds (16), of every sort: unconditional, limited
    // to this surface or to another, conditional.
    const many = (n: number, name: string, extra: Pick<RuleDefinition, 'when'>) =>
      Array.from(
        { length: n },
        (_, i): RuleDefinition => ({
          id: `${name}-${i}`,
          kind: 'boost',
          items: { tags: ['brand:zen'] },
          multiplier: 1.01,
          ...extra,
        }),
      );
    engine.setRules([
      ...many(8, 'all', {}),
      ...many(6, 'trending', { when: { surfaces: ['trending'] } }),
      ...many(5, 'for-user', { when: { surfaces: ['forUser'] } }),
      ...many(4, 'vip', { when: { segments: ['vip'] } }),
      { id: 'h-only', kind: 'boost', items: { itemIds: ['h'] }, add: 0.25 },
    ]);
    const scoreOf = (req: Partial<RecRequest>) =>
      engine.recommend({ ...base, k: 8, ...req }).items.find((i) => i.itemId === 'h')!.score;
    expect(scoreOf({})).toBeCloseTo(plain * 1.01 ** 14 + 0.25, 9);
    expect(scoreOf({ traits: { segment: 'vip' } })).toBeCloseTo(plain * 1.01 ** 18 + 0.25, 9);
  });

  it('disabled rules are kept but never applied', () => {
    const engine = shop();
    const summary = engine.setRules([{ id: 'off', kind: 'block', items: {}, enabled: false }]);
    expect(summary).toEqual({ rules: 1, enabled: 0, inForce: 0 });
    expect(listOf(engine)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(engine.getRules()).toHaveLength(1);
  });
});

describe('rules: request conditions', () => {
  it('applies only on the named surfaces and placements', () => {
    const rule: RuleDefinition = {
      id: 'home-pin',
      kind: 'pin',
      items: { itemIds: ['h'] },
      slot: 0,
      when: { surfaces: ['trending'], placements: ['home'] },
    };
    expect(ids(withRules([rule], { placement: 'home' }))[0]).toBe('h');
    expect(ids(withRules([rule], { placement: 'pdp' }))[0]).toBe('a');
    expect(ids(withRules([rule], { surface: 'forUser', placement: 'home' }))[0]).not.toBe('h');
  });

  it('anchor item, anchor category and cart contents', () => {
    const byAnchorCat: RuleDefinition = {
      id: 'r',
      kind: 'pin',
      items: { itemIds: ['n'] },
      slot: 0,
      when: { anchorCategories: ['odd'] },
    };
    expect(ids(withRules([byAnchorCat], { surface: 'similar', itemId: 'b' }))[0]).toBe('n');
    expect(ids(withRules([byAnchorCat], { surface: 'similar', itemId: 'a' }))[0]).not.toBe('n');
    const byAnchor: RuleDefinition = {
      id: 'r',
      kind: 'pin',
      items: { itemIds: ['n'] },
      slot: 0,
      when: { anchorItemIds: ['c'] },
    };
    expect(ids(withRules([byAnchor], { surface: 'similar', itemId: 'c' }))[0]).toBe('n');
    const byCart: RuleDefinition = {
      id: 'r',
      kind: 'pin',
      items: { itemIds: ['n'] },
      slot: 0,
      when: { cartTags: ['brand:z*'] },
    };
    expect(ids(withRules([byCart], { surface: 'cart', cartItemIds: ['f'] }))[0]).toBe('n');
    expect(ids(withRules([byCart], { surface: 'cart', cartItemIds: ['a'] }))[0]).not.toBe('n');
  });

  it('user segment, traits and country, from stored traits or the request', () => {
    const rule: RuleDefinition = {
      id: 'gold-de',
      kind: 'pin',
      items: { itemIds: ['n'] },
      slot: 0,
      when: { segments: ['vip'], countries: ['de'], traits: { tier: ['gold', 'platinum'] } },
    };
    const engine = shop();
    engine.setRules([rule]);
    engine.setUserTraits('u-1', { segment: 'vip', country: 'DE', tier: 'gold' });
    expect(listOf(engine, { userKey: 'u-1' })[0]).toBe('n');
    expect(listOf(engine, { userKey: 'u-1', traits: { country: 'FR' } })[0]).not.toBe('n');
    expect(listOf(engine, { traits: { segment: 'vip', country: 'de', tier: 'platinum' } })[0]).toBe('n');
    expect(listOf(engine)[0]).toBe('a');
  });

  it('a rule of a named rule set applies only to requests served under that set, besides the base rules', () => {
    const engine = shop();
    engine.setRules([
      { id: 'summer-pin', kind: 'pin', items: { itemIds: ['n'] }, slot: 0, ruleSet: 'summer' },
      { id: 'winter-block', kind: 'block', items: { itemIds: ['a'] }, ruleSet: 'winter' },
      { id: 'base-bury', kind: 'bury', items: { itemIds: ['b'] }, multiplier: 0.01 },
    ]);
    expect(listOf(engine)).toEqual(['a', 'c', 'd', 'e', 'f']);
    expect(listOf(engine, { ruleSet: 'summer' })).toEqual(['n', 'a', 'c', 'd', 'e']);
    expect(listOf(engine, { ruleSet: 'winter' })).toEqual(['c', 'd', 'e', 'f', 'g']);
    expect(listOf(engine, { ruleSet: 'autumn' })).toEqual(['a', 'c', 'd', 'e', 'f']);
  });

  it('places a pin of a rule set before an inject of the base set whatever condition each is found by', () => {
    const engine = shop();
    engine.setRules([
      { id: 'summer-pin', kind: 'pin', items: { itemIds: ['n'] }, slot: 0, ruleSet: 'summer' },
      {
        id: 'timed-inject',
        kind: 'inject',
        items: { itemIds: ['h'] },
        slot: 0,
        schedule: { start: '2024-01-01' },
      },
    ]);
    expect(listOf(engine, { ruleSet: 'summer' })).toEqual(['n', 'h', 'a', 'b', 'c']);
    expect(listOf(engine)).toEqual(['h', 'a', 'b', 'c', 'd']);
  });

  it('refuses a rule set id that is not one, naming the field', () => {
    const engine = shop();
    expect(() =>
      engine.setRules([{ id: 'x', kind: 'block', items: { itemIds: ['a'] }, ruleSet: 'no spaces' }]),
    ).toThrow(/ruleSet/);
  });
});

describe('rules: schedules against the request clock', () => {
  const rule = (schedule: RuleDefinition['schedule']): RuleDefinition => ({
    id: 's',
    kind: 'pin',
    items: { itemIds: ['h'] },
    slot: 0,
    schedule,
  });
  const first = (defs: RuleDefinition[], now: number) => ids(withRules(defs, { now }))[0];

  it('starts at start (inclusive) and stops at end (exclusive) without being set again', () => {
    const start = Date.parse('2024-01-02T00:00:00Z');
    const end = Date.parse('2024-01-03T00:00:00Z');
    const defs = [rule({ start: '2024-01-02T00:00:00Z', end: '2024-01-03T00:00:00Z' })];
    expect(first(defs, start - 1)).toBe('a');
    expect(first(defs, start)).toBe('h');
    expect(first(defs, end - 1)).toBe('h');
    expect(first(defs, end)).toBe('a');
  });

  it('scheduleState changes exactly when a scheduled rule starts or stops, and is empty without schedules', () => {
    const engine = shop();
    engine.setRules([
      { id: 'always', kind: 'pin', items: { itemIds: ['g'] }, slot: 1 },
      rule({ start: '2024-01-02T00:00:00Z', end: '2024-01-03T00:00:00Z' }),
    ]);
    const start = Date.parse('2024-01-02T00:00:00Z');
    const end = Date.parse('2024-01-03T00:00:00Z');
    expect(engine.scheduleState(start - 1)).toBe('0');
    expect(engine.scheduleState(start)).toBe('1');
    expect(engine.scheduleState(end - 1)).toBe('1');
    expect(engine.scheduleState(end)).toBe('0');
    engine.setRules([{ id: 'always', kind: 'pin', items: { itemIds: ['g'] }, slot: 1 }]);
    expect(engine.scheduleState(start)).toBe('');
  });

  it('scheduleUntil is the next start or end of a scheduled rule, the minute’s end under recurring windows, Infinity without schedules', () => {
    const engine = shop();
    const start = Date.parse('2024-01-02T00:00:00Z');
    const end = Date.parse('2024-01-03T00:00:00Z');
    engine.setRules([rule({ start: '2024-01-02T00:00:00Z', end: '2024-01-03T00:00:00Z' })]);
    expect(engine.scheduleUntil(start - 5_000)).toBe(start);
    expect(engine.scheduleUntil(start)).toBe(end);
    expect(engine.scheduleUntil(end)).toBe(Number.POSITIVE_INFINITY);
    engine.setRules([rule({ recurring: [{ days: ['tue'], from: '09:00', to: '17:00' }] })]);
    expect(engine.scheduleUntil(start + 90_500)).toBe(start + 120_000);
    engine.setRules([{ id: 'always', kind: 'pin', items: { itemIds: ['g'] }, slot: 1 }]);
    expect(engine.scheduleUntil(start)).toBe(Number.POSITIVE_INFINITY);
  });

  it('reads a local start and end in the rule time zone', () => {
    // 2024-01-02T00:00 in Berlin (UTC+1 in winter) is 2024-01-01T23:00Z.
    const defs = [rule({ start: '2024-01-02T00:00', timeZone: 'Europe/Berlin' })];
    expect(first(defs, Date.parse('2024-01-01T22:59:59Z'))).toBe('a');
    expect(first(defs, Date.parse('2024-01-01T23:00:00Z'))).toBe('h');
  });

  it('recurring windows follow local time across DST', () => {
    // Weekdays 09:00–17:00 in New York: 13:30Z is 08:30 EST in January but 09:30 EDT in July.
    const defs = [
      rule({
        timeZone: 'America/New_York',
        recurring: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '09:00', to: '17:00' }],
      }),
    ];
    expect(first(defs, Date.parse('2024-01-10T13:30:00Z'))).toBe('a');
    expect(first(defs, Date.parse('2024-07-10T13:30:00Z'))).toBe('h');
    // The window's edges: 17:00 local is out, 16:59 in.
    expect(first(defs, Date.parse('2024-07-10T20:59:00Z'))).toBe('h');
    expect(first(defs, Date.parse('2024-07-10T21:00:00Z'))).toBe('a');
    // Saturday is not listed.
    expect(first(defs, Date.parse('2024-07-13T14:00:00Z'))).toBe('a');
  });

  it('a window past midnight belongs to the day it starts on', () => {
    const defs = [
      rule({ timeZone: 'Europe/Berlin', recurring: [{ days: ['fri'], from: '22:00', to: '02:00' }] }),
    ];
    // Friday 2024-01-05 23:00 Berlin = 22:00Z; Saturday 01:30 Berlin = 00:30Z; Saturday 22:30 is out.
    expect(first(defs, Date.parse('2024-01-05T22:00:00Z'))).toBe('h');
    expect(first(defs, Date.parse('2024-01-06T00:30:00Z'))).toBe('h');
    expect(first(defs, Date.parse('2024-01-06T01:00:00Z'))).toBe('a');
    expect(first(defs, Date.parse('2024-01-06T21:30:00Z'))).toBe('a');
  });
});

describe('rules: setRules', () => {
  it('refuses invalid definitions naming the field and the fix, keeping the rules in force', () => {
    const engine = shop();
    engine.setRules([{ id: 'keep', kind: 'pin', items: { itemIds: ['h'] }, slot: 0 }]);
    let error: unknown;
    try {
      engine.setRules([{ id: 'bad', kind: 'pin', items: { itemIds: ['h'] } } as unknown as RuleDefinition]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RuleValidationError);
    expect((error as RuleValidationError).issues).toEqual([
      { path: [0, 'slot'], message: 'a pin needs a slot: a whole number 0–999 (0 = first position)' },
    ]);
    expect(listOf(engine)[0]).toBe('h');
  });

  it('follows catalog changes: an item tagged later is matched, one archived later is dropped', () => {
    const engine = shop();
    engine.setRules([{ id: 'p', kind: 'pin', items: { tags: ['collection:xmas'] }, slot: 0 }]);
    expect(listOf(engine)[0]).toBe('a');
    engine.upsertItems([item('g', { tags: ['collection:xmas', 'brand:zen'], price: 70, createdAt: T0 })]);
    expect(listOf(engine)[0]).toBe('g');
    engine.upsertItems([item('g', { tags: ['collection:xmas'], archived: true, createdAt: T0 })]);
    expect(listOf(engine)).not.toContain('g');
  });

  it('previews a prepared rule set without installing it, and reranks a served list', () => {
    const engine = shop();
    const prepared = engine.prepareRules([{ id: 'p', kind: 'pin', items: { itemIds: ['h'] }, slot: 0 }]);
    expect(ids(engine.recommend(base, { rules: prepared }))[0]).toBe('h');
    expect(listOf(engine)[0]).toBe('a');
    const served = ['a', 'b', 'c'].map((itemId, i) => ({ itemId, score: 3 - i }));
    expect(engine.rerankList(served, { surface: 'trending', k: 3 }, prepared)).toEqual(['h', 'a', 'b']);
    expect(engine.rerankList(served, { surface: 'trending', k: 3 })).toEqual(['a', 'b', 'c']);
    const block = engine.prepareRules([{ id: 'b', kind: 'block', items: { itemIds: ['b'] } }]);
    expect(engine.rerankList(served, { surface: 'trending', k: 3 }, block)).toEqual(['a', 'c']);
  });
});
