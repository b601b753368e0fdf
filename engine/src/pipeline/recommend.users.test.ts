import { describe, expect, it } from 'vitest';
import { createEngine } from '../createEngine';
import { coViews, DAY, ev, item, T0 } from '../testShop';
import type { VectorSource } from '../vectors/types';

const list = (r: { items: Array<{ itemId: string }> }) => r.items.map((i) => i.itemId);

describe('recommend: forUser', () => {
  function shop() {
    const engine = createEngine({ now: () => T0 + DAY });
    engine.upsertItems(['shoe', 'sock', 'lamp', 'bulb', 'x'].map((id) => item(id, { title: id })));
    engine.addEvents([...coViews(['shoe', 'sock'], 4, 'a'), ...coViews(['lamp', 'bulb'], 4, 'b')]);
    return engine;
  }

  it('follows the current session over older interests', () => {
    const engine = shop();
    engine.addEvents([
      ev('add', 'shoe', 'me', 0, { sessionId: 'monday' }),
      ev('click', 'lamp', 'me', 600, { sessionId: 'tuesday' }),
    ]);
    // monday: shoe 0.7 × 3 (session) = 2.1 vs lamp 0.2 × 2 (latest) = 0.4
    // tuesday: shoe 0.7 vs lamp 0.2 × 3 × 2 = 1.2
    const req = {
      surface: 'forUser',
      userKey: 'me',
      k: 1,
      // Anchor choice only: the session and revisit signals (which may show the user's own items) are off.
      overrides: { blend: { popular: 0, trending: 0, sessionKnn: 0, transition: 0, revisit: 0 } },
    } as const;
    expect(list(engine.recommend({ ...req, sessionId: 'monday' }))).toEqual(['sock']);
    expect(list(engine.recommend({ ...req, sessionId: 'tuesday', explain: true }))).toEqual(['bulb']);
  });

  it('explains an embedding match by the closest item the user viewed', () => {
    const engine = shop();
    const v: Record<string, number[]> = {
      shoe: [1, 0],
      sock: [0.9, 0.1],
      lamp: [0, 1],
      bulb: [0.1, 1],
      x: [0.95, 0],
    };
    const source: VectorSource = {
      dim: 2,
      get: (id) => (v[id] ? Float32Array.from(v[id]!) : undefined),
      nearest: (q, k, filter) =>
        Object.keys(v)
          .filter((id) => filter?.(id) ?? true)
          .map((itemId) => ({
            itemId,
            score:
              (q[0]! * v[itemId]![0]! + q[1]! * v[itemId]![1]!) /
              Math.hypot(...v[itemId]!) /
              Math.hypot(q[0]!, q[1]!),
          }))
          .sort((a, b) => b.score - a.score)
          .slice(0, k),
    };
    engine.setVectors(source);
    engine.addEvents([ev('view', 'shoe', 'me', 0)]);
    const res = engine.recommend({
      surface: 'forUser',
      userKey: 'me',
      k: 1,
      explain: true,
      filters: { excludeIds: ['sock', 'shoe'] },
      overrides: { blend: { covisit: 0, boughtTogether: 0, popular: 0, trending: 0, affinity: 0 } },
    });
    expect(res.items[0]).toMatchObject({
      itemId: 'x',
      reasons: [{ signal: 'embedding', text: 'similar to shoe you viewed' }],
    });
  });

  it('explains a tag-affinity match with the user’s interest', () => {
    const engine = createEngine({ now: () => T0 + DAY });
    engine.upsertItems([
      item('seen', { tags: ['category:garden'] }),
      item('hose', { tags: ['category:garden'] }),
      item('toy', { tags: ['category:toys'] }),
    ]);
    engine.addEvents([
      ev('view', 'hose', 'other', 0),
      ev('view', 'toy', 'other2', 0),
      ev('add', 'seen', 'me', 5),
    ]);
    const res = engine.recommend({
      surface: 'forUser',
      userKey: 'me',
      k: 1,
      explain: true,
      filters: { excludeIds: ['seen'] },
      overrides: { blend: { popular: 0, trending: 0 } },
    });
    expect(res.items[0]).toMatchObject({
      itemId: 'hose',
      reasons: [{ signal: 'affinity', text: 'matches your interest in garden' }],
    });
  });

  it('starts a user without history from what shoppers with the same traits engage with', () => {
    const engine = createEngine({ now: () => T0 + DAY });
    engine.upsertItems([item('uk-tea'), item('us-soda'), item('global')]);
    engine.setUserTraits('uk1', { country: 'UK' });
    engine.setUserTraits('us1', { country: 'US' });
    engine.addEvents([
      ev('purchase', 'uk-tea', 'uk1', 0),
      ev('purchase', 'us-soda', 'us1', 0),
      ev('purchase', 'us-soda', 'us1', 1),
      ev('purchase', 'global', 'n1', 0),
      ev('purchase', 'global', 'n2', 0),
      ev('purchase', 'global', 'n3', 0),
    ]);
    const req = {
      surface: 'forUser',
      k: 1,
      explain: true,
      overrides: { blend: { trending: 0, popular: 0.1 } },
    } as const;
    const uk = engine.recommend({ ...req, userKey: 'newbie', traits: { country: 'UK' } });
    expect(uk.items[0]!.itemId).toBe('uk-tea');
    expect(uk.items[0]!.reasons?.[0]).toMatchObject({
      signal: 'segment',
      text: 'popular with shoppers in country UK',
    });
    engine.setUserTraits('newbie2', { country: 'US' });
    expect(list(engine.recommend({ ...req, userKey: 'newbie2' }))).toEqual(['us-soda']);
    expect(list(engine.recommend({ ...req, userKey: 'stranger' }))).toEqual(['global']);
  });

  it('offers buy-again items by frequency and recency, recency decaying with profile.buyAgainHalfLifeMs', () => {
    const engine = createEngine({
      now: () => T0 + 30 * DAY,
      config: { profile: { buyAgainHalfLifeMs: 14 * DAY } },
    });
    engine.upsertItems([item('milk'), item('bread'), item('jam')]);
    engine.addEvents([
      ev('purchase', 'milk', 'me', 0),
      ev('purchase', 'milk', 'me', 7 * 1440),
      ev('purchase', 'milk', 'me', 14 * 1440),
      ev('purchase', 'bread', 'me', 29 * 1440),
      ev('purchase', 'jam', 'me', 0),
    ]);
    const res = engine.recommend({ surface: 'buyAgain', userKey: 'me', k: 3, explain: true });
    expect(list(res)).toEqual(['bread', 'milk', 'jam']);
    expect(res.items[1]!.reasons?.[0]?.text).toBe('you bought this 3 times before');
    expect(res.fallback.used).toBe(false);
    // The default half-life (90 days) lets the item bought three times lead.
    engine.setConfig({});
    expect(list(engine.recommend({ surface: 'buyAgain', userKey: 'me', k: 3 }))).toEqual([
      'milk',
      'bread',
      'jam',
    ]);
  });

  it('lifts past purchases that still sell over ones no one buys any more with profile.buyAgainPopularityExponent', () => {
    const engine = createEngine({ now: () => T0 + 30 * DAY });
    engine.upsertItems([item('old-calendar'), item('tea-towel')]);
    engine.addEvents([
      // The calendar was bought a little later, so it leads on recency alone.
      ev('purchase', 'tea-towel', 'me', 20 * 1440),
      ev('purchase', 'old-calendar', 'me', 21 * 1440),
      // Everyone else keeps buying tea towels.
      ...['x', 'y', 'z', 'w'].map((u, i) => ev('purchase', 'tea-towel', u, 29 * 1440 + i)),
    ]);
    const req = { surface: 'buyAgain', userKey: 'me', k: 2 } as const;
    expect(list(engine.recommend(req))).toEqual(['old-calendar', 'tea-towel']);
    engine.setConfig({ profile: { buyAgainPopularityExponent: 0.5 } });
    expect(list(engine.recommend(req))).toEqual(['tea-towel', 'old-calendar']);
  });

  it('leads top picks with what a shopper keeps coming back to, though they never bought it', () => {
    const engine = createEngine({ now: () => T0 + 10 * DAY });
    engine.upsertItems([item('sofa'), item('rug'), item('vase')]);
    const visit = (itemId: string, day: number) =>
      ev('view', itemId, 'me', day * 1440, { sessionId: `me-${itemId}-${day}` });
    engine.addEvents([
      // The sofa three times on three days; the rug once, viewed twice in that one session.
      visit('sofa', 1),
      visit('sofa', 4),
      visit('sofa', 8),
      visit('rug', 9),
      ev('view', 'rug', 'me', 9 * 1440 + 5, { sessionId: 'me-rug-9' }),
      // Everyone sells both equally well.
      ...['x', 'y'].flatMap((u, i) => [ev('view', 'sofa', u, 100 + i), ev('view', 'rug', u, 200 + i)]),
    ]);
    const res = engine.recommend({
      surface: 'forUser',
      userKey: 'me',
      k: 2,
      explain: true,
      overrides: { blend: { revisit: 1, covisit: 0, popular: 0, trending: 0, affinity: 0, segment: 0 } },
    });
    expect(list(res)).toEqual(['sofa', 'rug']);
    expect(res.items[0]!.reasons?.[0]).toMatchObject({
      signal: 'revisit',
      text: 'you came back to this 3 times',
    });
    expect(res.items[1]!.reasons?.[0]?.text).toBe('you looked at this before');
  });

  it('ranks revisited items that still sell above ones no one else wants with profile.revisitPopularityExponent', () => {
    const engine = createEngine({ now: () => T0 + 10 * DAY });
    engine.upsertItems([item('lamp'), item('old-lamp')]);
    engine.addEvents([
      ev('view', 'lamp', 'me', 8 * 1440, { sessionId: 'me-1' }),
      ev('view', 'old-lamp', 'me', 9 * 1440, { sessionId: 'me-2' }),
      ...['x', 'y', 'z', 'w'].map((u, i) => ev('add', 'lamp', u, 9 * 1440 + i)),
    ]);
    const req = {
      surface: 'forUser',
      userKey: 'me',
      k: 2,
      overrides: { blend: { revisit: 1, covisit: 0, popular: 0, trending: 0, affinity: 0, segment: 0 } },
    } as const;
    expect(list(engine.recommend(req))).toEqual(['lamp', 'old-lamp']);
    // Without the popularity factor the later visit leads.
    engine.setConfig({ profile: { revisitPopularityExponent: 0 } });
    expect(list(engine.recommend(req))).toEqual(['old-lamp', 'lamp']);
  });

  it('breaks buy-again ties by recent popularity, not by item id', () => {
    const engine = createEngine({ now: () => T0 + DAY });
    engine.upsertItems([item('a-mug'), item('b-plate'), item('c-bowl')]);
    engine.addEvents([
      // One order: identical frequency and recency for all three.
      ev('purchase', 'a-mug', 'me', 0, { orderId: 'o1' }),
      ev('purchase', 'b-plate', 'me', 0, { orderId: 'o1' }),
      ev('purchase', 'c-bowl', 'me', 0, { orderId: 'o1' }),
      // Other shoppers bought bowls most, then plates.
      ...['x', 'y', 'z'].map((u, i) => ev('purchase', 'c-bowl', u, 10 + i)),
      ev('purchase', 'b-plate', 'x', 20),
    ]);
    expect(list(engine.recommend({ surface: 'buyAgain', userKey: 'me', k: 3 }))).toEqual([
      'c-bowl',
      'b-plate',
      'a-mug',
    ]);
  });

  it('lists recently viewed items newest first', () => {
    const engine = createEngine({ now: () => T0 + DAY });
    engine.upsertItems([item('a'), item('b'), item('c')]);
    engine.addEvents([
      ev('view', 'a', 'me', 0),
      ev('view', 'b', 'me', 1),
      ev('click', 'c', 'me', 2),
      ev('view', 'a', 'me', 3),
    ]);
    expect(list(engine.recommend({ surface: 'recentlyViewed', userKey: 'me', k: 5 }))).toEqual([
      'a',
      'c',
      'b',
    ]);
  });
});

describe('recently viewed keeps the visitor’s own order', () => {
  it('shows every browsed item newest first even when all share one brand and category, under the default caps', () => {
    const engine = createEngine({
      now: () => T0 + DAY,
      config: { diversity: { maxPerBrand: 2, maxPerCategory: 2, lambda: 0.5 } },
    });
    const names = ['m1', 'm2', 'm3', 'm4', 'm5'];
    engine.upsertItems(names.map((n) => item(n, { tags: ['brand:acme', 'category:mugs'] })));
    engine.addEvents(names.map((n, i) => ev('view', n, 'me', i)));
    const req = { surface: 'recentlyViewed', userKey: 'me', k: 5 } as const;
    expect(list(engine.recommend(req))).toEqual(['m5', 'm4', 'm3', 'm2', 'm1']);
    // A request that asks for caps still gets them.
    expect(list(engine.recommend({ ...req, overrides: { diversity: { maxPerBrand: 2 } } }))).toHaveLength(2);
  });

  it('leaves out the product being looked at when the page excludes it', () => {
    const engine = createEngine({ now: () => T0 + DAY });
    engine.upsertItems([item('a'), item('b'), item('c')]);
    engine.addEvents([ev('view', 'a', 'me', 0), ev('view', 'b', 'me', 1), ev('view', 'c', 'me', 2)]);
    const res = engine.recommend({
      surface: 'recentlyViewed',
      userKey: 'me',
      k: 5,
      filters: { excludeIds: ['c'] },
    });
    expect(list(res)).toEqual(['b', 'a']);
  });
});

describe('user lifecycle', () => {
  it('merges an anonymous profile into the user, and merging again changes nothing', () => {
    const engine = createEngine({ now: () => T0 + DAY });
    engine.upsertItems([item('a'), item('b')]);
    engine.addEvents([ev('view', 'a', 'anon:1', 0), ev('view', 'b', 'user-1', 1)]);
    engine.mergeUsers('anon:1', 'user-1');
    const once = engine.recommend({ surface: 'recentlyViewed', userKey: 'user-1', k: 5 });
    engine.mergeUsers('anon:1', 'user-1');
    const twice = engine.recommend({ surface: 'recentlyViewed', userKey: 'user-1', k: 5 });
    expect(list(once)).toEqual(['b', 'a']);
    expect(twice).toEqual(once);
    expect(engine.stats().users).toBe(1);
    expect(list(engine.recommend({ surface: 'recentlyViewed', userKey: 'anon:1', k: 5 }))).toEqual([]);
  });

  it('forgets a user’s profile and traits but keeps aggregate behaviour', () => {
    const engine = createEngine({ now: () => T0 + DAY });
    engine.upsertItems([item('a'), item('b')]);
    engine.addEvents([...coViews(['a', 'b'], 1, 'gone')]);
    engine.setUserTraits('gone0', { segment: 'vip' });
    engine.forgetUser('gone0');
    expect(engine.stats().users).toBe(0);
    expect(list(engine.recommend({ surface: 'recentlyViewed', userKey: 'gone0', k: 5 }))).toEqual([]);
    expect(list(engine.recommend({ surface: 'similar', itemId: 'a', k: 1 }))).toEqual(['b']);
  });

  it('keeps merges and forgotten users when a config change rebuilds the indexes', () => {
    const engine = createEngine({ now: () => T0 + DAY });
    engine.upsertItems([item('a'), item('b'), item('c')]);
    engine.addEvents([ev('view', 'a', 'anon:1', 0), ev('view', 'b', 'user-1', 1), ev('view', 'c', 'bye', 2)]);
    engine.mergeUsers('anon:1', 'user-1');
    engine.forgetUser('bye');
    engine.setConfig({ profile: { halfLifeMs: 3 * DAY } });
    expect(engine.getConfig().profile.halfLifeMs).toBe(3 * DAY);
    expect(list(engine.recommend({ surface: 'recentlyViewed', userKey: 'user-1', k: 5 }))).toEqual([
      'b',
      'a',
    ]);
    expect(engine.stats().users).toBe(1);
  });
});

describe('engine input checks', () => {
  it('rejects a malformed event with its index and the fix, applying nothing of the batch', () => {
    const engine = createEngine();
    const bad = { type: 'view', itemId: 'a', userKey: 'u', ts: '2024-01-01' } as unknown as Parameters<
      typeof engine.addEvents
    >[0][0];
    expect(() => engine.addEvents([ev('view', 'a', 'u', 0), bad])).toThrow(
      /events\[1\]\.ts must be epoch milliseconds/,
    );
    expect(engine.stats().events).toBe(0);
  });

  it('rejects an invalid config naming the field', () => {
    expect(() => createEngine({ config: { diversity: { lambda: 2 } } })).toThrow(/diversity\.lambda/);
    expect(() => createEngine().setConfig({ popularity: { trendingLongMs: 1 } })).toThrow(/trendingLongMs/);
  });

  it('rejects k outside 1…1000', () => {
    expect(() => createEngine().recommend({ surface: 'trending', k: 0 })).toThrow(/k must be an integer/);
  });

  it('counts items, events, users and co-visitation pairs', () => {
    const engine = createEngine({ now: () => T0 });
    engine.upsertItems([item('a'), item('b')]);
    engine.addEvents([...coViews(['a', 'b'], 2), { type: 'custom', userKey: 'u0', ts: T0 }]);
    expect(engine.stats()).toEqual({
      items: 2,
      events: 5,
      users: 2,
      covisitPairs: 1,
      embeddingCache: { items: 0, hits: 0, misses: 0 },
    });
  });
});

describe('recommend: impressions', () => {
  it('never learns from impressions: shown items change no list, popularity or "recently viewed"', () => {
    const engine = createEngine({ now: () => T0 + DAY });
    engine.upsertItems(['shoe', 'sock', 'lamp', 'bulb', 'x'].map((id) => item(id, { title: id })));
    engine.addEvents([...coViews(['shoe', 'sock'], 4, 'a'), ...coViews(['lamp', 'bulb'], 4, 'b')]);
    const surfaces = [
      { surface: 'forUser', userKey: 'me', k: 4 },
      { surface: 'recentlyViewed', userKey: 'me', k: 4 },
      { surface: 'trending', k: 4 },
      { surface: 'similar', itemId: 'shoe', k: 4 },
    ] as const;
    const before = surfaces.map((req) => list(engine.recommend(req)));
    // A shelf showed 'x' and 'lamp' to 'me' and to many others, many times, in one session.
    const shown = [];
    for (let u = 0; u < 20; u++) {
      for (const id of ['x', 'lamp']) {
        shown.push(ev('impression', id, u === 0 ? 'me' : `shopper-${u}`, 60 + u, { sessionId: `s${u}` }));
      }
    }
    engine.addEvents(shown);
    expect(surfaces.map((req) => list(engine.recommend(req)))).toEqual(before);
    // The same events as views do change them: the comparison above can fail.
    engine.addEvents(shown.map((e) => ({ ...e, type: 'view' as const })));
    expect(surfaces.map((req) => list(engine.recommend(req)))).not.toEqual(before);
  });
});
