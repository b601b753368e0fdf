import { describe, expect, it } from 'vitest';
import type { PartialEngineConfig } from '../config/engineConfig';
import { createEngine } from '../createEngine';
import { DAY, ev, item, T0 } from '../testShop';
import type { EngineEvent, EngineItem } from '../types';
import { priceBundle } from './suggestBundle';

const priced = (id: string, price: number, extra: Partial<EngineItem> = {}) =>
  item(id, { price, currency: 'EUR', ...extra });

/** `count` orders, each of every item in `itemIds`, by distinct shoppers. */
function orders(itemIds: string[], count: number, prefix: string): EngineEvent[] {
  const out: EngineEvent[] = [];
  for (let o = 0; o < count; o++) {
    for (const [i, id] of itemIds.entries()) {
      out.push(ev('purchase', id, `${prefix}${o}`, i, { orderId: `${prefix}-order-${o}` }));
    }
  }
  return out;
}

function shop(config: PartialEngineConfig = {}, items?: EngineItem[]) {
  const engine = createEngine({ now: () => T0 + DAY, config });
  engine.upsertItems(
    items ?? [
      priced('tent', 200),
      priced('pegs', 10),
      priced('mat', 40),
      priced('lamp', 25),
      priced('stove', 60, { available: false }),
      priced('socks', 8),
      priced('kettle', 30),
    ],
  );
  engine.addEvents([
    ...orders(['tent', 'pegs', 'mat'], 6, 'a'),
    ...orders(['tent', 'pegs'], 4, 'b'),
    ...orders(['tent', 'stove'], 12, 'c'),
    ...orders(['tent', 'lamp'], 2, 'd'),
    // Browsed with the tent, never bought with it.
    ...Array.from({ length: 10 }, (_, u) => [
      ev('view', 'tent', `v${u}`, 0),
      ev('view', 'socks', `v${u}`, 1),
    ]).flat(),
    // Bought, but never with anything else.
    ...orders(['kettle'], 3, 'k'),
  ]);
  return engine;
}

describe('suggestBundle', () => {
  it('puts the anchor first and its clearest co-purchase partners after it, each with a reason', () => {
    const bundle = shop().bundle({ itemId: 'tent' });
    expect(bundle.items.map((i) => [i.itemId, i.role])).toEqual([
      ['tent', 'anchor'],
      ['pegs', 'partner'],
      ['mat', 'partner'],
    ]);
    expect(bundle.items[1]!.reason).toMatchObject({ signal: 'boughtTogether', relatedItemId: 'tent' });
    expect(bundle.items[1]!.reason.text).toContain('Often bought with TENT');
    // The mat is bought with the pegs too: the reason says so.
    expect(bundle.items[2]!.reason.text).toContain('and with PEGS');
    expect(bundle.emptyReason).toBeUndefined();
  });

  it('skips a partner that is out of stock, however often it is bought with the anchor', () => {
    const bundle = shop().bundle({ itemId: 'tent', maxItems: 4 });
    const ids = bundle.items.map((i) => i.itemId);
    expect(ids).not.toContain('stove');
    expect(ids).toEqual(['tent', 'pegs', 'mat', 'lamp']);
  });

  it('takes a browsed-only item as no partner: co-visitation ranks partners but never admits one', () => {
    const ids = shop()
      .bundle({ itemId: 'tent', maxItems: 4 })
      .items.map((i) => i.itemId);
    expect(ids).not.toContain('socks');
  });

  it('returns an empty bundle with a reason, not an error, when nothing is bought with the anchor', () => {
    const bundle = shop().bundle({ itemId: 'kettle' });
    expect(bundle).toMatchObject({ items: [], price: null, emptyReason: 'no-partners' });
    expect(bundle.message).toContain('Nothing has been bought together with KETTLE');
  });

  it('says the partners are unavailable when the only co-purchased item is out of stock', () => {
    const engine = shop({}, [priced('tent', 200), priced('stove', 60, { available: false })]);
    expect(engine.bundle({ itemId: 'tent' })).toMatchObject({
      items: [],
      emptyReason: 'partners-unavailable',
    });
  });

  it('offers no bundle for an unknown or archived anchor', () => {
    const engine = shop();
    expect(engine.bundle({ itemId: 'nope' }).emptyReason).toBe('unknown-item');
    engine.upsertItems([priced('tent', 200, { archived: true })]);
    expect(engine.bundle({ itemId: 'tent' }).emptyReason).toBe('anchor-unavailable');
  });

  it('respects the request filters and merchandising blocks like every list', () => {
    const engine = shop();
    const filtered = engine.bundle({ itemId: 'tent', filters: { excludeIds: ['pegs'] } });
    expect(filtered.items.map((i) => i.itemId)).toEqual(['tent', 'mat', 'lamp']);
    engine.setRules([{ id: 'no-mats', kind: 'block', items: { itemIds: ['mat'] } }]);
    expect(engine.bundle({ itemId: 'tent' }).items.map((i) => i.itemId)).toEqual(['tent', 'pegs', 'lamp']);
  });

  it('keeps one variant per product', () => {
    const engine = shop({}, [
      priced('tent', 200),
      priced('pegs', 10, { parentId: 'pegs-family' }),
      priced('mat', 40, { parentId: 'pegs-family' }),
      priced('lamp', 25),
    ]);
    expect(engine.bundle({ itemId: 'tent' }).items.map((i) => i.itemId)).toEqual(['tent', 'pegs', 'lamp']);
  });

  it('prices the bundle with the configured discount, and without one gives the total only', () => {
    expect(shop().bundle({ itemId: 'tent' }).price).toEqual({
      total: 250,
      currency: 'EUR',
      discountPercent: 0,
      bundlePrice: null,
      savings: 0,
    });
    expect(shop({ bundle: { discountPercent: 10 } }).bundle({ itemId: 'tent' }).price).toEqual({
      total: 250,
      currency: 'EUR',
      discountPercent: 10,
      bundlePrice: 225,
      savings: 25,
    });
  });

  it('has no price when an item has none or the currencies differ', () => {
    expect(priceBundle([{ price: 1, currency: 'EUR' }, { currency: 'EUR' }], 10)).toBeNull();
    expect(
      priceBundle(
        [
          { price: 1, currency: 'EUR' },
          { price: 2, currency: 'USD' },
        ],
        10,
      ),
    ).toBeNull();
    expect(
      priceBundle(
        [
          { price: 19.99, currency: 'EUR' },
          { price: 5.01, currency: 'EUR' },
        ],
        15,
      ),
    ).toMatchObject({
      total: 25,
      bundlePrice: 21.25,
      savings: 3.75,
    });
  });

  it('gives the same bundle for the same data, in any engine', () => {
    const a = shop().bundle({ itemId: 'tent', maxItems: 4 });
    const b = shop().bundle({ itemId: 'tent', maxItems: 4 });
    expect(b).toEqual(a);
    // Equal scores: the smaller item id wins, whatever order the events came in.
    const tie = createEngine({ now: () => T0 + DAY });
    tie.upsertItems([priced('x', 1), priced('b', 1), priced('a', 1)]);
    tie.addEvents([...orders(['x', 'b'], 3, 'p'), ...orders(['x', 'a'], 3, 'q')]);
    expect(tie.bundle({ itemId: 'x', maxItems: 2 }).items.map((i) => i.itemId)).toEqual(['x', 'a']);
  });

  it('caps the bundle at maxItems (config, then request) and refuses a bad config', () => {
    expect(shop({ bundle: { maxItems: 2 } }).bundle({ itemId: 'tent' }).items).toHaveLength(2);
    expect(shop().bundle({ itemId: 'tent', maxItems: 9 }).items).toHaveLength(4);
    expect(() => shop().bundle({ itemId: 'tent', maxItems: Number.NaN })).toThrow(
      /maxItems must be a number/,
    );
    expect(() => shop().bundle({ itemId: '' })).toThrow(/itemId must be a non-empty string/);
    expect(() => createEngine({ config: { bundle: { maxItems: 5 } } })).toThrow(/bundle.maxItems/);
    expect(() => createEngine({ config: { bundle: { discountPercent: 95 } } })).toThrow(
      /bundle.discountPercent/,
    );
  });

  it('serves a fixed bundle in its order and discount, leaving out the anchor, repeats, unknown, unavailable and blocked partners', () => {
    const engine = shop({ bundle: { discountPercent: 10 } });
    engine.setRules([{ id: 'no-lamp', kind: 'block', items: { itemIds: ['lamp'] } }]);
    const fixed = engine.bundle({
      itemId: 'tent',
      maxItems: 4,
      fixed: {
        partnerItemIds: ['tent', 'stove', 'nope', 'lamp', 'socks', 'socks', 'pegs', 'kettle'],
        discountPercent: 20,
      },
    });
    expect(fixed.items.map((i) => [i.itemId, i.reason.signal])).toEqual([
      ['tent', 'anchor'],
      ['socks', 'fixed'],
      ['pegs', 'fixed'],
      ['kettle', 'fixed'],
    ]);
    // Scored by their bought-together evidence: pegs has some, socks (browsed only) none.
    expect(fixed.items[1]!.score).toBe(0);
    expect(fixed.items[2]!.score).toBeGreaterThan(0);
    expect(fixed.price).toMatchObject({ total: 248, discountPercent: 20, bundlePrice: 198.4 });
    // Without its own discount, the config's.
    expect(engine.bundle({ itemId: 'tent', fixed: { partnerItemIds: ['mat'] } }).price).toMatchObject({
      total: 240,
      discountPercent: 10,
    });
    expect(engine.bundle({ itemId: 'tent', fixed: { partnerItemIds: ['stove', 'lamp'] } })).toMatchObject({
      items: [],
      emptyReason: 'partners-unavailable',
    });
  });
});
