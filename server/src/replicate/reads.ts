import { and, asc, eq, gte, lt, ne, type SQL, sql } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import type { Database } from '../db/client';
import {
  aliases,
  changes,
  engineConfigs,
  events,
  itemEmbeddings,
  items,
  namespaces,
  rules,
  users,
} from '../db/schema';

/**
 * Every read that feeds the engines, bound to the drizzle schema: a renamed or retyped column fails
 * the typecheck here instead of a query at run time.
 *
 * Rows are read by the transaction id that wrote them (`tx`, see `db/schema.ts`): a range
 * `lo <= tx < hi` with `hi = pg_snapshot_xmin(now)` holds only finished transactions, so each
 * committed row is read exactly once by every process, whichever process wrote it.
 */

/** A range of writing transactions: `lo <= tx < hi`. */
export interface TxRange {
  lo: number;
  hi: number;
}

/** `lo <= tx < hi`, within one namespace when given. */
function inRange(
  column: { tx: AnyPgColumn; namespaceId: AnyPgColumn },
  range: TxRange,
  namespaceId?: string,
) {
  const conditions: SQL[] = [gte(column.tx, range.lo), lt(column.tx, range.hi)];
  if (namespaceId !== undefined) conditions.push(eq(column.namespaceId, namespaceId));
  return and(...conditions);
}

/** The oldest transaction still running: every row with a smaller `tx` is committed or gone. */
export async function readCurrentXmin(database: Database): Promise<number> {
  const [row] = await database.query<{ xmin: string }>(
    'SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin',
  );
  return Number(row?.xmin ?? 0);
}

/** The first transaction id not yet assigned: every write committed before now has a smaller one. */
export async function readNextTransactionId(database: Database): Promise<number> {
  const [row] = await database.query<{ xmax: string }>(
    'SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS xmax',
  );
  return Number(row?.xmax ?? 0);
}

export function readNamespaceIds(database: Database) {
  return database.db.select({ id: namespaces.id }).from(namespaces).orderBy(asc(namespaces.id));
}

/** The active configuration of a namespace (version null: engine defaults). */
export async function readActiveConfig(database: Database, namespaceId: string) {
  const [row] = await database.db
    .select({ version: namespaces.activeConfigVersion, config: engineConfigs.config })
    .from(namespaces)
    .leftJoin(
      engineConfigs,
      and(
        eq(engineConfigs.namespaceId, namespaces.id),
        eq(engineConfigs.version, namespaces.activeConfigVersion),
      ),
    )
    .where(eq(namespaces.id, namespaceId));
  return row;
}

/** Every rule and override of a namespace, disabled ones included (the engine skips them). */
export function readRules(database: Database, namespaceId: string) {
  return database.db
    .select({ ruleId: rules.ruleId, definition: rules.definition, enabled: rules.enabled })
    .from(rules)
    .where(eq(rules.namespaceId, namespaceId))
    .orderBy(asc(rules.ruleId));
}

export function readAliases(database: Database, range: TxRange, namespaceId?: string) {
  return database.db
    .select({
      namespaceId: aliases.namespaceId,
      anonymousId: aliases.anonymousId,
      userId: aliases.userId,
      tx: aliases.tx,
    })
    .from(aliases)
    .where(inRange(aliases, range, namespaceId));
}

export function readUsers(database: Database, range: TxRange, namespaceId?: string) {
  return database.db
    .select({ namespaceId: users.namespaceId, userId: users.userId, traits: users.traits, tx: users.tx })
    .from(users)
    .where(inRange(users, range, namespaceId));
}

const itemColumns = {
  namespaceId: items.namespaceId,
  itemId: items.itemId,
  title: items.title,
  description: items.description,
  price: items.price,
  currency: items.currency,
  available: items.available,
  archived: sql<boolean>`${items.archivedAt} IS NOT NULL`,
  tags: items.tags,
  props: items.props,
  markets: items.markets,
  parentId: items.parentId,
  createdMs: sql<number>`(extract(epoch from ${items.createdAt}) * 1000)::float8`.mapWith(Number),
  tx: items.tx,
};

export function readItems(database: Database, range: TxRange, namespaceId?: string) {
  return database.db
    .select(itemColumns)
    .from(items)
    .where(inRange(items, range, namespaceId));
}

/** One catalog row as the engines read it. */
export type ItemRow = Awaited<ReturnType<typeof readItems>>[number];

export function readEmbeddings(database: Database, range: TxRange, modelId: string, namespaceId?: string) {
  return database.db
    .select({
      namespaceId: itemEmbeddings.namespaceId,
      itemId: itemEmbeddings.itemId,
      textHash: itemEmbeddings.textHash,
      vector: itemEmbeddings.vector,
      tx: itemEmbeddings.tx,
    })
    .from(itemEmbeddings)
    .where(and(eq(itemEmbeddings.modelId, modelId), inRange(itemEmbeddings, range, namespaceId)));
}

const eventColumns = {
  namespaceId: events.namespaceId,
  type: events.type,
  itemId: events.itemId,
  userId: events.userId,
  anonymousId: events.anonymousId,
  sessionId: events.sessionId,
  tsMs: sql<number>`(extract(epoch from ${events.ts}) * 1000)::float8`.mapWith(Number),
  value: events.value,
  orderId: sql<string | null>`${events.meta}->>'orderId'`,
};

/**
 * Impressions are stored for attribution but never learned from (the engine skips them): the engines
 * do not read them, which at several shown items per list would be most of the rows.
 */
const learnedEvents = ne(events.type, 'impression');

/** Events written in `range` (every namespace, or one), oldest first. */
export function readEvents(database: Database, range: TxRange, namespaceId?: string) {
  return database.db
    .select({
      ...eventColumns,
      // For the event→index lag (only here: the full load at start-up has no lag to report).
      receivedMs: sql<number>`(extract(epoch from ${events.receivedAt}) * 1000)::float8`.mapWith(Number),
      // For the response cache's versions (the load needs none: see ChangeVersions).
      tx: events.tx,
    })
    .from(events)
    .where(and(inRange(events, range, namespaceId), learnedEvents))
    .orderBy(asc(events.ts));
}

/** One behavioural row as the engines read it (what the load and the poll both read). */
export type EventRow = Omit<Awaited<ReturnType<typeof readEvents>>[number], 'receivedMs' | 'tx'>;

/** Where the previous page of {@link readEventPage} ended. */
export type EventPageCursor = { ts: string; eventId: string };

/**
 * One page of a namespace's events written before `hi`, oldest first, keyed on (ts, event_id) so
 * pages never overlap.
 */
export function readEventPage(
  database: Database,
  namespaceId: string,
  hi: number,
  after: EventPageCursor | undefined,
  limit: number,
) {
  const conditions: SQL[] = [eq(events.namespaceId, namespaceId), lt(events.tx, hi), learnedEvents];
  if (after) {
    conditions.push(sql`(${events.ts}, ${events.eventId}) > (${after.ts}::timestamptz, ${after.eventId})`);
  }
  return database.db
    .select({ ...eventColumns, tsText: sql<string>`${events.ts}::text`, eventId: events.eventId })
    .from(events)
    .where(and(...conditions))
    .orderBy(asc(events.ts), asc(events.eventId))
    .limit(limit);
}

/** Changes that leave no row behind (forget, reset, config), in the order they were made. */
export function readChanges(database: Database, range: TxRange) {
  return database.db
    .select({ namespaceId: changes.namespaceId, kind: changes.kind, tx: changes.tx })
    .from(changes)
    .where(inRange(changes, range))
    .orderBy(asc(changes.id));
}

/**
 * Stores item vectors; a row whose text hash did not change keeps its `tx`, so other processes do
 * not read it again.
 */
export async function writeEmbeddings(
  database: Database,
  namespaceId: string,
  modelId: string,
  rows: Array<{ itemId: string; textHash: string; vector: Uint8Array }>,
): Promise<void> {
  if (rows.length === 0) return;
  await database.db
    .insert(itemEmbeddings)
    .values(
      rows.map((r) => ({ namespaceId, modelId, itemId: r.itemId, textHash: r.textHash, vector: r.vector })),
    )
    .onConflictDoUpdate({
      target: [itemEmbeddings.namespaceId, itemEmbeddings.itemId, itemEmbeddings.modelId],
      set: {
        textHash: sql`excluded.text_hash`,
        vector: sql`excluded.vector`,
        updatedAt: sql`now()`,
        tx: sql`(pg_current_xact_id()::text::bigint)`,
      },
      setWhere: sql`${itemEmbeddings.textHash} <> excluded.text_hash`,
    });
}

/**
 * Which incarnation of a namespace this is: its id and creation time to the microsecond. A namespace
 * deleted and created again, or one of the same name in another database, reads differently, so a
 * snapshot of the other one is refused.
 */
export async function readNamespaceIdentity(database: Database, namespaceId: string): Promise<string | null> {
  const [row] = await database.db
    .select({ createdAt: sql<string>`${namespaces.createdAt}::text` })
    .from(namespaces)
    .where(eq(namespaces.id, namespaceId));
  return row ? `${namespaceId}@${row.createdAt}` : null;
}

/**
 * Learned events written before `hi`, per namespace: a snapshot records its namespace's count, and
 * the same count must be read back before the snapshot is used (a restored backup or a retention
 * sweep since then leaves another count).
 */
export async function countEventsBefore(database: Database, hi: number): Promise<Map<string, number>> {
  const rows = await database.db
    .select({ namespaceId: events.namespaceId, count: sql<number>`count(*)::float8`.mapWith(Number) })
    .from(events)
    .where(and(lt(events.tx, hi), learnedEvents))
    .groupBy(events.namespaceId);
  return new Map(rows.map((r) => [r.namespaceId, r.count]));
}

/** The same count for one namespace (see {@link countEventsBefore}). */
export async function countNamespaceEventsBefore(
  database: Database,
  namespaceId: string,
  hi: number,
): Promise<number> {
  const [row] = await database.db
    .select({ count: sql<number>`count(*)::float8`.mapWith(Number) })
    .from(events)
    .where(and(eq(events.namespaceId, namespaceId), lt(events.tx, hi), learnedEvents));
  return row?.count ?? 0;
}
