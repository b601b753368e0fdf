import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { createNamespace } from '../auth/namespaces';
import { type Database, openDatabase } from '../db/client';
import { getTestDatabaseTargets } from '../testing';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../../bin/recsys.js', import.meta.url));
const folder = mkdtempSync(join(tmpdir(), 'recsys-data-cli-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

const write = (name: string, text: string) => {
  const path = join(folder, name);
  writeFileSync(path, text);
  return path;
};

const itemsCsv = write(
  'items.csv',
  'sku,name,price,stock,brand\n' +
    'sku-1,Trail shoe,89.90 EUR,in stock,Acme\n' +
    'sku-2,Road shoe,120 EUR,in stock,Acme\n' +
    'sku-3,Sock,4.50 EUR,out of stock,Sox\n',
);
const eventsCsv = write(
  'events.csv',
  'id,event,sku,customer,time,order,qty\n' +
    'e-1,pageview,sku-1,c-1,2026-03-01T10:00:00Z,,\n' +
    'e-2,transaction,sku-1,c-1,2026-03-01T10:05:00Z,o-1,1\n' +
    'e-3,pageview,,c-2,2026-03-01T11:00:00Z,,\n' +
    'e-4,pageview,sku-9,c-2,2026-03-01T11:30:00Z,,\n',
);
const exportCsv = write(
  'export.csv',
  'sku,name,price,stock,brand\n' +
    'sku-1,Trail shoe,79.90 EUR,in stock,Acme\n' +
    'sku-2,Road shoe,120 EUR,out of stock,Acme\n' +
    'sku-4,Cap,15 EUR,in stock,Acme\n',
);
const eventMap = 'eventId=id,type=event,itemId=sku,userId=customer,ts=time,meta.orderId=order,value=qty';
const itemMap = 'itemId=sku,title=name,available=stock';

/** Where the CLI finds the database, and how the test opens it before the commands run. */
interface Storage {
  name: string;
  env: Record<string, string>;
  open(): Promise<Database>;
  release(database: Database): Promise<void>;
  drop(): Promise<void>;
}

const storages: Storage[] = [
  {
    name: 'pglite',
    env: { DATABASE_URL: '', RECSYS_DATA_DIR: join(folder, 'db') },
    async open() {
      const database = await openDatabase({ dataDir: join(folder, 'db') });
      await database.migrate();
      return database;
    },
    // One process per embedded database: the test lets go before the CLI opens it.
    release: (database) => database.close(),
    drop: async () => {},
  },
];
const postgres = getTestDatabaseTargets().find((t) => t.name === 'postgres');
if (postgres) {
  let scratch: Awaited<ReturnType<typeof postgres.open>> | undefined;
  storages.push({
    name: 'postgres',
    env: {},
    async open() {
      scratch ??= await postgres.open();
      this.env.DATABASE_URL = scratch.url!;
      return scratch;
    },
    release: async () => {},
    drop: async () => scratch?.drop(),
  });
}

async function recsys(env: Record<string, string>, ...args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], {
      env: { ...process.env, ...env },
      cwd: folder,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe.each(storages)('recsys import, catalog diff and data quality on $name', (storage) => {
  afterAll(() => storage.drop());

  it('imports items and events from CSV with a mapping, rejects bad rows by line, and stores nothing twice', async () => {
    const database = await storage.open();
    await createNamespace(database, 'cli-data');
    await storage.release(database);

    const items = await recsys(
      storage.env,
      'import',
      itemsCsv,
      '-n',
      'cli-data',
      '--kind',
      'items',
      '--map',
      itemMap,
    );
    expect(items.code, items.stderr).toBe(0);
    expect(items.stdout).toMatch(/Imported items from .*items\.csv into "cli-data"/);
    expect(items.stdout).toContain('3 rows read, 3 stored, 0 rejected');

    const args = [
      'import',
      eventsCsv,
      '-n',
      'cli-data',
      '--map',
      eventMap,
      '--type-map',
      'pageview=view,transaction=purchase',
    ];
    const first = await recsys(storage.env, ...args);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('4 rows read, 3 stored, 0 already stored (same eventId), 1 rejected');
    expect(first.stdout).toContain(
      'line 4, column sku (itemId): is required for "view" events (only order-level custom events may omit it)',
    );
    const again = await recsys(storage.env, ...args, '--json');
    expect(JSON.parse(again.stdout)).toMatchObject({ rowsRead: 4, stored: 0, duplicates: 3, rejected: 1 });
  });

  it('prints the catalog mismatches, writes them to JSON or CSV, and exits 1 with --fail-on-diff', async () => {
    const outJson = join(folder, `${storage.name}-mismatches.json`);
    const diff = await recsys(
      storage.env,
      'catalog',
      'diff',
      exportCsv,
      '-n',
      'cli-data',
      '--map',
      itemMap,
      '--out',
      outJson,
      '--fail-on-diff',
    );
    expect(diff.code).toBe(1);
    expect(diff.stdout).toContain('missing in Recsys:   1');
    expect(diff.stdout).toContain('missing in the file: 1');
    expect(diff.stdout).toContain('differing items:     2 (price 1, available 1)');
    expect(diff.stdout).toContain('sku-1  price: file 79.9, Recsys 89.9');
    expect(JSON.parse(readFileSync(outJson, 'utf8'))).toEqual([
      { kind: 'field', itemId: 'sku-1', at: 'line 2', field: 'price', file: 79.9, recsys: 89.9 },
      { kind: 'field', itemId: 'sku-2', at: 'line 3', field: 'available', file: false, recsys: true },
      { kind: 'missing-in-recsys', itemId: 'sku-4', at: 'line 4' },
      { kind: 'missing-in-file', itemId: 'sku-3' },
    ]);

    const outCsv = join(folder, `${storage.name}-mismatches.csv`);
    const lenient = await recsys(
      storage.env,
      'catalog',
      'diff',
      exportCsv,
      '-n',
      'cli-data',
      '--map',
      itemMap,
      '--out',
      outCsv,
    );
    expect(lenient.code, lenient.stderr).toBe(0);
    expect(readFileSync(outCsv, 'utf8').split('\n')[1]).toBe('field,sku-1,price,79.9,89.9,line 2,');

    const same = write('same.csv', 'itemId,price\nsku-1,89.90\nsku-2,120\nsku-3,4.5\n');
    const clean = await recsys(storage.env, 'catalog', 'diff', same, '-n', 'cli-data', '--fail-on-diff');
    expect(clean.code, clean.stderr).toBe(0);
    expect(clean.stdout).toContain('The file and Recsys agree.');
  });

  it('reports the data quality per day as a table and as JSON', async () => {
    const json = await recsys(storage.env, 'data', 'quality', '-n', 'cli-data', '--json');
    expect(json.code, json.stderr).toBe(0);
    const report = JSON.parse(json.stdout);
    expect(report.days).toEqual([
      expect.objectContaining({
        day: '2026-03-01',
        events: 3,
        unknownItem: 1,
        purchases: 1,
        purchaseNoPrice: 1,
      }),
    ]);
    expect(report.topUnknownItems).toEqual([{ itemId: 'sku-9', events: 1 }]);
    const text = await recsys(storage.env, 'data', 'quality', '-n', 'cli-data', '--from', '2026-03-01');
    expect(text.stdout).toContain(
      'Data quality for "cli-data", 2026-03-01 to 2026-03-01 (UTC days): 3 events',
    );
    expect(text.stdout).toMatch(/^2026-03-01 +3 +1 \(33\.3%\)/m);
    expect(text.stdout).toContain('Unknown items seen most: sku-9 (1)');
  });

  it('explains bad flags and unknown namespaces and exits 2', async () => {
    const badMap = await recsys(storage.env, 'import', eventsCsv, '-n', 'cli-data', '--map', 'price=cost');
    expect(badMap.code).toBe(2);
    expect(badMap.stderr).toMatch(/--map: unknown field "price"; use one of eventId/);
    const missingColumn = await recsys(
      storage.env,
      'import',
      eventsCsv,
      '-n',
      'cli-data',
      '--map',
      'itemId=product',
    );
    expect(missingColumn.code).toBe(2);
    expect(missingColumn.stderr).toMatch(/not in the header: itemId=product; the header is: id \| event/);
    const noNs = await recsys(storage.env, 'catalog', 'diff', exportCsv, '-n', 'nope');
    expect(noNs.code).toBe(2);
    expect(noNs.stderr).toMatch(/Namespace "nope" does not exist/);
    const badDay = await recsys(storage.env, 'data', 'quality', '-n', 'cli-data', '--to', 'yesterday');
    expect(badDay.code).toBe(2);
    expect(badDay.stderr).toContain('--to "yesterday" is not a day: write YYYY-MM-DD (UTC).');
  });
});
