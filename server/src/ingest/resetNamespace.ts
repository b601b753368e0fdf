import { and, count, eq, type SQL } from 'drizzle-orm';
import type { Database } from '../db/client';
import {
  aliases,
  apiKeys,
  bundleAcceptanceDays,
  changes,
  engineConfigs,
  events,
  experimentAllocations,
  experimentChanges,
  experimentFailures,
  experiments,
  itemEmbeddings,
  items,
  namespaces,
  recLogs,
  recTraces,
  users,
} from '../db/schema';
import { UserError } from '../errors';

type NamespacedTable =
  | typeof events
  | typeof recLogs
  | typeof experimentFailures
  | typeof recTraces
  | typeof bundleAcceptanceDays
  | typeof aliases
  | typeof users
  | typeof itemEmbeddings
  | typeof items
  | typeof apiKeys
  | typeof engineConfigs
  | typeof changes
  | typeof experiments
  | typeof experimentChanges
  | typeof experimentAllocations;

export interface ResetOptions {
  /**
   * Also delete the namespace's API keys, engine config versions and experiments (the
   * namespace row itself stays, with engine defaults active).
   * @default false
   */
  all?: boolean;
}

export interface ResetResult {
  namespaceId: string;
  /** Rows deleted per table. */
  deleted: Record<string, number>;
  all: boolean;
  at: string;
}

/**
 * Empties a namespace: events, then users, then items (and aliases, item
 * embeddings, served-list logs and their traces), in one transaction with a `reset` change so
 * every engine host rebuilds the namespace from the now-empty tables.
 * Keys and config versions are kept unless `all`.
 */
export async function resetNamespace(
  database: Database,
  namespaceId: string,
  options: ResetOptions = {},
): Promise<ResetResult> {
  const all = options.all ?? false;
  const deleted: Record<string, number> = {};
  await database.db.transaction(async (tx) => {
    const [ns] = await tx
      .select({ id: namespaces.id })
      .from(namespaces)
      .where(eq(namespaces.id, namespaceId))
      .for('update');
    if (!ns) throw new UserError('NOT_FOUND', `Namespace "${namespaceId}" does not exist.`);
    const wipe = async (name: string, table: NamespacedTable, extra?: SQL) => {
      const where = extra
        ? and(eq(table.namespaceId, namespaceId), extra)
        : eq(table.namespaceId, namespaceId);
      const [row] = await tx.select({ n: count() }).from(table).where(where);
      await tx.delete(table).where(where);
      deleted[name] = Number(row?.n ?? 0);
    };
    // Children before parents: behaviour, then who and what it refers to.
    await wipe('events', events);
    await wipe('rec_logs', recLogs);
    // Failed requests per variant: the other half of the served lists' error rate.
    await wipe('experiment_failures', experimentFailures);
    await wipe('rec_traces', recTraces);
    await wipe('bundle_acceptance_days', bundleAcceptanceDays);
    await wipe('aliases', aliases);
    await wipe('users', users);
    await wipe('item_embeddings', itemEmbeddings);
    await wipe('items', items);
    if (all) {
      await wipe('api_keys', apiKeys);
      await wipe('experiment_changes', experimentChanges);
      await wipe('experiment_allocations', experimentAllocations);
      await wipe('experiments', experiments);
      await wipe('engine_configs', engineConfigs);
      // Config history goes with the versions it refers to, so rollback cannot point at a deleted version.
      await wipe('changes', changes, eq(changes.kind, 'config'));
      await tx.update(namespaces).set({ activeConfigVersion: null }).where(eq(namespaces.id, namespaceId));
    }
    await tx.insert(changes).values({ namespaceId, kind: 'reset', payload: { all, deleted } });
  });
  return { namespaceId, deleted, all, at: new Date().toISOString() };
}
