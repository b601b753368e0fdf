import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../db/client';
import {
  createClient,
  getTestDatabaseTargets,
  itemIds,
  startTestServer,
  type TestTenant,
  viewNow,
} from '../testing';
import {
  describePlacement,
  EVERY_NAMESPACE,
  PlacementError,
  parsePlacement,
  placesNamespace,
  shardOf,
} from './placement';

describe('parsePlacement', () => {
  it('places every namespace when neither flag is given', () => {
    expect(parsePlacement({})).toEqual(EVERY_NAMESPACE);
    expect(parsePlacement({ namespaces: '  ', shard: '' })).toEqual(EVERY_NAMESPACE);
  });

  it('reads a list of namespace ids separated by commas', () => {
    const placement = parsePlacement({ namespaces: 'shop-a, shop-b' });
    expect(placesNamespace(placement, 'shop-a')).toBe(true);
    expect(placesNamespace(placement, 'shop-b')).toBe(true);
    expect(placesNamespace(placement, 'shop-c')).toBe(false);
    expect(describePlacement(placement)).toBe('namespaces shop-a, shop-b');
  });

  it('reads a shard counted from 1', () => {
    expect(parsePlacement({ shard: '1/3' })).toEqual({ kind: 'shard', index: 0, count: 3 });
    expect(parsePlacement({ shard: '3/3' })).toEqual({ kind: 'shard', index: 2, count: 3 });
  });

  it.each([
    [{ shard: '0/3' }, /--shard: "0\/3" is not <this shard>\/<shards>, counted from 1/],
    [{ shard: '4/3' }, /--shard: "4\/3"/],
    [{ shard: '2' }, /--shard: "2"/],
    [{ shard: '1/0' }, /--shard: "1\/0"/],
    [{ namespaces: 'shop-a,,shop-b' }, /--namespaces: "" is not a namespace id/],
    [{ namespaces: 'Shop A' }, /--namespaces: "Shop A" is not a namespace id/],
    [{ namespaces: 'shop-a', shard: '1/2' }, /give --namespaces or --shard, not both/],
  ])('refuses %o with a message saying how to fix it', (given, message) => {
    expect(() => parsePlacement(given)).toThrow(PlacementError);
    expect(() => parsePlacement(given)).toThrow(message);
  });
});

describe('shardOf', () => {
  const ids = Array.from({ length: 300 }, (_, i) => `shop-${i}`);

  it('puts every namespace in exactly one of the shards', () => {
    for (const count of [1, 2, 3, 5]) {
      const shards = Array.from({ length: count }, (_, index) => ({ kind: 'shard', index, count }) as const);
      for (const id of ids) {
        expect(shards.filter((shard) => placesNamespace(shard, id))).toHaveLength(1);
      }
    }
  });

  it('spreads namespaces over the shards', () => {
    const sizes = [0, 0, 0];
    for (const id of ids) sizes[shardOf(id, 3)]! += 1;
    for (const size of sizes) expect(size).toBeGreaterThan(60);
  });

  // The hash decides which pool holds a shop: changing it would move tenants between pools on an
  // upgrade, each replica loading shops it was not sized for. Pinned values make that a decision.
  it('gives the same shard in every process and version', () => {
    expect(['shop', 'shop-a', 'shop-b', 'demo', 'retail'].map((id) => shardOf(id, 4))).toEqual([
      1, 0, 2, 1, 0,
    ]);
  });
});

describe.each(getTestDatabaseTargets())('replicas holding a share of the namespaces on $name', (target) => {
  let database: Database & { drop(): Promise<void> };
  let replicaA: Awaited<ReturnType<typeof startTestServer>>;
  let replicaB: Awaited<ReturnType<typeof startTestServer>>;
  let shopA: TestTenant;
  let shopB: TestTenant;

  beforeAll(async () => {
    database = await target.open();
    const setup = await startTestServer(database, {});
    shopA = await setup.tenant('placed-a');
    shopB = await setup.tenant('placed-b');
    await shopA.admin.items.upsert.mutate({ items: [{ itemId: 'a-1', title: 'Kettle' }] });
    await shopB.admin.items.upsert.mutate({ items: [{ itemId: 'b-1', title: 'Teapot' }] });
    await shopA.admin.events.batch.mutate({ events: [viewNow('a-before', 'a-1', 'visitor-a')] });
    await shopB.admin.events.batch.mutate({ events: [viewNow('b-before', 'b-1', 'visitor-b')] });
    await setup.close();
    replicaA = await startTestServer(database, {
      engine: { encoder: null, placement: parsePlacement({ namespaces: 'placed-a' }) },
    });
    replicaB = await startTestServer(database, {
      engine: { encoder: null, placement: parsePlacement({ namespaces: 'placed-b' }) },
    });
    await replicaA.engines!.catchUp();
    await replicaB.engines!.catchUp();
  });
  afterAll(async () => {
    await replicaA?.close();
    await replicaB?.close();
    await database?.drop();
  });

  it('loads only the namespaces placed on it', () => {
    expect(replicaA.engines!.namespaceIds).toEqual(['placed-a']);
    expect(replicaB.engines!.namespaceIds).toEqual(['placed-b']);
  });

  it('serves its own namespaces from what was stored before it started', async () => {
    const onA = createClient(replicaA.url, shopA.secretKey);
    expect(itemIds(await onA.recs.recentlyViewed.query({ anonymousId: 'visitor-a', k: 3 }))).toEqual(['a-1']);
  });

  it('answers 503 with the reason for a namespace placed elsewhere', async () => {
    const onB = createClient(replicaB.url, shopA.secretKey);
    await expect(onB.recs.recentlyViewed.query({ anonymousId: 'visitor-a', k: 3 })).rejects.toMatchObject({
      data: { httpStatus: 503 },
      message: expect.stringMatching(
        /Namespace "placed-a" is served by other replicas: this one holds namespaces placed-b/,
      ),
    });
  });

  it('accepts events on any replica and the owning replica serves them', async () => {
    const onB = createClient(replicaB.url, shopA.secretKey);
    const accepted = await onB.events.batch.mutate({ events: [viewNow('a-via-b', 'a-1', 'visitor-new')] });
    expect(accepted.accepted).toBe(1);
    await replicaA.engines!.catchUp();
    const onA = createClient(replicaA.url, shopA.secretKey);
    expect(itemIds(await onA.recs.recentlyViewed.query({ anonymousId: 'visitor-new', k: 3 }))).toEqual([
      'a-1',
    ]);
    // The other replica read the row in its poll and left it alone.
    await replicaB.engines!.catchUp();
    expect(replicaB.engines!.namespaceIds).toEqual(['placed-b']);
  });

  it('starts holding a placed namespace created after it started, and no other', async () => {
    const shard = parsePlacement({ namespaces: 'placed-b,placed-late' });
    const replica = await startTestServer(database, { engine: { encoder: null, placement: shard } });
    try {
      await replica.engines!.catchUp();
      const late = await replica.tenant('placed-late');
      await replica.tenant('placed-other');
      await late.admin.items.upsert.mutate({ items: [{ itemId: 'l-1', title: 'Mug' }] });
      await late.admin.events.batch.mutate({ events: [viewNow('late-1', 'l-1', 'visitor-late')] });
      await replica.engines!.catchUp();
      expect(
        itemIds(await late.admin.recs.recentlyViewed.query({ anonymousId: 'visitor-late', k: 3 })),
      ).toEqual(['l-1']);
      expect(replica.engines!.namespaceIds.sort()).toEqual(['placed-b', 'placed-late']);
    } finally {
      await replica.close();
    }
  });
});
