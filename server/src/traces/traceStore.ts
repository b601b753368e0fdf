import { and, arrayContains, desc, eq, gte, lt, lte, or, type SQL, sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { namespaces, recTraces } from '../db/schema';
import { UserError } from '../errors';
import { parseIsoTimestamp } from '../ingest/contracts';
import type { StoredTrace, TraceBody } from './storedTrace';

export { DEFAULT_TRACE_RETENTION_DAYS } from '../db/retention';

/**
 * SQL (text) of the salted hash of an id: sha-256 of `<salt>:<kind>:<id>`, hex; NULL for a NULL
 * id. `kind` keeps a user id and an anonymous id with the same text from sharing a hash. The
 * writer inlines it in its INSERT; searches and erasure use {@link hashOf}.
 */
export function hashedId(saltSql: string, kind: 'u' | 'a', valueSql: string): string {
  return `CASE WHEN ${valueSql} IS NULL THEN NULL ELSE encode(sha256(convert_to(${saltSql} || ':${kind}:' || ${valueSql}, 'UTF8')), 'hex') END`;
}

/** The hash of `value` as stored for `namespaceId`, computed at query time in the database. */
export function hashOf(namespaceId: string, kind: 'u' | 'a', value: string): SQL {
  return sql`encode(sha256(convert_to((SELECT ${namespaces.traceSalt} FROM ${namespaces} WHERE ${namespaces.id} = ${namespaceId}) || ${`:${kind}:`} || ${value}, 'UTF8')), 'hex')`;
}

const columns = {
  requestId: recTraces.requestId,
  // ISO-8601 with microseconds: a cursor must name the exact instant, and ms would round it.
  createdAt: sql<string>`to_char(${recTraces.createdAt} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`,
  surface: recTraces.surface,
  userHash: recTraces.userHash,
  anonymousHash: recTraces.anonymousHash,
  configVersion: recTraces.configVersion,
  experiment: recTraces.experiment,
  variant: recTraces.variant,
  trace: recTraces.trace,
};

type Row = {
  requestId: string;
  createdAt: string;
  surface: string;
  userHash: string | null;
  anonymousHash: string | null;
  configVersion: number | null;
  experiment: string | null;
  variant: string | null;
  trace: Record<string, unknown>;
};

function toTrace(row: Row): StoredTrace {
  const body = row.trace as TraceBody;
  return {
    requestId: row.requestId,
    createdAt: new Date(row.createdAt).toISOString(),
    surface: row.surface,
    userHash: row.userHash,
    anonymousHash: row.anonymousHash,
    configVersion: row.configVersion,
    experiment: row.experiment,
    variant: row.variant,
    ruleSet: body.ruleSet ?? null,
    request: body.request,
    rules: body.rules,
    engine: body.engine ?? null,
    bundle: body.bundle ?? null,
  };
}

/** The trace of one served list, or undefined (not sampled, pruned, erased, or never served). */
export async function getTrace(
  database: Database,
  namespaceId: string,
  requestId: string,
): Promise<StoredTrace | undefined> {
  const [row] = await database.db
    .select(columns)
    .from(recTraces)
    .where(and(eq(recTraces.namespaceId, namespaceId), eq(recTraces.requestId, requestId)));
  return row ? toTrace(row) : undefined;
}

/** What {@link searchTraces} filters on; every given field must match. */
export interface TraceQuery {
  requestId?: string | undefined;
  /** Hashed here, with the namespace's salt, and compared with the stored hashes. */
  userId?: string | undefined;
  anonymousId?: string | undefined;
  /** An item shown, or removed by a filter, a cap or a rule. */
  itemId?: string | undefined;
  ruleId?: string | undefined;
  /** The placement or surface the list was logged under. */
  surface?: string | undefined;
  /** ISO-8601 bounds on when the list was served (inclusive). */
  from?: string | undefined;
  to?: string | undefined;
  /** From the previous page's `nextCursor`. */
  cursor?: string | undefined;
  /** @default 20 */
  limit?: number | undefined;
}

/** The position after the last trace of a page: its time (to the microsecond) and request id. */
function encodeCursor(row: Row): string {
  return Buffer.from(JSON.stringify([row.createdAt, row.requestId])).toString('base64url');
}

function decodeCursor(cursor: string): [string, string] {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      typeof value[0] === 'string' &&
      typeof value[1] === 'string' &&
      // Checked as storage would check it, so the cast in the query cannot fail.
      'ms' in parseIsoTimestamp(value[0])
    ) {
      return [value[0], value[1]];
    }
  } catch {}
  throw new UserError(
    'BAD_REQUEST',
    'cursor is not one this server gave; pass nextCursor from the last page.',
  );
}

/** Traces newest first, a page at a time (`nextCursor` is null on the last page). */
export async function searchTraces(
  database: Database,
  namespaceId: string,
  query: TraceQuery,
): Promise<{ traces: StoredTrace[]; nextCursor: string | null }> {
  const limit = query.limit ?? 20;
  const where: Array<SQL | undefined> = [eq(recTraces.namespaceId, namespaceId)];
  if (query.requestId !== undefined) where.push(eq(recTraces.requestId, query.requestId));
  if (query.userId !== undefined) where.push(eq(recTraces.userHash, hashOf(namespaceId, 'u', query.userId)));
  if (query.anonymousId !== undefined)
    where.push(eq(recTraces.anonymousHash, hashOf(namespaceId, 'a', query.anonymousId)));
  if (query.itemId !== undefined) where.push(arrayContains(recTraces.itemIds, [query.itemId]));
  if (query.ruleId !== undefined) where.push(arrayContains(recTraces.ruleIds, [query.ruleId]));
  if (query.surface !== undefined) where.push(eq(recTraces.surface, query.surface));
  if (query.from !== undefined) where.push(gte(recTraces.createdAt, new Date(query.from)));
  if (query.to !== undefined) where.push(lte(recTraces.createdAt, new Date(query.to)));
  if (query.cursor !== undefined) {
    const [at, requestId] = decodeCursor(query.cursor);
    where.push(
      or(
        sql`${recTraces.createdAt} < ${at}::timestamptz`,
        and(sql`${recTraces.createdAt} = ${at}::timestamptz`, lt(recTraces.requestId, requestId)),
      ),
    );
  }
  const rows = await database.db
    .select(columns)
    .from(recTraces)
    .where(and(...where))
    .orderBy(desc(recTraces.createdAt), desc(recTraces.requestId))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  return {
    traces: page.map(toTrace),
    nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1]!) : null,
  };
}

/** Deletes traces past their namespace's retention, in batches: see {@link pruneTraces} in `db/retention`. */
export { pruneTraces } from '../db/retention';
