/**
 * Longer than the ~450-line guideline on purpose: the column mapping, the value parsers and the
 * streaming loop are one pipeline whose error messages (line, column, field) must stay consistent.
 */
import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { type Readable, Transform } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { EVENT_TYPES, type EventType, limits } from '@recsys/engine/protocol';
import { isGzipFile, localTimeToUtcMs } from '@recsys/fixtures';
import { getNamespace, type NamespaceSettings } from '../../auth/namespaces';
import type { Database } from '../../db/client';
import { UserError } from '../../errors';
import type { RowError } from '../contracts';
import { ingestEvents } from '../events';
import { archiveItems, restoreItems, upsertItems } from '../items';
import {
  type ColumnMap,
  type FieldSet,
  parseArchived,
  parseFlag,
  parsePrice,
  type ResolvedColumns,
  readCsvRowsOf,
  resolveColumns,
  splitList,
} from './columnMap';

/** Fields a CSV of events can fill; `meta.<key>` takes any meta key. */
export const EVENT_FIELDS: FieldSet = {
  fields: ['eventId', 'type', 'itemId', 'userId', 'anonymousId', 'sessionId', 'ts', 'value'],
  open: ['meta.'],
};

/** Fields a CSV of items can fill; `props.<key>` takes any display property. */
export const ITEM_FIELDS: FieldSet = {
  fields: [
    'itemId',
    'title',
    'description',
    'price',
    'currency',
    'available',
    'tags',
    'brand',
    'category',
    'parentId',
    'createdAt',
    'archived',
  ],
  open: ['props.'],
};

export interface ImportCsvOptions {
  /** What the rows are. */
  kind: 'events' | 'items';
  /** Field → column; fields not mapped are read from a column of the same name when there is one. */
  map: ColumnMap;
  /**
   * Field delimiter.
   * @default ','
   * @example '\t'
   */
  delimiter?: string;
  /**
   * Rows per store call (one short transaction each).
   * @default 500 for events, 1,000 for items (the API's batch limits)
   */
  batchSize?: number;
  /**
   * Event type when there is no type column or its cell is empty.
   * @example 'purchase'
   */
  defaultType?: EventType;
  /**
   * Raw type values (case-insensitive) → event types.
   * @default {}
   * @example { pageview: 'view', addtocart: 'add', transaction: 'purchase' }
   */
  typeMap?: Record<string, EventType>;
  /**
   * How `ts` is written: `iso` (ISO-8601 with a zone, as the API takes it), `unix-s`, `unix-ms`,
   * or `local` (`YYYY-MM-DD HH:MM[:SS]` wall-clock time in `timeZone`).
   * @default 'iso'
   */
  tsFormat?: 'iso' | 'unix-s' | 'unix-ms' | 'local';
  /**
   * IANA zone of `local` timestamps.
   * @default 'UTC'
   * @example 'Europe/Berlin'
   */
  timeZone?: string;
  /**
   * How many rejected rows to keep with details (all are counted).
   * @default 100
   */
  maxErrors?: number;
  /** Called after each batch with the bytes read so far and the file's size. */
  onProgress?: (progress: ImportProgress) => void;
}

export interface ImportProgress {
  bytesRead: number;
  totalBytes: number;
  rowsRead: number;
  stored: number;
  rejected: number;
}

/** A row the store refused: where in the file, which column, and the API's message. */
export interface ImportRowError {
  /** 1-based line in the file (the header is line 1). */
  line: number;
  /** The header name at fault, or `(<field> not mapped)` when no column feeds that field. */
  column: string;
  /** The field the column fills (`itemId`, `meta.orderId`, …). */
  field: string;
  message: string;
}

export interface ImportCsvResult {
  kind: 'events' | 'items';
  /** Data rows read (header excluded). */
  rowsRead: number;
  /** Events newly stored, or items created or updated. */
  stored: number;
  /** Events already stored under their `eventId` (an earlier run, or a repeat in the file). */
  duplicates: number;
  /** Items an `archived` column archived, or brought back (`archived` false), that were not so already. */
  archived: number;
  restored: number;
  rejected: number;
  /** The first `maxErrors` rejected rows. */
  errors: ImportRowError[];
  /** Field → header name actually read. */
  columns: Record<string, string>;
  /** Header names that fed no field. */
  unusedColumns: string[];
  ms: number;
}

interface PendingRow {
  line: number;
  row: Record<string, unknown>;
  /** Items: what the file's `archived` column says, applied after the upsert. */
  archived?: boolean | undefined;
}

/** A row read from the file, or why it could not be. */
type ReadRow = { row: Record<string, unknown>; archived?: boolean | undefined } | { error: ImportRowError };

/**
 * Streams a CSV file into a namespace through the same store functions as the API: each row is
 * validated by the API's contracts, refused rows are reported by line and column, good rows are
 * kept. Events are stored once per `eventId` (ids derived from the row's content when the file has
 * none), so running the same import twice stores nothing the second time.
 */
export async function importCsv(
  database: Database,
  namespaceId: string,
  path: string,
  options: ImportCsvOptions,
): Promise<ImportCsvResult> {
  const started = performance.now();
  const namespace = await getNamespace(database, namespaceId);
  if (!namespace) {
    throw new UserError(
      'NOT_FOUND',
      `Namespace "${namespaceId}" does not exist; create it with: recsys namespace create ${namespaceId}`,
    );
  }
  const settings = namespace.settings as NamespaceSettings;
  const fields = options.kind === 'events' ? EVENT_FIELDS : ITEM_FIELDS;
  const batchSize =
    options.batchSize ?? (options.kind === 'events' ? limits.eventsPerBatch : limits.itemsPerUpsert);
  const maxErrors = options.maxErrors ?? 100;
  const { stream, totalBytes, bytesRead } = await openCounted(path);
  const result: ImportCsvResult = {
    kind: options.kind,
    rowsRead: 0,
    stored: 0,
    duplicates: 0,
    archived: 0,
    restored: 0,
    rejected: 0,
    errors: [],
    columns: {},
    unusedColumns: [],
    ms: 0,
  };
  const reject = (error: ImportRowError) => {
    result.rejected++;
    if (result.errors.length < maxErrors) result.errors.push(error);
  };
  let resolved: ResolvedColumns | undefined;
  let toRow: ((cells: string[], line: number) => ReadRow) | undefined;
  let pending: PendingRow[] = [];

  const flush = async () => {
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    const rows = batch.map((p) => p.row);
    let refused: RowError[];
    if (options.kind === 'events') {
      const r = await ingestEvents(database, namespaceId, settings, rows);
      result.stored += r.accepted;
      result.duplicates += r.duplicates;
      refused = r.rejected;
    } else {
      const r = await upsertItems(database, namespaceId, rows);
      result.stored += r.upserted;
      refused = r.rejected;
      // The item API has no archived field (archiving is its own call): the file's column is
      // applied to the rows that were stored, later rows for an item winning.
      const refusedRows = new Set(r.rejected.map((e) => e.index));
      const state = new Map<string, boolean>();
      batch.forEach((p, i) => {
        if (p.archived !== undefined && !refusedRows.has(i)) state.set(String(p.row['itemId']), p.archived);
      });
      const ids = (archived: boolean) => [...state].filter(([, a]) => a === archived).map(([id]) => id);
      if (ids(true).length) result.archived += (await archiveItems(database, namespaceId, ids(true))).changed;
      if (ids(false).length)
        result.restored += (await restoreItems(database, namespaceId, ids(false))).changed;
    }
    // One message per refused row (the first issue): a row is either stored or listed once.
    const seen = new Set<number>();
    for (const e of refused) {
      if (seen.has(e.index)) continue;
      seen.add(e.index);
      const field = fieldOf(e.path, fields);
      reject({
        line: batch[e.index]!.line,
        column: resolved!.column.get(field) ?? `(${field} not mapped)`,
        field,
        message: e.message,
      });
    }
    options.onProgress?.({
      bytesRead: bytesRead(),
      totalBytes,
      rowsRead: result.rowsRead,
      stored: result.stored,
      rejected: result.rejected,
    });
  };

  for await (const { fields: cells, line } of readCsvRowsOf(
    path,
    { stream },
    { delimiter: options.delimiter ?? ',' },
  )) {
    if (!resolved) {
      resolved = resolveColumns(cells, options.map, fields);
      result.columns = Object.fromEntries(resolved.column);
      result.unusedColumns = resolved.unused;
      toRow = options.kind === 'events' ? eventRowReader(resolved, options) : itemRowReader(resolved);
      continue;
    }
    result.rowsRead++;
    const read = toRow!(cells, line);
    if ('error' in read) reject(read.error);
    else pending.push({ line, ...read });
    if (pending.length >= batchSize) await flush();
  }
  if (!resolved) throw new UserError('BAD_REQUEST', `${path} is empty: a CSV import needs a header row.`);
  await flush();
  result.errors.sort((a, b) => a.line - b.line);
  result.ms = Math.round(performance.now() - started);
  return result;
}

/** The mapped field an API error path points at: `meta.orderId` stays, `tags.3` is `tags`. */
function fieldOf(path: string, fields: FieldSet): string {
  if (fields.fields.includes(path)) return path;
  const [head, key] = path.split('.');
  if (head && key && (fields.open ?? []).includes(`${head}.`)) return `${head}.${key}`;
  return head || '(row)';
}

/** Cells of one row by field; empty cells are absent, so the API sees an omitted field. */
function cellReader(resolved: ResolvedColumns, cells: string[]) {
  return (field: string): string | undefined => {
    const i = resolved.index.get(field);
    if (i === undefined) return undefined;
    const v = (cells[i] ?? '').trim();
    return v === '' ? undefined : v;
  };
}

const NUMERIC_META = new Set(['unitPrice', 'rank']);

function eventRowReader(resolved: ResolvedColumns, options: ImportCsvOptions) {
  const tsFormat = options.tsFormat ?? 'iso';
  const timeZone = options.timeZone ?? 'UTC';
  const typeMap = new Map(Object.entries(options.typeMap ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  const metaFields = [...resolved.index.keys()].filter((f) => f.startsWith('meta.'));
  if (!resolved.index.has('type') && !options.defaultType) {
    throw new UserError(
      'BAD_REQUEST',
      `No event type: map a column (--map type=<column>) or give one for every row (--type purchase); types are ${EVENT_TYPES.join(', ')}.`,
    );
  }
  if (!resolved.index.has('ts')) {
    throw new UserError('BAD_REQUEST', 'No timestamp: map the time column with --map ts=<column>.');
  }
  return (cells: string[], line: number): ReadRow => {
    const cell = cellReader(resolved, cells);
    const row: Record<string, unknown> = {};
    const rawType = cell('type');
    row['type'] =
      rawType === undefined
        ? options.defaultType
        : (typeMap.get(rawType.toLowerCase()) ?? rawType.toLowerCase());
    for (const f of ['itemId', 'userId', 'anonymousId', 'sessionId'] as const) {
      const v = cell(f);
      if (v !== undefined) row[f] = v;
    }
    const rawTs = cell('ts');
    if (rawTs !== undefined) {
      const iso = toIsoTs(rawTs, tsFormat, timeZone);
      if (iso === undefined) {
        return {
          error: {
            line,
            column: resolved.column.get('ts')!,
            field: 'ts',
            message: `"${rawTs}" is not a ${tsFormat} timestamp${tsFormat === 'local' ? ' (YYYY-MM-DD HH:MM:SS)' : ''}`,
          },
        };
      }
      row['ts'] = iso;
    }
    const value = cell('value');
    if (value !== undefined) row['value'] = numberOrText(value);
    const meta: Record<string, unknown> = {};
    for (const field of metaFields) {
      const v = cell(field);
      if (v === undefined) continue;
      const key = field.slice('meta.'.length);
      meta[key] = NUMERIC_META.has(key) ? numberOrText(v) : key === 'recommended' ? (parseFlag(v) ?? v) : v;
    }
    if (Object.keys(meta).length > 0) row['meta'] = meta;
    // Without an id column the id is the row's content: the same row imported again is the same
    // event, so a second run stores nothing twice.
    row['eventId'] = cell('eventId') ?? `csv-${contentId(row)}`;
    return { row };
  };
}

function itemRowReader(resolved: ResolvedColumns) {
  const propFields = [...resolved.index.keys()].filter((f) => f.startsWith('props.'));
  return (cells: string[], line: number): ReadRow => {
    const cell = cellReader(resolved, cells);
    const row: Record<string, unknown> = {};
    for (const f of ['itemId', 'title', 'description', 'currency', 'parentId', 'createdAt'] as const) {
      const v = cell(f);
      if (v !== undefined) row[f] = v;
    }
    const price = cell('price');
    if (price !== undefined) {
      const parsed = parsePrice(price);
      if (!parsed) row['price'] = price;
      else {
        row['price'] = parsed.price;
        if (parsed.currency && row['currency'] === undefined) row['currency'] = parsed.currency;
      }
    }
    const available = cell('available');
    if (available !== undefined) row['available'] = parseFlag(available) ?? available;
    const tags = cell('tags');
    if (tags !== undefined) row['tags'] = splitList(tags);
    for (const f of ['brand', 'category'] as const) {
      const v = cell(f);
      if (v !== undefined) row[f] = v.includes('|') ? splitList(v) : v;
    }
    const props: Record<string, unknown> = {};
    for (const field of propFields) {
      const v = cell(field);
      if (v !== undefined) props[field.slice('props.'.length)] = v;
    }
    if (Object.keys(props).length > 0) row['props'] = props;
    const archivedText = cell('archived');
    const archived = archivedText === undefined ? undefined : parseArchived(archivedText);
    if (archivedText !== undefined && archived === undefined) {
      const column = resolved.column.get('archived')!;
      return {
        error: {
          line,
          column,
          field: 'archived',
          message: `"${archivedText}" is not yes/no, true/false, 1/0 or active/archived`,
        },
      };
    }
    return { row, archived };
  };
}

/** A number when the cell is one; otherwise the text, for the API to refuse with its own message. */
function numberOrText(text: string): number | string {
  const n = Number(text);
  return text.trim() !== '' && Number.isFinite(n) ? n : text;
}

function toIsoTs(raw: string, format: NonNullable<ImportCsvOptions['tsFormat']>, timeZone: string) {
  let ms: number;
  switch (format) {
    case 'iso':
      return raw; // the API's contract reads it, strictly
    case 'unix-s':
      ms = /^-?\d+(\.\d+)?$/.test(raw) ? Math.round(Number(raw) * 1000) : Number.NaN;
      break;
    case 'unix-ms':
      ms = /^-?\d+$/.test(raw) ? Number(raw) : Number.NaN;
      break;
    case 'local':
      ms = localTimeToUtcMs(raw, timeZone);
      break;
  }
  return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
}

function contentId(row: Record<string, unknown>): string {
  const { type, itemId, userId, anonymousId, sessionId, ts, value, meta } = row;
  const text = JSON.stringify([type, itemId, userId, anonymousId, sessionId, ts, value, meta ?? null]);
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}

/** The file as a stream (gunzipped when it is gzip), with a count of the bytes read from disk. */
async function openCounted(path: string) {
  let gz: boolean;
  try {
    gz = await isGzipFile(path);
  } catch (error) {
    throw new UserError('BAD_REQUEST', `Cannot read ${path}: ${(error as Error).message}`);
  }
  let read = 0;
  // A pass-through that counts, rather than a 'data' listener, which would start the file flowing
  // before the parser is attached.
  const counted = createReadStream(path).pipe(
    new Transform({
      transform(chunk: Buffer, _encoding, done) {
        read += chunk.length;
        done(null, chunk);
      },
    }),
  );
  const stream: Readable = gz ? counted.pipe(createGunzip()) : counted;
  return { stream, totalBytes: statSync(path).size, bytesRead: () => read };
}

/** Reads an event type given on the command line, naming the flag when it is not one. */
export function parseEventType(text: string, flag: string): EventType {
  const type = text.trim().toLowerCase();
  if (!(EVENT_TYPES as readonly string[]).includes(type)) {
    throw new UserError(
      'BAD_REQUEST',
      `${flag}: "${text}" is not an event type; use ${EVENT_TYPES.join(', ')}.`,
    );
  }
  return type as EventType;
}

/** Reads `--type-map raw=type,…` (raw values are matched ignoring case). */
export function parseTypeMap(text: string): Record<string, EventType> {
  const map: Record<string, EventType> = {};
  for (const part of text.split(',')) {
    if (!part.trim()) continue;
    const [raw, type] = part.split('=').map((s) => s?.trim());
    if (!raw || !type)
      throw new UserError('BAD_REQUEST', `--type-map: "${part}" is not raw=type (e.g. pageview=view).`);
    map[raw.toLowerCase()] = parseEventType(type, '--type-map');
  }
  return map;
}
