import { describe, expect, it } from 'vitest';
import type { Engine, RecRequest } from '../api';
import { createEngine } from '../createEngine';
import { SURFACES } from '../protocol';
import { DAY, item, MIN, T0 } from '../testShop';
import type { EngineEvent } from '../types';
import { createRng } from '../util/random';
import { EngineSnapshotError, readEngineSnapshotMeta } from './engineSnapshot';

const ITEMS = 240;
const USERS = 120;
const NOW = T0 + 31 * DAY;

/** A seeded shop: categories, brands, sessions, orders, traits, a login merge and a forgotten user. */
function feed(engine: Engine, seed: number, from: number, count: number) {
  const rng = createRng(seed, 'events');
  const types: EngineEvent['type'][] = ['view', 'view', 'view', 'click', 'add', 'purchase', 'rate'];
  const events: EngineEvent[] = [];
  for (let n = 0; n < count; n++) {
    const user = rng.int(USERS);
    const type = rng.pick(types);
    events.push({
      type,
      itemId: `sku-${Math.min(ITEMS - 1, Math.floor(rng.exponential(40)))}`,
      userKey: user % 7 === 0 ? `anon:a${user}` : `u${user}`,
      sessionId: `s${user}-${Math.floor(n / 40)}`,
      ts: from + n * 7 * MIN + rng.int(5 * MIN),
      value: type === 'purchase' ? 1 + rng.int(3) : type === 'rate' ? 1 + rng.int(5) : undefined,
      orderId: type === 'purchase' && rng.chance(0.5) ? `o${n}` : undefined,
    });
  }
  engine.addEvents(events);
}

function shop(): Engine {
  const engine = createEngine({ now: () => NOW, config: { diversity: { maxPerBrand: 3 } } });
  const rng = createRng(1, 'items');
  engine.upsertItems(
    Array.from({ length: ITEMS }, (_, i) =>
      item(`sku-${i}`, {
        title: `Item ${i}`,
        price: 5 + rng.int(200),
        currency: 'EUR',
        available: rng.chance(0.95),
        tags: [`category:c${i % 9}`, `brand:b${i % 13}`, `color:${rng.pick(['red', 'blue', 'black'])}`],
        createdAt: T0 - rng.int(100) * DAY,
      }),
    ),
  );
  for (let u = 0; u < USERS; u += 3) {
    engine.setUserTraits(`u${u}`, { segment: u % 2 ? 'vip' : 'new', country: 'DE' });
  }
  feed(engine, 2, T0, 4_000);
  engine.mergeUsers('anon:a14', 'u15');
  engine.forgetUser('u20');
  return engine;
}

/** Every surface for many users and items, explained and traced, plus bundles and group lists. */
function answers(engine: Engine): unknown[] {
  const out: unknown[] = [];
  for (let n = 0; n < 40; n++) {
    for (const surface of SURFACES) {
      const req: RecRequest = {
        surface,
        k: 8,
        userKey: `u${(n * 7) % USERS}`,
        sessionId: `s${(n * 7) % USERS}-3`,
        itemId: `sku-${(n * 11) % ITEMS}`,
        cartItemIds: [`sku-${n % ITEMS}`, `sku-${(n * 5) % ITEMS}`],
        category: n % 3 === 0 ? `c${n % 9}` : undefined,
        explain: true,
      };
      out.push(engine.recommend(req));
    }
    out.push(engine.bundle({ itemId: `sku-${n}` }));
    out.push(engine.group({ members: [{ userKey: `u${n}` }, { userKey: `u${n + 1}` }], k: 6 }));
  }
  out.push(engine.stats());
  return out;
}

const restore = (engine: Engine, meta?: Record<string, unknown>) =>
  createEngine({ now: () => NOW, snapshot: engine.snapshot(meta) });

describe('engine snapshots', () => {
  it('restores an engine that answers every surface exactly like the one it was taken from', () => {
    const engine = shop();
    const restored = restore(engine);
    const expected = answers(engine);
    // The comparison means something only if the shop gives lists to compare.
    const filled = expected.filter((r) => ((r as { items?: unknown[] }).items?.length ?? 0) > 0);
    expect(filled.length).toBeGreaterThan(expected.length / 2);
    expect(answers(restored)).toEqual(expected);
    expect(restored.getConfig()).toEqual(engine.getConfig());
  });

  it('keeps learning after a restore exactly as the original does from the same later events', () => {
    const engine = shop();
    const restored = restore(engine);
    for (const e of [engine, restored]) {
      feed(e, 3, T0 + 29 * DAY, 1_500);
      e.mergeUsers('anon:a21', 'u22');
      e.setUserTraits('u1', { segment: 'vip' });
    }
    expect(answers(restored)).toEqual(answers(engine));
  });

  it('rebuilds the restored indexes from the stored event log when an index-shaping setting changes', () => {
    const engine = shop();
    const restored = restore(engine);
    const change = { covisit: { halfLifeMs: 3 * DAY }, popularity: { halfLifeMs: 2 * DAY } };
    engine.setConfig(change);
    restored.setConfig(change);
    expect(answers(restored)).toEqual(answers(engine));
    // The forgotten user stays forgotten through the replay.
    expect(restored.recommend({ surface: 'recentlyViewed', userKey: 'u20', k: 5 }).items).toEqual([]);
  });

  it('writes the caller’s meta beside the state, readable without a restore', () => {
    const engine = shop();
    const meta = readEngineSnapshotMeta(engine.snapshot({ namespaceId: 'shop', watermark: 812 }));
    expect(meta).toMatchObject({ namespaceId: 'shop', watermark: 812, createdAt: NOW, items: ITEMS });
    expect(meta.events).toBe(engine.stats().events);
  });

  it('gives the same bytes for the same state, so two snapshots of one engine compare equal', () => {
    const engine = shop();
    expect(Buffer.from(engine.snapshot()).equals(Buffer.from(restore(engine).snapshot()))).toBe(true);
  });

  describe('refuses bytes it cannot trust, saying why', () => {
    const bytes = shop().snapshot({ namespaceId: 'shop' });
    const refusal = (b: Uint8Array) => {
      try {
        createEngine({ snapshot: b });
      } catch (error) {
        expect(error).toBeInstanceOf(EngineSnapshotError);
        return { reason: (error as EngineSnapshotError).reason, message: (error as Error).message };
      }
      throw new Error('the snapshot was accepted');
    };

    it('a truncated file (a write cut short)', () => {
      expect(refusal(bytes.subarray(0, bytes.length - 100)).reason).toBe('truncated');
      expect(refusal(bytes.subarray(0, 20)).reason).toBe('truncated');
    });

    it('a flipped byte in the state or in the meta (checksum)', () => {
      for (const at of [bytes.length - 1, Math.floor(bytes.length / 2), 60]) {
        const torn = Uint8Array.from(bytes);
        torn[at] = torn[at]! ^ 0xff;
        expect(refusal(torn)).toMatchObject({
          reason: 'checksum',
          message: expect.stringMatching(/checksum/),
        });
      }
    });

    it('another format version (written by an older or newer engine)', () => {
      const old = Uint8Array.from(bytes);
      Buffer.from(old.buffer).writeUInt32LE(0, 8);
      expect(refusal(old)).toMatchObject({ reason: 'format', message: expect.stringMatching(/format 0/) });
    });

    it('a file that is not a snapshot at all', () => {
      expect(refusal(Buffer.from('{"items":[]}')).reason).toBe('not-a-snapshot');
      expect(refusal(new Uint8Array(200)).reason).toBe('not-a-snapshot');
    });
  });
});
