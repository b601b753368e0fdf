import { describe, expect, it } from 'vitest';
import { createEngine } from '../createEngine';
import { item } from '../testShop';

describe('Catalog', () => {
  it('keeps every field of an item but its description, which ranking never reads', () => {
    const engine = createEngine();
    const full = item('sku-1', {
      title: 'Trail shoe',
      description: 'A long text about the shoe, its sole and its laces.',
      price: 80,
      currency: 'EUR',
      tags: ['brand:acme', 'category:shoes'],
      parentId: 'shoe',
      markets: { DE: { available: true, price: 79 } },
    });
    engine.upsertItems([full]);
    const { description, ...rest } = full;
    expect(description).toBeDefined();
    expect(engine.getItem('sku-1')).toEqual(rest);
    expect(engine.getItem('sku-1')).not.toHaveProperty('description');
  });
});
