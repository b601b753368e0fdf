import { describe, expect, it } from 'vitest';
import { createEngine } from '../createEngine';
import { coViews, DAY, ev, item, T0 } from '../testShop';
import type { VectorSource } from '../vectors/types';

/** A brute-force vector source over a handful of hand-made vectors. */
function tinyVectors(vectors: Record<string, number[]>): VectorSource {
  const map = new Map(Object.entries(vectors).map(([k, v]) => [k, Float32Array.from(v)]));
  const cos = (a: Float32Array, b: Float32Array) => {
    let d = 0;
    let na = 0;
    let nb = 0;
    for (let i = 0; i < a.length; i++) {
      d += a[i]! * b[i]!;
      na += a[i]! ** 2;
      nb += b[i]! ** 2;
    }
    return d / Math.sqrt(na * nb);
  };
  return {
    dim: 3,
    get: (id) => map.get(id),
    nearest: (query, k, filter) =>
      [...map]
        .filter(([id]) => filter?.(id) ?? true)
        .map(([itemId, v]) => ({ itemId, score: cos(query, v) }))
        .sort((a, b) => b.score - a.score)
        .slice(0, k),
  };
}

describe('recommend: similar', () => {
  it('returns co-viewed items, strongest pair first, never the anchor', () => {
    const engine = createEngine({ now: () => T0 + 60_000 });
    engine.upsertItems(['a', 'b', 'c', 'd'].map((id) => item(id)));
    engine.addEvents([
      ...coViews(['a', 'b'], 5, 'x'),
      ...coViews(['a', 'c'], 2, 'y'),
      ...coViews(['d'], 1, 'z'),
    ]);
    const res = engine.recommend({ surface: 'similar', itemId: 'a', k: 2 });
    expect(res.items.map((i) => i.itemId)).toEqual(['b', 'c']);
    expect(res.fallback).toEqual({ used: false, sources: [], filled: 0 });
  });

  it('explains bought-together items with the anchor title', () => {
    const engine = createEngine({
      now: () => T0 + 60_000,
      config: { blend: { cart: { covisit: 0, popular: 0 } } },
    });
    engine.upsertItems([item('mug', { title: 'Blue Mug' }), item('tea')]);
    engine.addEvents([
      ev('purchase', 'mug', 'u1', 0, { orderId: 'o1', sessionId: undefined }),
      ev('purchase', 'tea', 'u1', 0, { orderId: 'o1', sessionId: undefined }),
    ]);
    const res = engine.recommend({ surface: 'cart', cartItemIds: ['mug'], k: 1, explain: true });
    expect(res.items[0]).toMatchObject({
      itemId: 'tea',
      reasons: [{ signal: 'boughtTogether', text: 'often bought with Blue Mug', relatedItemId: 'mug' }],
    });
  });

  it('fills the cart shelf with complements, never with look-alikes of what is in the cart', () => {
    const engine = createEngine({ now: () => T0 + DAY });
    engine.upsertItems([item('tent'), item('tent-2'), item('pegs'), item('mug')]);
    // tent-2 reads like the tent (a look-alike); pegs are bought with it; the mug sells on its own.
    engine.setVectors(
      tinyVectors({ tent: [1, 0, 0], 'tent-2': [0.95, 0.05, 0], pegs: [0, 1, 0], mug: [0, 0, 1] }),
    );
    engine.addEvents([
      ev('purchase', 'tent', 'b1', 0, { orderId: 'o1' }),
      ev('purchase', 'pegs', 'b1', 0, { orderId: 'o1' }),
      ...[2, 3, 4].map((u) => ev('purchase', 'mug', `b${u}`, u)),
    ]);
    const res = engine.recommend({ surface: 'cart', cartItemIds: ['tent'], k: 2 });
    expect(res.items.map((i) => i.itemId)).toEqual(['pegs', 'mug']);
    // The similar shelf is where the look-alike belongs.
    expect(
      engine.recommend({ surface: 'similar', itemId: 'tent', k: 2 }).items.map((i) => i.itemId),
    ).toContain('tent-2');
  });

  it('gives a new item without behaviour neighbours from its text vector', () => {
    const engine = createEngine({ now: () => T0 });
    engine.upsertItems([item('new', { title: 'New Kettle' }), item('kettle'), item('sofa')]);
    engine.setVectors(tinyVectors({ new: [1, 0, 0], kettle: [0.9, 0.1, 0], sofa: [0, 0, 1] }));
    const res = engine.recommend({ surface: 'similar', itemId: 'new', k: 1, explain: true });
    expect(res.items[0]!.itemId).toBe('kettle');
    expect(res.items[0]!.reasons?.[0]).toMatchObject({ signal: 'embedding', text: 'similar to New Kettle' });
  });

  it('contributes nothing from embeddings when no vector source is set', () => {
    const engine = createEngine({ now: () => T0 });
    engine.upsertItems([item('new'), item('kettle')]);
    const res = engine.recommend({ surface: 'similar', itemId: 'new', k: 1, explain: true });
    expect(res.items).toEqual([]);
    // Nothing to fill from either (no events): the list is short, and says so.
    expect(res.fallback).toEqual({ used: true, sources: [], filled: 0 });
  });

  it('never shows a variant of the anchor and at most one item per parent', () => {
    const engine = createEngine({ now: () => T0 + 60_000 });
    engine.upsertItems([
      item('shirt-s', { parentId: 'shirt' }),
      item('shirt-m', { parentId: 'shirt' }),
      item('hat-1', { parentId: 'hat' }),
      item('hat-2', { parentId: 'hat' }),
    ]);
    engine.addEvents(coViews(['shirt-s', 'shirt-m', 'hat-1', 'hat-2'], 3));
    const res = engine.recommend({
      surface: 'similar',
      itemId: 'shirt-s',
      k: 4,
      overrides: { fallback: false },
    });
    const ids = res.items.map((i) => i.itemId);
    expect(ids).toHaveLength(1);
    expect(ids[0]).toMatch(/^hat-/);
  });

  it('asks for an anchor when similar is called without itemId', () => {
    const engine = createEngine();
    expect(() => engine.recommend({ surface: 'similar', k: 3 })).toThrow(/needs itemId/);
  });
});
