import { defaultEngineConfig } from '@recsys/engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../db/client';
import { createLogger } from '../obs/logger';
import { EngineHost } from '../replicate/EngineHost';
import { getTestDatabaseTargets, startTestServer, type TestTenant } from '../testing';
import { loadProfile, profileFromValue } from './profiles';
import { CONFIG_MAXIMA, validateEngineConfig } from './schema';
import { activateConfig, getActiveConfig, listConfigs, rollbackConfig, saveConfig } from './store';

describe('engine config validation', () => {
  it('names the path of an unknown key and the keys allowed there', () => {
    expect(() => validateEngineConfig({ diversity: { lamda: 0.5 } })).toThrow(
      /diversity: unknown key "lamda"; allowed here: lambda, maxPerBrand, maxPerCategory/,
    );
    expect(() => validateEngineConfig({ blend: { forUser: { covisits: 1 } } })).toThrow(
      /blend\.forUser: unknown signal "covisits"; use one of covisit, boughtTogether/,
    );
    expect(() => validateEngineConfig({ blend: { home: { covisit: 1 } } })).toThrow(
      /blend: unknown surface "home"/,
    );
  });

  it('rejects out-of-range values and cross-field mistakes with the field named', () => {
    expect(() => validateEngineConfig({ diversity: { lambda: 1.5 } })).toThrow(
      /diversity\.lambda: must be between 0 and 1/,
    );
    expect(() =>
      validateEngineConfig({ popularity: { trendingShortMs: 10_000, trendingLongMs: 5_000 } }),
    ).toThrow(/popularity\.trendingLongMs: must be longer than popularity\.trendingShortMs/);
  });

  it("refuses numbers above each setting's documented maximum, naming the field and the maximum", () => {
    expect(() => validateEngineConfig({ covisit: { topK: 1e9 } })).toThrow(
      /covisit\.topK: must be at most 1,000/,
    );
    expect(() => validateEngineConfig({ profile: { halfLifeMs: 1e300 } })).toThrow(
      /profile\.halfLifeMs: must be at most 3,153,600,000,000 \(100 years\)/,
    );
    expect(() => validateEngineConfig({ blend: { forUser: { popular: 1e6 } } })).toThrow(
      /blend\.forUser\.popular: must be at most 100/,
    );
    expect(() => validateEngineConfig({ ranking: { candidatesPerSignal: 2 ** 31 } })).toThrow(
      /ranking\.candidatesPerSignal: must be at most 10,000/,
    );
    expect(() => validateEngineConfig({ diversity: { maxPerBrand: 101 } })).toThrow(
      /diversity\.maxPerBrand: must be at most 100/,
    );
    expect(() =>
      validateEngineConfig({
        covisit: { topK: CONFIG_MAXIMA.perItem, smoothing: CONFIG_MAXIMA.smoothing },
        purchaseExclusionWindowMs: CONFIG_MAXIMA.durationMs,
      }),
    ).not.toThrow();
  });

  it('accepts every setting the engine has, so a new engine knob cannot be unsettable here', () => {
    expect(() => validateEngineConfig(structuredClone(defaultEngineConfig))).not.toThrow();
  });

  it('resolves a partial config over the engine defaults', () => {
    const { resolved } = validateEngineConfig({ diversity: { lambda: 0.6 } });
    expect(resolved.diversity).toEqual({ lambda: 0.6, maxPerBrand: 3, maxPerCategory: 0 });
    expect(resolved.blend.similar.covisit).toBe(1);
  });

  it('loads the built-in profiles and both file shapes', () => {
    const retail = loadProfile('online-retail');
    expect(retail.name).toBe('online-retail');
    expect(retail.config.blend?.forUser?.buyAgain).toBeGreaterThan(0);
    expect(loadProfile('movielens').config.eventWeights?.rate).toBe(1);
    expect(profileFromValue({ diversity: { lambda: 0.5 } }, 'bare').config).toEqual({
      diversity: { lambda: 0.5 },
    });
    expect(() => profileFromValue({ name: 'x', config: {}, extra: 1 }, 'env.json')).toThrow(
      /env\.json: unknown top-level key\(s\) "extra"/,
    );
    expect(() => loadProfile('no-such-profile')).toThrow(/neither a file nor a built-in profile/);
  });
});

describe.each(getTestDatabaseTargets())('config versions on $name', (target) => {
  let database: Database & { drop(): Promise<void> };

  beforeAll(async () => {
    database = await target.open();
    await database.query(`INSERT INTO namespaces (id, name) VALUES ('cfg', 'cfg')`);
  });
  afterAll(() => database?.drop());

  it('stores immutable numbered versions and walks back through activations on rollback', async () => {
    expect((await getActiveConfig(database, 'cfg')).version).toBeNull();
    const v1 = await saveConfig(database, 'cfg', { config: { diversity: { lambda: 0.5 } }, name: 'a' });
    const v2 = await saveConfig(database, 'cfg', { config: { diversity: { lambda: 0.6 } }, activate: true });
    const v3 = await saveConfig(database, 'cfg', { config: { diversity: { lambda: 0.7 } }, note: 'n' });
    expect([v1.version, v2.version, v3.version]).toEqual([1, 2, 3]);
    expect(v2.active).toBe(true);
    expect((await getActiveConfig(database, 'cfg')).resolved.diversity.lambda).toBe(0.6);

    await activateConfig(database, 'cfg', 3);
    await activateConfig(database, 'cfg', 1);
    const listed = await listConfigs(database, 'cfg');
    expect(listed.map((v) => [v.version, v.active])).toEqual([
      [3, false],
      [2, false],
      [1, true],
    ]);
    expect(listed[2]?.config).toEqual({ diversity: { lambda: 0.5 } });

    // History: defaults → 2 → 3 → 1. Rollbacks go 1 → 3 → 2 → defaults, then refuse.
    expect((await rollbackConfig(database, 'cfg')).version).toBe(3);
    expect((await rollbackConfig(database, 'cfg')).version).toBe(2);
    expect((await rollbackConfig(database, 'cfg')).version).toBeNull();
    expect((await getActiveConfig(database, 'cfg')).resolved.diversity.lambda).toBe(0.8);
    await expect(rollbackConfig(database, 'cfg')).rejects.toThrow(/Nothing to roll back/);

    const changes = await database.query<{ kind: string }>(
      `SELECT kind FROM changes WHERE namespace_id = 'cfg' ORDER BY id`,
    );
    expect(changes.map((c) => c.kind)).toEqual(Array(6).fill('config'));
  });

  it('refuses unknown versions, unknown namespaces and invalid configs with clear errors', async () => {
    await expect(activateConfig(database, 'cfg', 99)).rejects.toThrow(/Config version 99 does not exist/);
    await expect(getActiveConfig(database, 'nope')).rejects.toThrow(/Namespace "nope" does not exist/);
    await expect(saveConfig(database, 'cfg', { config: { ranking: { topK: 3 } } })).rejects.toThrow(
      /ranking: unknown key "topK"/,
    );
  });
});

describe.each(getTestDatabaseTargets())('switching profiles on a running server ($name)', (target) => {
  let database: Database & { drop(): Promise<void> };
  let stack: Awaited<ReturnType<typeof startTestServer>>;
  let shop: TestTenant;
  let replica: EngineHost;
  const now = Date.now();
  const ts = (minutesAgo: number) => new Date(now - minutesAgo * 60_000).toISOString();

  beforeAll(async () => {
    database = await target.open();
    stack = await startTestServer(database, { engine: { encoder: null } });
    shop = await stack.tenant('live');
    await shop.admin.items.upsert.mutate({
      items: ['a', 'b', 'c', 'd'].map((id) => ({ itemId: id, title: `Item ${id}`, category: 'mugs' })),
    });
    // u1 bought "a" two days ago (no longer "just bought"); others made "a" and "b" popular.
    await shop.admin.events.batch.mutate({
      events: [
        { eventId: 'p1', type: 'purchase', itemId: 'a', userId: 'u1', ts: ts(2 * 24 * 60) },
        ...[2, 3, 4].flatMap((u) => [
          { eventId: `pa${u}`, type: 'purchase', itemId: 'a', userId: `u${u}`, ts: ts(30) },
          { eventId: `pb${u}`, type: 'purchase', itemId: 'b', userId: `u${u}`, ts: ts(30) },
        ]),
      ],
    });
    await stack.engines!.catchUp();
    // A second engine host over the same database stands in for another server process.
    replica = new EngineHost({ database, log: createLogger({ level: 'silent' }), encoder: null });
    await replica.start();
    await replica.catchUp();
  });
  afterAll(async () => {
    await replica?.stop();
    await stack?.close();
    await database?.drop();
  });

  const forU1 = async () =>
    (await shop.admin.recs.forUser.query({ userId: 'u1', k: 4 })).items.map((i) => i.itemId);
  const replicaForU1 = () =>
    replica
      .get('live')
      .engine.recommend({ surface: 'forUser', userKey: 'u1', k: 4 })
      .items.map((i) => i.itemId);

  it('changes served lists after activate and restores them on rollback, without a restart', async () => {
    expect(await forU1()).toContain('a');
    expect(replicaForU1()).toContain('a');

    const saved = await shop.admin.admin.config.save.mutate({
      config: { excludePurchased: { forUser: true } },
      name: 'no-repeats',
      note: 'hide what the user just bought',
    });
    expect(saved).toMatchObject({ version: 1, active: false });
    // Saving alone changes nothing.
    await stack.engines!.catchUp();
    expect(await forU1()).toContain('a');

    await shop.admin.admin.config.activate.mutate({ version: 1 });
    await stack.engines!.catchUp();
    expect(await forU1()).not.toContain('a');
    expect(await shop.admin.admin.config.get.query({})).toMatchObject({ version: 1, name: 'no-repeats' });

    // The other process follows within one poll.
    await replica.catchUp();
    expect(replica.get('live').configVersion).toBe(1);
    expect(replicaForU1()).not.toContain('a');

    expect(await shop.admin.admin.config.rollback.mutate({})).toEqual({ version: null, previous: 1 });
    await stack.engines!.catchUp();
    await replica.catchUp();
    expect(await forU1()).toContain('a');
    expect(replicaForU1()).toContain('a');
    expect((await shop.admin.admin.config.list.query({})).map((v) => v.active)).toEqual([false]);
  });

  it('refuses an invalid config through the API with the offending path', async () => {
    await expect(
      shop.admin.admin.config.save.mutate({ config: { diversity: { lamda: 0.2 } } as never }),
    ).rejects.toThrow(/config\.diversity: unknown key "lamda"/);
    await expect(
      shop.admin.admin.config.save.mutate({
        config: { popularity: { trendingShortMs: 9, trendingLongMs: 3 } },
      }),
    ).rejects.toThrow(/popularity\.trendingLongMs/);
  });
});
