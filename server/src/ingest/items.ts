import { and, asc, eq, gt, inArray, isNotNull, isNull, type SQL, sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { items } from '../db/schema';
import {
  collectTags,
  encodeCursor,
  type ItemView,
  idCursor,
  itemInputSchema,
  type ParsedItem,
  type RowError,
  readCursor,
  toRowErrors,
} from './contracts';

export interface UpsertResult {
  /** Items written (created or updated). */
  upserted: number;
  rejected: RowError[];
}

type ItemRow = typeof items.$inferInsert;
type Column = Exclude<keyof ItemRow, 'namespaceId' | 'itemId' | 'updatedAt' | 'archivedAt' | 'tx'>;

const COLUMN_SQL: Record<Column, string> = {
  title: 'title',
  description: 'description',
  price: 'price',
  currency: 'currency',
  available: 'available',
  tags: 'tags',
  props: 'props',
  markets: 'markets',
  parentId: 'parent_id',
  createdAt: 'created_at',
};

function toRow(namespaceId: string, item: ParsedItem): { row: ItemRow; provided: Column[] } {
  const row: ItemRow = { namespaceId, itemId: item.itemId };
  const provided: Column[] = [];
  const set = <K extends Column>(key: K, value: ItemRow[K] | undefined) => {
    if (value === undefined) return;
    row[key] = value;
    provided.push(key);
  };
  set('title', item.title);
  set('description', item.description);
  set('price', item.price);
  set('currency', item.currency);
  set('available', item.available);
  set('tags', collectTags(item));
  set('props', item.props);
  set('markets', item.markets);
  set('parentId', item.parentId);
  set('createdAt', item.createdAt ? new Date(item.createdAt) : undefined);
  return { row, provided };
}

/**
 * Validates each item on its own, stores the valid ones and reports the
 * others by index. Omitted fields keep their stored values, so the same call
 * serves full syncs and partial updates (price, stock). Upserting does not
 * restore an archived item; `restoreItems` does.
 */
export async function upsertItems(
  database: Database,
  namespaceId: string,
  input: unknown[],
): Promise<UpsertResult> {
  const rejected: RowError[] = [];
  // Later rows for the same itemId win field by field, as if sent one by one.
  const merged = new Map<string, { row: ItemRow; provided: Set<Column> }>();
  input.forEach((raw, index) => {
    const parsed = itemInputSchema.safeParse(raw);
    if (!parsed.success) {
      rejected.push(...toRowErrors(index, parsed.error));
      return;
    }
    const { row, provided } = toRow(namespaceId, parsed.data);
    const existing = merged.get(row.itemId);
    if (existing) {
      Object.assign(existing.row, row);
      for (const c of provided) existing.provided.add(c);
    } else {
      merged.set(row.itemId, { row, provided: new Set(provided) });
    }
  });

  // One statement per set of provided columns: ON CONFLICT updates exactly those.
  const groups = new Map<string, { columns: Column[]; rows: ItemRow[] }>();
  for (const { row, provided } of merged.values()) {
    const columns = [...provided].sort();
    const key = columns.join(',');
    let group = groups.get(key);
    if (!group) {
      group = { columns, rows: [] };
      groups.set(key, group);
    }
    group.rows.push(row);
  }

  await database.db.transaction(async (tx) => {
    for (const { columns, rows } of groups.values()) {
      const set: Record<string, SQL> = {
        updatedAt: sql`now()`,
        tx: sql`(pg_current_xact_id()::text::bigint)`,
      };
      for (const c of columns) {
        if (c === 'createdAt') continue; // creation time is set once
        set[c] = sql.raw(`excluded.${COLUMN_SQL[c]}`);
      }
      await tx
        .insert(items)
        .values(rows)
        .onConflictDoUpdate({ target: [items.namespaceId, items.itemId], set });
    }
  });
  return { upserted: merged.size, rejected };
}

async function setArchived(database: Database, namespaceId: string, itemIds: string[], archived: boolean) {
  const rows = await database.db
    .update(items)
    .set({
      archivedAt: archived ? sql`now()` : null,
      updatedAt: sql`now()`,
      tx: sql`(pg_current_xact_id()::text::bigint)`,
    })
    .where(
      and(
        eq(items.namespaceId, namespaceId),
        inArray(items.itemId, itemIds),
        archived ? isNull(items.archivedAt) : isNotNull(items.archivedAt),
      ),
    )
    .returning({ itemId: items.itemId });
  const changed = new Set(rows.map((r) => r.itemId));
  return { changed: changed.size, unchanged: itemIds.filter((id) => !changed.has(id)) };
}

/** Soft delete: history is kept, the items are never recommended. */
export const archiveItems = (database: Database, namespaceId: string, itemIds: string[]) =>
  setArchived(database, namespaceId, itemIds, true);

export const restoreItems = (database: Database, namespaceId: string, itemIds: string[]) =>
  setArchived(database, namespaceId, itemIds, false);

export function toItemView(row: typeof items.$inferSelect): ItemView {
  return {
    itemId: row.itemId,
    title: row.title,
    description: row.description,
    price: row.price,
    currency: row.currency,
    available: row.available,
    tags: row.tags,
    props: row.props,
    markets: row.markets,
    parentId: row.parentId,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    archivedAt: row.archivedAt?.toISOString() ?? null,
  };
}

export async function getItems(
  database: Database,
  namespaceId: string,
  itemIds: string[],
): Promise<ItemView[]> {
  const rows = await database.db
    .select()
    .from(items)
    .where(and(eq(items.namespaceId, namespaceId), inArray(items.itemId, itemIds)));
  const byId = new Map(rows.map((r) => [r.itemId, toItemView(r)]));
  return itemIds.flatMap((id) => byId.get(id) ?? []);
}

export interface ListItemsFilter {
  /** `active` (default): not archived; `archived`: only archived; `all`. */
  status?: 'active' | 'archived' | 'all';
  available?: boolean;
  tag?: string;
  /** Items whose id or title contains this text (case-insensitive). */
  search?: string | undefined;
  limit: number;
  cursor?: string | undefined;
}

export async function listItems(database: Database, namespaceId: string, filter: ListItemsFilter) {
  const where: SQL[] = [eq(items.namespaceId, namespaceId)];
  const status = filter.status ?? 'active';
  if (status === 'active') where.push(isNull(items.archivedAt));
  if (status === 'archived') where.push(isNotNull(items.archivedAt));
  if (filter.available !== undefined) where.push(eq(items.available, filter.available));
  if (filter.tag) where.push(sql`${items.tags} @> ARRAY[${filter.tag}]::text[]`);
  if (filter.search) {
    // The text is matched literally: `%`, `_` and `\` are escaped, not wildcards.
    const pattern = `%${filter.search.replace(/[\\%_]/g, '\\$&')}%`;
    where.push(sql`(${items.itemId} ILIKE ${pattern} OR ${items.title} ILIKE ${pattern})`);
  }
  if (filter.cursor) {
    const [after] = readCursor(filter.cursor, idCursor);
    where.push(gt(items.itemId, after));
  }
  const rows = await database.db
    .select()
    .from(items)
    .where(and(...where))
    .orderBy(asc(items.itemId))
    .limit(filter.limit + 1);
  const page = rows.slice(0, filter.limit);
  const last = page.at(-1);
  return {
    items: page.map(toItemView),
    nextCursor: rows.length > filter.limit && last ? encodeCursor([last.itemId]) : null,
  };
}
