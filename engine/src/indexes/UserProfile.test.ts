import { describe, expect, it } from 'vitest';
import { UserProfile } from './UserProfile';

const DAY = 86_400_000;
const T0 = Date.UTC(2024, 0, 1);
const limits = { maxItems: 3, maxTags: 2, maxPurchases: 2, maxRecentlyViewed: 2 };
const seen = { viewed: true, purchased: false };
const bought = { viewed: false, purchased: true };

describe('UserProfile', () => {
  it('accumulates decayed, type-weighted interest per item', () => {
    const p = new UserProfile(14 * DAY);
    p.record(1, 1, T0, 's1', [], bought, limits);
    p.record(1, 0.05, T0 + 14 * DAY, 's2', [], seen, limits);
    expect(p.interest(1, T0 + 14 * DAY)).toBeCloseTo(0.5 + 0.05, 12);
  });

  it('evicts the weakest item, tag and oldest purchase beyond its bounds', () => {
    const p = new UserProfile(14 * DAY);
    p.record(1, 0.05, T0, 's', [10], seen, limits);
    p.record(2, 1, T0, 's', [11], bought, limits);
    p.record(3, 0.7, T0, 's', [12], bought, limits);
    p.record(4, 0.2, T0 + 1, 's', [], bought, limits);
    expect(p.itemIds().sort()).toEqual([2, 3, 4]);
    expect(
      p
        .topTags(T0, 10)
        .map((t) => t.tag)
        .sort(),
    ).toEqual([11, 12]);
    expect([...p.purchases.keys()].sort()).toEqual([3, 4]);
  });

  it('counts one visit per session that touched an item, and a merge adds the visits of both profiles', () => {
    const visits = (p: UserProfile) => {
      const out = new Map<number, number>();
      p.forEachVisit((item, n) => out.set(item, n));
      return out;
    };
    const p = new UserProfile(14 * DAY);
    p.record(1, 0.05, T0, 's1', [], seen, limits);
    p.record(1, 0.2, T0 + 1, 's1', [], seen, limits);
    p.record(1, 0.05, T0 + DAY, 's2', [], seen, limits);
    p.record(2, 0.05, T0 + DAY, 's2', [], seen, limits);
    expect(visits(p)).toEqual(
      new Map([
        [1, 2],
        [2, 1],
      ]),
    );
    const anonymous = new UserProfile(14 * DAY);
    anonymous.record(2, 0.05, T0 + 2 * DAY, 'a1', [], seen, limits);
    p.absorb(anonymous, limits);
    expect(visits(p)).toEqual(
      new Map([
        [1, 2],
        [2, 2],
      ]),
    );
  });

  it('keeps recently viewed items newest first without duplicates', () => {
    const p = new UserProfile(14 * DAY);
    p.record(1, 0.05, T0, 's', [], seen, limits);
    p.record(2, 0.05, T0 + 1, 's', [], seen, limits);
    p.record(1, 0.05, T0 + 2, 's', [], seen, limits);
    expect(p.viewedItems).toEqual([1, 2]);
  });

  it('absorbs another profile by summing interest, purchases and recent views', () => {
    const a = new UserProfile(14 * DAY);
    const b = new UserProfile(14 * DAY);
    const big = { maxItems: 10, maxTags: 10, maxPurchases: 10, maxRecentlyViewed: 10 };
    a.record(1, 1, T0, 's', [7], bought, big);
    b.record(1, 1, T0 + 14 * DAY, 't', [7], bought, big);
    b.record(2, 0.05, T0 + 14 * DAY + 1, 't', [], seen, big);
    a.absorb(b, big);
    const now = T0 + 14 * DAY;
    expect(a.interest(1, now)).toBeCloseTo(1.5, 9);
    expect(a.purchases.get(1)).toEqual({ count: 2, firstTs: T0, lastTs: T0 + 14 * DAY });
    expect(a.viewedItems).toEqual([2]);
    expect(a.lastSession).toBe('t');
    expect(a.topTags(now, 1)[0]!.score).toBeCloseTo(1.5, 9);
  });
});
