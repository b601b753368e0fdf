import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../db/client';
import { createKeyResolver } from './keyResolver';
import { createApiKey, createNamespace } from './namespaces';

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
});
