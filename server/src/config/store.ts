import { createHash } from 'node:crypto';
import type { EngineConfig, PartialEngineConfig } from '@recsys/engine';
import { and, asc, desc, eq, sql } from 'drizzle-orm';
import type { Database, Db } from '../db/client';
import { changes, engineConfigs, namespaces } from '../db/schema';
import { UserError } from '../errors';
import { validateEngineConfig } from './schema';

/** One stored, immutable configuration version. */
export interface ConfigVersion {
  version: number;
  name: string | null;
  note: string | null;
  /** The stored subset, merged over the engine defaults when applied. */
  config: PartialEngineConfig;
  createdAt: string;
  /** Short sha-256 of the resolved config: equal hashes mean the engine behaves the same. */
  hash: string;
  active: boolean;
}

/** The configuration in force for a namespace. */
export interface ActiveConfig {
  namespaceId: string;
  /** Null when no version was ever activated (or after rolling back past the first): engine defaults. */
  version: number | null;
  name: string | null;
  note: string | null;
  config: PartialEngineConfig;
  /** The full configuration the engine runs with. */
  resolved: EngineConfig;
  hash: string;
}

export interface SaveConfigInput {
  /** Any subset of the engine configuration. */
  config: unknown;
  /** A profile name to recognise the version by (e.g. "online-retail"). */
  name?: string | undefined;
  /** Why this version exists. */
  note?: string | undefined;
  /**
   * Make it the active version at once (in the same transaction).
   * @default false
   */
  activate?: boolean | undefined;
}

/** What a config activation recorded in the `changes` row every engine host reads. */
export interface ConfigChangePayload {
  action: 'activate' | 'rollback';
  version: number | null;
  previous: number | null;
  [key: string]: unknown;
}

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

/** Hash of the resolved config with keys sorted, stable across key order and defaults spelled out. */
export function hashConfig(resolved: EngineConfig): string {
  const sortKeys = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(sortKeys);
    if (value && typeof value === 'object') {
      return Object.fromEntries(
        Object.keys(value)
          .sort()
          .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
      );
    }
    return value;
  };
  return createHash('sha256')
    .update(JSON.stringify(sortKeys(resolved)))
    .digest('hex')
    .slice(0, 16);
}

async function lockNamespace(tx: Tx, namespaceId: string): Promise<number | null> {
  // Row lock: concurrent saves and activations of one namespace take turns,
  // so version numbers never collide and history stays linear.
  const [row] = await tx
    .select({ active: namespaces.activeConfigVersion })
    .from(namespaces)
    .where(eq(namespaces.id, namespaceId))
    .for('update');
  if (!row) throw new UserError('NOT_FOUND', `Namespace "${namespaceId}" does not exist; create it first.`);
  return row.active;
}

async function switchTo(
  tx: Tx,
  namespaceId: string,
  version: number | null,
  payload: ConfigChangePayload,
): Promise<void> {
  await tx.update(namespaces).set({ activeConfigVersion: version }).where(eq(namespaces.id, namespaceId));
  // Engine hosts in every process see this row on their next poll and reload the config.
  await tx.insert(changes).values({ namespaceId, kind: 'config', payload });
}

function toVersion(row: typeof engineConfigs.$inferSelect, active: number | null): ConfigVersion {
  const config = row.config as PartialEngineConfig;
  return {
    version: row.version,
    name: row.name,
    note: row.note,
    config,
    createdAt: row.createdAt.toISOString(),
    hash: hashConfig(validateEngineConfig(config, `version ${row.version}`).resolved),
    active: row.version === active,
  };
}

/** The active configuration of a namespace (engine defaults when none is active). */
export async function getActiveConfig(database: Database, namespaceId: string): Promise<ActiveConfig> {
  const [ns] = await database.db
    .select({ active: namespaces.activeConfigVersion })
    .from(namespaces)
    .where(eq(namespaces.id, namespaceId));
  if (!ns) throw new UserError('NOT_FOUND', `Namespace "${namespaceId}" does not exist; create it first.`);
  let row: typeof engineConfigs.$inferSelect | undefined;
  if (ns.active !== null) {
    [row] = await database.db
      .select()
      .from(engineConfigs)
      .where(and(eq(engineConfigs.namespaceId, namespaceId), eq(engineConfigs.version, ns.active)));
  }
  const config = (row?.config ?? {}) as PartialEngineConfig;
  const { resolved } = validateEngineConfig(config, row ? `version ${row.version}` : 'defaults');
  return {
    namespaceId,
    version: row ? row.version : null,
    name: row?.name ?? null,
    note: row?.note ?? null,
    config,
    resolved,
    hash: hashConfig(resolved),
  };
}

/** Every stored version, newest first. */
export async function listConfigs(database: Database, namespaceId: string): Promise<ConfigVersion[]> {
  const [ns] = await database.db
    .select({ active: namespaces.activeConfigVersion })
    .from(namespaces)
    .where(eq(namespaces.id, namespaceId));
  if (!ns) throw new UserError('NOT_FOUND', `Namespace "${namespaceId}" does not exist; create it first.`);
  const rows = await database.db
    .select()
    .from(engineConfigs)
    .where(eq(engineConfigs.namespaceId, namespaceId))
    .orderBy(desc(engineConfigs.version));
  return rows.map((r) => toVersion(r, ns.active));
}

/**
 * Stores a new immutable version (validated first) and optionally activates
 * it in the same transaction.
 *
 * @example await saveConfig(db, 'shop', { config: { diversity: { lambda: 0.6 } }, note: 'more variety', activate: true })
 */
export async function saveConfig(
  database: Database,
  namespaceId: string,
  input: SaveConfigInput,
): Promise<ConfigVersion> {
  const { config, resolved } = validateEngineConfig(input.config);
  return database.db.transaction(async (tx) => {
    const active = await lockNamespace(tx, namespaceId);
    const [max] = await tx
      .select({ v: sql<number | null>`max(${engineConfigs.version})` })
      .from(engineConfigs)
      .where(eq(engineConfigs.namespaceId, namespaceId));
    const version = Number(max?.v ?? 0) + 1;
    const [row] = await tx
      .insert(engineConfigs)
      .values({
        namespaceId,
        version,
        name: input.name ?? null,
        note: input.note ?? null,
        config: config as Record<string, unknown>,
      })
      .returning();
    if (input.activate) {
      await switchTo(tx, namespaceId, version, { action: 'activate', version, previous: active });
    }
    return { ...toVersion(row!, input.activate ? version : active), hash: hashConfig(resolved) };
  });
}

/** Makes a stored version the active one; every server process reloads it within a poll. */
export async function activateConfig(
  database: Database,
  namespaceId: string,
  version: number,
): Promise<{ version: number; previous: number | null }> {
  return database.db.transaction(async (tx) => {
    const active = await lockNamespace(tx, namespaceId);
    const [row] = await tx
      .select({ version: engineConfigs.version })
      .from(engineConfigs)
      .where(and(eq(engineConfigs.namespaceId, namespaceId), eq(engineConfigs.version, version)));
    if (!row) {
      throw new UserError(
        'NOT_FOUND',
        `Config version ${version} does not exist in "${namespaceId}"; see \`recsys config list -n ${namespaceId}\`.`,
      );
    }
    await switchTo(tx, namespaceId, version, { action: 'activate', version, previous: active });
    return { version, previous: active };
  });
}

/**
 * The versions to return to, most recent last: each activation pushes the
 * version it replaced, each rollback pops one. So repeated rollbacks walk
 * back through history instead of toggling between two versions.
 */
function rollbackStack(history: ConfigChangePayload[]): Array<number | null> {
  const stack: Array<number | null> = [];
  for (const change of history) {
    if (change.action === 'rollback') stack.pop();
    else stack.push(change.previous ?? null);
  }
  return stack;
}

/**
 * Re-activates the version that was active before the last activation
 * (engine defaults when the first version is rolled back).
 */
export async function rollbackConfig(
  database: Database,
  namespaceId: string,
): Promise<{ version: number | null; previous: number | null }> {
  return database.db.transaction(async (tx) => {
    const active = await lockNamespace(tx, namespaceId);
    const rows = await tx
      .select({ payload: changes.payload })
      .from(changes)
      .where(and(eq(changes.namespaceId, namespaceId), eq(changes.kind, 'config')))
      .orderBy(asc(changes.id));
    const stack = rollbackStack(rows.map((r) => r.payload as ConfigChangePayload));
    if (stack.length === 0) {
      throw new UserError(
        'CONFLICT',
        `Nothing to roll back in "${namespaceId}": no earlier activation is recorded. Activate a version with \`recsys config activate <version>\`.`,
      );
    }
    const target = stack[stack.length - 1] ?? null;
    await switchTo(tx, namespaceId, target, { action: 'rollback', version: target, previous: active });
    return { version: target, previous: active };
  });
}
