import { describe, expect, it } from 'vitest';
import { CovisitIndex } from './CovisitIndex';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2024, 0, 1);

function index(overrides: Partial<ConstructorParameters<typeof CovisitIndex>[0]> = {}) {
  return new CovisitIndex({
    halfLifeMs: 7 * DAY,
    windowMs: DAY,
    maxContextItems: 30,
    maxStored: 150,
    keepAfterPrune: 100,
    smoothing: 1,
    ...overrides,
  });
}

describe('CovisitIndex', () => {
  it('pairs two items of one context with the weaker of their weights', () => {
    const idx = index();
    idx.add('u:a', 'a', 1, 0.05, T0);
    idx.add('u:a', 'a', 2, 1, T0 + 1000);
    expect(idx.pairMass(1, 2, T0 + 1000)).toBeCloseTo(0.05, 12);
    expect(idx.pairMass(2, 1, T0 + 1000)).toBeCloseTo(0.05, 12);
    expect(idx.itemMass(1, T0)).toBeCloseTo(0.05, 12);
    expect(idx.itemMass(2, T0 + 1000)).toBeCloseTo(1, 12);
  });

  it('does not pair interactions further apart than the window', () => {
    const idx = index({ windowMs: HOUR });
    idx.add('u:a', 'a', 1, 1, T0);
    idx.add('u:a', 'a', 2, 1, T0 + 2 * HOUR);
    expect(idx.pairMass(1, 2, T0 + 2 * HOUR)).toBe(0);
  });

  it('counts repeat views once and upgrades a view to a purchase by the difference only', () => {
    const idx = index();
    idx.add('u:a', 'a', 1, 0.05, T0);
    idx.add('u:a', 'a', 2, 0.05, T0);
    idx.add('u:a', 'a', 1, 0.05, T0);
    idx.add('u:a', 'a', 2, 0.05, T0);
    expect(idx.pairMass(1, 2, T0)).toBeCloseTo(0.05, 12);
    idx.add('u:a', 'a', 1, 1, T0);
    // min(1, 0.05) = 0.05: still limited by the viewed-only partner.
    expect(idx.pairMass(1, 2, T0)).toBeCloseTo(0.05, 12);
    idx.add('u:a', 'a', 2, 1, T0);
    expect(idx.pairMass(1, 2, T0)).toBeCloseTo(1, 12);
    expect(idx.itemMass(1, T0)).toBeCloseTo(1, 12);
  });

  it('halves a pair after one half-life and quarters it after two', () => {
    const idx = index();
    idx.add('u:a', 'a', 1, 1, T0);
    idx.add('u:a', 'a', 2, 1, T0);
    expect(idx.pairMass(1, 2, T0 + 7 * DAY)).toBeCloseTo(0.5, 12);
    expect(idx.pairMass(1, 2, T0 + 14 * DAY)).toBeCloseTo(0.25, 12);
  });

  it('weighs a recent co-occurrence more than an old one when both are read now', () => {
    const idx = index();
    idx.add('u:a', 'a', 1, 1, T0);
    idx.add('u:a', 'a', 2, 1, T0);
    idx.add('u:b', 'b', 1, 1, T0 + 7 * DAY);
    idx.add('u:b', 'b', 3, 1, T0 + 7 * DAY);
    const now = T0 + 7 * DAY;
    expect(idx.pairMass(1, 2, now)).toBeCloseTo(0.5, 12);
    expect(idx.pairMass(1, 3, now)).toBeCloseTo(1, 12);
  });

  it('normalises by both items’ mass so an everywhere-popular item does not dominate', () => {
    const idx = index({ smoothing: 1 });
    // Item 9 is bought by 20 users, once alongside 1; item 2 is bought only with 1, twice.
    for (let u = 0; u < 20; u++) idx.add(`u:${u}`, `${u}`, 9, 1, T0);
    idx.add('u:0', '0', 1, 1, T0);
    idx.add('u:x', 'x', 1, 1, T0);
    idx.add('u:x', 'x', 2, 1, T0);
    idx.add('u:y', 'y', 1, 1, T0);
    idx.add('u:y', 'y', 2, 1, T0);
    // n(1) = 3, n(2) = 2, n(9) = 20, c(1,2) = 2, c(1,9) = 1
    const n = idx.neighbors(1, T0, 10);
    expect(n.map((x) => x.item)).toEqual([2, 9]);
    expect(n[0]!.score).toBeCloseTo(2 / Math.sqrt((3 + 1) * (2 + 1)), 12);
    expect(n[1]!.score).toBeCloseTo(1 / Math.sqrt((3 + 1) * (20 + 1)), 12);
  });

  it('keeps at most maxStored neighbours per item by pruning the weakest', () => {
    const idx = index({ maxStored: 6, keepAfterPrune: 4, maxContextItems: 2 });
    // Item 0 pairs with 1…10; item k is seen together with 0 exactly k times.
    for (let k = 1; k <= 10; k++) {
      for (let r = 0; r < k; r++) {
        const ctx = `u:${k}-${r}`;
        idx.add(ctx, ctx, 0, 1, T0);
        idx.add(ctx, ctx, k, 1, T0);
      }
    }
    const kept = idx.neighbors(0, T0, 100).map((x) => x.item);
    expect(kept.length).toBeLessThanOrEqual(6);
    expect(kept).toContain(10);
    expect(kept).toContain(9);
    expect(kept).not.toContain(1);
  });

  it('evicts the oldest context entry once a context holds maxContextItems', () => {
    const idx = index({ maxContextItems: 2 });
    idx.add('u:a', 'a', 1, 1, T0);
    idx.add('u:a', 'a', 2, 1, T0 + 1);
    idx.add('u:a', 'a', 3, 1, T0 + 2); // evicts 1
    idx.add('u:a', 'a', 4, 1, T0 + 3);
    expect(idx.pairMass(1, 4, T0)).toBe(0);
    expect(idx.pairMass(3, 4, T0)).toBeGreaterThan(0);
  });

  it('stays exact across a clock rebase far in the future', () => {
    const idx = index({ halfLifeMs: 1000 });
    idx.add('u:a', 'a', 1, 1, T0);
    idx.add('u:a', 'a', 2, 1, T0);
    const later = T0 + 700_000; // 700 half-lives: forces a rebase
    idx.add('u:b', 'b', 1, 1, later);
    idx.add('u:b', 'b', 3, 1, later);
    expect(idx.pairMass(1, 3, later)).toBeCloseTo(1, 9);
    expect(idx.itemMass(1, later)).toBeCloseTo(1, 9);
  });

  it('forgets pending contexts of a dropped owner so later events do not pair with them', () => {
    const idx = index();
    idx.add('u:a', 'a', 1, 1, T0);
    idx.dropOwner('a');
    idx.add('u:a', 'a', 2, 1, T0 + 1);
    expect(idx.pairMass(1, 2, T0)).toBe(0);
  });

  it('serves a fresh neighbour list after the item gains a pair', () => {
    const idx = index();
    idx.add('u:a', 'a', 1, 1, T0);
    idx.add('u:a', 'a', 2, 1, T0);
    expect(idx.neighbors(1, T0, 10).map((n) => n.item)).toEqual([2]);
    idx.add('u:b', 'b', 1, 1, T0);
    idx.add('u:b', 'b', 3, 1, T0);
    expect(idx.neighbors(1, T0, 10).map((n) => n.item)).toEqual([2, 3]);
  });
});
