import { describe, expect, it } from 'vitest';
import type { PartialEngineConfig } from '../config/engineConfig';
import { createEngine } from '../createEngine';
import { coViews, DAY, ev, item, T0 } from '../testShop';

/**
 * Two tastes and one item between them: alice looks at a tent (boots and a stove go with it), bob at
 * a kettle (a mug goes with it); a picnic set is viewed with both, less strongly than each one's own
 * favourite. Popularity is off so that each member's scores come from their own history alone, and
 * revisit too: the rules are read on what goes with each member's item, not on the item itself.
 */
function shop(config: PartialEngineConfig = { blend: { forUser: { popular: 0, trending: 0, revisit: 0 } } }) {
  const engine = createEngine({ now: () => T0 + DAY, config });
  engine.upsertItems(
    ['tent', 'boots', 'stove', 'kettle', 'mug', 'picnic', 'lamp'].map((id) => item(id, { price: 10 })),
  );
  engine.addEvents([
    ...coViews(['tent', 'boots'], 6, 'p'),
    ...coViews(['tent', 'stove'], 3, 'o'),
    ...coViews(['tent', 'picnic'], 3, 'r'),
    ...coViews(['kettle', 'mug'], 6, 'q'),
    ...coViews(['kettle', 'picnic'], 3, 'k'),
    ev('view', 'tent', 'alice', 100, { sessionId: 'alice-1' }),
    ev('view', 'kettle', 'bob', 100, { sessionId: 'bob-1' }),
  ]);
  return engine;
}

const members = [{ userKey: 'alice' }, { userKey: 'bob' }];
const ids = (r: { items: Array<{ itemId: string }> }) => r.items.map((i) => i.itemId);

describe('recommendGroup', () => {
  it("puts first, under the min rule, the item everyone likes rather than one member's favourite", () => {
    const res = shop().group({ members, k: 5, rule: 'min', explain: true });
    expect(ids(res)[0]).toBe('picnic');
    const picnic = res.items[0]!;
    // Liked by both, each below their own favourite (normalised to 1).
    expect(picnic.memberScores).toHaveLength(2);
    for (const s of picnic.memberScores!) expect(s).toBeGreaterThan(0);
    expect(Math.max(...picnic.memberScores!)).toBeLessThan(1);
    expect(picnic.score).toBeCloseTo(Math.min(...picnic.memberScores!));
    // Each member's favourite scores 1 for them and 0 for the other: min 0.
    const boots = res.items.find((i) => i.itemId === 'boots');
    expect(boots?.memberScores).toEqual([1, 0]);
    expect(boots?.score).toBe(0);
    expect(res.rule).toBe('min');
    // The union of both members' own lists: boots, stove, picnic (alice), mug, picnic (bob).
    expect(res.candidates).toBe(4);
  });

  it("ranks by the average under the avg rule, where one member's favourite can win", () => {
    const res = shop().group({ members, k: 5, rule: 'avg', explain: true });
    // boots and mug: (1 + 0) / 2 = 0.5 each; picnic: the mean of two scores below 1.
    const picnic = res.items.find((i) => i.itemId === 'picnic')!;
    const mean = (picnic.memberScores![0]! + picnic.memberScores![1]!) / 2;
    expect(picnic.score).toBeCloseTo(mean);
    expect(ids(res).slice(0, 2).sort()).toEqual(['boots', 'mug']);
    for (const i of res.items.slice(1)) expect(i.score).toBeLessThanOrEqual(res.items[0]!.score);
  });

  it('locks strong fits for every member at the top, whatever the rule ranks above them', () => {
    const res = shop().group({
      members,
      k: 5,
      rule: 'avg',
      strongFit: { threshold: 0.2, maxLocked: 2 },
      explain: true,
    });
    expect(res.locked).toEqual(['picnic']);
    expect(res.items[0]).toMatchObject({ itemId: 'picnic', locked: true });
    expect(res.items.slice(1).every((i) => !i.locked)).toBe(true);
    expect(res.strongFit).toEqual({ threshold: 0.2, maxLocked: 2 });
    expect(res.warning).toBeUndefined();
  });

  it('warns, and locks nothing, when no item clears the bar for every member', () => {
    const res = shop().group({ members, k: 5, rule: 'avg', strongFit: { threshold: 0.99, maxLocked: 3 } });
    expect(res.locked).toEqual([]);
    expect(res.items.every((i) => !i.locked)).toBe(true);
    expect(res.warning).toMatch(/No item scores at least 0.99 for every member/);
    // The same order as without locking.
    expect(ids(res)).toEqual(ids(shop().group({ members, k: 5, rule: 'avg' })));
  });

  it('scores cold members with the catalog-wide signals, so they do not veto everything', () => {
    const engine = shop({});
    const res = engine.group({ members: [{ userKey: 'alice' }, { userKey: 'nobody' }], k: 3, explain: true });
    expect(res.items.length).toBe(3);
    expect(res.items[0]!.memberScores![1]).toBeGreaterThan(0);
  });

  it('respects filters, the market and block rules on the combined list', () => {
    const engine = shop();
    engine.upsertItems([item('picnic', { price: 10, markets: { FR: { available: true } } })]);
    expect(ids(engine.group({ members, k: 5, country: 'DE' }))).not.toContain('picnic');
    expect(ids(engine.group({ members, k: 5, country: 'FR' }))[0]).toBe('picnic');
    expect(ids(engine.group({ members, k: 5, filters: { excludeIds: ['picnic'] } }))).not.toContain('picnic');
    engine.setRules([{ id: 'no-picnic', kind: 'block', items: { itemIds: ['picnic'] } }]);
    expect(ids(engine.group({ members, k: 5 }))).not.toContain('picnic');
  });

  it('places a pinned item where the rule says, above the combined order', () => {
    const engine = shop();
    engine.setRules([{ id: 'pin-lamp', kind: 'pin', items: { itemIds: ['lamp'] }, slot: 0 }]);
    expect(ids(engine.group({ members, k: 3 }))[0]).toBe('lamp');
  });

  it('refuses groups of fewer than 2 or more than 10 members, and a bad threshold', () => {
    const engine = shop();
    expect(() => engine.group({ members: [{ userKey: 'alice' }], k: 3 })).toThrow(/2–10 members/);
    const eleven = Array.from({ length: 11 }, (_, i) => ({ userKey: `u${i}` }));
    expect(() => engine.group({ members: eleven, k: 3 })).toThrow(/2–10 members/);
    expect(() => engine.group({ members, k: 3, strongFit: { threshold: 2, maxLocked: 1 } })).toThrow(
      /between 0 and 1/,
    );
  });

  it('gives the same list for the same data', () => {
    expect(shop().group({ members, k: 5 })).toEqual(shop().group({ members, k: 5 }));
  });
});
