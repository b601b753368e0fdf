import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createApiKey,
  createLogger,
  type Database,
  EngineHost,
  resetNamespace,
  saveConfig,
} from '../../index';
import { getTestDatabaseTargets } from '../../testing';
import { writeEvidence } from './evidence';
import { loadSeed, seedNamespace, shiftToNow } from './seed';

const dir = mkdtempSync(join(tmpdir(), 'recsys-seed-'));
const fixturePath = join(dir, 'shop.yml');
writeFileSync(fixturePath, 'generate:\n  template: retail\n  seed: 3\n  items: 60\n  sessions: 250\n');

const count = async (database: Database, table: string, ns: string) =>
  Number(
    (
      await database.query<{ n: string }>(
        `SELECT count(*)::text AS n FROM ${table} WHERE namespace_id = $1`,
        [ns],
      )
    )[0]?.n,
  );

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('seed sources', () => {
  it('loads a YAML generator spec and explains an invalid fixture with its path', async () => {
    const loaded = await loadSeed({ kind: 'fixture', path: fixturePath });
    expect(loaded.seed).toBe(3);
    expect(loaded.data.items).toHaveLength(60);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ items: [{ itemId: 'x' }] }));
    await expect(loadSeed({ kind: 'fixture', path: bad })).rejects.toThrow(/items\[0\]\.title/);
    await expect(loadSeed({ kind: 'dataset', name: 'movielens', dataDir: dir })).rejects.toThrow(
      /Dataset 'movielens' not found/,
    );
  });

  it('moves every timestamp by one offset so the newest event is now', async () => {
    const { data } = await loadSeed({ kind: 'fixture', path: fixturePath });
    const now = new Date('2030-01-01T00:00:00.000Z');
    const shifted = shiftToNow(data, now);
    const latest = Math.max(...shifted.data.events.map((e) => Date.parse(e.ts)));
    expect(latest).toBe(now.getTime());
    const gap = (events: typeof data.events) => Date.parse(events[10]!.ts) - Date.parse(events[0]!.ts);
    expect(gap(shifted.data.events)).toBe(gap(data.events));
  });
});

describe.each(getTestDatabaseTargets())('seed and reset on $name', (target) => {
  let database: Database & { drop(): Promise<void> };

  beforeAll(async () => {
    database = await target.open();
  });
  afterAll(() => database?.drop());

  it('creates the namespace, stores every row through the store functions and reports counts', async () => {
    const loaded = await loadSeed({ kind: 'fixture', path: fixturePath });
    const phases = new Set<string>();
    const result = await seedNamespace(database, 'seeded', loaded, {
      batchSize: 200,
      onProgress: (phase, done, total) => {
        phases.add(phase);
        expect(done).toBeLessThanOrEqual(total);
      },
    });
    expect(result.createdNamespace).toBe(true);
    expect([...phases]).toEqual(['items', 'users', 'events']);
    expect(result.items).toMatchObject({ total: 60, accepted: 60, rejected: 0 });
    expect(result.events.accepted).toBe(loaded.data.events.length);
    expect(result.events.rejected).toBe(0);
    expect(await count(database, 'items', 'seeded')).toBe(60);
    expect(await count(database, 'users', 'seeded')).toBe(loaded.data.users.length);
    expect(await count(database, 'events', 'seeded')).toBe(loaded.data.events.length);
    const archived = loaded.data.items.filter((i) => i.archived).length;
    expect(result.items.archived).toBe(archived);
    expect(Object.values(result.summary.users.bySegment).reduce((a, b) => a + b, 0)).toBe(
      loaded.data.users.length,
    );
    expect(result.summary.sampleTraits.length).toBeGreaterThan(0);

    // Seeding again is idempotent: events are duplicates, nothing is stored twice.
    const again = await seedNamespace(database, 'seeded', loaded);
    expect(again.createdNamespace).toBe(false);
    expect(again.events).toMatchObject({ accepted: 0, duplicates: loaded.data.events.length });
    expect(await count(database, 'events', 'seeded')).toBe(loaded.data.events.length);

    const path = writeEvidence(join(dir, 'reports'), 'seeded', 'seed', result);
    expect(path).toMatch(/reports\/seeded\/seed-\d{4}-\d\d-\d\dT[\d-]+Z\.json$/);
    expect(JSON.parse(readFileSync(path, 'utf8')).events.accepted).toBe(loaded.data.events.length);
  });

  it('reports rejected rows by their index in the whole input', async () => {
    const result = await seedNamespace(database, 'rejects', {
      data: {
        items: [{ itemId: 'ok', title: 'Fine', available: true, archived: false, tags: [], props: {} }],
        users: [],
        events: [
          {
            eventId: 'e1',
            type: 'view',
            itemId: 'ok',
            userId: 'u',
            sessionId: 's',
            ts: '2024-01-01T00:00:00.000Z',
          },
          { eventId: 'e2', type: 'view', itemId: 'ok', userId: 'u', sessionId: 's', ts: 'yesterday' },
        ],
      },
      label: 'inline',
      seed: undefined,
      importReport: undefined,
    });
    expect(result.events).toMatchObject({ accepted: 1, rejected: 1 });
    expect(result.events.rejectedSamples[0]).toMatchObject({ index: 1, path: expect.stringContaining('ts') });
  });

  it('empties the data, keeps keys and configs, records a reset that engine hosts rebuild from', async () => {
    await createApiKey(database, 'seeded', { kind: 'secret' });
    await saveConfig(database, 'seeded', { config: { diversity: { lambda: 0.6 } }, activate: true });
    const host = new EngineHost({ database, log: createLogger({ level: 'silent' }), encoder: null });
    await host.start();
    // Start-up reads what the database horizon shows; anything it held back arrives with the polls.
    await host.catchUp();
    try {
      const before = host.get('seeded').engine.recommend({ surface: 'trending', k: 5 });
      expect(before.items.length).toBeGreaterThan(0);

      const items = await count(database, 'items', 'seeded');
      const result = await resetNamespace(database, 'seeded');
      expect(result.deleted).toMatchObject({ items, users: expect.any(Number), events: expect.any(Number) });
      expect(result.deleted.events).toBeGreaterThan(0);
      for (const table of [
        'items',
        'users',
        'events',
        'aliases',
        'item_embeddings',
        'rec_logs',
        'rec_traces',
      ]) {
        expect(await count(database, table, 'seeded')).toBe(0);
      }
      expect(await count(database, 'api_keys', 'seeded')).toBe(1);
      expect(await count(database, 'engine_configs', 'seeded')).toBe(1);
      const [change] = await database.query<{ kind: string }>(
        `SELECT kind FROM changes WHERE namespace_id = 'seeded' ORDER BY id DESC LIMIT 1`,
      );
      expect(change?.kind).toBe('reset');

      await host.catchUp();
      expect(host.get('seeded').engine.recommend({ surface: 'trending', k: 5 }).items).toEqual([]);
      expect(host.get('seeded').configVersion).toBe(1);
    } finally {
      await host.stop();
    }

    const all = await resetNamespace(database, 'seeded', { all: true });
    expect(all.deleted).toMatchObject({ api_keys: 1, engine_configs: 1 });
    expect(await count(database, 'api_keys', 'seeded')).toBe(0);
    await expect(resetNamespace(database, 'missing')).rejects.toThrow(/Namespace "missing" does not exist/);
  });
});
