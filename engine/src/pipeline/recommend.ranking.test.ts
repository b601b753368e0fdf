import { describe, expect, it } from 'vitest';
import type { RecRequest } from '../api';
import { createEngine } from '../createEngine';
import { coViews, DAY, ev, item, T0 } from '../testShop';
import type { VectorSource } from '../vectors/types';

describe('recommend: diversity', () => {
  /** Anchor co-viewed most with three near-identical red mugs, less with a teapot and a spoon. */
  function shop() {
    const engine = createEngine({ now: () => T0 + DAY });
    engine.upsertItems([
      item('anchor', { tags: ['category:mugs'] }),
      item('mug1', { tags: ['category:mugs', 'color:red', 'brand:acme'] }),
      item('mug2', { tags: ['category:mugs', 'color:red', 'brand:acme'] }),
      item('mug3', { tags: ['category:mugs', 'color:red', 'brand:acme'] }),
      item('teapot', { tags: ['category:tea', 'color:white', 'brand:zen'] }),
      item('spoon', { tags: ['category:cutlery', 'color:steel', 'brand:fork'] }),
    ]);
    engine.addEvents([
      ...coViews(['anchor', 'mug1', 'mug2', 'mug3'], 10, 'm'),
      ...coViews(['anchor', 'teapot', 'spoon'], 6, 't'),
    ]);
    return engine;
  }
  const meanPairSimilarity = (engine: ReturnType<typeof shop>, itemIds: string[]) => {
    const tags = itemIds.map((id) => new Set(engine.getItem(id)!.tags));
    let sum = 0;
    let n = 0;
    for (let i = 0; i < tags.length; i++) {
      for (let j = i + 1; j < tags.length; j++) {
        const both = [...tags[i]!].filter((t) => tags[j]!.has(t)).length;
        sum += both / (tags[i]!.size + tags[j]!.size - both);
        n++;
      }
    }
    return sum / n;
  };

  it('lowers the similarity within the list as lambda decreases (tag overlap without vectors)', () => {
    const engine = shop();
    const req = { surface: 'similar', itemId: 'anchor', k: 3 } as const;
    const relevance = engine
      .recommend({ ...req, overrides: { diversity: { lambda: 1 } } })
      .items.map((i) => i.itemId);
    const diverse = engine
      .recommend({ ...req, overrides: { diversity: { lambda: 0.3 } } })
      .items.map((i) => i.itemId);
    expect([...relevance].sort()).toEqual(['mug1', 'mug2', 'mug3']);
    expect(diverse).toContain('teapot');
    expect(meanPairSimilarity(engine, diverse)).toBeLessThan(meanPairSimilarity(engine, relevance));
  });

  it('uses embedding similarity for MMR when vectors are set', () => {
    const engine = shop();
    // Vectors contradict the tags: mug2 is the odd one out, the teapot and spoon look like mugs.
    const v: Record<string, number[]> = {
      mug1: [1, 0],
      mug2: [0, 1],
      mug3: [1, 0],
      teapot: [1, 0],
      spoon: [1, 0],
    };
    const source: VectorSource = {
      dim: 2,
      get: (id) => (v[id] ? Float32Array.from(v[id]!) : undefined),
      nearest: () => [],
    };
    engine.setVectors(source);
    const res = engine.recommend({
      surface: 'similar',
      itemId: 'anchor',
      k: 2,
      overrides: { diversity: { lambda: 0.3 } },
    });
    expect(res.items.map((i) => i.itemId)).toEqual(['mug3', 'mug2']);
  });
});

describe('recommend: fallback', () => {
  it('fills a thin list with category best-sellers, then popular items, and says so', () => {
    const engine = createEngine({ now: () => T0 + DAY, config: { blend: { similar: { popular: 0 } } } });
    engine.upsertItems([
      item('anchor', { tags: ['category:mugs'] }),
      item('friend', { tags: ['category:mugs'] }),
      item('best-mug', { tags: ['category:mugs'] }),
      item('hit', { tags: ['category:toys'] }),
    ]);
    engine.addEvents([
      ...coViews(['anchor', 'friend'], 1, 'p'),
      ev('purchase', 'best-mug', 'b1', 0, { orderId: 'o1' }),
      ...coViews(['hit'], 5, 'h'),
    ]);
    const res = engine.recommend({ surface: 'similar', itemId: 'anchor', k: 3, explain: true });
    expect(res.items.map((i) => i.itemId)).toEqual(['friend', 'best-mug', 'hit']);
    expect(res.fallback).toEqual({ used: true, sources: ['category-bestsellers', 'popular'], filled: 2 });
    expect(res.items[1]!.reasons?.[0]?.text).toBe('best-seller in mugs');
    expect(res.items[2]!.reasons?.[0]?.text).toBe('popular right now');
  });

  it('reports no fallback when the signals fill the list', () => {
    const engine = createEngine({ now: () => T0 + DAY });
    engine.upsertItems([item('a'), item('b')]);
    engine.addEvents(coViews(['a', 'b'], 2));
    expect(engine.recommend({ surface: 'similar', itemId: 'a', k: 1 }).fallback).toEqual({
      used: false,
      sources: [],
      filled: 0,
    });
  });
});

describe('recommend: determinism', () => {
  function tied() {
    const engine = createEngine({ now: () => T0 + DAY, config: { ranking: { seedJitter: 0 } } });
    const names = Array.from({ length: 12 }, (_, i) => `i${String(i).padStart(2, '0')}`);
    engine.upsertItems([item('anchor'), ...names.map((n) => item(n))]);
    // Every item is co-viewed with the anchor by its own user at the same minute: all tie.
    const events = names.flatMap((n, u) => [
      ev('view', 'anchor', `u${u}`, 0, { ts: T0 }),
      ev('view', n, `u${u}`, 0, { ts: T0 }),
    ]);
    engine.addEvents(events);
    return engine;
  }
  const req = {
    surface: 'similar',
    itemId: 'anchor',
    k: 12,
    overrides: { diversity: { lambda: 1 } },
  } as const;

  it('breaks ties by itemId without a seed', () => {
    const list = tied()
      .recommend(req)
      .items.map((i) => i.itemId);
    expect(list).toEqual([...list].sort());
  });

  it('returns the same list for the same data, request and seed, and another order for another seed', () => {
    const a = tied()
      .recommend({ ...req, seed: 7 })
      .items.map((i) => i.itemId);
    const b = tied()
      .recommend({ ...req, seed: 7 })
      .items.map((i) => i.itemId);
    const c = tied()
      .recommend({ ...req, seed: 8 })
      .items.map((i) => i.itemId);
    expect(a).toEqual(b);
    expect(c).not.toEqual(a);
    expect([...c].sort()).toEqual([...a].sort());
  });
});

describe('recommend: default shelves', () => {
  it('caps one brand at three items per list by default', () => {
    const engine = createEngine({ now: () => T0 + DAY });
    const acme = ['a1', 'a2', 'a3', 'a4', 'a5', 'a6'];
    const others = ['z1', 'z2', 'z3'];
    engine.upsertItems([
      item('anchor'),
      ...acme.map((id) => item(id, { tags: ['brand:acme'] })),
      ...others.map((id) => item(id, { tags: [`brand:${id}`] })),
    ]);
    // The acme items are co-viewed with the anchor far more often than the others.
    engine.addEvents([...coViews(['anchor', ...acme], 8, 'x'), ...coViews(['anchor', ...others], 2, 'y')]);
    const list = engine.recommend({ surface: 'similar', itemId: 'anchor', k: 8 }).items.map((i) => i.itemId);
    expect(list.filter((id) => id.startsWith('a'))).toHaveLength(3);
    expect(list).toEqual(expect.arrayContaining(others));
  });
});

describe('recommend: seeds with the default jitter', () => {
  /** Items co-viewed with the anchor by 50–53 users, and one by 100: four near-ties and a clear winner. */
  function nearTies(config?: { ranking: { seedJitter: number } }) {
    const engine = createEngine({ now: () => T0 + DAY, config });
    const counts = { a: 50, b: 51, c: 52, d: 53, top: 100 };
    engine.upsertItems([item('anchor'), ...Object.keys(counts).map((n) => item(n))]);
    engine.addEvents(
      Object.entries(counts).flatMap(([n, users]) =>
        Array.from({ length: users }, (_, u) => [
          ev('view', 'anchor', `${n}${u}`, u, { ts: T0 + u * 60_000 }),
          ev('view', n, `${n}${u}`, u, { ts: T0 + u * 60_000 + 1000 }),
        ]).flat(),
      ),
    );
    return engine;
  }
  const req = {
    surface: 'similar',
    itemId: 'anchor',
    k: 5,
    overrides: { diversity: { lambda: 1 } },
  } as const;

  it('reorders near-ties for different seeds but never lifts a near-tie over a clear winner', () => {
    const engine = nearTies();
    const orders = new Set<string>();
    for (let seed = 1; seed <= 12; seed++) {
      const list = engine.recommend({ ...req, seed }).items.map((i) => i.itemId);
      expect(list[0]).toBe('top');
      orders.add(list.slice(1).join(','));
    }
    expect(orders.size).toBeGreaterThan(1);
    // With the jitter off a seed only breaks exact ties, and these are not exact.
    const still = nearTies({ ranking: { seedJitter: 0 } });
    const unjittered = new Set(
      [1, 2, 3, 4, 5, 6].map((seed) =>
        still
          .recommend({ ...req, seed })
          .items.map((i) => i.itemId)
          .join(','),
      ),
    );
    expect([...unjittered]).toEqual(['top,d,c,b,a']);
    expect(engine.recommend({ ...req, seed: 3 }).items).toEqual(engine.recommend({ ...req, seed: 3 }).items);
  });
});

describe('recommend: trending and explanations', () => {
  it('ranks a sudden riser in a category above a steady seller and explains it', () => {
    const now = T0 + 30 * DAY;
    const engine = createEngine({ now: () => now });
    engine.upsertItems([
      item('steady', { tags: ['category:toys'] }),
      item('riser', { title: 'Robot', tags: ['category:toys'] }),
      item('other', { tags: ['category:books'] }),
    ]);
    const events = [];
    for (let d = 0; d < 30; d++) events.push(ev('purchase', 'steady', `s${d}`, d * 1440));
    for (let u = 0; u < 6; u++) events.push(ev('purchase', 'riser', `r${u}`, 30 * 1440 - 10));
    events.push(ev('purchase', 'other', 'o', 30 * 1440 - 10));
    engine.addEvents(events);
    const res = engine.recommend({ surface: 'trending', category: 'toys', k: 2, explain: true });
    expect(res.items[0]!.itemId).toBe('riser');
    expect(res.items.map((i) => i.itemId)).not.toContain('other');
    expect(res.items[0]!.reasons?.[0]).toMatchObject({ signal: 'trending', text: 'trending in toys' });
  });

  it('lists reasons with contributions that add up to the score', () => {
    const engine = createEngine({ now: () => T0 + DAY });
    engine.upsertItems([item('a', { title: 'Alpha' }), item('b')]);
    engine.addEvents([
      ...coViews(['a', 'b'], 3),
      ev('purchase', 'a', 'x', 5, { orderId: 'o' }),
      ev('purchase', 'b', 'x', 5, { orderId: 'o' }),
    ]);
    const top = engine.recommend({ surface: 'similar', itemId: 'a', k: 1, explain: true }).items[0]!;
    const texts = top.reasons!.map((r) => r.text);
    expect(texts).toEqual(expect.arrayContaining(['often viewed with Alpha', 'often bought with Alpha']));
    expect(top.reasons!.reduce((s, r) => s + r.contribution, 0)).toBeCloseTo(top.score, 12);
  });
});

describe('recommend: requests in any order', () => {
  it('answers each request the same whatever was ranked before it, explanations included', () => {
    // Signal storage is reused from one request to the next: nothing of an earlier request (its
    // candidates, scores, anchors or labels) may show in a later one.
    const engine = createEngine({ now: () => T0 + DAY });
    const mugs = Array.from({ length: 40 }, (_, i) =>
      item(`mug${i}`, { tags: ['category:mugs', `brand:b${i % 4}`], price: 10 + i }),
    );
    const teas = Array.from({ length: 40 }, (_, i) =>
      item(`tea${i}`, { tags: ['category:tea', `brand:t${i % 3}`], price: 5 + i }),
    );
    engine.upsertItems([...mugs, ...teas]);
    engine.setUserTraits('fan', { segment: 'gold' });
    engine.setUserTraits('m0', { segment: 'gold' });
    engine.addEvents([
      ...coViews(
        mugs.slice(0, 12).map((m) => m.itemId),
        8,
        'm',
      ),
      ...coViews(
        teas.slice(0, 6).map((t) => t.itemId),
        5,
        't',
      ),
      ev('purchase', 'mug3', 'buyer', 30),
      ev('purchase', 'mug3', 'buyer', 60),
      ev('purchase', 'tea2', 'buyer', 90),
      ev('view', 'tea5', 'buyer', 100),
      ev('view', 'mug7', 'fan', 10),
    ]);
    const requests: RecRequest[] = [
      { surface: 'forUser', userKey: 'buyer', k: 8, explain: true },
      { surface: 'forUser', userKey: 'fan', k: 8, explain: true, traits: { segment: 'gold' } },
      { surface: 'similar', itemId: 'mug1', k: 10, explain: true },
      { surface: 'cart', cartItemIds: ['mug2', 'tea1'], k: 6, explain: true },
      { surface: 'buyAgain', userKey: 'buyer', k: 5, explain: true },
      { surface: 'trending', k: 5, explain: true, category: 'tea' },
      { surface: 'recentlyViewed', userKey: 'buyer', k: 5, explain: true },
      { surface: 'forUser', k: 8, explain: true },
    ];
    // Each request after itself, after the one before it, and after the one after it.
    const repeated = requests.map((req) => {
      engine.recommend(req);
      return engine.recommend(req);
    });
    const forward = requests.map((req) => engine.recommend(req));
    const backward = [...requests]
      .reverse()
      .map((req) => engine.recommend(req))
      .reverse();
    expect(forward).toEqual(repeated);
    expect(backward).toEqual(repeated);
    expect(repeated.every((r) => r.items.length > 0)).toBe(true);
    expect(forward.some((r) => r.items.some((i) => i.reasons?.some((x) => x.text.includes('gold'))))).toBe(
      true,
    );
  });
});
