import { and, desc, eq, gte, lt, or, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import type { NamespaceSettings } from '../auth/namespaces';
import { mayNameUser, type UserIdProof, unprovenUserMessage } from '../auth/userProof';
import type { Database } from '../db/client';
import { events } from '../db/schema';
import {
  type EventsBatchResult,
  encodeCursor,
  eventInputSchema,
  isoTimestampSchema,
  limits,
  type ParsedEvent,
  pgText,
  type RowError,
  readCursor,
  toRowErrors,
} from './contracts';
import { applyPiiPolicy } from './piiPolicy';

/**
 * Characters of meta screened between two turns given back to the event loop (well under a
 * millisecond of work), so a 1 MB batch never holds up other requests for longer than that.
 */
const SCREEN_SLICE = 64 * 1024;
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

interface PreparedEvent {
  event: ParsedEvent;
  ts: Date;
  clientTs: Date | null;
}

export interface IngestEventsOptions {
  /**
   * When the rows were received.
   * @default new Date()
   */
  receivedAt?: Date;
  /**
   * Which `userId` the rows may name (see `proveUserId`).
   * @default { kind: 'any' } (a trusted caller: a secret key, the seeders)
   */
  userIds?: UserIdProof;
}

/**
 * Validates each event on its own and stores the valid ones in one
 * statement. Replays are ignored by `(namespace_id, event_id)`, so clients
 * can retry a batch any number of times. The promise resolves after the
 * insert committed: "accepted" means durably stored.
 *
 * A row naming a `userId` the request cannot prove (a browser without a valid user token) is
 * stored without that userId, for its `anonymousId`, and listed in `warnings`; without an
 * anonymousId nothing is left to store it for, and it is rejected. Stored rather than rejected
 * because the visitor's behaviour is still real: on a device whose anonymous id was linked to the
 * user at sign-in (with a token) it counts for the user through that link, and a shop that has
 * not set up tokens yet keeps its anonymous signals instead of losing every signed-in event.
 */
export async function ingestEvents(
  database: Database,
  namespaceId: string,
  settings: NamespaceSettings,
  input: unknown[],
  options: IngestEventsOptions = {},
): Promise<EventsBatchResult> {
  const receivedAt = options.receivedAt ?? new Date();
  const userIds = options.userIds ?? { kind: 'any' };
  const rejected: RowError[] = [];
  const warnings: RowError[] = [];
  const prepared: PreparedEvent[] = [];
  const maxTs = receivedAt.getTime() + limits.maxFutureSkewMs;
  let screened = 0;
  for (let index = 0; index < input.length; index++) {
    const parsed = eventInputSchema.safeParse(input[index]);
    if (!parsed.success) {
      rejected.push(...toRowErrors(index, parsed.error));
      continue;
    }
    const event = parsed.data;
    if (event.userId !== undefined && !mayNameUser(userIds, event.userId)) {
      const message = unprovenUserMessage(userIds);
      if (event.anonymousId === undefined) {
        rejected.push({ index, path: 'userId', message: `${message} This row has no anonymousId either.` });
        continue;
      }
      warnings.push({
        index,
        path: 'userId',
        message: `userId ignored, stored for the anonymousId: ${message}`,
      });
      delete event.userId;
    }
    if (event.meta) {
      const checked = applyPiiPolicy(event.meta, settings.pii ?? 'reject', index, 'meta');
      screened += checked.screened;
      if (screened >= SCREEN_SLICE) {
        screened = 0;
        await yieldToEventLoop();
      }
      if (checked.errors.length) {
        rejected.push(...checked.errors);
        continue;
      }
      event.meta = checked.value;
    }
    const ts = new Date(event.ts);
    // Far-future client clocks would float events to the top of every decay
    // window; clamp to the receive time and keep what the client said.
    if (ts.getTime() > maxTs) prepared.push({ event, ts: receivedAt, clientTs: ts });
    else prepared.push({ event, ts, clientTs: null });
  }
  const inserted = prepared.length ? await insertEvents(database, namespaceId, prepared, receivedAt) : 0;
  const result: EventsBatchResult = { accepted: inserted, duplicates: prepared.length - inserted, rejected };
  if (warnings.length) result.warnings = warnings;
  return result;
}

/**
 * Stores the validated rows; resolves with how many were new. Each `eventId` is offered once
 * (the first row of a batch with a repeated id is the one kept) and `ON CONFLICT DO NOTHING`
 * skips the ids already stored, also by a concurrent batch: its insert waits for the other
 * transaction and then skips. `tx` is left to its default, the writing transaction's id, which
 * is what the engine hosts' poll reads.
 */
async function insertEvents(
  database: Database,
  namespaceId: string,
  prepared: PreparedEvent[],
  receivedAt: Date,
): Promise<number> {
  const seen = new Set<string>();
  const rows: PreparedEvent[] = [];
  for (const row of prepared) {
    if (seen.has(row.event.eventId)) continue;
    seen.add(row.event.eventId);
    rows.push(row);
  }
  return unnestEvents(database, namespaceId, rows, receivedAt);
}

/**
 * One statement with array parameters: constant parameter count whatever the batch size, one round
 * trip, autocommit. First a plain INSERT; only when an id is already stored, the same rows with
 * `ON CONFLICT DO NOTHING`. Why: `ON CONFLICT` looks each id up before inserting it and then
 * again as it enters the index, which cost 15–20% of the throughput of `events.batch` on
 * PostgreSQL for batches of new ids (December 2026, the same runs of `bench:ingest`). A replayed
 * batch pays one failed statement (its dead rows are vacuumed like any other).
 *
 * A COPY into a staging table followed by one `INSERT … SELECT … ON CONFLICT` was measured too: no
 * less PostgreSQL CPU per event than the arrays and more on the server (five round trips instead of
 * one), so it was not kept.
 */
async function unnestEvents(
  database: Database,
  namespaceId: string,
  rows: PreparedEvent[],
  receivedAt: Date,
): Promise<number> {
  const n = rows.length;
  const cols = {
    eventId: new Array<string>(n),
    type: new Array<string>(n),
    itemId: new Array<string | null>(n),
    userId: new Array<string | null>(n),
    anonymousId: new Array<string | null>(n),
    sessionId: new Array<string | null>(n),
    ts: new Array<string>(n),
    clientTs: new Array<string | null>(n),
    value: new Array<number | null>(n),
    meta: new Array<string>(n),
  };
  for (let i = 0; i < n; i++) {
    const { event, ts, clientTs } = rows[i]!;
    cols.eventId[i] = event.eventId;
    cols.type[i] = event.type;
    cols.itemId[i] = event.itemId ?? null;
    cols.userId[i] = event.userId ?? null;
    cols.anonymousId[i] = event.anonymousId ?? null;
    cols.sessionId[i] = event.sessionId ?? null;
    cols.ts[i] = ts.toISOString();
    cols.clientTs[i] = clientTs?.toISOString() ?? null;
    cols.value[i] = event.value ?? null;
    cols.meta[i] = JSON.stringify(event.meta ?? {});
  }
  const params = [
    namespaceId,
    receivedAt.toISOString(),
    cols.eventId,
    cols.type,
    cols.itemId,
    cols.userId,
    cols.anonymousId,
    cols.sessionId,
    cols.ts,
    cols.clientTs,
    cols.value,
    cols.meta,
  ];
  try {
    // Most batches are all new ids: a plain INSERT checks each id once, as it enters the primary key.
    await database.query(`INSERT INTO events ${EVENT_COLUMNS} ${UNNEST_ROWS}`, params);
    return n;
  } catch (error) {
    // A stored id (a replay, or a batch racing this one with the same ids; the INSERT waited for
    // that one to commit): the statement rolled back whole, and the batch goes again, skipping the
    // ids already there.
    if ((error as { code?: unknown } | null)?.code !== UNIQUE_VIOLATION) throw error;
  }
  const result = await database.query<{ n: number }>(
    `WITH ins AS (
       INSERT INTO events ${EVENT_COLUMNS} ${UNNEST_ROWS}
       ON CONFLICT (namespace_id, event_id) DO NOTHING
       RETURNING 1
     ) SELECT count(*)::int AS n FROM ins`,
    params,
  );
  return Number(result[0]?.n ?? 0);
}

const UNIQUE_VIOLATION = '23505';
const EVENT_COLUMNS =
  '(namespace_id, event_id, type, item_id, user_id, anonymous_id, session_id, ts, client_ts, received_at, value, meta)';
const UNNEST_ROWS = `SELECT $1, u.event_id, u.type, u.item_id, u.user_id, u.anonymous_id, u.session_id, u.ts, u.client_ts, $2::timestamptz, u.value, u.meta::jsonb
  FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::timestamptz[], $10::timestamptz[], $11::float8[], $12::text[])
    AS u(event_id, type, item_id, user_id, anonymous_id, session_id, ts, client_ts, value, meta)`;

export interface ListEventsFilter {
  userId?: string | undefined;
  anonymousId?: string | undefined;
  itemId?: string | undefined;
  type?: ParsedEvent['type'] | undefined;
  since?: string | undefined;
  until?: string | undefined;
  limit: number;
  cursor?: string | undefined;
}

/** The position in `listEvents`: the last row's `ts` and `eventId`. */
const eventsCursor = z.tuple([isoTimestampSchema, pgText()]);

/** Newest first; the cursor is the last row's `(ts, eventId)`. */
export async function listEvents(database: Database, namespaceId: string, filter: ListEventsFilter) {
  const where: SQL[] = [eq(events.namespaceId, namespaceId)];
  if (filter.userId) where.push(eq(events.userId, filter.userId));
  if (filter.anonymousId) where.push(eq(events.anonymousId, filter.anonymousId));
  if (filter.itemId) where.push(eq(events.itemId, filter.itemId));
  if (filter.type) where.push(eq(events.type, filter.type));
  if (filter.since) where.push(gte(events.ts, new Date(filter.since)));
  if (filter.until) where.push(lt(events.ts, new Date(filter.until)));
  if (filter.cursor) {
    const [ts, id] = readCursor(filter.cursor, eventsCursor);
    const at = new Date(ts);
    where.push(or(lt(events.ts, at), and(eq(events.ts, at), lt(events.eventId, id)))!);
  }
  const rows = await database.db
    .select()
    .from(events)
    .where(and(...where))
    .orderBy(desc(events.ts), desc(events.eventId))
    .limit(filter.limit + 1);
  const page = rows.slice(0, filter.limit);
  const last = page.at(-1);
  return {
    events: page.map((r) => ({
      eventId: r.eventId,
      type: r.type,
      itemId: r.itemId,
      userId: r.userId,
      anonymousId: r.anonymousId,
      sessionId: r.sessionId,
      ts: r.ts.toISOString(),
      clientTs: r.clientTs?.toISOString() ?? null,
      receivedAt: r.receivedAt.toISOString(),
      value: r.value,
      meta: r.meta,
    })),
    nextCursor:
      rows.length > filter.limit && last ? encodeCursor([last.ts.toISOString(), last.eventId]) : null,
  };
}
