import type { RuleDefinition, RuleEffect } from '@recsys/engine';
import { isSurface, type RecsInput, type Surface } from '@recsys/engine/protocol';
import { and, desc, eq, gte } from 'drizzle-orm';
import type { Database } from '../db/client';
import { recLogs } from '../db/schema';
import { UserError } from '../errors';
import { readRules } from '../replicate/reads';
import type { EngineService } from '../serve/EngineService';
import { checkDefinition } from './store';

/** Served lists of the last day read for the count, at most (newest first). */
export const PREVIEW_MAX_SERVED = 5_000;

/** A proposed change: rules to create or replace (by id), and rule ids to remove. */
export interface RuleChangeProposal {
  upsert?: RuleDefinition[] | undefined;
  remove?: string[] | undefined;
}

export interface PreviewInput {
  change: RuleChangeProposal;
  /** Requests to rank with and without the change; none: recent served lists are shown instead. */
  requests?: Array<RecsInput & { surface: Surface; ruleSet?: string | undefined }> | undefined;
  /**
   * Served lists shown side by side when no requests are given.
   * @default 5
   */
  sample?: number | undefined;
}

/** One position of a side-by-side list. */
export interface PreviewRow {
  slot: number;
  before: string | null;
  after: string | null;
  /** What happened to `after` at this slot: `same`, `new`, `up 2`, `down 1`. */
  mark: string;
}

export interface PreviewList {
  /** What was asked (`request`) or which served list it is (`served`). */
  source:
    | { request: RecsInput & { surface: Surface } }
    | { servedAt: string; requestId: string; surface: string };
  changed: boolean;
  rows: PreviewRow[];
  /** Items of `before` that are not in `after`. */
  removed: string[];
  /** What the proposed rules did (requests only). */
  effects: RuleEffect[];
}

export interface PreviewReport {
  lists: PreviewList[];
  /** Served lists of the last 24 hours the change would have changed. */
  servedLastDay: { lists: number; touched: number; capped: boolean };
}

/** The side-by-side rows of two lists, each position marked. */
export function compareLists(
  before: string[],
  after: string[],
): Pick<PreviewList, 'changed' | 'rows' | 'removed'> {
  const was = new Map(before.map((id, i) => [id, i]));
  const rows: PreviewRow[] = [];
  for (let slot = 0; slot < Math.max(before.length, after.length); slot++) {
    const id = after[slot] ?? null;
    const old = id === null ? undefined : was.get(id);
    const mark =
      id === null
        ? 'gone'
        : old === undefined
          ? 'new'
          : old === slot
            ? 'same'
            : old > slot
              ? `up ${old - slot}`
              : `down ${slot - old}`;
    rows.push({ slot, before: before[slot] ?? null, after: id, mark });
  }
  const kept = new Set(after);
  const removed = before.filter((id) => !kept.has(id));
  return { changed: rows.some((r) => r.mark !== 'same'), rows, removed };
}

/** The rule set after a change; unknown ids to remove are refused (404). */
export function applyProposal(
  current: RuleDefinition[],
  change: RuleChangeProposal,
  namespaceId: string,
): RuleDefinition[] {
  const byId = new Map(current.map((d) => [d.id, d]));
  for (const id of change.remove ?? []) {
    if (!byId.delete(id))
      throw new UserError(
        'NOT_FOUND',
        `Invalid change.remove: no rule "${id}" in "${namespaceId}"; see \`recsys rules list\`.`,
      );
  }
  (change.upsert ?? []).forEach((def, i) => {
    byId.set(def.id, checkDefinition(def, `change.upsert.${i}`));
  });
  return [...byId.values()];
}

/**
 * A dry run: the lists with the rules in force and with the change, side by side, and how many
 * served lists of the last day it would have changed. Nothing is stored or installed.
 *
 * Served lists are re-ranked as logged — their items as the only candidates — because the log keeps
 * the list, not everything the request carried: a condition on the anchor or the cart is taken as
 * met (so the count is an upper bound for such rules), and a list logged under a placement counts
 * as a `forUser` list with that placement.
 */
export async function previewRuleChange(
  database: Database,
  engines: EngineService | undefined,
  namespaceId: string,
  input: PreviewInput,
  now = Date.now(),
): Promise<PreviewReport> {
  if (!engines) {
    throw new UserError(
      'BAD_REQUEST',
      'This server runs without recommendations, so it cannot preview rules; use one started with the engine.',
    );
  }
  const current = (await readRules(database, namespaceId)).map(
    (r) => ({ ...r.definition, enabled: r.enabled }) as unknown as RuleDefinition,
  );
  const proposed = applyProposal(current, input.change, namespaceId);
  const since = new Date(now - 86_400_000);
  const logged = await database.db
    .select({
      requestId: recLogs.requestId,
      surface: recLogs.surface,
      userId: recLogs.userId,
      anonymousId: recLogs.anonymousId,
      items: recLogs.items,
      createdAt: recLogs.createdAt,
    })
    .from(recLogs)
    .where(and(eq(recLogs.namespaceId, namespaceId), gte(recLogs.createdAt, since)))
    .orderBy(desc(recLogs.createdAt))
    .limit(PREVIEW_MAX_SERVED + 1);
  const capped = logged.length > PREVIEW_MAX_SERVED;
  if (capped) logged.length = PREVIEW_MAX_SERVED;
  const requests = input.requests ?? [];
  const showServed = requests.length === 0 ? (input.sample ?? 5) : 0;
  const result = await engines.previewRules(namespaceId, {
    proposed,
    requests: requests.map(({ surface, ...rest }) => ({
      surface,
      input: { ...rest, k: rest.k ?? 10, explain: false },
    })),
    served: logged.map((row) => {
      const known = isSurface(row.surface);
      return {
        surface: known ? (row.surface as Surface) : 'forUser',
        placement: known ? undefined : row.surface,
        userId: row.userId,
        anonymousId: row.anonymousId,
        items: row.items.map((i) => ({ itemId: i.itemId, score: i.score })),
      };
    }),
    showServed,
  });
  const lists: PreviewList[] = [
    ...result.requests.map((r, i) => ({
      source: { request: requests[i]! },
      ...compareLists(r.before, r.after),
      effects: r.effects,
    })),
    ...result.served.map((r, i) => ({
      source: {
        servedAt: logged[i]!.createdAt.toISOString(),
        requestId: logged[i]!.requestId,
        surface: logged[i]!.surface,
      },
      ...compareLists(r.before, r.after),
      effects: [],
    })),
  ];
  return { lists, servedLastDay: { lists: logged.length, touched: result.touched, capped } };
}
