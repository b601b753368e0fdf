import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTextEncoder, type EmbeddingEncoder, ENGINE_SNAPSHOT_FORMAT } from '@recsys/engine';
import { SURFACES } from '@recsys/engine/protocol';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createNamespace } from '../auth/namespaces';
import { activateConfig, saveConfig } from '../config/store';
import type { Database } from '../db/client';
import { ingestEvents } from '../ingest/events';
import { forgetUser } from '../ingest/forget';
import { upsertItems } from '../ingest/items';
import { aliasUser, upsertUsers } from '../ingest/users';
import { getTestDatabaseTargets } from '../testing';
import { EngineHost } from './EngineHost';
import { readCurrentXmin, readNextTransactionId } from './reads';
import { snapshotPath } from './snapshotFiles';

const DAY = 86_400_000;
const START = Date.now() - 20 * DAY;
const ITEMS = 60;

/** `count` events spread over a day from `day`, deterministic, by 30 users (some anonymous). */
function events(prefix: string, day: number, count: number) {
  const types = ['view', 'view', 'click', 'add', 'purchase'] as const;
  return Array.from({ length: count }, (_, n) => {
    const user = (n * 7 + day) % 30;
    return {
      eventId: `${prefix}-${n}`,
      type: types[(n * 3 + user) % types.length]!,
      itemId: `sku-${String((n * 13 + user * 5) % ITEMS).padStart(2, '0')}`,
      ...(user % 5 === 0 ? { anonymousId: `anon-${user}` } : { userId: `u${user}` }),
      sessionId: `${prefix}-s${user}-${Math.floor(n / 25)}`,
      ts: new Date(START + day * DAY + n * 60_000).toISOString(),
    };
  });
}

/**
 * Makes `host.start()` wait until the poll horizon has passed every write made before it: a
 * transaction open elsewhere on the database server (another suite's) holds the horizon back, and a
 * host started meanwhile would load, and snapshot, less than the test wrote.
 */
function startsAfterEveryWrite(host: EngineHost, database: Database): void {
  const start = host.start.bind(host);
  host.start = async () => {
    const target = await readNextTransactionId(database);
    // vi.waitFor, not expect.poll: hosts also start in beforeAll hooks.
    await vi.waitFor(
      async () => {
        const horizon = await readCurrentXmin(database);
        if (horizon < target) throw new Error(`poll horizon ${horizon}, writes up to ${target}`);
      },
      { timeout: 240_000, interval: 20 },
    );
    await start();
  };
}

/** Every surface for many users and items, with reasons. */
function answers(host: EngineHost, namespaceId = 'shop') {
  const rt = host.get(namespaceId);
  const out: unknown[] = [];
  for (let n = 0; n < 30; n++) {
    for (const surface of SURFACES) {
      out.push(
        rt.engine.recommend({
          surface,
          k: 6,
          userKey: n % 5 === 0 ? `anon:anon-${n}` : `u${n}`,
          itemId: `sku-${String((n * 7) % ITEMS).padStart(2, '0')}`,
          cartItemIds: [`sku-${String(n % ITEMS).padStart(2, '0')}`],
          explain: true,
          now: START + 30 * DAY,
        }),
      );
    }
  }
  return { lists: out, stats: rt.engine.stats(), display: [...rt.display], aliases: [...rt.aliases] };
}

for (const target of getTestDatabaseTargets()) {
  describe(`engine snapshots (${target.name})`, () => {
    let database: Database & { drop(): Promise<void> };
    const dirs: string[] = [];
    const hosts: EngineHost[] = [];
    const settings = {};

    /** A host keeping snapshots in `dir`, with its log lines. */
    function host(dir: string | undefined) {
      const logs: Array<Record<string, unknown>> = [];
      const log = pino({ level: 'info' }, { write: (line: string) => logs.push(JSON.parse(line)) });
      const h = new EngineHost({ database, log, encoder: null, snapshotDir: dir, pollIntervalMs: 50 });
      startsAfterEveryWrite(h, database);
      hosts.push(h);
      return { host: h, logs, find: (msg: string) => logs.filter((l) => l.msg === msg) };
    }
    const tempDir = () => {
      const dir = mkdtempSync(join(tmpdir(), 'recsys-snapshots-'));
      dirs.push(dir);
      return dir;
    };

    beforeAll(async () => {
      database = await target.open();
      for (const ns of ['shop', 'other']) {
        await createNamespace(database, ns);
        await upsertItems(
          database,
          ns,
          Array.from({ length: ITEMS }, (_, i) => ({
            itemId: `sku-${String(i).padStart(2, '0')}`,
            title: `Item ${i}`,
            price: 10 + i,
            currency: 'EUR',
            tags: [`category:c${i % 4}`, `brand:b${i % 6}`],
          })),
        );
        await ingestEvents(database, ns, settings, events('old', 0, 600));
      }
      await upsertUsers(database, 'shop', settings, [{ userId: 'u1', traits: { segment: 'vip' } }]);
    });
    afterAll(async () => {
      for (const h of hosts) await h.stop();
      await database?.drop();
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    });

    it('starts from a snapshot, applies the rows written after it, and answers exactly like the host that ran throughout', async () => {
      const dir = tempDir();
      const running = host(dir);
      await running.host.start();
      expect(running.find('no engine snapshot; building from the database')).toHaveLength(2);
      await running.host.writeSnapshots();
      expect(running.find('engine snapshot written').map((l) => l.namespaceId)).toEqual(['other', 'shop']);

      // Written after the snapshot: events (a new visitor, logged in), a price change, a new item, traits.
      await upsertItems(database, 'shop', [
        { itemId: 'sku-03', price: 99 },
        { itemId: 'sku-zz', title: 'New', tags: ['category:c1'] },
      ]);
      await aliasUser(database, 'shop', 'anon-new', 'u3');
      // Written in the order a poll applies them (users, aliases, items, then events): the running
      // host may see them over several polls, and must apply them in the restarted host's order.
      await upsertUsers(database, 'shop', settings, [{ userId: 'u2', traits: { segment: 'new' } }]);
      await ingestEvents(database, 'shop', settings, [
        ...events('new', 5, 120),
        {
          eventId: 'n-1',
          type: 'view',
          itemId: 'sku-zz',
          anonymousId: 'anon-new',
          ts: new Date(START + 6 * DAY).toISOString(),
        },
      ]);
      await running.host.catchUp();

      const restarted = host(dir);
      await restarted.host.start();
      const [restored] = restarted
        .find('engine restored from snapshot')
        .filter((l) => l.namespaceId === 'shop');
      expect(restored).toMatchObject({ eventsSince: 121, snapshotEvents: 600 });
      // What decides the heap compaction after loading: the events the indexes hold, restored ones
      // included (decoding a large snapshot fragments the heap as a build does), not only those read.
      expect(restarted.find('engine indexes loaded')[0]).toMatchObject({ events: 600 + 121 + 600 });
      expect(answers(restarted.host)).toEqual(answers(running.host));
      expect(answers(restarted.host, 'other')).toEqual(answers(running.host, 'other'));
      // The events after the snapshot are served: the new visitor's view, under the user it logged in as.
      const recent = restarted.host
        .get('shop')
        .engine.recommend({ surface: 'recentlyViewed', userKey: 'u3', k: 3 });
      expect(recent.items.map((i) => i.itemId)).toContain('sku-zz');
      expect(restarted.host.get('shop').display.get('sku-03')?.price).toBe(99);

      // Nothing applied on top of "other": its snapshot is not rewritten at shutdown; "shop"'s is.
      await restarted.host.stop();
      expect(restarted.find('engine snapshot written').map((l) => l.namespaceId)).toEqual(['shop']);
      expect(restarted.host.freshness.snapshots).toHaveProperty('other');
    });

    it('snapshots a namespace again at the next interval once rows were applied to it', async () => {
      const dir = tempDir();
      const { logs, find } = host(undefined);
      const log = pino({ level: 'info' }, { write: (line: string) => logs.push(JSON.parse(line)) });
      const periodic = new EngineHost({
        database,
        log,
        encoder: null,
        snapshotDir: dir,
        snapshotIntervalMs: 100,
      });
      hosts.push(periodic);
      startsAfterEveryWrite(periodic, database);
      await periodic.start();
      const written = () => find('engine snapshot written').filter((l) => l.namespaceId === 'shop').length;
      await expect.poll(written, { timeout: 240_000, interval: 20 }).toBe(1);
      await ingestEvents(database, 'shop', settings, events('periodic', 8, 5));
      await periodic.catchUp();
      await expect.poll(written, { timeout: 240_000, interval: 20 }).toBe(2);
      const restarted = host(dir);
      await restarted.host.start();
      expect(
        restarted.find('engine restored from snapshot').find((l) => l.namespaceId === 'shop'),
      ).toMatchObject({
        eventsSince: 0,
      });
    });

    describe('refuses a snapshot it cannot trust, says why in the log, and builds from the database', () => {
      let dir: string;
      let reference: ReturnType<typeof answers>;
      beforeAll(async () => {
        dir = tempDir();
        const first = host(dir);
        await first.host.start();
        await first.host.stop();
        const built = host(undefined);
        await built.host.start();
        reference = answers(built.host);
      });

      async function startWith(bytes: Uint8Array | undefined, file = 'shop') {
        const scratch = tempDir();
        if (bytes) writeFileSync(snapshotPath(scratch, file), bytes);
        const started = host(scratch);
        await started.host.start();
        expect(answers(started.host)).toEqual(reference);
        expect(started.find('engine restored from snapshot').filter((l) => l.namespaceId === 'shop')).toEqual(
          [],
        );
        return started
          .find('engine snapshot refused; building from the database')
          .find((l) => l.namespaceId === 'shop')?.reason;
      }
      const good = () => readFileSync(snapshotPath(dir, 'shop'));

      it('a truncated file', async () => {
        const bytes = good();
        expect(await startWith(bytes.subarray(0, bytes.length - 1000))).toMatch(/checksum|truncated/);
        expect(await startWith(bytes.subarray(0, bytes.length / 2))).toMatch(/truncated/);
      });

      it('a byte changed in the engine state or in what the server keeps beside it', async () => {
        const engineState = good();
        engineState[Math.floor(engineState.length / 3)]! ^= 0xff;
        expect(await startWith(engineState)).toMatch(/checksum mismatch/);
        const runtime = good();
        runtime[runtime.length - 5]! ^= 0xff;
        expect(await startWith(runtime)).toMatch(/checksum mismatch in the runtime part/);
      });

      it('a snapshot of another engine format', async () => {
        const old = good();
        old.writeUInt32LE(0, 8 + 8); // the engine part's format field
        expect(await startWith(old)).toContain(
          `snapshot format 0, this engine reads format ${ENGINE_SNAPSHOT_FORMAT}`,
        );
      });

      it('a snapshot of another namespace, or no snapshot at all', async () => {
        const scratch = tempDir();
        copyFileSync(snapshotPath(dir, 'other'), snapshotPath(scratch, 'shop'));
        expect(await startWith(readFileSync(snapshotPath(scratch, 'shop')))).toMatch(
          /snapshot of namespace "other"/,
        );
        expect(await startWith(Buffer.from('not a snapshot at all'))).toMatch(/not a namespace snapshot/);
      });

      it('a snapshot taken before a user was forgotten or the config changed', async () => {
        const before = good();
        await forgetUser(database, 'shop', 'u7');
        const built = host(undefined);
        await built.host.start();
        reference = answers(built.host);
        expect(await startWith(before)).toMatch(/a forget since the snapshot/);

        const fresh = tempDir();
        const writer = host(fresh);
        await writer.host.start();
        await writer.host.stop();
        const saved = await saveConfig(database, 'shop', { config: { diversity: { maxPerBrand: 2 } } });
        await activateConfig(database, 'shop', saved.version);
        const rebuilt = host(undefined);
        await rebuilt.host.start();
        reference = answers(rebuilt.host);
        expect(await startWith(readFileSync(snapshotPath(fresh, 'shop')))).toMatch(
          /config version null in the snapshot, \d+ active/,
        );
      });

      it('a snapshot whose events the database no longer holds (a backup restored, events deleted)', async () => {
        const fresh = tempDir();
        const writer = host(fresh);
        await writer.host.start();
        await writer.host.stop();
        await database.query("DELETE FROM events WHERE namespace_id = 'shop' AND event_id = 'old-5'");
        const rebuilt = host(undefined);
        await rebuilt.host.start();
        reference = answers(rebuilt.host);
        expect(await startWith(readFileSync(snapshotPath(fresh, 'shop')))).toMatch(
          /the database holds \d+ events below the snapshot's watermark, the snapshot was built from \d+/,
        );
      });
    });
  });
}

const TEXTS: Record<string, string> = {
  'tent-1': 'Two person hiking tent, lightweight and waterproof, for trekking',
  'tent-2': 'Family camping tent with two rooms, waterproof',
  'bag-1': 'Down sleeping bag, warm, for camping and trekking',
  'bag-2': 'Summer sleeping bag for camping, light',
  'mat-1': 'Inflatable sleeping mat for the tent',
  'mug-1': 'Porcelain espresso cup for strong coffee',
  'mug-2': 'Large tea mug, stoneware',
  'pan-1': 'Cast iron frying pan for the kitchen stove',
  'pan-2': 'Non-stick pan for eggs and pancakes',
  'pot-1': 'Stock pot for soups, stainless steel',
  'lamp-1': 'Head lamp for night hikes, LED',
  'lamp-2': 'Desk lamp for the kitchen table',
};

for (const target of getTestDatabaseTargets()) {
  describe(`engine snapshots with text embeddings (${target.name})`, () => {
    let database: Database & { drop(): Promise<void> };
    let encoder: EmbeddingEncoder;
    const hosts: EngineHost[] = [];
    const dir = mkdtempSync(join(tmpdir(), 'recsys-snapshots-vectors-'));
    const settings = {};

    function host(snapshotDir: string) {
      const logs: Array<Record<string, unknown>> = [];
      const log = pino({ level: 'info' }, { write: (line: string) => logs.push(JSON.parse(line)) });
      const h = new EngineHost({ database, log, encoder, snapshotDir, pollIntervalMs: 50 });
      startsAfterEveryWrite(h, database);
      hosts.push(h);
      return {
        host: h,
        find: (msg: string) => logs.filter((l) => l.msg === msg && l.namespaceId === 'text'),
      };
    }

    /** similar and forUser lists with reasons, and the vector index's own answers. */
    function answers(h: EngineHost) {
      const rt = h.get('text');
      const ids = [...rt.display.keys()].sort();
      return {
        similar: ids.map((itemId) =>
          rt.engine.recommend({ surface: 'similar', itemId, k: 5, explain: true, now: START + 30 * DAY }),
        ),
        forUser: ['u1', 'u2', 'u3'].map((userKey) =>
          rt.engine.recommend({ surface: 'forUser', userKey, k: 5, explain: true, now: START + 30 * DAY }),
        ),
        neighbors: ids.map((itemId) => rt.vectors!.neighborsOf(itemId, 6)),
        index: {
          size: rt.vectors!.size,
          trained: rt.vectors!.trained,
          generation: rt.vectors!.generation,
          hasNeighborTable: rt.vectors!.hasNeighborTable,
        },
        pending: [...rt.pendingEmbeddings.keys()],
      };
    }

    beforeAll(async () => {
      database = await target.open();
      encoder = await createTextEncoder({ kind: 'builtin', dim: 64 });
      await createNamespace(database, 'text');
      const items = Object.entries(TEXTS).filter(([itemId]) => !itemId.endsWith('-2'));
      await upsertItems(
        database,
        'text',
        items.map(([itemId, title]) => ({ itemId, title })),
      );
      await ingestEvents(
        database,
        'text',
        settings,
        ['tent-1', 'bag-1', 'mug-1', 'pan-1', 'tent-1', 'mat-1'].map((itemId, n) => ({
          eventId: `t-${n}`,
          type: 'view' as const,
          itemId,
          userId: `u${(n % 3) + 1}`,
          ts: new Date(START + DAY + n * 60_000).toISOString(),
        })),
      );
    });
    afterAll(async () => {
      for (const h of hosts) await h.stop();
      await encoder?.dispose();
      await database?.drop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('restores the vector index itself (lists and neighbour table) and applies the vectors written after it', async () => {
      const running = host(dir);
      await running.host.start();
      await running.host.drainEmbeddings();
      const vectors = running.host.get('text').vectors!;
      // Too few items for the index to train itself: train it by hand, and let the host build the
      // neighbour table in the background as it does after any training.
      await vectors.train();
      await expect.poll(() => vectors.hasNeighborTable, { timeout: 240_000, interval: 50 }).toBe(true);
      await running.host.writeSnapshots({ all: true });
      expect(running.find('engine snapshot written')).toHaveLength(1);

      // Written after the snapshot: new items, and an item whose text changed (a new vector).
      await upsertItems(database, 'text', [
        { itemId: 'tent-2', title: TEXTS['tent-2']! },
        { itemId: 'mug-2', title: TEXTS['mug-2']! },
        { itemId: 'pan-1', title: TEXTS['pan-2']! },
      ]);
      await running.host.drainEmbeddings();
      expect(vectors.has('tent-2')).toBe(true);

      const restarted = host(dir);
      await restarted.host.start();
      expect(restarted.find('engine restored from snapshot')).toHaveLength(1);
      await restarted.host.catchUp();
      expect(answers(restarted.host)).toEqual(answers(running.host));
      expect(restarted.host.get('text').vectors!.writeCount).toBe(vectors.writeCount);
      // Retraining would renumber the lists: the restored index is the snapshot's, not a new one.
      expect(answers(restarted.host).index).toMatchObject({ trained: true, hasNeighborTable: true });
      expect(restarted.host.get('text').vectors!.get('pan-1')).toEqual(vectors.get('pan-1'));

      // And it goes on following the database: a vector stored now arrives by the poll.
      await upsertItems(database, 'text', [
        { itemId: 'bag-2', title: TEXTS['bag-2']! },
        { itemId: 'lamp-2', title: TEXTS['lamp-2']! },
      ]);
      await running.host.drainEmbeddings();
      await restarted.host.drainEmbeddings();
      await running.host.catchUp();
      expect(restarted.host.get('text').vectors!.has('lamp-2')).toBe(true);
      expect(answers(restarted.host)).toEqual(answers(running.host));
    });

    it('refuses a snapshot whose vector index was altered, says so, and builds from the database', async () => {
      const bytes = readFileSync(snapshotPath(dir, 'text'));
      bytes[bytes.length - 100]! ^= 0xff;
      const scratch = mkdtempSync(join(dir, 'altered-'));
      writeFileSync(snapshotPath(scratch, 'text'), bytes);
      const started = host(scratch);
      await started.host.start();
      await started.host.catchUp();
      expect(started.find('engine restored from snapshot')).toEqual([]);
      expect(started.find('engine snapshot refused; building from the database')[0]?.reason).toMatch(
        /checksum mismatch in a vector index snapshot/,
      );
      // Every item's stored vector, read from the database (pan-2 is no item: pan-1 took its text).
      expect(started.host.get('text').vectors!.size).toBe(Object.keys(TEXTS).length - 1);
    });
  });
}
