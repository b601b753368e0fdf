import { describe, expect, it } from 'vitest';
import { createEngine } from '../createEngine';
import { coViews, DAY, ev, item, T0 } from '../testShop';

/** alice viewed a tent: boots go with it strongly, a stove less; a mug and a lamp have nothing to do with it. */
function shop() {
  const engine = createEngine({
    now: () => T0 + DAY,
    config: { blend: { forUser: { popular: 0, trending: 0 } } },
  });
  engine.upsertItems(
    ['tent', 'boots', 'stove', 'mug', 'lamp', 'gone'].map((id) =>
      item(id, { price: id === 'stove' ? 50 : 10, available: id !== 'gone' }),
    ),
  );
  engine.addEvents([
    ...coViews(['tent', 'boots'], 6, 'p'),
    ...coViews(['tent', 'stove'], 3, 'o'),
    ...coViews(['mug', 'lamp'], 3, 'q'),
    ev('view', 'tent', 'alice', 100, { sessionId: 'alice-1' }),
  ]);
  return engine;
}

const ids = (r: { items: Array<{ itemId: string }> }) => r.items.map((i) => i.itemId);

describe('rerankCandidates', () => {
  it("moves the visitor's items up and keeps the rest in their original order", () => {
    const res = shop().rerank({ itemIds: ['mug', 'lamp', 'stove', 'boots'], userKey: 'alice' });
    expect(ids(res)).toEqual(['boots', 'stove', 'mug', 'lamp']);
    expect(res.items.map((i) => i.originalRank)).toEqual([4, 3, 1, 2]);
    expect(res.items[0]!.score).toBeGreaterThan(res.items[1]!.score);
    expect(res.items[2]!.score).toBe(0);
  });

  it('keeps unknown ids at their original positions and says which they were', () => {
    const res = shop().rerank({ itemIds: ['ext-1', 'mug', 'boots', 'ext-2', 'stove'], userKey: 'alice' });
    expect(ids(res)).toEqual(['ext-1', 'boots', 'stove', 'ext-2', 'mug']);
    expect(res.unknownItemIds).toEqual(['ext-1', 'ext-2']);
    expect(res.items.filter((i) => !i.known).map((i) => [i.itemId, i.originalRank])).toEqual([
      ['ext-1', 1],
      ['ext-2', 4],
    ]);
  });

  it('removes and reports what may not be shown: out of stock, another market, filters, block rules', () => {
    const engine = shop();
    engine.upsertItems([item('lamp', { markets: { FR: { available: true } } })]);
    engine.setRules([{ id: 'no-mug', kind: 'block', items: { itemIds: ['mug'] } }]);
    const res = engine.rerank({
      itemIds: ['gone', 'lamp', 'mug', 'stove', 'boots', 'boots'],
      userKey: 'alice',
      country: 'DE',
      filters: { priceMax: 20 },
    });
    expect(ids(res)).toEqual(['boots']);
    expect(res.removed).toEqual([
      { itemId: 'gone', originalRank: 1, reason: 'unavailable' },
      { itemId: 'lamp', originalRank: 2, reason: 'not-sold-in-country' },
      { itemId: 'mug', originalRank: 3, reason: 'rule' },
      { itemId: 'stove', originalRank: 4, reason: 'filtered' },
    ]);
    expect(res.duplicateItemIds).toEqual(['boots']);
  });

  it('lets a pin move a candidate but never brings in an item the caller did not send', () => {
    const engine = shop();
    engine.setRules([
      { id: 'pin-lamp', kind: 'pin', items: { itemIds: ['lamp'] }, slot: 0 },
      { id: 'pin-tent', kind: 'pin', items: { itemIds: ['tent'] }, slot: 1 },
    ]);
    expect(ids(engine.rerank({ itemIds: ['stove', 'boots', 'lamp'], userKey: 'alice' }))).toEqual([
      'lamp',
      'boots',
      'stove',
    ]);
  });

  it('applies boosts to the candidates', () => {
    const engine = shop();
    engine.setRules([{ id: 'push-mug', kind: 'boost', items: { itemIds: ['mug'] }, add: 100 }]);
    expect(ids(engine.rerank({ itemIds: ['stove', 'boots', 'mug'], userKey: 'alice' }))[0]).toBe('mug');
  });

  it('keeps the original order for a visitor without history, and explains with reasons', () => {
    const res = shop().rerank({ itemIds: ['lamp', 'stove', 'mug'], userKey: 'nobody', explain: true });
    expect(ids(res)).toEqual(['lamp', 'stove', 'mug']);
    expect(res.items.every((i) => Array.isArray(i.reasons))).toBe(true);
    const alice = shop().rerank({ itemIds: ['lamp', 'boots'], userKey: 'alice', explain: true });
    expect(alice.items[0]!.reasons!.map((r) => r.signal)).toContain('covisit');
  });

  it('refuses more than 500 candidates', () => {
    const many = Array.from({ length: 501 }, (_, i) => `x${i}`);
    expect(() => shop().rerank({ itemIds: many })).toThrow(/at most 500/);
  });
});
