import { describe, expect, it } from 'vitest';
import { createEngine } from '../createEngine';
import { coViews, DAY, ev, item, T0 } from '../testShop';

/**
 * An anchor `a` co-viewed with b, c, d. b is sold everywhere at 10 EUR; c only in Germany (at 30 EUR
 * there) and France; d is listed in Germany but unavailable there.
 */
function shop() {
  const engine = createEngine({ now: () => T0 + DAY });
  engine.upsertItems([
    item('a', { price: 20, currency: 'EUR' }),
    item('b', { price: 10, currency: 'EUR' }),
    item('c', {
      price: 12,
      currency: 'EUR',
      markets: { DE: { available: true, price: 30 }, FR: { available: true } },
    }),
    item('d', {
      price: 8,
      currency: 'EUR',
      markets: { DE: { available: false }, CH: { available: true, price: 9, currency: 'CHF' } },
    }),
  ]);
  engine.addEvents(coViews(['a', 'b', 'c', 'd'], 3));
  return engine;
}

const ids = (r: { items: Array<{ itemId: string }> }) => r.items.map((i) => i.itemId).sort();
const similar = { surface: 'similar', itemId: 'a', k: 10, overrides: { fallback: false } } as const;

describe('recommend: markets', () => {
  it('lists only items sold in the request country; without a country, every market', () => {
    const engine = shop();
    expect(ids(engine.recommend(similar))).toEqual(['b', 'c', 'd']);
    expect(ids(engine.recommend({ ...similar, country: 'DE' }))).toEqual(['b', 'c']);
    expect(ids(engine.recommend({ ...similar, country: 'FR' }))).toEqual(['b', 'c']);
    expect(ids(engine.recommend({ ...similar, country: 'CH' }))).toEqual(['b', 'd']);
    expect(ids(engine.recommend({ ...similar, country: 'US' }))).toEqual(['b']);
  });

  it("filters by the market's price where it has one", () => {
    const engine = shop();
    // c is 12 by default but 30 in Germany.
    expect(ids(engine.recommend({ ...similar, filters: { priceMax: 15 } }))).toEqual(['b', 'c', 'd']);
    expect(ids(engine.recommend({ ...similar, country: 'DE', filters: { priceMax: 15 } }))).toEqual(['b']);
    expect(ids(engine.recommend({ ...similar, country: 'FR', filters: { priceMax: 15 } }))).toEqual([
      'b',
      'c',
    ]);
  });

  it('never fills a list with, or pins, an item the market does not sell', () => {
    const engine = shop();
    engine.upsertItems([item('e', { markets: { FR: { available: true } } })]);
    engine.addEvents([ev('view', 'e', 'x', 1), ev('view', 'e', 'y', 2), ev('view', 'e', 'z', 3)]);
    engine.setRules([
      { id: 'pin-e', kind: 'pin', items: { itemIds: ['e'] }, slot: 0, allowUnavailable: true },
    ]);
    const forUser = { surface: 'forUser', k: 10, userKey: 'cold' } as const;
    expect(engine.recommend({ ...forUser, country: 'FR' }).items[0]?.itemId).toBe('e');
    expect(ids(engine.recommend({ ...forUser, country: 'DE' }))).not.toContain('e');
  });

  it("bundles only partners sold in the market, priced at the market's prices", () => {
    const engine = shop();
    engine.addEvents([
      ev('purchase', 'a', 'buyer', 10, { orderId: 'o1' }),
      ev('purchase', 'c', 'buyer', 10, { orderId: 'o1' }),
      ev('purchase', 'a', 'buyer2', 20, { orderId: 'o2' }),
      ev('purchase', 'c', 'buyer2', 20, { orderId: 'o2' }),
    ]);
    expect(engine.bundle({ itemId: 'a', country: 'DE' }).price?.total).toBe(50);
    expect(engine.bundle({ itemId: 'a', country: 'FR' }).price?.total).toBe(32);
    expect(engine.bundle({ itemId: 'a', country: 'US' })).toMatchObject({
      items: [],
      emptyReason: 'partners-unavailable',
    });
    engine.upsertItems([item('a', { price: 20, markets: { FR: { available: true } } })]);
    expect(engine.bundle({ itemId: 'a', country: 'DE' })).toMatchObject({
      emptyReason: 'anchor-unavailable',
    });
  });

  it('applies the market to lists reranked with rules (previews)', () => {
    const engine = shop();
    const order = engine.rerankList(
      ['b', 'c', 'd'].map((itemId) => ({ itemId, score: 1 })),
      { surface: 'similar', k: 3, country: 'DE' },
      engine.prepareRules([{ id: 'pin-d', kind: 'pin', items: { itemIds: ['d'] }, slot: 0 }]),
    );
    expect(order).not.toContain('d');
  });

  it('keeps an item’s markets and refuses malformed ones', () => {
    const engine = shop();
    expect(engine.getItem('c')?.markets).toEqual({
      DE: { available: true, price: 30 },
      FR: { available: true },
    });
    expect(() => engine.upsertItems([item('z', { markets: { de: { available: true } } })])).toThrow(
      /ISO 3166-1 alpha-2/,
    );
    expect(() => engine.upsertItems([item('z', { markets: { DE: { available: 'yes' } as never } })])).toThrow(
      /available must be a boolean/,
    );
  });
});
