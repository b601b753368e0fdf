import { type CsvInput, type CsvReadOptions, type CsvRow, readCsvRows } from '@recsys/fixtures';
import { UserError } from '../../errors';

/**
 * Which file column feeds which field: `field → header name`. Fields may be nested one level
 * (`meta.orderId`, `props.url`) where the target allows it.
 */
export type ColumnMap = Record<string, string>;

/** The fields a kind of row accepts: plain names, and prefixes that take any key (`meta.`). */
export interface FieldSet {
  fields: readonly string[];
  /** Prefixes such as `meta.` under which any key may be mapped. */
  open?: readonly string[];
}

/**
 * Reads `--map field=column,field=column`. Commas inside a column name cannot be written here; such
 * files are rare, and renaming the header is the way out.
 *
 * @example parseColumnMap('eventId=id,itemId=sku', EVENT_FIELDS) // { eventId: 'id', itemId: 'sku' }
 */
export function parseColumnMap(text: string | undefined, allowed: FieldSet): ColumnMap {
  const map: ColumnMap = {};
  if (!text) return map;
  for (const part of text.split(',')) {
    if (!part.trim()) continue;
    const eq = part.indexOf('=');
    const field = (eq < 0 ? '' : part.slice(0, eq)).trim();
    const column = (eq < 0 ? '' : part.slice(eq + 1)).trim();
    if (!field || !column) {
      throw new UserError('BAD_REQUEST', `--map: "${part}" is not field=column (e.g. itemId=sku).`);
    }
    if (!isAllowed(field, allowed)) {
      const open = (allowed.open ?? []).map((p) => `${p}<key>`);
      throw new UserError(
        'BAD_REQUEST',
        `--map: unknown field "${field}"; use one of ${[...allowed.fields, ...open].join(', ')}.`,
      );
    }
    map[field] = column;
  }
  return map;
}

function isAllowed(field: string, allowed: FieldSet): boolean {
  if (allowed.fields.includes(field)) return true;
  return (allowed.open ?? []).some((prefix) => field.startsWith(prefix) && field.length > prefix.length);
}

/** A column map resolved against a file's header: field → column position. */
export interface ResolvedColumns {
  /** Field → position in each row. */
  index: Map<string, number>;
  /** Field → the header name it reads (for messages that point at the file). */
  column: Map<string, string>;
  /** Header names no field reads: shown so nothing is left out unnoticed. */
  unused: string[];
}

/**
 * Finds each mapped column in the header (exact name first, then ignoring case). A header named
 * like a field (`itemId`, `price`) is read without a mapping, so a file already in Recsys's
 * vocabulary needs no `--map` at all.
 */
export function resolveColumns(header: string[], map: ColumnMap, allowed: FieldSet): ResolvedColumns {
  const names = header.map((h) => h.trim());
  const find = (name: string) => {
    const exact = names.indexOf(name);
    return exact >= 0 ? exact : names.findIndex((h) => h.toLowerCase() === name.toLowerCase());
  };
  const index = new Map<string, number>();
  const column = new Map<string, string>();
  const missing: string[] = [];
  for (const [field, name] of Object.entries(map)) {
    const i = find(name);
    if (i < 0) missing.push(`${field}=${name}`);
    else {
      index.set(field, i);
      column.set(field, names[i]!);
    }
  }
  if (missing.length > 0) {
    throw new UserError(
      'BAD_REQUEST',
      `--map names column(s) that are not in the header: ${missing.join(', ')}; the header is: ${names.join(' | ')}. Fix the mapping or the delimiter (--delimiter).`,
    );
  }
  const taken = new Set(index.values());
  for (const field of allowed.fields) {
    if (index.has(field)) continue;
    const i = find(field);
    if (i >= 0 && !taken.has(i)) {
      index.set(field, i);
      column.set(field, names[i]!);
      taken.add(i);
    }
  }
  return { index, column, unused: names.filter((_, i) => !taken.has(i)) };
}

/** Reads a boolean the way shop exports write it; undefined when it is none of these. */
export function parseFlag(text: string): boolean | undefined {
  const v = text
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, '_');
  if (['true', 'yes', 'y', '1', 'on', 'in_stock', 'instock', 'available', 'active'].includes(v)) return true;
  if (['false', 'no', 'n', '0', 'off', 'out_of_stock', 'outofstock', 'unavailable', 'inactive'].includes(v))
    return false;
  return undefined;
}

/**
 * A price cell: `12.5`, `12,50` (decimal comma), `12.50 EUR` or `EUR 12.50` (the form product
 * feeds use). Undefined when it is not a price.
 */
export function parsePrice(text: string): { price: number; currency?: string } | undefined {
  const m = /^(?:([A-Za-z]{3})\s+)?(-?\d+(?:[.,]\d+)?)(?:\s+([A-Za-z]{3}))?$/.exec(text.trim());
  if (!m || (m[1] && m[3])) return undefined;
  const price = Number(m[2]!.replace(',', '.'));
  if (!Number.isFinite(price)) return undefined;
  const currency = (m[1] ?? m[3])?.toUpperCase();
  return currency ? { price, currency } : { price };
}

/** Splits a list cell (`a|b`, `a;b`, `a,b`) into trimmed, non-empty values. */
export function splitList(text: string): string[] {
  return text
    .split(/[|;,]/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * The rows of a CSV file (see `readCsvRows`), with a malformed file (a quote never closed, say)
 * reported as the user's mistake with the parser's line, not as a crash.
 */
export async function* readCsvRowsOf(
  path: string,
  input: CsvInput,
  options: CsvReadOptions,
): AsyncGenerator<CsvRow> {
  try {
    yield* readCsvRows(input, options);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('CSV_')) {
      throw new UserError('BAD_REQUEST', `${path} is not valid CSV: ${(error as Error).message}`);
    }
    throw error;
  }
}

/**
 * An `archived` cell: a yes/no flag, or a product status (`active`/`live` are not archived;
 * `archived`, `inactive`, `deleted`, `discontinued` are). Stock words say nothing about it.
 */
export function parseArchived(text: string): boolean | undefined {
  const v = text.trim().toLowerCase();
  if (['active', 'live', 'published'].includes(v)) return false;
  if (['archived', 'inactive', 'deleted', 'discontinued'].includes(v)) return true;
  if (/stock|available/.test(v)) return undefined;
  return parseFlag(text);
}
