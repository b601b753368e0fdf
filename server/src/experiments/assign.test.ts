import { describe, expect, it } from 'vitest';
import { isBundleExperiment, matchesTarget } from './assign';

describe('experiment targets', () => {
  it('runs on the named product pages only: the request itemId must be one of target.anchorItemIds', () => {
    const target = { anchorItemIds: ['sku-1', 'sku-2'] };
    expect(matchesTarget(target, 'bundle', { itemId: 'sku-2' })).toBe(true);
    expect(matchesTarget(target, 'similar', { itemId: 'sku-1' })).toBe(true);
    expect(matchesTarget(target, 'bundle', { itemId: 'sku-3' })).toBe(false);
    expect(matchesTarget(target, 'forUser', {})).toBe(false);
    expect(matchesTarget({}, 'bundle', { itemId: 'sku-3' })).toBe(true);
  });

  it('runs on the product pages of items in target.anchorCategories, or of the named items', () => {
    const target = { anchorCategories: ['tents', 'stoves'], anchorItemIds: ['mug'] };
    expect(matchesTarget(target, 'bundle', { itemId: 'dome', anchorCategories: ['outdoor', 'tents'] })).toBe(
      true,
    );
    expect(matchesTarget(target, 'bundle', { itemId: 'mug', anchorCategories: [] })).toBe(true);
    expect(matchesTarget(target, 'bundle', { itemId: 'cup', anchorCategories: ['kitchen'] })).toBe(false);
    expect(matchesTarget({ anchorCategories: ['tents'] }, 'bundle', { itemId: 'dome' })).toBe(false);
  });

  it('tells a bundle experiment by its variants', () => {
    expect(
      isBundleExperiment({
        variants: [
          { key: 'control', kind: 'control', weight: 1 },
          { key: 'kit', kind: 'bundle', weight: 1, partnerItemIds: ['sku-2'] },
        ],
      }),
    ).toBe(true);
    expect(
      isBundleExperiment({
        variants: [
          { key: 'control', kind: 'control', weight: 1 },
          { key: 'summer', kind: 'rules', weight: 1, ruleSetId: 'summer' },
        ],
      }),
    ).toBe(false);
  });
});
