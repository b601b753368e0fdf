import { open, readFile } from 'node:fs/promises';
import { normalizeTag } from '@recsys/engine/protocol';
import { UserError } from '../errors';
import {
  type ColumnMap,
  type FieldSet,
  parseArchived,
  parseFlag,
  parsePrice,
  readCsvRowsOf,
  resolveColumns,
  splitList,
} from '../ingest/tabular/columnMap';

/** The catalog fields a shop's export can be compared on. */
export const CATALOG_FIELDS = ['title', 'price', 'currency', 'available', 'archived', 'tags'] as const;
export type CatalogField = (typeof CATALOG_FIELDS)[number];

/** What `--map` may name in a catalog export: the compared fields plus the tag shorthands. */
export const CATALOG_FILE_FIELDS: FieldSet = {
  fields: ['itemId', ...CATALOG_FIELDS, 'brand', 'category'],
};

/** One item as the shop's file states it; a field is absent when the file does not carry it. */
export interface CatalogFileItem {
  itemId: string;
  /** Where it is in the file: `line 12` (CSV) or `item 12` (JSON). */
  at: string;
  title?: string | null;
  price?: number | null;
  currency?: string | null;
  available?: boolean;
  archived?: boolean;
  tags?: string[];
}

/** A row of the file that could not be read as an item. */
export interface CatalogFileProblem {
  at: string;
  itemId?: string;
  message: string;
}

export interface CatalogFile {
  items: CatalogFileItem[];
  problems: CatalogFileProblem[];
  /** The compared fields the file carries (a field it lacks is never reported as different). */
  fields: CatalogField[];
  /**
   * Which tags the file speaks for: all of them (a `tags` column), or only those under the
   * `brand:`/`category:` shorthands the file has.
   */
  tagScope: 'all' | string[];
  /** Header names no field reads (CSV only). */
  unusedColumns: string[];
}

/**
 * Reads a shop's catalog export: CSV (header row; columns named like the fields, or mapped with
 * `map`) or JSON (an array of items, `{ "items": [...] }`, or one item per line). Values are read
 * the way shops write them: `12.99 EUR` prices, `in stock`/`out of stock`, tags split on `|`, `;`
 * or `,`, and tags normalized as Recsys stores them.
 */
export async function readCatalogFile(
  path: string,
  options: { map?: ColumnMap; delimiter?: string } = {},
): Promise<CatalogFile> {
  let head: string;
  try {
    const handle = await open(path, 'r');
    try {
      const { buffer, bytesRead } = await handle.read(Buffer.alloc(512), 0, 512, 0);
      head = buffer
        .subarray(0, bytesRead)
        .toString('utf8')
        .replace(/^\uFEFF/, '')
        .trimStart()
        .slice(0, 1);
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw new UserError('BAD_REQUEST', `Cannot read ${path}: ${(error as Error).message}`);
  }
  const file =
    head === '[' || head === '{' ? await readJson(path, options.map ?? {}) : await readCsv(path, options);
  // Prices written as `12.99 EUR` carry a currency even without a currency column.
  if (!file.fields.includes('currency') && file.items.some((i) => i.currency !== undefined)) {
    file.fields = CATALOG_FIELDS.filter((f) => f === 'currency' || file.fields.includes(f));
  }
  return file;
}

type Raw = (field: string) => unknown;

async function readCsv(path: string, options: { map?: ColumnMap; delimiter?: string }): Promise<CatalogFile> {
  const out: CatalogFile = { items: [], problems: [], fields: [], tagScope: [], unusedColumns: [] };
  let read: ((cells: string[]) => Raw) | undefined;
  const seen = new Map<string, string>();
  for await (const { fields: cells, line } of readCsvRowsOf(
    path,
    { path },
    { delimiter: options.delimiter ?? ',' },
  )) {
    if (!read) {
      const resolved = resolveColumns(cells, options.map ?? {}, CATALOG_FILE_FIELDS);
      if (!resolved.index.has('itemId')) {
        throw new UserError(
          'BAD_REQUEST',
          `No item id column: name it itemId or map it (--map itemId=<column>); the header is: ${cells.join(' | ')}.`,
        );
      }
      describeFields(out, new Set(resolved.index.keys()));
      out.unusedColumns = resolved.unused;
      read = (row) => (field) => {
        const i = resolved.index.get(field);
        if (i === undefined) return undefined;
        const v = (row[i] ?? '').trim();
        return v === '' ? null : v;
      };
      continue;
    }
    addItem(out, read(cells), `line ${line}`, seen);
  }
  if (!read) throw new UserError('BAD_REQUEST', `${path} is empty: a CSV export needs a header row.`);
  return out;
}

async function readJson(path: string, map: ColumnMap): Promise<CatalogFile> {
  const text = await readFile(path, 'utf8');
  let rows: unknown[];
  try {
    const parsed: unknown = JSON.parse(text);
    rows = Array.isArray(parsed)
      ? parsed
      : Array.isArray((parsed as { items?: unknown }).items)
        ? (parsed as { items: unknown[] }).items
        : [parsed];
  } catch {
    // One JSON object per line (JSON Lines).
    rows = [];
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!.trim();
      if (!line) continue;
      try {
        rows.push(JSON.parse(line));
      } catch (error) {
        throw new UserError(
          'BAD_REQUEST',
          `${path} is neither JSON nor JSON Lines: line ${i + 1}: ${(error as Error).message}`,
        );
      }
    }
  }
  const out: CatalogFile = { items: [], problems: [], fields: [], tagScope: [], unusedColumns: [] };
  const key = (field: string) => map[field] ?? field;
  const present = new Set<string>();
  for (const row of rows) {
    if (row && typeof row === 'object') {
      for (const field of CATALOG_FILE_FIELDS.fields) if (key(field) in row) present.add(field);
    }
  }
  describeFields(out, present);
  const seen = new Map<string, string>();
  rows.forEach((row, i) => {
    const at = `item ${i + 1}`;
    if (!row || typeof row !== 'object' || Array.isArray(row)) {
      out.problems.push({ at, message: 'is not an object' });
      return;
    }
    const record = row as Record<string, unknown>;
    addItem(out, (field) => (present.has(field) ? (record[key(field)] ?? null) : undefined), at, seen);
  });
  return out;
}

function describeFields(out: CatalogFile, present: Set<string>) {
  out.fields = CATALOG_FIELDS.filter(
    (f) => present.has(f) || (f === 'tags' && (present.has('brand') || present.has('category'))),
  );
  out.tagScope = present.has('tags')
    ? 'all'
    : (['brand', 'category'] as const).filter((f) => present.has(f)).map((f) => `${f}:`);
}

/** Reads one row; a value the field cannot hold is a problem of that row, named by field. */
function addItem(out: CatalogFile, raw: Raw, at: string, seen: Map<string, string>) {
  const id = raw('itemId');
  const itemId = typeof id === 'number' ? String(id) : typeof id === 'string' ? id.trim() : '';
  if (!itemId) {
    out.problems.push({ at, message: 'itemId is empty' });
    return;
  }
  const first = seen.get(itemId);
  if (first) {
    out.problems.push({ at, itemId, message: `itemId "${itemId}" is listed again (first at ${first})` });
    return;
  }
  seen.set(itemId, at);
  const item: CatalogFileItem = { itemId, at };
  const problem = (message: string) => out.problems.push({ at, itemId, message });

  const title = raw('title');
  if (title !== undefined) item.title = title === null ? null : String(title).trim();

  let fileCurrency: string | undefined;
  const price = raw('price');
  if (price !== undefined) {
    if (price === null) item.price = null;
    else if (typeof price === 'number' && Number.isFinite(price)) item.price = price;
    else {
      const parsed = typeof price === 'string' ? parsePrice(price) : undefined;
      if (!parsed) return problem(`price "${String(price)}" is not a price (12.99, or 12.99 EUR)`);
      item.price = parsed.price;
      fileCurrency = parsed.currency;
    }
  }
  const currency = raw('currency');
  if (currency !== undefined) {
    item.currency = currency === null ? null : String(currency).trim().toUpperCase();
  } else if (fileCurrency) item.currency = fileCurrency;

  for (const field of ['available', 'archived'] as const) {
    const value = raw(field);
    if (value === undefined || value === null) continue;
    const read = field === 'archived' ? parseArchived : parseFlag;
    const flag = typeof value === 'boolean' ? value : read(String(value));
    if (flag === undefined) return problem(`${field} "${String(value)}" is not yes/no, true/false or 1/0`);
    item[field] = flag;
  }

  if (out.fields.includes('tags')) {
    const tags = new Set<string>();
    const list = (value: unknown) =>
      Array.isArray(value) ? value.map(String) : typeof value === 'string' ? splitList(value) : [];
    for (const t of list(raw('tags'))) tags.add(normalizeTag(t));
    for (const facet of ['brand', 'category'] as const) {
      const value = raw(facet);
      const values = Array.isArray(value) ? value.map(String) : typeof value === 'string' ? [value] : [];
      for (const v of values) if (v.trim()) tags.add(normalizeTag(`${facet}:${v}`));
    }
    item.tags = [...tags].sort();
  }
  // A file that lists an item and says nothing of archiving means it is live in the shop.
  if (!out.fields.includes('archived')) delete item.archived;
  out.items.push(item);
}
