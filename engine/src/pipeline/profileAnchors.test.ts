import { describe, expect, it } from 'vitest';
import { defaultEngineConfig } from '../config/engineConfig';
import { UserProfile } from '../indexes/UserProfile';
import { profileAnchors } from './profileAnchors';

const DAY = 86_400_000;
const T0 = Date.UTC(2024, 0, 1);
const limits = { maxItems: 3, maxTags: 2, maxPurchases: 2, maxRecentlyViewed: 2 };
const seen = { viewed: true, purchased: false };
const bought = { viewed: false, purchased: true };

describe('profileAnchors', () => {
  it('weighs current-session items and the latest item most when choosing anchors', () => {
    const p = new UserProfile(14 * DAY);
    const cfg = { ...defaultEngineConfig.profile, sessionBoost: 3, latestBoost: 2 };
    p.record(1, 1, T0, 'old', [], bought, limits); // 1
    p.record(2, 0.2, T0 + 1, 'now', [], seen, limits); // 0.2 × 3 = 0.6
    p.record(3, 0.05, T0 + 2, 'now', [], seen, limits); // 0.05 × 3 × 2 = 0.3
    const anchors = profileAnchors(p, T0 + 2, 'now', cfg);
    expect(anchors.map((a) => a.item)).toEqual([1, 2, 3]);
    expect(anchors[1]!.weight).toBeCloseTo(0.6, 6);
    expect(anchors[2]!.weight).toBeCloseTo(0.3, 6);
    // Back in the old session, its purchase gets the boost instead.
    const old = profileAnchors(p, T0 + 2, 'old', cfg);
    expect(old.map((a) => a.weight)).toEqual([1, expect.closeTo(0.2 / 3, 6), expect.closeTo(0.1 / 3, 6)]);
  });
});
