import { describe, expect, it } from 'vitest';
import type { RecResult } from '../api';
import { createEngine } from '../createEngine';
import { coViews, DAY, ev, item, T0 } from '../testShop';

const ids = (res: RecResult) => res.items.map((i) => i.itemId);

/**
 * Shoes, socks, hats and a tie. shoe-1/sock-1 are co-viewed and bought by many; shoe-3 has one
 * co-viewed neighbour (sock-2); hat-1 sells most overall; tie-1 and hat-1 trend today.
 */
function shop() {
  const engine = createEngine({ now: () => T0 + 2 * DAY });
  engine.upsertItems([
    item('shoe-1', { tags: ['category:shoes'] }),
    item('shoe-2', { tags: ['category:shoes'] }),
    item('shoe-3', { tags: ['category:shoes'] }),
    item('sock-1', { tags: ['category:socks'] }),
    item('sock-2', { tags: ['category:socks'] }),
    item('sock-3', { tags: ['category:socks', 'category:sale'] }),
    item('hat-1', { tags: ['category:hats'] }),
    item('tie-1', { tags: ['category:ties'] }),
  ]);
  engine.addEvents([
    ...coViews(['shoe-1', 'sock-1'], 6, 'pair'),
    ...coViews(['shoe-3', 'sock-2'], 2, 'thin'),
    ...[0, 1, 2].map((u) => ev('purchase', 'shoe-2', `buyer${u}`, 100 + u, { orderId: `o${u}` })),
    ev('purchase', 'shoe-1', 'buyer9', 110, { orderId: 'o9' }),
    ev('view', 'sock-3', 'v1', 200),
    // hat-1 and tie-1 are bought a lot today.
    ...Array.from({ length: 12 }, (_, i) => ev('purchase', 'hat-1', `h${i}`, 2 * 1440 - 60 + i)),
    ...Array.from({ length: 6 }, (_, i) => ev('purchase', 'tie-1', `t${i}`, 2 * 1440 - 30 + i)),
  ]);
  return engine;
}

describe('recommend: category requests', () => {
  it('keeps every trending item, fallback fill included, inside the requested category', () => {
    const res = shop().recommend({ surface: 'trending', category: 'socks', k: 5 });
    expect(res.items.length).toBeGreaterThan(0);
    for (const id of ids(res)) expect(id.startsWith('sock-')).toBe(true);
    expect(res.fallback.sources).not.toContain('popular');
  });

  it('matches an item on any of its category tags, not only the first', () => {
    const res = shop().recommend({ surface: 'trending', category: 'sale', k: 5 });
    expect(ids(res)).toEqual(['sock-3']);
  });

  it('fills a thin category list with that category’s best-sellers only', () => {
    // A month later no shoe trends; best-selling shoes fill the list, and nothing else follows.
    const res = shop().recommend({
      surface: 'trending',
      category: 'shoes',
      k: 6,
      now: T0 + 30 * DAY,
      overrides: { blend: { popular: 0 } },
    });
    expect(ids(res)).toEqual(['shoe-2', 'shoe-1']);
    expect(res.fallback).toEqual({ used: true, sources: ['category-bestsellers'], filled: 2 });
  });

  it('returns an empty list for a category no item has, and says the list is short', () => {
    const res = shop().recommend({ surface: 'trending', category: 'boats', k: 5 });
    expect(res.items).toEqual([]);
    expect(res.fallback).toEqual({ used: true, sources: [], filled: 0 });
  });

  it('finds a category whatever its casing and spacing, as tags are stored normalized', () => {
    const exact = shop().recommend({ surface: 'trending', category: 'socks', k: 5 });
    const cased = shop().recommend({ surface: 'trending', category: ' Socks', k: 5 });
    expect(ids(cased)).toEqual(ids(exact));
    expect(cased.items.length).toBeGreaterThan(0);
  });

  it('says the fallback was used when even the fill cannot reach k', () => {
    // 8 items in the shop: a list of 50 can only be short.
    const res = shop().recommend({ surface: 'trending', k: 50 });
    expect(res.items.length).toBeLessThan(50);
    expect(res.fallback.used).toBe(true);
  });

  it('restricts other surfaces to the category too', () => {
    const res = shop().recommend({ surface: 'similar', itemId: 'shoe-1', category: 'shoes', k: 5 });
    expect(ids(res).every((id) => id.startsWith('shoe-'))).toBe(true);
  });
});

describe('recommend: thin lists on similar and cart', () => {
  it('never lets the popularity prior propose items on similar: they come from the reported fallback', () => {
    const res = shop().recommend({ surface: 'similar', itemId: 'shoe-3', k: 5, explain: true });
    expect(ids(res)[0]).toBe('sock-2');
    expect(res.fallback.used).toBe(true);
    expect(res.fallback.filled).toBe(4);
    expect(res.fallback.sources).toEqual(['category-bestsellers', 'popular']);
    // Best-selling shoes first (the anchor's category), then overall popular items.
    expect(ids(res).slice(1, 3)).toEqual(['shoe-2', 'shoe-1']);
    expect(res.items[1]!.reasons?.[0]).toMatchObject({ signal: 'bestseller', text: 'best-seller in shoes' });
    expect(res.items[3]!.reasons?.[0]).toMatchObject({ signal: 'popular' });
  });

  it('still uses the popularity prior to re-rank related items', () => {
    const engine = shop();
    engine.addEvents([
      ...coViews(['tie-1', 'sock-1', 'sock-3'], 1, 'anchor'),
      ...Array.from({ length: 8 }, (_, i) => ev('view', 'sock-3', `fan${i}`, 300 + i)),
    ]);
    const req = { surface: 'similar', itemId: 'tie-1', k: 2, overrides: { fallback: false } } as const;
    const plain = engine.recommend({ ...req, overrides: { ...req.overrides, blend: { popular: 0 } } });
    const withPrior = engine.recommend({ ...req, overrides: { ...req.overrides, blend: { popular: 1 } } });
    expect(new Set(ids(plain))).toEqual(new Set(['sock-1', 'sock-3']));
    expect(ids(withPrior)[0]).toBe('sock-3');
    expect(withPrior.items.find((i) => i.itemId === 'sock-3')!.score).toBeGreaterThan(
      plain.items.find((i) => i.itemId === 'sock-3')!.score,
    );
  });

  it('fills a thin cart list from the cart’s category and reports it', () => {
    const res = shop().recommend({ surface: 'cart', cartItemIds: ['shoe-3'], k: 4 });
    expect(ids(res)[0]).toBe('sock-2');
    expect(res.fallback).toMatchObject({ used: true, filled: 3 });
    expect(res.fallback.sources[0]).toBe('category-bestsellers');
  });

  it('keeps popular items as a cold-start starter list on forUser', () => {
    const res = shop().recommend({ surface: 'forUser', userKey: 'nobody', k: 3 });
    expect(ids(res)[0]).toBe('hat-1');
    expect(res.fallback.used).toBe(false);
  });
});

/** The context-anchor tests below are about co-visitation: the session signals are off there. */
const NO_SESSION_SIGNALS = { sessionKnn: 0, transition: 0 } as const;

describe('recommend: session context', () => {
  it('uses the session’s items as anchors for a visitor without a profile', () => {
    const res = shop().recommend({
      surface: 'forUser',
      userKey: 'fresh',
      k: 1,
      contextItemIds: ['shoe-3'],
      overrides: { blend: { popular: 0, trending: 0, segment: 0, ...NO_SESSION_SIGNALS } },
    });
    expect(ids(res)).toEqual(['sock-2']);
  });

  it('weighs the latest context item most (0.5 per step back)', () => {
    const req = {
      surface: 'forUser',
      userKey: 'fresh',
      k: 2,
      overrides: { blend: { popular: 0, trending: 0, segment: 0, ...NO_SESSION_SIGNALS }, fallback: false },
    } as const;
    expect(ids(shop().recommend({ ...req, contextItemIds: ['shoe-3', 'shoe-1'] }))).toEqual([
      'sock-1',
      'sock-2',
    ]);
    expect(ids(shop().recommend({ ...req, contextItemIds: ['shoe-1', 'shoe-3'] }))).toEqual([
      'sock-2',
      'sock-1',
    ]);
  });

  it('adds context anchors to similar without changing any index or profile', () => {
    const engine = shop();
    const before = engine.stats();
    const res = engine.recommend({
      surface: 'similar',
      itemId: 'shoe-1',
      k: 3,
      contextItemIds: ['shoe-3'],
      overrides: { fallback: false, blend: NO_SESSION_SIGNALS },
    });
    expect(ids(res)).toEqual(['sock-1', 'sock-2']);
    expect(engine.stats()).toEqual(before);
    // The next request without context is unaffected.
    const plain = engine.recommend({
      surface: 'similar',
      itemId: 'shoe-1',
      k: 3,
      overrides: { fallback: false },
    });
    expect(ids(plain)).toEqual(['sock-1']);
    expect(engine.recommend({ surface: 'recentlyViewed', userKey: 'fresh', k: 3 }).items).toEqual([]);
  });

  it('ignores unknown context ids and rejects a context that is not a list of strings', () => {
    const engine = shop();
    const res = engine.recommend({ surface: 'forUser', k: 2, contextItemIds: ['nope'] });
    expect(res.items).toHaveLength(2);
    expect(() =>
      engine.recommend({ surface: 'forUser', k: 2, contextItemIds: 'shoe-1' as unknown as string[] }),
    ).toThrow(/contextItemIds must be an array of item id strings/);
  });
});
