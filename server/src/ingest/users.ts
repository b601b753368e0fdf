import { and, asc, eq, gt, isNull, sql } from 'drizzle-orm';
import type { NamespaceSettings } from '../auth/namespaces';
import type { Database } from '../db/client';
import { aliases, events, users } from '../db/schema';
import { UserError } from '../errors';
import {
  encodeCursor,
  idCursor,
  type RowError,
  readCursor,
  type Traits,
  toRowErrors,
  userInputSchema,
} from './contracts';
import { applyPiiPolicy } from './piiPolicy';

export async function upsertUsers(
  database: Database,
  namespaceId: string,
  settings: NamespaceSettings,
  input: unknown[],
): Promise<{ upserted: number; rejected: RowError[] }> {
  const rejected: RowError[] = [];
  const merged = new Map<string, Traits | undefined>();
  input.forEach((raw, index) => {
    const parsed = userInputSchema.safeParse(raw);
    if (!parsed.success) {
      rejected.push(...toRowErrors(index, parsed.error));
      return;
    }
    let traits = parsed.data.traits;
    if (traits) {
      const checked = applyPiiPolicy(traits, settings.pii ?? 'reject', index, 'traits');
      if (checked.errors.length) {
        rejected.push(...checked.errors);
        return;
      }
      traits = checked.value;
    }
    const prev = merged.get(parsed.data.userId);
    merged.set(parsed.data.userId, prev || traits ? { ...prev, ...traits } : undefined);
  });
  if (merged.size > 0) {
    await database.db
      .insert(users)
      .values([...merged].map(([userId, traits]) => ({ namespaceId, userId, traits: traits ?? {} })))
      .onConflictDoUpdate({
        target: [users.namespaceId, users.userId],
        // Traits merge key by key: a partial update never erases other traits.
        set: {
          traits: sql`${users.traits} || excluded.traits`,
          updatedAt: sql`now()`,
          tx: sql`(pg_current_xact_id()::text::bigint)`,
        },
      });
  }
  return { upserted: merged.size, rejected };
}

/**
 * Links an anonymous visitor to a user on login. Idempotent: linking the same
 * pair again changes nothing. The visitor's earlier events are attributed to
 * the user, so their history is merged in storage and in the engine.
 */
export async function aliasUser(
  database: Database,
  namespaceId: string,
  anonymousId: string,
  userId: string,
) {
  return database.db.transaction(async (tx) => {
    const inserted = await tx
      .insert(aliases)
      .values({ namespaceId, anonymousId, userId })
      .onConflictDoNothing()
      .returning({ userId: aliases.userId });
    if (inserted.length === 0) {
      const [existing] = await tx
        .select({ userId: aliases.userId })
        .from(aliases)
        .where(and(eq(aliases.namespaceId, namespaceId), eq(aliases.anonymousId, anonymousId)));
      if (existing && existing.userId !== userId) {
        throw new UserError(
          'CONFLICT',
          `anonymousId "${anonymousId}" is already linked to another user; call reset() on logout so each login gets a fresh anonymous id.`,
        );
      }
    }
    const merged = await tx
      .update(events)
      .set({ userId })
      .where(
        and(eq(events.namespaceId, namespaceId), eq(events.anonymousId, anonymousId), isNull(events.userId)),
      )
      .returning({ eventId: events.eventId });
    return { linked: inserted.length > 0, eventsMerged: merged.length };
  });
}

export async function getUser(database: Database, namespaceId: string, userId: string) {
  const [row] = await database.db
    .select()
    .from(users)
    .where(and(eq(users.namespaceId, namespaceId), eq(users.userId, userId)));
  if (!row) return null;
  const linked = await database.db
    .select({ anonymousId: aliases.anonymousId })
    .from(aliases)
    .where(and(eq(aliases.namespaceId, namespaceId), eq(aliases.userId, userId)));
  return {
    userId: row.userId,
    traits: row.traits,
    anonymousIds: linked.map((l) => l.anonymousId),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

export async function listUsers(
  database: Database,
  namespaceId: string,
  filter: { limit: number; cursor?: string | undefined; trait?: { key: string; value: string } | undefined },
) {
  const where = [eq(users.namespaceId, namespaceId)];
  if (filter.trait) where.push(sql`${users.traits} ->> ${filter.trait.key} = ${filter.trait.value}`);
  if (filter.cursor) {
    const [after] = readCursor(filter.cursor, idCursor);
    where.push(gt(users.userId, after));
  }
  const rows = await database.db
    .select()
    .from(users)
    .where(and(...where))
    .orderBy(asc(users.userId))
    .limit(filter.limit + 1);
  const page = rows.slice(0, filter.limit);
  const last = page.at(-1);
  return {
    users: page.map((r) => ({
      userId: r.userId,
      traits: r.traits,
      createdAt: r.createdAt.toISOString(),
      updatedAt: r.updatedAt.toISOString(),
    })),
    nextCursor: rows.length > filter.limit && last ? encodeCursor([last.userId]) : null,
  };
}
