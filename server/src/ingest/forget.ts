import { and, eq, inArray, isNotNull, isNull, or, type SQL, sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { aliases, changes, events, recLogs, recTraces, users } from '../db/schema';
import { hashOf } from '../traces/traceStore';

/** What an erasure removed; the same shape whether it was asked for by userId or by anonymousId. */
export interface ForgetResult {
  userDeleted: boolean;
  aliasesDeleted: number;
  eventsDeleted: number;
  recLogsDeleted: number;
  /** Decision traces of those lists (found by the salted hashes they store). */
  tracesDeleted: number;
}

type Tx = Parameters<Parameters<Database['db']['transaction']>[0]>[0];

/**
 * GDPR erasure of a user: the user row and traits, their aliases, and every event, served list and trace
 * recorded under the user or under an anonymous id linked to them — by an alias (`users.alias`)
 * or only by an event that carried both ids. An event or list of a linked anonymous id that names
 * another user is that user's and stays.
 *
 * Engine hosts see the `forget` change and rebuild the namespace from what is left, so the erased
 * history stops shaping recommendations in every process.
 */
export async function forgetUser(database: Database, namespaceId: string, userId: string) {
  return database.db.transaction(async (tx): Promise<ForgetResult> => {
    const aliased = await tx
      .delete(aliases)
      .where(and(eq(aliases.namespaceId, namespaceId), eq(aliases.userId, userId)))
      .returning({ anonymousId: aliases.anonymousId });
    const seenTogether = await tx
      .selectDistinct({ anonymousId: events.anonymousId })
      .from(events)
      .where(
        and(eq(events.namespaceId, namespaceId), eq(events.userId, userId), isNotNull(events.anonymousId)),
      );
    const anonymousIds = [
      ...new Set([...aliased.map((a) => a.anonymousId), ...seenTogether.map((e) => e.anonymousId!)]),
    ];
    const byIdentity = (table: typeof events | typeof recLogs) =>
      and(
        eq(table.namespaceId, namespaceId),
        anonymousIds.length
          ? or(eq(table.userId, userId), and(inArray(table.anonymousId, anonymousIds), isNull(table.userId)))
          : eq(table.userId, userId),
      );
    // Traces hold hashes only: the same rule as above, on the hashes of the ids.
    const userHash = eq(recTraces.userHash, hashOf(namespaceId, 'u', userId));
    const traces = and(
      eq(recTraces.namespaceId, namespaceId),
      anonymousIds.length
        ? or(
            userHash,
            and(
              or(...anonymousIds.map((id) => eq(recTraces.anonymousHash, hashOf(namespaceId, 'a', id)))),
              isNull(recTraces.userHash),
            ),
          )
        : userHash,
    );
    const deletedUsers = await tx
      .delete(users)
      .where(and(eq(users.namespaceId, namespaceId), eq(users.userId, userId)))
      .returning({ id: users.userId });
    return erase(tx, namespaceId, [userId, ...anonymousIds], byIdentity, traces, {
      userDeleted: deletedUsers.length > 0,
      aliasesDeleted: aliased.length,
    });
  });
}

/**
 * GDPR erasure of one anonymous visitor (one who never logged in, or one browser of a user):
 * every event and served list recorded under the anonymous id, and its link to a user. The
 * user's own rows stay; forget the user by `userId` to erase those too.
 */
export async function forgetAnonymous(database: Database, namespaceId: string, anonymousId: string) {
  return database.db.transaction(async (tx): Promise<ForgetResult> => {
    const aliased = await tx
      .delete(aliases)
      .where(and(eq(aliases.namespaceId, namespaceId), eq(aliases.anonymousId, anonymousId)))
      .returning({ userId: aliases.userId });
    const byIdentity = (table: typeof events | typeof recLogs) =>
      and(eq(table.namespaceId, namespaceId), eq(table.anonymousId, anonymousId));
    const traces = and(
      eq(recTraces.namespaceId, namespaceId),
      eq(recTraces.anonymousHash, hashOf(namespaceId, 'a', anonymousId)),
    );
    return erase(tx, namespaceId, [anonymousId], byIdentity, traces, {
      userDeleted: false,
      aliasesDeleted: aliased.length,
    });
  });
}

/**
 * The part both erasures share: events and served lists, every earlier `changes` row that names
 * one of `ids` (older forget rows held them), and the `forget` change that makes engine hosts
 * rebuild — with counts only, never an id.
 */
async function erase(
  tx: Tx,
  namespaceId: string,
  ids: string[],
  byIdentity: (table: typeof events | typeof recLogs) => SQL | undefined,
  traces: SQL | undefined,
  done: Pick<ForgetResult, 'userDeleted' | 'aliasesDeleted'>,
): Promise<ForgetResult> {
  const deletedEvents = await tx.delete(events).where(byIdentity(events)).returning({ id: events.eventId });
  const deletedLogs = await tx
    .delete(recLogs)
    .where(byIdentity(recLogs))
    .returning({ id: recLogs.requestId });
  const deletedTraces = await tx.delete(recTraces).where(traces).returning({ id: recTraces.requestId });
  // Rows keep their `tx`, so engine hosts never read them again; only what they say is cleared.
  await tx
    .update(changes)
    .set({ payload: {} })
    .where(
      and(
        eq(changes.namespaceId, namespaceId),
        sql`exists (select 1 from jsonb_path_query(${changes.payload}, '$.**') as v(value)
                    where jsonb_typeof(v.value) = 'string' and v.value #>> '{}' in ${ids})`,
      ),
    );
  const result: ForgetResult = {
    ...done,
    eventsDeleted: deletedEvents.length,
    recLogsDeleted: deletedLogs.length,
    tracesDeleted: deletedTraces.length,
  };
  await tx.insert(changes).values({ namespaceId, kind: 'forget', payload: { ...result } });
  return result;
}
