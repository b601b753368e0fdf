import { describe, expect, it } from 'vitest';
import { createEngine } from '../createEngine';
import { DAY, ev, item, T0 } from '../testShop';
import type { ColdComplements, Neighbor } from '../vectors/types';

function lists(entries: Record<string, Neighbor[]>): ColdComplements {
  return { get: (itemId) => entries[itemId] };
}

describe('recommend: complements of items without behaviour', () => {
  it('fills the cart shelf of a brand-new item with its learned complements', () => {
    const engine = createEngine({ now: () => T0 + DAY });
    engine.upsertItems([item('new-kettle'), item('kettle'), item('teabags'), item('mug'), item('sofa')]);
    engine.addEvents([
      ev('purchase', 'kettle', 'b1', 0, { orderId: 'o1' }),
      ev('purchase', 'teabags', 'b1', 0, { orderId: 'o1' }),
      ...[2, 3, 4].map((u) => ev('purchase', 'sofa', `b${u}`, u)),
    ]);
    const cart = () =>
      engine.recommend({ surface: 'cart', cartItemIds: ['new-kettle'], k: 2, explain: true });
    // Without the lists a new item's cart shelf is popularity alone.
    expect(cart().items[0]!.itemId).toBe('sofa');
    engine.setColdComplements(
      lists({
        'new-kettle': [
          { itemId: 'teabags', score: 1 },
          { itemId: 'mug', score: 0.6 },
        ],
      }),
    );
    const res = cart();
    expect(res.items.map((i) => i.itemId)).toEqual(['teabags', 'mug']);
    expect(res.items[0]!.reasons?.[0]).toMatchObject({
      signal: 'boughtTogether',
      relatedItemId: 'new-kettle',
    });
  });

  it('stops reading the learned list once the item has co-purchases of its own', () => {
    const engine = createEngine({ now: () => T0 + DAY, config: { blend: { cart: { popular: 0 } } } });
    engine.upsertItems([item('new-kettle'), item('teabags'), item('descaler')]);
    engine.setColdComplements(lists({ 'new-kettle': [{ itemId: 'teabags', score: 1 }] }));
    engine.addEvents([
      ev('purchase', 'new-kettle', 'b1', 0, { orderId: 'o1' }),
      ev('purchase', 'descaler', 'b1', 0, { orderId: 'o1' }),
    ]);
    const res = engine.recommend({ surface: 'cart', cartItemIds: ['new-kettle'], k: 2 });
    expect(res.items.map((i) => i.itemId)).toEqual(['descaler']);
  });
});
