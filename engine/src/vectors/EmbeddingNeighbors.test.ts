import { describe, expect, it } from 'vitest';
import type { RecRequest } from '../api';
import { createEngine } from '../createEngine';
import { item, T0 } from '../testShop';
import { EmbeddingNeighbors } from './EmbeddingNeighbors';
import { IvfIndex } from './IvfIndex';
import type { VectorSource } from './types';

/**
 * A real IVF index (exact scan at this size) that counts `nearest` calls; `log` passes its change
 * log through (without it, only the TTL can bring new items into cached lists).
 */
function countingIndex(vectors: Record<string, number[]>, log = false) {
  const index = new IvfIndex({ dim: 3, autoTrain: false, trainThreshold: 4 });
  for (const [id, v] of Object.entries(vectors)) index.add(id, Float32Array.from(v));
  let queries = 0;
  const source: VectorSource = {
    dim: 3,
    get: (id) => index.get(id),
    nearest: (q, k, filter) => {
      queries++;
      return index.nearest(q, k, filter);
    },
    versionOf: (id) => index.versionOf(id),
    get generation() {
      return index.generation;
    },
  };
  if (log) {
    // A getter, not a spread copy: the count must be read live.
    Object.defineProperty(source, 'writeCount', { get: () => index.writeCount });
    source.changedSince = (writes) => index.changedSince(writes);
  }
  return { index, source, queries: () => queries };
}

const VECTORS = {
  kettle: [1, 0, 0],
  teapot: [0.9, 0.2, 0],
  mug: [0.7, 0.7, 0],
  sofa: [0, 0, 1],
  chair: [0.2, 0.2, 0.9],
};

function shop(source: VectorSource, cache = {}) {
  const engine = createEngine({ now: () => T0, embeddingCache: cache });
  engine.upsertItems(Object.keys(VECTORS).map((id) => item(id)));
  engine.setVectors(source);
  return engine;
}

const similar = { surface: 'similar', k: 2, overrides: { fallback: false } } as const;
const ids = (res: { items: Array<{ itemId: string }> }) => res.items.map((i) => i.itemId);

describe('embedding neighbour cache', () => {
  it('answers repeated similar requests from the cached list without querying the index', () => {
    const { source, queries } = countingIndex(VECTORS);
    const engine = shop(source);
    const first = engine.recommend({ ...similar, itemId: 'kettle' });
    const second = engine.recommend({ ...similar, itemId: 'kettle' });
    expect(ids(first)).toEqual(['teapot', 'mug']);
    expect(ids(second)).toEqual(ids(first));
    expect(queries()).toBe(1);
    expect(engine.stats().embeddingCache).toEqual({ items: 1, hits: 1, misses: 1 });
  });

  it('recomputes an item’s list as soon as its vector changes', () => {
    const { index, source, queries } = countingIndex(VECTORS);
    const engine = shop(source);
    engine.recommend({ ...similar, itemId: 'kettle' });
    index.add('kettle', Float32Array.from([0, 0.1, 1]));
    expect(ids(engine.recommend({ ...similar, itemId: 'kettle' }))).toEqual(['sofa', 'chair']);
    expect(queries()).toBe(2);
  });

  it('recomputes every list after the index retrains', async () => {
    const { index, source, queries } = countingIndex(VECTORS);
    const engine = shop(source);
    engine.recommend({ ...similar, itemId: 'kettle' });
    await index.train();
    engine.recommend({ ...similar, itemId: 'kettle' });
    expect(queries()).toBe(2);
  });

  it('takes an item added to the index into cached lists on the next request, without a new query', () => {
    const { index, source, queries } = countingIndex(VECTORS, true);
    const engine = createEngine({ now: () => T0 });
    engine.upsertItems([...Object.keys(VECTORS), 'kettle-2'].map((id) => item(id)));
    engine.setVectors(source);
    expect(ids(engine.recommend({ ...similar, itemId: 'kettle' }))).toEqual(['teapot', 'mug']);
    index.add('kettle-2', Float32Array.from([1, 0.01, 0]));
    expect(ids(engine.recommend({ ...similar, itemId: 'kettle' }))).toEqual(['kettle-2', 'teapot']);
    // Removed from the index: gone from the cached list too.
    index.remove('teapot');
    expect(ids(engine.recommend({ ...similar, itemId: 'kettle' }))).toEqual(['kettle-2', 'mug']);
    expect(queries()).toBe(1);
  });

  it('recomputes a list when more vectors changed than the index’s change log remembers', () => {
    const { index, source, queries } = countingIndex(VECTORS, true);
    const engine = shop(source);
    engine.recommend({ ...similar, itemId: 'kettle' });
    for (let i = 0; i < 1_100; i++) index.add('sofa', Float32Array.from([0, 0, 1 + (i % 2)]));
    engine.recommend({ ...similar, itemId: 'kettle' });
    expect(queries()).toBe(2);
  });

  it('refreshes a list older than ttlMs when the source keeps no change log', () => {
    const { index, source } = countingIndex(VECTORS);
    let now = T0;
    const engine = createEngine({ now: () => now, embeddingCache: { ttlMs: 60_000 } });
    engine.upsertItems([...Object.keys(VECTORS), 'kettle-2'].map((id) => item(id)));
    engine.setVectors(source);
    engine.recommend({ ...similar, itemId: 'kettle' });
    index.add('kettle-2', Float32Array.from([1, 0.01, 0]));
    now += 30_000;
    expect(ids(engine.recommend({ ...similar, itemId: 'kettle' }))).toEqual(['teapot', 'mug']);
    now += 60_000;
    expect(ids(engine.recommend({ ...similar, itemId: 'kettle' }))[0]).toBe('kettle-2');
  });

  it('evicts the least recently used list beyond maxItems', () => {
    const { source } = countingIndex(VECTORS);
    const cache = new EmbeddingNeighbors({ maxItems: 2 });
    const idOf = (id: string) => Object.keys(VECTORS).indexOf(id);
    const get = (id: string) => cache.of(source, idOf(id), id, 3, T0, idOf, () => true);
    get('kettle');
    get('sofa');
    get('kettle');
    get('mug'); // evicts sofa, the least recently used
    expect(cache.size).toBe(2);
    get('kettle');
    get('sofa');
    expect({ hits: cache.hits, misses: cache.misses }).toEqual({ hits: 2, misses: 4 });
  });

  it('queries every time for a source that cannot report vector versions', () => {
    const { index } = countingIndex(VECTORS);
    let queries = 0;
    const plain: VectorSource = {
      dim: 3,
      get: (id) => index.get(id),
      nearest: (q, k, filter) => {
        queries++;
        return index.nearest(q, k, filter);
      },
    };
    const engine = shop(plain);
    engine.recommend({ ...similar, itemId: 'kettle' });
    engine.recommend({ ...similar, itemId: 'kettle' });
    expect(queries).toBe(2);
    expect(engine.stats().embeddingCache.items).toBe(0);
  });

  it('builds forUser embedding candidates from the anchors’ cached lists, naming the closest anchor', () => {
    const { source, queries } = countingIndex(VECTORS);
    const engine = shop(source);
    const req: RecRequest = {
      surface: 'forUser',
      k: 2,
      userKey: 'fresh',
      contextItemIds: ['sofa', 'kettle'],
      explain: true,
      overrides: { blend: { embedding: 1, popular: 0, trending: 0, segment: 0 }, fallback: false },
    };
    const res = engine.recommend(req);
    // kettle (latest, weight 1) outweighs sofa (0.5): its neighbours lead.
    expect(ids(res)[0]).toBe('teapot');
    expect(res.items[0]!.reasons?.[0]).toMatchObject({ signal: 'embedding', relatedItemId: 'kettle' });
    engine.recommend(req);
    expect(queries()).toBe(2); // one list per anchor, then cache hits
  });

  it('retries a filtered request as one filtered index query when cached lists leave too few items', () => {
    const { source, queries } = countingIndex(VECTORS);
    const engine = createEngine({ now: () => T0 });
    engine.upsertItems(Object.keys(VECTORS).map((id) => item(id, { price: id === 'chair' ? 10 : 100 })));
    engine.setVectors(source);
    // Cache lists of length 1 (candidatesPerSignal 1): only teapot is cached for kettle.
    engine.setConfig({ ranking: { candidatesPerSignal: 1 } });
    const res = engine.recommend({ ...similar, itemId: 'kettle', k: 1, filters: { priceMax: 20 } });
    expect(ids(res)).toEqual(['chair']);
    expect(queries()).toBe(2);
  });
});
