import { describe, expect, it } from 'vitest';
import { createEngine } from '../createEngine';
import { DAY, ev, item, MIN, T0 } from '../testShop';
import { TrendingSupport } from './TrendingSupport';

describe('TrendingSupport', () => {
  it('counts a user’s strongest action on an item once per window, and again in the next window', () => {
    const support = new TrendingSupport(DAY);
    expect(support.claim('u', 1, 0.05, T0)).toEqual({ weight: 0.05, newUser: 1 });
    // Reloading the page adds nothing; buying adds what a purchase weighs beyond the view.
    expect(support.claim('u', 1, 0.05, T0 + MIN)).toEqual({ weight: 0, newUser: 0 });
    const bought = support.claim('u', 1, 1, T0 + 2 * MIN);
    expect(bought.weight).toBeCloseTo(0.95, 12);
    expect(bought.newUser).toBe(0);
    expect(support.claim('u', 1, 1, T0 + 3 * MIN)).toEqual({ weight: 0, newUser: 0 });
    // Another user, or the same user a window later, counts.
    expect(support.claim('v', 1, 1, T0 + 3 * MIN)).toEqual({ weight: 1, newUser: 1 });
    expect(support.claim('u', 1, 1, T0 + DAY + 3 * MIN)).toEqual({ weight: 1, newUser: 1 });
  });

  it('keeps counting correctly for a user who touches more items than it has slots for', () => {
    const support = new TrendingSupport(DAY);
    for (let i = 0; i < 40; i++) expect(support.claim('u', i, 1, T0 + i).newUser).toBe(1);
    // The 16 latest are remembered: touching them again adds nothing.
    for (let i = 24; i < 40; i++) expect(support.claim('u', i, 1, T0 + 100).weight).toBe(0);
  });

  it('frees the rows of users quiet for two windows before it grows, and keeps those of the last two windows', () => {
    const support = new TrendingSupport(DAY);
    for (let u = 0; u < 64; u++) support.claim(`quiet-${u}`, 1, 1, T0);
    support.claim('recent', 2, 1, T0 + 2 * DAY);
    const bytes = support.byteLength;
    for (let u = 0; u < 60; u++) support.claim(`new-${u}`, 3, 1, T0 + 3 * DAY);
    // The quiet users' rows went to the new ones: the pool did not grow.
    expect(support.size).toBe(61);
    expect(support.byteLength).toBe(bytes);
    // A user of the last two windows is still remembered: a late event of theirs adds nothing again.
    expect(support.claim('recent', 2, 1, T0 + 2 * DAY + MIN)).toEqual({ weight: 0, newUser: 0 });
    // A quiet user who comes back counts as in any new window.
    expect(support.claim('quiet-0', 1, 1, T0 + 3 * DAY)).toEqual({ weight: 1, newUser: 1 });
  });

  it('grows when users are all active, and trim gives back the room while keeping what each counted', () => {
    const support = new TrendingSupport(DAY);
    for (let u = 0; u < 200; u++) support.claim(`u-${u}`, u, 1, T0 + u);
    expect(support.size).toBe(200);
    const grown = support.byteLength;
    support.trim();
    expect(support.byteLength).toBeLessThan(grown);
    for (let u = 0; u < 200; u++) expect(support.claim(`u-${u}`, u, 1, T0 + 500).weight).toBe(0);
    expect(support.claim('u-0', 999, 1, T0 + 500)).toEqual({ weight: 1, newUser: 1 });
  });

  it('forgets an erased user and moves a merged one', () => {
    const support = new TrendingSupport(DAY);
    support.claim('anon:1', 7, 1, T0);
    support.merge('anon:1', 'user-1');
    expect(support.claim('user-1', 7, 1, T0 + MIN).newUser).toBe(0);
    support.drop('user-1');
    expect(support.claim('user-1', 7, 1, T0 + 2 * MIN).newUser).toBe(1);
  });
});

describe('trending counts people, not events', () => {
  function shop() {
    const now = T0 + 10 * DAY;
    const engine = createEngine({ now: () => now });
    engine.upsertItems(['steady', 'liked', 'order-a', 'order-b', 'reloaded'].map((id) => item(id)));
    const minute = 10 * 1440 - 120;
    engine.addEvents([
      // A steady seller over ten days: popular, not rising.
      ...Array.from({ length: 10 }, (_, d) => ev('purchase', 'steady', `s${d}`, d * 1440)),
      // Today, five different shoppers buy `liked`.
      ...Array.from({ length: 5 }, (_, u) => ev('purchase', 'liked', `l${u}`, minute + u)),
      // One anonymous order of many lines of two items.
      ...Array.from({ length: 12 }, (_, i) =>
        ev('purchase', i % 2 ? 'order-a' : 'order-b', 'anon:buyer', minute + 30, { orderId: 'o-1' }),
      ),
      // One visitor reloads a product page 200 times.
      ...Array.from({ length: 200 }, (_, i) => ev('view', 'reloaded', 'anon:reloader', minute + i / 10)),
    ]);
    return engine;
  }

  it('does not let one order or one visitor put items into "Trending now"', () => {
    // The trend signal alone (the surface also blends in a little popularity, which counts events).
    const only = { fallback: false, blend: { popular: 0 } };
    const res = shop().recommend({ surface: 'trending', k: 3, overrides: only });
    expect(res.items.map((i) => i.itemId)).toEqual(['liked']);
    // With the surface's own blend, the riser still leads.
    expect(shop().recommend({ surface: 'trending', k: 3 }).items[0]?.itemId).toBe('liked');
  });

  it('lets them trend with the minimum support turned off, as before', () => {
    const engine = createEngine({
      now: () => T0 + 10 * DAY,
      config: { popularity: { trendingMinUsers: 0 } },
    });
    engine.upsertItems([item('order-a'), item('order-b')]);
    engine.addEvents([
      ev('purchase', 'order-a', 'anon:buyer', 10 * 1440 - 60),
      ev('purchase', 'order-b', 'anon:buyer', 10 * 1440 - 60),
    ]);
    const res = engine.recommend({
      surface: 'trending',
      k: 3,
      overrides: { fallback: false, blend: { popular: 0 } },
    });
    expect(res.items.map((i) => i.itemId).sort()).toEqual(['order-a', 'order-b']);
  });
});
