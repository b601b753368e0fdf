import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffCatalog, mismatchesToCsv } from '../audit/catalogDiff';
import { dataQualityReport } from '../audit/dataQuality';
import { CATALOG_FILE_FIELDS, readCatalogFile } from '../audit/readCatalogFile';
import { createNamespace } from '../auth/namespaces';
import type { Database } from '../db/client';
import { parseColumnMap } from '../ingest/tabular/columnMap';
import { EVENT_FIELDS, ITEM_FIELDS, importCsv } from '../ingest/tabular/importCsv';
import { getTestDatabaseTargets } from '../testing';
import { formatCatalogDiff, formatDataQuality, formatImport } from './dataFormat';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const readme = readFileSync(`${root}README.md`, 'utf8');
const examples = 'fixtures/examples/csv';

/** The output block shown right after the README's example command that contains `command`. */
function shownOutput(command: string): string {
  const at = readme.indexOf(command);
  expect(at, `README shows "${command}"`).toBeGreaterThan(0);
  const commandEnd = readme.indexOf('\n```\n', at);
  const start = readme.indexOf('```\n', commandEnd + 5) + 4;
  return readme.slice(start, readme.indexOf('\n```', start));
}

describe.each(getTestDatabaseTargets())("the README's Data tools examples on $name", (target) => {
  let database: Database & { drop(): Promise<void> };
  beforeAll(async () => {
    database = await target.open();
    await createNamespace(database, 'outdoor');
    await importCsv(database, 'outdoor', `${root}${examples}/items.csv`, {
      kind: 'items',
      map: parseColumnMap('itemId=sku,title=name,available=stock', ITEM_FIELDS),
    });
  });
  afterAll(() => database.drop());

  it('print what the README shows for the import, the data-quality report and the catalog diff', async () => {
    const imported = await importCsv(database, 'outdoor', `${root}${examples}/events.csv`, {
      kind: 'events',
      map: parseColumnMap(
        'eventId=id,type=event,itemId=sku,userId=customer,anonymousId=visitor,sessionId=session,ts=time,value=qty,meta.orderId=order,meta.unitPrice=unit_price',
        EVENT_FIELDS,
      ),
      typeMap: { pageview: 'view', addtocart: 'add', transaction: 'purchase' },
    });
    const file = `${examples}/events.csv`;
    // The first line carries the time taken, which varies.
    const withoutTime = (text: string) => text.replace(/ in \d+\.\d s$/m, ' in … s');
    expect(withoutTime(formatImport(imported, file, 'outdoor'))).toBe(
      withoutTime(shownOutput('pnpm recsys import fixtures/examples/csv/events.csv')),
    );

    const report = await dataQualityReport(database, 'outdoor');
    expect(formatDataQuality(report)).toBe(shownOutput('pnpm recsys data quality -n outdoor'));

    const exported = await readCatalogFile(`${root}${examples}/shop-export.csv`, {
      map: parseColumnMap('itemId=sku,title=name,available=stock', CATALOG_FILE_FIELDS),
    });
    const diff = await diffCatalog(database, 'outdoor', exported);
    expect(formatCatalogDiff(diff, `${examples}/shop-export.csv`, 10, exported.unusedColumns)).toBe(
      shownOutput('pnpm recsys catalog diff fixtures/examples/csv/shop-export.csv'),
    );
    expect(mismatchesToCsv(diff.mismatches).split('\n')[1]).toBe('field,sku-2,price,16.9,18.5,line 3,');
  });
});
