import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNamespace } from '../auth/namespaces';
import type { Database } from '../db/client';
import { archiveItems, upsertItems } from '../ingest/items';
import { parseColumnMap } from '../ingest/tabular/columnMap';
import { getTestDatabaseTargets } from '../testing';
import { diffCatalog, mismatchesToCsv } from './catalogDiff';
import { CATALOG_FILE_FIELDS, readCatalogFile } from './readCatalogFile';

const folder = mkdtempSync(join(tmpdir(), 'recsys-catalog-diff-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const path = join(folder, name);
  writeFileSync(path, text);
  return path;
};

describe.each(getTestDatabaseTargets())('catalog diff on $name', (target) => {
  let database: Database & { drop(): Promise<void> };
  beforeAll(async () => {
    database = await target.open();
    await createNamespace(database, 'shop');
    await upsertItems(database, 'shop', [
      {
        itemId: 'sku-1',
        title: 'Trail shoe',
        price: 89.9,
        currency: 'EUR',
        brand: 'Acme',
        tags: ['color:red'],
      },
      { itemId: 'sku-2', title: 'Road shoe', price: 120, currency: 'EUR', brand: 'Acme' },
      { itemId: 'sku-3', title: 'Sock', price: 4.5, currency: 'EUR', available: false },
      { itemId: 'sku-old', title: 'Retired', price: 1, currency: 'EUR' },
      { itemId: 'sku-5', title: 'Cap', price: 15, currency: 'EUR' },
    ]);
    await archiveItems(database, 'shop', ['sku-old']);
  });
  afterAll(() => database.drop());

  it('lists items missing on either side and each differing field, reading a CSV export with a mapping', async () => {
    const path = file(
      'export.csv',
      'sku,name,price,stock,brand\n' +
        'sku-1,Trail shoe,79.90 EUR,in stock,Acme\n' +
        'sku-2,Road Shoe,120.001,out of stock,Acme\n' +
        'sku-3,Sock,4.50,out of stock,\n' +
        'sku-4,Scarf,20,in stock,Knit\n' +
        'sku-1,Trail shoe again,1,in stock,Acme\n' +
        'sku-6,Glove,cheap,in stock,\n',
    );
    const parsed = await readCatalogFile(path, {
      map: parseColumnMap('itemId=sku,title=name,available=stock', CATALOG_FILE_FIELDS),
    });
    expect(parsed.fields).toEqual(['title', 'price', 'currency', 'available', 'tags']);
    const diff = await diffCatalog(database, 'shop', parsed);
    expect(diff.counts).toEqual({
      missingInRecsys: 1,
      missingInFile: 1,
      itemsDiffering: 2,
      byField: { price: 1, title: 1, available: 1 },
      unreadable: 2,
    });
    // sku-1's color:red tag is not the file's to judge: the file only carries brands.
    expect(diff.mismatches).toEqual([
      {
        kind: 'unreadable',
        itemId: 'sku-1',
        at: 'line 6',
        message: 'itemId "sku-1" is listed again (first at line 2)',
      },
      {
        kind: 'unreadable',
        itemId: 'sku-6',
        at: 'line 7',
        message: 'price "cheap" is not a price (12.99, or 12.99 EUR)',
      },
      { kind: 'field', itemId: 'sku-1', at: 'line 2', field: 'price', file: 79.9, recsys: 89.9 },
      {
        kind: 'field',
        itemId: 'sku-2',
        at: 'line 3',
        field: 'title',
        file: 'Road Shoe',
        recsys: 'Road shoe',
      },
      { kind: 'field', itemId: 'sku-2', at: 'line 3', field: 'available', file: false, recsys: true },
      { kind: 'missing-in-recsys', itemId: 'sku-4', at: 'line 5' },
      { kind: 'missing-in-file', itemId: 'sku-5' },
    ]);
    expect(mismatchesToCsv(diff.mismatches).split('\n').slice(0, 3)).toEqual([
      'kind,itemId,field,file,recsys,at,message',
      'unreadable,sku-1,,,,line 6,"itemId ""sku-1"" is listed again (first at line 2)"',
      'unreadable,sku-6,,,,line 7,"price ""cheap"" is not a price (12.99, or 12.99 EUR)"',
    ]);
  });

  it('reads a JSON export, compares all tags when the file has a tags field, and checks archiving', async () => {
    const path = file(
      'export.json',
      JSON.stringify({
        items: [
          { id: 'sku-1', tags: ['Color:Red', 'brand:acme'], archived: false },
          { id: 'sku-2', tags: ['brand:acme', 'sale'], archived: false },
          { id: 'sku-3', tags: [], archived: true },
          { id: 'sku-5', tags: [], archived: false },
          { id: 'sku-old', tags: [], archived: true },
          { id: 'sku-gone', tags: [], archived: true },
        ],
      }),
    );
    const parsed = await readCatalogFile(path, { map: parseColumnMap('itemId=id', CATALOG_FILE_FIELDS) });
    expect(parsed.fields).toEqual(['archived', 'tags']);
    const diff = await diffCatalog(database, 'shop', parsed);
    // sku-gone is archived in the shop and absent from Recsys: nothing to fix.
    expect(diff.mismatches).toEqual([
      {
        kind: 'field',
        itemId: 'sku-2',
        at: 'item 2',
        field: 'tags',
        file: 'brand:acme|sale',
        recsys: 'brand:acme',
      },
      { kind: 'field', itemId: 'sku-3', at: 'item 3', field: 'archived', file: true, recsys: false },
    ]);
  });

  it('finds nothing to report when the export matches, within a cent of price rounding', async () => {
    const path = file(
      'match.jsonl',
      [
        { itemId: 'sku-1', price: '89.90', currency: 'eur' },
        { itemId: 'sku-2', price: 119.999, currency: 'EUR' },
        { itemId: 'sku-3', price: 4.5, currency: 'EUR' },
        { itemId: 'sku-5', price: 15, currency: 'EUR' },
      ]
        .map((row) => JSON.stringify(row))
        .join('\n'),
    );
    const diff = await diffCatalog(database, 'shop', await readCatalogFile(path));
    expect(diff.fields).toEqual(['price', 'currency']);
    expect(diff.mismatches).toEqual([]);
  });
});
