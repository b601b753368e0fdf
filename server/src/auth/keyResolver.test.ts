import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../db/client';
import { createKeyResolver, loadApiKey } from './keyResolver';
import { createApiKey, createNamespace, revokeApiKey } from './namespaces';

/** A well-formed publishable key of `shop` that no one created. */
const randomKey = () => `pk_shop_${randomBytes(8).toString('hex')}_${randomBytes(24).toString('hex')}`;

/** A resolver whose clock the test moves and whose database reads it counts. */
function countingResolver(database: Database, options: { ttlMs?: number; max?: number } = {}) {
  const clock = { now: 1 };
  const loads: string[] = [];
  const resolver = createKeyResolver(database, {
    ...options,
    now: () => clock.now,
    load(namespaceId, keyId) {
      loads.push(keyId);
      return loadApiKey(database, namespaceId, keyId);
    },
  });
  return { resolver, clock, loads };
}

describe('the key resolver', () => {
  let database: Database;
  beforeAll(async () => {
    database = await openDatabase({ dataDir: 'memory://' });
    await database.migrate();
    await createNamespace(database, 'shop');
  });
  afterAll(() => database.close());

  it('after a key was verified, still refuses the same key id with another secret of any length', async () => {
    const { key } = await createApiKey(database, 'shop', { kind: 'secret' });
    const resolver = createKeyResolver(database);
    expect(await resolver.resolve(key, undefined)).toMatchObject({ namespaceId: 'shop', kind: 'secret' });
    // Served from the cached verified secret now.
    expect(await resolver.resolve(key, undefined)).toMatchObject({ namespaceId: 'shop' });
    const last = key.at(-1) === 'a' ? 'b' : 'a';
    for (const forged of [`${key.slice(0, -1)}${last}`, `${key}x`, key.slice(0, -1)]) {
      expect(await resolver.resolve(forged, undefined)).toMatchObject({ code: 'UNAUTHORIZED' });
    }
    // And the real key still works after the refusals.
    expect(await resolver.resolve(key, undefined)).toMatchObject({ namespaceId: 'shop' });
  });

  it('stays at its bound after twenty times as many random keys, which never push out a real one', async () => {
    const { key } = await createApiKey(database, 'shop', { kind: 'publishable', allowedOrigins: ['*'] });
    const { resolver, loads } = countingResolver(database, { max: 100 });
    expect(await resolver.resolve(key, 'https://a.test')).toMatchObject({ namespaceId: 'shop' });
    for (let i = 0; i < 2_000; i++) {
      expect(await resolver.resolve(randomKey(), 'https://a.test')).toMatchObject({ code: 'UNAUTHORIZED' });
    }
    expect(resolver.cacheSize).toEqual({ known: 1, unknown: 100 });
    expect(loads).toHaveLength(2_001);
    // The real key is still cached: no read for it.
    expect(await resolver.resolve(key, 'https://a.test')).toMatchObject({ namespaceId: 'shop' });
    expect(loads).toHaveLength(2_001);
  });

  it('reads an unknown key once per TTL, however often and however concurrently it is sent', async () => {
    const { resolver, clock, loads } = countingResolver(database, { ttlMs: 10_000 });
    const unknown = randomKey();
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => resolver.resolve(unknown, 'https://a.test')),
    );
    for (const answer of answers) expect(answer).toMatchObject({ code: 'UNAUTHORIZED' });
    for (let i = 0; i < 5; i++) await resolver.resolve(unknown, 'https://a.test');
    expect(loads).toHaveLength(1);
    clock.now += 10_001;
    await resolver.resolve(unknown, 'https://a.test');
    expect(loads).toHaveLength(2);
  });

  it('stops accepting a revoked key once the TTL has passed', async () => {
    const { key, keyId } = await createApiKey(database, 'shop', { kind: 'secret' });
    const { resolver, clock } = countingResolver(database, { ttlMs: 10_000 });
    expect(await resolver.resolve(key, undefined)).toMatchObject({ keyId });
    await revokeApiKey(database, 'shop', keyId);
    clock.now += 9_000;
    // Within the TTL the cached key still works: the documented delay of a revocation.
    expect(await resolver.resolve(key, undefined)).toMatchObject({ keyId });
    clock.now += 1_001;
    expect(await resolver.resolve(key, undefined)).toMatchObject({ code: 'UNAUTHORIZED' });
  });

  it('keeps resolving a key it read before a database outage, for staleOnOutageMs, and only for an outage', async () => {
    const { key, keyId } = await createApiKey(database, 'shop', { kind: 'secret' });
    const clock = { now: 1 };
    let failure: Error | undefined;
    const resolver = createKeyResolver(database, {
      ttlMs: 10_000,
      staleOnOutageMs: 60_000,
      now: () => clock.now,
      load: (namespaceId, id) => (failure ? Promise.reject(failure) : loadApiKey(database, namespaceId, id)),
    });
    expect(await resolver.resolve(key, undefined)).toMatchObject({ keyId });
    failure = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    clock.now += 30_000;
    // The TTL has passed and the database is down: the key still resolves as it was read.
    expect(await resolver.resolve(key, undefined)).toMatchObject({ keyId, namespaceId: 'shop' });
    // A key never seen before the outage cannot be resolved: the outage surfaces.
    const { key: fresh } = await createApiKey(database, 'shop', { kind: 'secret' });
    await expect(resolver.resolve(fresh, undefined)).rejects.toThrow(/ECONNREFUSED/);
    // Past staleOnOutageMs from the last read, the outage surfaces for the old key too.
    clock.now += 40_000;
    await expect(resolver.resolve(key, undefined)).rejects.toThrow(/ECONNREFUSED/);
    // Any other failure is never papered over with a stale key.
    failure = new Error('column "hash" does not exist');
    clock.now = 100_000;
    const other = createKeyResolver(database, {
      ttlMs: 10,
      now: () => clock.now,
      load: (namespaceId, id) =>
        clock.now > 100_000 ? Promise.reject(failure) : loadApiKey(database, namespaceId, id),
    });
    expect(await other.resolve(key, undefined)).toMatchObject({ keyId });
    clock.now += 20;
    await expect(other.resolve(key, undefined)).rejects.toThrow(/does not exist/);
  });
});
