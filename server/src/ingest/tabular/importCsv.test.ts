import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNamespace } from '../../auth/namespaces';
import type { Database } from '../../db/client';
import { getTestDatabaseTargets } from '../../testing';
import { getItems } from '../items';
import { parseColumnMap } from './columnMap';
import { EVENT_FIELDS, type ImportProgress, ITEM_FIELDS, importCsv } from './importCsv';

const folder = mkdtempSync(join(tmpdir(), 'recsys-import-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));
const file = (name: string, text: string | Buffer) => {
  const path = join(folder, name);
  writeFileSync(path, text);
  return path;
};

const EVENTS = `id,event,sku,customer,visitor,time,order,qty
e-1,pageview,sku-1,c-1,,2026-03-01T10:00:00Z,,
e-2,transaction,sku-1,c-1,,2026-03-01T10:05:00Z,o-1,2
e-3,pageview,,c-2,,2026-03-01T11:00:00Z,,
e-4,pageview,sku-2,,,2026-03-01T11:00:00Z,,
e-5,pageview,sku-2,c-2,,yesterday,,
e-6,addtocart,sku-2,,v-9,2026-03-01T12:00:00Z,,
e-7,transaction,sku-2,c-2,,2026-03-01T12:30:00Z,o-2,two
`;
const eventMap = parseColumnMap(
  'eventId=id,type=event,itemId=sku,userId=customer,anonymousId=visitor,ts=time,meta.orderId=order,value=qty',
  EVENT_FIELDS,
);
const typeMap = { pageview: 'view', addtocart: 'add', transaction: 'purchase' } as const;

describe.each(getTestDatabaseTargets())('CSV import on $name', (target) => {
  let database: Database & { drop(): Promise<void> };
  beforeAll(async () => {
    database = await target.open();
    await createNamespace(database, 'shop');
  });
  afterAll(() => database.drop());

  it('stores the good rows through the API contract and names the line, column and reason of each refused one', async () => {
    const result = await importCsv(database, 'shop', file('events.csv', EVENTS), {
      kind: 'events',
      map: eventMap,
      typeMap,
    });
    expect(result).toMatchObject({ rowsRead: 7, stored: 3, duplicates: 0, rejected: 4 });
    expect(result.errors).toEqual([
      {
        line: 4,
        column: 'sku',
        field: 'itemId',
        message: 'is required for "view" events (only order-level custom events may omit it)',
      },
      { line: 5, column: 'customer', field: 'userId', message: 'an event needs a userId or an anonymousId' },
      {
        line: 6,
        column: 'time',
        field: 'ts',
        message: 'must be an ISO-8601 timestamp with a time zone, e.g. 2026-03-01T12:00:00Z',
      },
      { line: 8, column: 'qty', field: 'value', message: expect.stringMatching(/number/) },
    ]);
    const stored = await database.query<{
      event_id: string;
      type: string;
      value: number | null;
      meta: unknown;
    }>(`SELECT event_id, type, value, meta FROM events WHERE namespace_id = 'shop' ORDER BY event_id`);
    expect(stored).toEqual([
      { event_id: 'e-1', type: 'view', value: null, meta: {} },
      { event_id: 'e-2', type: 'purchase', value: 2, meta: { orderId: 'o-1' } },
      { event_id: 'e-6', type: 'add', value: null, meta: {} },
    ]);
  });

  it('stores nothing twice when the same file is imported again', async () => {
    const again = await importCsv(database, 'shop', file('events.csv', EVENTS), {
      kind: 'events',
      map: eventMap,
      typeMap,
    });
    expect(again).toMatchObject({ rowsRead: 7, stored: 0, duplicates: 3, rejected: 4 });
  });

  it('derives stable event ids from the row when the file has none, so a re-run is still idempotent', async () => {
    const path = file(
      'orders.tsv.gz',
      gzipSync('sku\tcustomer\tcreated\n' + 'sku-1\tc-7\t1772359200\n' + 'sku-2\tc-7\t1772359260\n'),
    );
    const options = {
      kind: 'events' as const,
      map: parseColumnMap('itemId=sku,userId=customer,ts=created', EVENT_FIELDS),
      defaultType: 'purchase' as const,
      tsFormat: 'unix-s' as const,
      delimiter: '\t',
    };
    expect(await importCsv(database, 'shop', path, options)).toMatchObject({ stored: 2, rejected: 0 });
    expect(await importCsv(database, 'shop', path, options)).toMatchObject({ stored: 0, duplicates: 2 });
    const rows = await database.query<{ event_id: string; ts: Date }>(
      `SELECT event_id, ts FROM events WHERE namespace_id = 'shop' AND user_id = 'c-7' ORDER BY ts`,
    );
    expect(rows.map((r) => new Date(r.ts).toISOString())).toEqual([
      '2026-03-01T10:00:00.000Z',
      '2026-03-01T10:01:00.000Z',
    ]);
    expect(rows.every((r) => /^csv-[0-9a-f]{32}$/.test(r.event_id))).toBe(true);
  });

  it('imports items with prices written as feeds write them, stock words and split tags', async () => {
    const path = file(
      'items.csv',
      'sku,name,price,stock,labels,brand,url\n' +
        'sku-1,Trail shoe,89.90 EUR,in stock,color:red|sport,Acme,https://shop.example/1\n' +
        'sku-2,Road shoe,120,out of stock,,Acme,\n' +
        ',Nameless,5,in stock,,,\n' +
        'sku-3,Sock,-4,in stock,,,\n',
    );
    const result = await importCsv(database, 'shop', path, {
      kind: 'items',
      map: parseColumnMap('itemId=sku,title=name,available=stock,tags=labels,props.url=url', ITEM_FIELDS),
    });
    expect(result).toMatchObject({ rowsRead: 4, stored: 2, rejected: 2 });
    expect(result.errors.map((e) => [e.line, e.column, e.field])).toEqual([
      [4, 'sku', 'itemId'],
      [5, 'price', 'price'],
    ]);
    const [one, two] = await getItems(database, 'shop', ['sku-1', 'sku-2']);
    expect(one).toMatchObject({
      title: 'Trail shoe',
      price: 89.9,
      currency: 'EUR',
      available: true,
      props: { url: 'https://shop.example/1' },
    });
    expect([...one!.tags].sort()).toEqual(['brand:acme', 'color:red', 'sport']);
    expect(two).toMatchObject({ price: 120, currency: null, available: false });
  });

  it('archives and restores items as an archived column says, once, and refuses a value that says neither', async () => {
    const path = file('status.csv', 'itemId,status\nsku-1,archived\nsku-2,active\nsku-3,maybe\n');
    const options = { kind: 'items' as const, map: parseColumnMap('archived=status', ITEM_FIELDS) };
    const first = await importCsv(database, 'shop', path, options);
    expect(first).toMatchObject({ rowsRead: 3, stored: 2, archived: 1, restored: 0, rejected: 1 });
    expect(first.errors).toEqual([
      {
        line: 4,
        column: 'status',
        field: 'archived',
        message: '"maybe" is not yes/no, true/false, 1/0 or active/archived',
      },
    ]);
    const [one, two] = await getItems(database, 'shop', ['sku-1', 'sku-2']);
    expect([one?.archivedAt !== null, two?.archivedAt]).toEqual([true, null]);
    expect(await importCsv(database, 'shop', path, options)).toMatchObject({ archived: 0, restored: 0 });
    const back = file('back.csv', 'itemId,archived\nsku-1,no\n');
    expect(await importCsv(database, 'shop', back, { kind: 'items', map: {} })).toMatchObject({
      restored: 1,
    });
    expect((await getItems(database, 'shop', ['sku-1']))[0]?.archivedAt).toBeNull();
  });

  it('reports progress by bytes until the whole file is read', async () => {
    const lines = ['id,type,sku,customer,time'];
    for (let i = 0; i < 1200; i++) lines.push(`p-${i},view,sku-${i % 7},c-${i % 13},2026-03-02T10:00:00Z`);
    const text = `${lines.join('\n')}\n`;
    const seen: ImportProgress[] = [];
    const result = await importCsv(database, 'shop', file('big.csv', text), {
      kind: 'events',
      map: parseColumnMap('eventId=id,itemId=sku,userId=customer,ts=time', EVENT_FIELDS),
      batchSize: 500,
      onProgress: (p) => seen.push(p),
    });
    expect(result.stored).toBe(1200);
    expect(seen.map((p) => p.rowsRead)).toEqual([500, 1000, 1200]);
    expect(seen.at(-1)).toMatchObject({
      bytesRead: Buffer.byteLength(text),
      totalBytes: Buffer.byteLength(text),
    });
  });

  it('refuses a mapping that names a column the file lacks, listing the header', async () => {
    await expect(
      importCsv(database, 'shop', file('events.csv', EVENTS), {
        kind: 'events',
        map: parseColumnMap('itemId=product,ts=time', EVENT_FIELDS),
        defaultType: 'view',
      }),
    ).rejects.toThrow(/itemId=product.*the header is: id \| event \| sku/);
    expect(() => parseColumnMap('price=cost', EVENT_FIELDS)).toThrow(
      /unknown field "price"; use one of eventId/,
    );
    await expect(
      importCsv(database, 'nowhere', file('events.csv', EVENTS), { kind: 'events', map: eventMap, typeMap }),
    ).rejects.toThrow(/Namespace "nowhere" does not exist/);
  });

  it('reports a malformed file as bad input with the line the parser stopped at', async () => {
    const broken = file('broken.csv', 'itemId,type,userId,ts\nsku-1,view,"u-1,2026-03-01T10:00:00Z\n');
    await expect(importCsv(database, 'shop', broken, { kind: 'events', map: {} })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringMatching(/broken\.csv is not valid CSV: Quote Not Closed.*line 2/),
    });
  });
});
