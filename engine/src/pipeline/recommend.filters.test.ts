import { describe, expect, it } from 'vitest';
import { createEngine } from '../createEngine';
import { coViews, DAY, ev, item, T0 } from '../testShop';

/** An anchor `a` co-viewed with b…f (equally), each with a price and tags. */
function shop(config = {}) {
  const engine = createEngine({ now: () => T0 + DAY, config });
  engine.upsertItems([
    item('a', { tags: ['category:mugs'] }),
    item('b', { price: 5, tags: ['category:mugs', 'brand:acme', 'color:red'] }),
    item('c', { price: 15, tags: ['category:mugs', 'brand:acme', 'color:blue'] }),
    item('d', { price: 25, tags: ['category:tea', 'brand:zen', 'color:red'] }),
    item('e', { price: 35, tags: ['category:tea', 'brand:zen'] }),
    item('f', { tags: ['category:tea', 'brand:other'] }),
  ]);
  engine.addEvents(coViews(['a', 'b', 'c', 'd', 'e', 'f'], 3));
  return engine;
}

const ids = (r: { items: Array<{ itemId: string }> }) => r.items.map((i) => i.itemId).sort();
const similar = { surface: 'similar', itemId: 'a', k: 10, overrides: { fallback: false } } as const;

describe('recommend: filters', () => {
  it('keeps only items within the price range and drops items without a price', () => {
    expect(ids(shop().recommend({ ...similar, filters: { priceMin: 10, priceMax: 30 } }))).toEqual([
      'c',
      'd',
    ]);
  });

  it('keeps only items carrying one of includeTagsAny', () => {
    expect(
      ids(shop().recommend({ ...similar, filters: { includeTagsAny: ['color:red', 'brand:other'] } })),
    ).toEqual(['b', 'd', 'f']);
  });

  it('drops items carrying any of excludeTagsAny', () => {
    expect(ids(shop().recommend({ ...similar, filters: { excludeTagsAny: ['brand:zen'] } }))).toEqual([
      'b',
      'c',
      'f',
    ]);
  });

  it('drops excludeIds', () => {
    expect(ids(shop().recommend({ ...similar, filters: { excludeIds: ['b', 'c', 'x'] } }))).toEqual([
      'd',
      'e',
      'f',
    ]);
  });

  it('never recommends unavailable or archived items', () => {
    const engine = shop();
    engine.upsertItems([item('b', { available: false }), item('c', { archived: true })]);
    expect(ids(engine.recommend(similar))).toEqual(['d', 'e', 'f']);
  });

  it('caps items per brand and per primary category', () => {
    const byBrand = shop().recommend({
      ...similar,
      overrides: { fallback: false, diversity: { maxPerBrand: 1 } },
    });
    const brands = byBrand.items.map((i) =>
      shop()
        .getItem(i.itemId)!
        .tags.find((t) => t.startsWith('brand:')),
    );
    expect(new Set(brands).size).toBe(brands.length);
    expect(byBrand.items).toHaveLength(3);
    const byCategory = shop().recommend({
      ...similar,
      overrides: { fallback: false, diversity: { maxPerCategory: 2 } },
    });
    expect(byCategory.items).toHaveLength(4);
  });

  it('excludes the cart’s items (and their variants) from cart recommendations', () => {
    const engine = shop();
    const res = engine.recommend({
      surface: 'cart',
      cartItemIds: ['a', 'b'],
      k: 10,
      overrides: { fallback: false },
    });
    expect(ids(res)).toEqual(['c', 'd', 'e', 'f']);
  });
});

describe('recommend: purchased items', () => {
  function buyer(config = {}) {
    const engine = shop(config);
    engine.addEvents([ev('purchase', 'b', 'buyer', 60), ev('view', 'a', 'buyer', 61)]);
    return engine;
  }

  it('keeps purchased items on forUser by default once no longer just bought, and removes them when the surface excludes purchases', () => {
    const req = {
      surface: 'forUser',
      userKey: 'buyer',
      k: 10,
      now: T0 + 3 * DAY,
      overrides: { fallback: false },
    } as const;
    expect(ids(buyer().recommend(req))).toContain('b');
    expect(ids(buyer({ excludePurchased: { forUser: true } }).recommend(req))).not.toContain('b');
    expect(
      ids(buyer().recommend({ ...req, overrides: { fallback: false, excludePurchased: true } })),
    ).not.toContain('b');
  });

  it('leaves just-bought items out of top picks for justBoughtWindowMs, unless the request keeps them', () => {
    const req = { surface: 'forUser', userKey: 'buyer', k: 10, overrides: { fallback: false } } as const;
    const minutesAfter = (m: number) => T0 + (61 + m) * 60_000;
    expect(ids(buyer().recommend({ ...req, now: minutesAfter(5) }))).not.toContain('b');
    expect(ids(buyer().recommend({ ...req, now: minutesAfter(25 * 60) }))).toContain('b');
    expect(
      ids(
        buyer().recommend({
          ...req,
          now: minutesAfter(5),
          overrides: { fallback: false, excludePurchased: false },
        }),
      ),
    ).toContain('b');
    expect(ids(buyer({ justBoughtWindowMs: 0 }).recommend({ ...req, now: minutesAfter(5) }))).toContain('b');
    // Other surfaces are not affected: similar keeps them.
    expect(
      ids(buyer().recommend({ surface: 'similar', itemId: 'a', k: 10, now: minutesAfter(5) })),
    ).toContain('b');
  });

  it('only excludes purchases made within the exclusion window', () => {
    const engine = buyer({ excludePurchased: { forUser: true }, purchaseExclusionWindowMs: 60_000 });
    const res = engine.recommend({ surface: 'forUser', userKey: 'buyer', k: 10, now: T0 + 2 * DAY });
    expect(ids(res)).toContain('b');
  });

  it('never excludes purchases on the buyAgain surface, even when asked to', () => {
    const res = buyer({ excludePurchased: { buyAgain: true } }).recommend({
      surface: 'buyAgain',
      userKey: 'buyer',
      k: 5,
      overrides: { excludePurchased: true },
      explain: true,
    });
    expect(res.items.map((i) => i.itemId)).toEqual(['b']);
    expect(res.items[0]!.reasons?.[0]?.text).toBe('you bought this before');
  });
});
