import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { generate } from '@recsys/fixtures';
import { is } from 'drizzle-orm';
import { getTableConfig, PgTable } from 'drizzle-orm/pg-core';
import { afterAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../auth/namespaces';
import { saveConfig } from '../../config';
import { addOperator } from '../../console/operators';
import { createSession } from '../../console/sessions';
import { createExperiment, transitionExperiment } from '../../experiments/store';
import { forgetUser } from '../../ingest/forget';
import { aliasUser } from '../../ingest/users';
import { seedNamespace } from '../../lab';
import { createRule, setRuleEnabled } from '../../rules/store';
import { getTestDatabaseTargets, type TestDatabaseTarget } from '../../testing';
import type { Database } from '../client';
import * as schema from '../schema';
import { backupTables } from './backupFormat';
import { restoreBackup } from './restoreBackup';
import { writeBackup } from './writeBackup';

type TestDatabase = Awaited<ReturnType<TestDatabaseTarget['open']>>;

const dir = mkdtempSync(join(tmpdir(), 'recsys-backup-'));
const targets = getTestDatabaseTargets();
const opened: TestDatabase[] = [];
afterAll(async () => {
  for (const database of opened) await database.drop();
  rmSync(dir, { recursive: true, force: true });
});

async function open(target: TestDatabaseTarget): Promise<TestDatabase> {
  const database = await target.open();
  opened.push(database);
  return database;
}

/**
 * Fills every table through the functions the API uses (seeded shop data, keys, configuration,
 * login, erasure) and, for what only a running engine writes (embeddings, served lists), with
 * rows of the same shape; plus values that are easy to lose on the way: microseconds, bytes
 * that are not text, Unicode, long decimals.
 */
async function seedEveryTable(database: Database) {
  const data = generate({ template: 'retail', seed: 11, items: 30, sessions: 60 });
  for (const namespaceId of ['shop', 'outlet']) {
    await seedNamespace(database, namespaceId, {
      data,
      label: 'generated',
      seed: 11,
      importReport: undefined,
    });
    await createApiKey(database, namespaceId, { kind: 'secret', label: 'server' });
    await createApiKey(database, namespaceId, {
      kind: 'publishable',
      allowedOrigins: ['https://shop.example'],
    });
  }
  await saveConfig(database, 'shop', { config: { diversity: { lambda: 0.6 } }, activate: true });
  const [withUser] = data.events.filter((e) => e.userId);
  await aliasUser(database, 'shop', 'anon-login', withUser!.userId!);
  await forgetUser(database, 'outlet', withUser!.userId!);
  await database.query(
    `INSERT INTO events (namespace_id, event_id, type, item_id, anonymous_id, ts, received_at, value, meta)
     VALUES ('shop', 'precise', 'purchase', $1, 'anon-µ', '2026-03-04 05:06:07.123456+00', now(), 0.30000000000000004, '{"note":"Grüße 🛒","n":[1,2.5]}')`,
    [data.items[0]!.itemId],
  );
  await database.query(
    `INSERT INTO item_embeddings (namespace_id, item_id, model_id, text_hash, vector)
     SELECT 'shop', item_id, 'test-model', md5(item_id), decode('00ff7f80' || md5(item_id), 'hex') FROM items WHERE namespace_id = 'shop'`,
  );
  await database.query(
    `INSERT INTO learned_encoders (namespace_id, model_id, model, weights, item_ids, item_vectors)
     VALUES ('shop', 'learned-test', '{"version":1,"dim":1,"info":{"ridge":10}}', decode('0000803f', 'hex'), '["a"]', decode('00ff7f80', 'hex'))`,
  );
  await database.query(
    `INSERT INTO rec_logs (namespace_id, request_id, surface, anonymous_id, items, fallback, config_version, segment, duration_ms)
     VALUES ('shop', 'req-1', 'forUser', 'anon-login', '[{"itemId":"i","rank":1,"score":0.5}]', false, 1, 'vip "Grüße" 🛒', 12.345678901234567),
            ('shop', 'req-2', 'trending', NULL, '[]', true, NULL, NULL, NULL)`,
  );
  // Failed requests per variant, as the served-list writer counts them.
  // Per-minute event → index waits, by replica.
  await database.query(
    `INSERT INTO index_freshness (namespace_id, minute, replica, max_lag_ms)
     VALUES ('shop', '2026-12-06 10:10:00+00', 'host:1', 412.5), ('shop', '2026-12-06 10:10:00+00', 'host:2', 38)`,
  );
  await database.query(
    `INSERT INTO experiment_failures (namespace_id, experiment_id, variant, minute, failed, last_failed_at)
     VALUES ('shop', 'blend', 'retail', '2026-12-06 10:10:00+00', 3, '2026-12-06 10:10:00.123456+00')`,
  );
  await createExperiment(
    database,
    'shop',
    {
      id: 'blend',
      name: 'Retail blend',
      variants: [
        { key: 'control', kind: 'control' },
        { key: 'retail', kind: 'profile', profile: 'online-retail' },
      ],
      guardrails: { rules: [{ metric: 'emptyListRate', max: 0.2 }] },
    },
    'test',
  );
  await transitionExperiment(database, 'shop', 'blend', 'start', 'test', { reason: 'Grüße' });
  // A bandit: its settings and its first allocation (weights like 1/3 that JSON must carry exactly).
  await createExperiment(
    database,
    'shop',
    {
      id: 'bandit',
      name: 'Bandit',
      variants: [
        { key: 'control', kind: 'control' },
        { key: 'a', kind: 'surface', enabled: true },
        { key: 'b', kind: 'surface', enabled: true },
      ],
      target: { surfaces: ['trending'] },
      allocation: 'bandit',
      bandit: { holdout: 0.1, floor: 0.05 },
    },
    'test',
  );
  // A rule with a schedule in a time zone, disabled once: its row and both changes round-trip.
  await createRule(
    database,
    'shop',
    {
      id: 'winter',
      kind: 'boost',
      items: { tags: ['category:mugs'] },
      multiplier: 1.5,
      schedule: { timeZone: 'Europe/Berlin', start: '2026-12-01T00:00', end: '2027-01-06T00:00' },
    },
    'test',
    { note: 'Grüße' },
  );
  await setRuleEnabled(database, 'shop', 'winter', false, 'test');
  // Console operators, a session (only its id's hash is stored) and a recorded change.
  await addOperator(database, 'shop', {
    name: 'ops@shop.test',
    role: 'operator',
    password: 'a long passphrase',
  });
  await createSession(database, 'shop', 'ops@shop.test');
  await database.query(
    `INSERT INTO operator_audit (namespace_id, operator_name, role, procedure, input)
     VALUES ('shop', 'ops@shop.test', 'operator', 'admin.rules.disable', '{"ruleId":"winter","note":"Grüße"}')`,
  );
  // A trace keeps its hashes, arrays and nested numbers; the namespace's salt travels with it.
  await database.query(
    `INSERT INTO rec_traces (namespace_id, request_id, surface, anonymous_hash, config_version, item_ids, rule_ids, trace)
     SELECT 'shop', 'req-1', 'forUser', encode(sha256(convert_to(trace_salt || ':a:anon-login', 'UTF8')), 'hex'), 1,
            '{i,gone}', '{rule-1}', '{"engine":{"items":[{"itemId":"i","score":0.30000000000000004}]},"rules":[]}'
     FROM namespaces WHERE id = 'shop'`,
  );
  // Stored bundle acceptance, as a backfill writes it.
  await database.query(
    `INSERT INTO bundle_acceptance_days (namespace_id, day, bundle_key, item_ids, shown, all_added, purchased, purchase_window_days, computed_at)
     VALUES ('shop', '2026-12-05', 'a + b', '["a","b"]', 12, 4, 3, 7, '2026-12-06 00:20:01.654321+00')`,
  );
  // Job history: a scheduled run with its per-namespace summary, and a manual dry run without a slot.
  await database.query(
    `INSERT INTO job_runs (job, slot, trigger, namespace_id, dry_run, outcome, runner, started_at, heartbeat_at, finished_at, duration_ms, summary, detail)
     VALUES ('trace-retention', '2026-12-06 10:10:00+00', 'schedule', NULL, false, 'ok', 'host:1', '2026-12-06 10:10:00.123456+00',
             '2026-12-06 10:10:00.123456+00', '2026-12-06 10:10:01.5+00', 1377, 'deleted 1,204 traces', '{"byNamespace":{"shop":"deleted 1,204 traces"}}'),
            ('guardrails', NULL, 'manual', 'shop', true, 'ok', 'host:2', now(), now(), now(), 3, 'no running experiments', '{}')`,
  );
}

/**
 * Every row of every table, in primary-key order, as PostgreSQL's JSON text. Timestamps are
 * written in UTC, so two databases in different session time zones compare equal.
 */
async function snapshot(database: Database): Promise<Record<string, string[]>> {
  const tables = (Object.values(schema) as unknown[])
    .filter((t): t is PgTable => is(t, PgTable))
    .map((t) => getTableConfig(t));
  const result: Record<string, string[]> = {};
  for (const spec of backupTables()) {
    const config = tables.find((t) => t.name === spec.name)!;
    const fields = spec.columns
      .map((name) => {
        const column = config.columns.find((c) => c.name === name)!;
        return `'${name}', ${column.columnType === 'PgTimestamp' ? `"${name}" AT TIME ZONE 'UTC'` : `"${name}"`}`;
      })
      .join(', ');
    const rows = await database.query<{ row: string }>(
      `SELECT json_build_object(${fields})::text AS row FROM "${spec.name}" ORDER BY ${spec.primaryKey.map((c) => `"${c}"`).join(', ')}`,
    );
    result[spec.name] = rows.map((r) => r.row);
  }
  return result;
}

const pairs = targets.flatMap((from) => targets.map((to) => [from, to] as const));

describe('backup and restore', () => {
  it.each(pairs.map(([from, to]) => [from.name, to.name, from, to] as const))(
    'restores a backup from %s into a fresh %s with every table equal, row by row',
    async (_from, _to, from, to) => {
      const source = await open(from);
      await seedEveryTable(source);
      const before = await snapshot(source);
      // A table added to the schema must get rows here, or this round trip would not cover it.
      const empty = Object.entries(before).filter(([, rows]) => rows.length === 0);
      expect(empty.map(([name]) => name)).toEqual([]);

      const file = join(dir, `${from.name}-to-${to.name}.recsys.gz`);
      // Small batches: the cursor and the inserts go round many times, as they do on large tables.
      const written = await writeBackup(source, file, { batchRows: 7 });
      expect(written.rows.events).toBe(before.events!.length);

      const target = await open(to);
      // The first transaction id not yet handed out: the restoring transaction gets this one or a later one.
      const nextXid = async () =>
        (await target.query<{ x: string }>('SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS x'))[0]!
          .x;
      const firstRestoreXid = BigInt(await nextXid());
      const restored = await restoreBackup(target, file, { batchRows: 5 });
      expect(restored.rows).toEqual(written.rows);
      expect(await snapshot(target)).toEqual(before);

      // Restored rows carry the restoring transaction's id (one id of the target's, handed out during
      // the restore), not the source's, so engine hosts of the target read them once it commits. The
      // oldest running transaction is not used here: other suites share this PostgreSQL and hold it back.
      const afterRestoreXid = BigInt(await nextXid());
      const txs = await target.query<{ tx: string }>('SELECT DISTINCT tx::text AS tx FROM events');
      expect(txs).toHaveLength(1);
      const restoreXid = BigInt(txs[0]!.tx);
      expect(restoreXid >= firstRestoreXid && restoreXid < afterRestoreXid).toBe(true);
      // Sequences moved past the restored ids: the next change gets a new one.
      const [{ max }] = (await target.query<{ max: number }>('SELECT max(id)::int AS max FROM changes')) as [
        { max: number },
      ];
      await forgetUser(target, 'shop', 'nobody');
      const [{ id }] = (await target.query<{ id: number }>(
        "SELECT id::int AS id FROM changes WHERE kind = 'forget' AND namespace_id = 'shop' ORDER BY id DESC LIMIT 1",
      )) as [{ id: number }];
      expect(id).toBeGreaterThan(max);
    },
  );

  const postgres = targets.find((t) => t.name === 'postgres');
  it.skipIf(!postgres)('backs up PostgreSQL while it is written to, as one consistent moment', async () => {
    const source = await open(postgres!);
    await seedEveryTable(source);
    // Each write adds a namespace and its key in one statement. Read outside one snapshot, the keys
    // (backed up after the namespaces) would include some whose namespace is not in the file.
    let writing = true;
    let written = 0;
    const writer = (async () => {
      while (writing) {
        await source.query(
          `WITH n AS (INSERT INTO namespaces (id, name) VALUES ($1, $1) RETURNING id)
           INSERT INTO api_keys (namespace_id, id, kind, hash) SELECT id, '0123456789abcdef', 'secret', 'x' FROM n`,
          [`live-${written}`],
        );
        written++;
      }
    })();
    try {
      await expect.poll(() => written).toBeGreaterThan(0);
      const file = join(dir, 'live.recsys.gz');
      const summary = await writeBackup(source, file, { batchRows: 3 });
      const target = await open(postgres!);
      await restoreBackup(target, file);
      const [live] = await target.query<{ namespaces: number; keys: number }>(
        `SELECT (SELECT count(*)::int FROM namespaces WHERE id LIKE 'live-%') AS namespaces,
                (SELECT count(*)::int FROM api_keys WHERE namespace_id LIKE 'live-%') AS keys`,
      );
      expect(live!.namespaces).toBeGreaterThan(0);
      expect(live!.keys).toBe(live!.namespaces);
      expect(summary.rows.namespaces).toBe(live!.namespaces + 2);
    } finally {
      writing = false;
      await writer;
    }
  });

  describe.each(targets)('on $name', (target) => {
    let file: string;
    let seeded: TestDatabase;

    const counts = async (database: Database) =>
      Object.fromEntries(
        await Promise.all(
          backupTables().map(async (t) => [
            t.name,
            (await database.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${t.name}"`))[0]!.n,
          ]),
        ),
      );
    const nothing = () => Object.fromEntries(backupTables().map((t) => [t.name, 0]));

    it('refuses to restore into a database that has rows, unless forced to replace them', async () => {
      seeded = await open(target);
      await seedEveryTable(seeded);
      file = join(dir, `${target.name}-self.recsys.gz`);
      await writeBackup(seeded, file);
      const before = await snapshot(seeded);

      await expect(restoreBackup(seeded, file)).rejects.toThrow(
        /target database is not empty \(rows in namespaces, api_keys, .*\).*pass --force/,
      );
      expect(await snapshot(seeded)).toEqual(before);

      await seeded.query("INSERT INTO namespaces (id, name) VALUES ('extra', 'Not in the backup')");
      const forced = await restoreBackup(seeded, file, { force: true });
      expect(forced.replaced).toContain('namespaces');
      expect(await snapshot(seeded)).toEqual(before);
    });

    it('refuses a truncated file and leaves the database as it was, empty or not', async () => {
      const whole = readFileSync(file);
      const cut = join(dir, `${target.name}-cut.recsys.gz`);
      writeFileSync(cut, whole.subarray(0, Math.floor(whole.length / 2)));
      const fresh = await open(target);
      await expect(restoreBackup(fresh, cut)).rejects.toThrow(/truncated or corrupt .*Nothing was restored/);
      expect(await counts(fresh)).toEqual(nothing());

      // Cut at a line boundary and compressed again: a well-formed gzip of an unfinished backup.
      const text = gunzipSync(whole).toString('utf8');
      const lines = text.split('\n');
      writeFileSync(cut, gzipSync(lines.slice(0, Math.floor(lines.length * 0.8)).join('\n')));
      await expect(restoreBackup(fresh, cut)).rejects.toThrow(
        /is truncated: .*without the end-of-backup line/,
      );
      expect(await counts(fresh)).toEqual(nothing());

      // Forced over existing data, the emptying is undone with the rest.
      const before = await snapshot(seeded);
      await expect(restoreBackup(seeded, cut, { force: true })).rejects.toThrow(/truncated/);
      expect(await snapshot(seeded)).toEqual(before);
    });

    it('refuses a corrupt row, a file that is not a backup and a backup of a newer schema', async () => {
      const fresh = await open(target);
      const lines = gunzipSync(readFileSync(file)).toString('utf8').split('\n');
      const eventLine = lines.findIndex((l) => l.includes('"event_id" : '));
      const broken = join(dir, `${target.name}-broken.recsys.gz`);
      writeFileSync(
        broken,
        gzipSync(
          lines
            .map((l, i) => (i === eventLine ? l.replace(/"ts" : "[^"]*"/, '"ts" : "the day after"') : l))
            .join('\n'),
        ),
      );
      await expect(restoreBackup(fresh, broken)).rejects.toThrow(
        /the database refused a row of "events" in lines \d+–\d+ \(.*"the day after"\)\. Nothing was restored/,
      );
      expect(await counts(fresh)).toEqual(nothing());

      writeFileSync(broken, gzipSync('{"hello":"world"}\n'));
      await expect(restoreBackup(fresh, broken)).rejects.toThrow(/is not a Recsys backup/);
      writeFileSync(broken, 'plain text');
      await expect(restoreBackup(fresh, broken)).rejects.toThrow(/not a complete gzip file/);

      const header = JSON.parse(lines[0]!) as { schema: { migrations: number; latest: string } };
      header.schema = { migrations: header.schema.migrations + 1, latest: '9999_future' };
      writeFileSync(broken, gzipSync([JSON.stringify(header), ...lines.slice(1)].join('\n')));
      await expect(restoreBackup(fresh, broken)).rejects.toThrow(
        /made by a newer Recsys \(schema migration \d+, "9999_future"\).*Upgrade Recsys, then restore/,
      );
      expect(await counts(fresh)).toEqual(nothing());
    });
  });
});
