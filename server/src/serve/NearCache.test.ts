import { describe, expect, it } from 'vitest';
import { ChangeStamps } from '../replicate/changeStamps';
import type { EngineList, ServeInput } from './EngineService';
import { NearCache } from './NearCache';

const T = 1_000_000;
const input: ServeInput = { userId: 'u1', k: 3, explain: false };

/** An engine thread's table, and a list it answered for u1 of `shop`, read at `now`. */
function answered(table: ChangeStamps, until = T + 10_000): EngineList {
  const slots = [table.namespaceSlot('shop'), table.userSlot('shop', 'u1')];
  return {
    items: [
      { itemId: 'a', rank: 1, score: 1, title: 'A', price: 1, currency: 'EUR', url: null, imageUrl: null },
    ],
    fallback: { used: false, sources: [], filled: 0 },
    userId: 'u1',
    configVersion: 3,
    cache: 'miss',
    trace: { surface: 'forUser' } as unknown as EngineList['trace'],
    validity: { slots, values: slots.map((s) => table.read(s)), until },
  };
}

function setUp() {
  const engineSide = new ChangeStamps();
  // The HTTP thread reads the engine thread's table through its buffer.
  const near = new NearCache({ stamps: engineSide.buffer, maxEntries: 100 });
  const key = NearCache.keyOf('shop', 'forUser', input)!;
  near.set(key, answered(engineSide));
  return { engineSide, near, key };
}

describe('NearCache (lists kept on the HTTP thread)', () => {
  it('serves a kept list again as a hit of its own, without its trace or validity', () => {
    const { near, key } = setUp();
    const first = near.get(key, T)!;
    expect(first).toMatchObject({ userId: 'u1', configVersion: 3, cache: 'hit' });
    expect(first.items.map((i) => i.itemId)).toEqual(['a']);
    expect(first.trace).toBeUndefined();
    expect(first.validity).toBeUndefined();
    expect(near.get(key, T + 1)).not.toBe(first);
  });

  it("stops serving it once the visitor's or the namespace's counter moves, and not for another visitor's", () => {
    const { engineSide, near, key } = setUp();
    engineSide.bump(engineSide.userSlot('shop', 'u2'));
    engineSide.bump(engineSide.namespaceSlot('other'));
    expect(near.get(key, T)).toBeDefined();
    engineSide.bump(engineSide.userSlot('shop', 'u1'));
    expect(near.get(key, T)).toBeUndefined();
    // Dropped: even a counter that came back would not serve it.
    expect(near.get(key, T)).toBeUndefined();

    const again = setUp();
    again.engineSide.bump(again.engineSide.namespaceSlot('shop'));
    expect(again.near.get(again.key, T)).toBeUndefined();
  });

  it('stops serving it at its `until` (the cache entry’s expiry or a scheduled rule’s start or end)', () => {
    const { near, key } = setUp();
    expect(near.get(key, T + 9_999)).toBeDefined();
    expect(near.get(key, T + 10_000)).toBeUndefined();
  });

  it('keeps nothing the engines did not say it may keep, and keys explain and debug requests to none', () => {
    const engineSide = new ChangeStamps();
    const near = new NearCache({ stamps: engineSide.buffer, maxEntries: 100 });
    const key = NearCache.keyOf('shop', 'forUser', input)!;
    const { validity: _validity, ...withoutValidity } = answered(engineSide);
    near.set(key, withoutValidity);
    expect(near.get(key, T)).toBeUndefined();
    expect(NearCache.keyOf('shop', 'forUser', { ...input, explain: true })).toBeUndefined();
    expect(NearCache.keyOf('shop', 'forUser', { ...input, bypassCache: true })).toBeUndefined();
  });

  it('keys a request by namespace, surface and everything asked, but not by a sampled trace', () => {
    const key = NearCache.keyOf('shop', 'forUser', input);
    expect(NearCache.keyOf('shop', 'forUser', { ...input, trace: true })).toBe(key);
    expect(NearCache.keyOf('other', 'forUser', input)).not.toBe(key);
    expect(NearCache.keyOf('shop', 'trending', input)).not.toBe(key);
    expect(NearCache.keyOf('shop', 'forUser', { ...input, k: 4 })).not.toBe(key);
    expect(NearCache.keyOf('shop', 'forUser', { ...input, experiment: { id: 'e', variant: 'b' } })).not.toBe(
      key,
    );
  });
});
