/**
 * Longer than the ~450-line guideline on purpose: every write here has the same transaction shape
 * (lock the namespace, read, bump the version, an audit row, a `changes` row); keeping the writes
 * together keeps that shape in one place.
 */
import { randomUUID } from 'node:crypto';
import { parseInstant, type RuleDefinition, validateRule } from '@recsys/engine';
import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm';
import type { Database, Db } from '../db/client';
import { changes, namespaces, ruleChanges, rules } from '../db/schema';
import { UserError } from '../errors';

/**
 * Rules and overrides as stored: one row per rule in its current version, an audit row per change,
 * and a `changes` row of kind `rules` per transaction, which every engine host reads on its next
 * poll and answers by reloading the namespace's rules (see `replicate/EngineHost.ts`).
 */

/** Who made a change: `key:<keyId>` through the API, `cli:<user>` on the database. */
export type Actor = string;

/** A stored rule as procedures return it. */
export interface StoredRule {
  ruleId: string;
  origin: 'rule' | 'override';
  kind: string;
  enabled: boolean;
  definition: RuleDefinition;
  reason: string | null;
  expiresAt: string | null;
  version: number;
  createdAt: string;
  createdBy: string;
  updatedAt: string;
  updatedBy: string;
}

/** One entry of a rule's audit trail. */
export interface RuleChange {
  version: number;
  action: (typeof ruleChanges.$inferSelect)['action'];
  enabled: boolean;
  definition: RuleDefinition;
  actor: string;
  note: string | null;
  at: string;
}

/** An override as listed: a rule with an expiry, a reason and a state. */
export interface StoredOverride extends StoredRule {
  /** `active` (in force or scheduled), `expired` (past its expiry) or `cancelled`. */
  state: 'active' | 'expired' | 'cancelled';
}

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
type Row = typeof rules.$inferSelect;

function toStored(row: Row): StoredRule {
  return {
    ruleId: row.ruleId,
    origin: row.origin,
    kind: row.kind,
    enabled: row.enabled,
    definition: { ...(row.definition as unknown as RuleDefinition), enabled: row.enabled },
    reason: row.reason,
    expiresAt: row.expiresAt?.toISOString() ?? null,
    version: row.version,
    createdAt: row.createdAt.toISOString(),
    createdBy: row.createdBy,
    updatedAt: row.updatedAt.toISOString(),
    updatedBy: row.updatedBy,
  };
}

/** Checks a definition with the engine's own checks; a 400 naming each field and its fix. */
export function checkDefinition(value: unknown, where = 'rule'): RuleDefinition {
  const issues = validateRule(value);
  if (issues.length > 0) {
    throw new UserError(
      'BAD_REQUEST',
      `Invalid ${where}: ${issues.map((i) => `${i.path.join('.') || '(rule)'}: ${i.message}`).join('; ')}`,
    );
  }
  return value as RuleDefinition;
}

async function lockNamespace(tx: Tx, namespaceId: string): Promise<void> {
  // Changes to one namespace's rules take turns, so versions never collide.
  const [row] = await tx
    .select({ id: namespaces.id })
    .from(namespaces)
    .where(eq(namespaces.id, namespaceId))
    .for('update');
  if (!row) throw new UserError('NOT_FOUND', `Namespace "${namespaceId}" does not exist; create it first.`);
}

/** Every engine host reloads the namespace's rules when it sees this row. */
async function announce(tx: Tx, namespaceId: string, ruleIds: string[]): Promise<void> {
  await tx
    .insert(changes)
    .values({ namespaceId, kind: 'rules', payload: { ruleIds: ruleIds.slice(0, 100) } });
}

async function audit(
  tx: Tx,
  namespaceId: string,
  row: Pick<Row, 'ruleId' | 'version' | 'definition' | 'enabled'>,
  action: RuleChange['action'],
  actor: Actor,
  note?: string | null,
): Promise<void> {
  await tx.insert(ruleChanges).values({
    namespaceId,
    ruleId: row.ruleId,
    version: row.version,
    action,
    definition: row.definition,
    enabled: row.enabled,
    actor,
    note: note ?? null,
  });
}

function notFound(namespaceId: string, ruleId: string, origin: 'rule' | 'override'): UserError {
  return new UserError(
    'NOT_FOUND',
    origin === 'override'
      ? `No override "${ruleId}" in "${namespaceId}"; see \`recsys overrides list\`.`
      : `No rule "${ruleId}" in "${namespaceId}"; see \`recsys rules list\`.`,
  );
}

async function getRow(tx: Tx | Db, namespaceId: string, ruleId: string): Promise<Row | undefined> {
  const [row] = await tx
    .select()
    .from(rules)
    .where(and(eq(rules.namespaceId, namespaceId), eq(rules.ruleId, ruleId)));
  return row;
}

/** The expiry of a definition's schedule, as a Date (overrides must have one). */
function expiryOf(def: RuleDefinition): Date | null {
  const end = def.schedule?.end;
  if (end === undefined) return null;
  return new Date(parseInstant(end, def.schedule?.timeZone ?? 'UTC'));
}

/**
 * The rules of a namespace (overrides are listed by {@link listOverrides}). `ruleSet`: only the
 * rules of that named set; `null`: only the base set (rules without one).
 */
export async function listRules(
  database: Database,
  namespaceId: string,
  filter: {
    kind?: string | undefined;
    enabled?: boolean | undefined;
    ruleSet?: string | null | undefined;
  } = {},
): Promise<StoredRule[]> {
  const conditions = [eq(rules.namespaceId, namespaceId), eq(rules.origin, 'rule')];
  if (filter.kind !== undefined) conditions.push(eq(rules.kind, filter.kind));
  if (filter.enabled !== undefined) conditions.push(eq(rules.enabled, filter.enabled));
  if (filter.ruleSet === null) conditions.push(sql`${rules.definition}->>'ruleSet' is null`);
  else if (filter.ruleSet !== undefined)
    conditions.push(sql`${rules.definition}->>'ruleSet' = ${filter.ruleSet}`);
  const rows = await database.db
    .select()
    .from(rules)
    .where(and(...conditions))
    .orderBy(asc(rules.ruleId));
  return rows.map(toStored);
}

/** One rule or override with its audit trail, newest change first. */
export async function getRule(
  database: Database,
  namespaceId: string,
  ruleId: string,
): Promise<StoredRule & { history: RuleChange[] }> {
  const row = await getRow(database.db, namespaceId, ruleId);
  const history = await database.db
    .select()
    .from(ruleChanges)
    .where(and(eq(ruleChanges.namespaceId, namespaceId), eq(ruleChanges.ruleId, ruleId)))
    .orderBy(desc(ruleChanges.id));
  if (!row && history.length === 0) throw notFound(namespaceId, ruleId, 'rule');
  const trail = history.map((h) => ({
    version: h.version,
    action: h.action,
    enabled: h.enabled,
    definition: h.definition as unknown as RuleDefinition,
    actor: h.actor,
    note: h.note,
    at: h.createdAt.toISOString(),
  }));
  if (!row) {
    // Removed: what it was, and who removed it.
    const last = trail[0]!;
    throw new UserError(
      'NOT_FOUND',
      `Rule "${ruleId}" was removed by ${last.actor} at ${last.at} (version ${last.version}); \`recsys rules add\` it again to restore it.`,
    );
  }
  return { ...toStored(row), history: trail };
}

/** Creates a rule; a 409 when the id is taken. */
export async function createRule(
  database: Database,
  namespaceId: string,
  definition: RuleDefinition,
  actor: Actor,
  options: { origin?: 'rule' | 'override'; reason?: string | null; note?: string | null } = {},
): Promise<StoredRule> {
  const def = checkDefinition(definition);
  const origin = options.origin ?? 'rule';
  return database.db.transaction(async (tx) => {
    await lockNamespace(tx, namespaceId);
    if (await getRow(tx, namespaceId, def.id)) {
      throw new UserError(
        'CONFLICT',
        `A rule "${def.id}" already exists in "${namespaceId}"; change it with update, or pick another id.`,
      );
    }
    const { enabled: _enabled, ...stored } = def;
    const [row] = await tx
      .insert(rules)
      .values({
        namespaceId,
        ruleId: def.id,
        origin,
        kind: def.kind,
        definition: stored as unknown as Record<string, unknown>,
        enabled: def.enabled !== false,
        reason: options.reason ?? null,
        expiresAt: expiryOf(def),
        version: 1,
        createdBy: actor,
        updatedBy: actor,
      })
      .returning();
    await audit(tx, namespaceId, row!, 'create', actor, options.note ?? options.reason);
    await announce(tx, namespaceId, [def.id]);
    return toStored(row!);
  });
}

/** Replaces a rule's definition (its id stays); the version goes up by one. */
export async function updateRule(
  database: Database,
  namespaceId: string,
  definition: RuleDefinition,
  actor: Actor,
  note?: string | null,
): Promise<StoredRule> {
  const def = checkDefinition(definition);
  return database.db.transaction(async (tx) => {
    await lockNamespace(tx, namespaceId);
    const held = await getRow(tx, namespaceId, def.id);
    if (held?.origin !== 'rule') throw notFound(namespaceId, def.id, 'rule');
    const { enabled, ...stored } = def;
    const [row] = await tx
      .update(rules)
      .set({
        kind: def.kind,
        definition: stored as unknown as Record<string, unknown>,
        enabled: enabled ?? held.enabled,
        expiresAt: expiryOf(def),
        version: held.version + 1,
        updatedAt: sql`now()`,
        updatedBy: actor,
      })
      .where(and(eq(rules.namespaceId, namespaceId), eq(rules.ruleId, def.id)))
      .returning();
    await audit(tx, namespaceId, row!, 'update', actor, note);
    await announce(tx, namespaceId, [def.id]);
    return toStored(row!);
  });
}

/** Switches a rule (or override) off or on, keeping it. `cancel` is the override's word for off. */
export async function setRuleEnabled(
  database: Database,
  namespaceId: string,
  ruleId: string,
  enabled: boolean,
  actor: Actor,
  options: { origin?: 'rule' | 'override'; note?: string | null } = {},
): Promise<StoredRule> {
  const origin = options.origin ?? 'rule';
  return database.db.transaction(async (tx) => {
    await lockNamespace(tx, namespaceId);
    const held = await getRow(tx, namespaceId, ruleId);
    if (!held || held.origin !== origin) throw notFound(namespaceId, ruleId, origin);
    const [row] = await tx
      .update(rules)
      .set({ enabled, version: held.version + 1, updatedAt: sql`now()`, updatedBy: actor })
      .where(and(eq(rules.namespaceId, namespaceId), eq(rules.ruleId, ruleId)))
      .returning();
    const action = origin === 'override' && !enabled ? 'cancel' : enabled ? 'enable' : 'disable';
    await audit(tx, namespaceId, row!, action, actor, options.note);
    await announce(tx, namespaceId, [ruleId]);
    return toStored(row!);
  });
}

/** Deletes a rule; its audit trail stays (and records the removal). */
export async function removeRule(
  database: Database,
  namespaceId: string,
  ruleId: string,
  actor: Actor,
): Promise<{ ruleId: string; removed: true; version: number }> {
  return database.db.transaction(async (tx) => {
    await lockNamespace(tx, namespaceId);
    const held = await getRow(tx, namespaceId, ruleId);
    if (held?.origin !== 'rule') throw notFound(namespaceId, ruleId, 'rule');
    await tx.delete(rules).where(and(eq(rules.namespaceId, namespaceId), eq(rules.ruleId, ruleId)));
    await audit(tx, namespaceId, { ...held, version: held.version + 1 }, 'remove', actor);
    await announce(tx, namespaceId, [ruleId]);
    return { ruleId, removed: true as const, version: held.version + 1 };
  });
}

/** What `export` writes and `import` reads. */
export interface RulesFile {
  format: 'recsys-rules';
  version: 1;
  namespaceId: string;
  exportedAt: string;
  rules: RuleDefinition[];
}

/** Every rule (not overrides) as one JSON document, disabled ones included. */
export async function exportRules(database: Database, namespaceId: string): Promise<RulesFile> {
  const list = await listRules(database, namespaceId);
  return {
    format: 'recsys-rules',
    version: 1,
    namespaceId,
    exportedAt: new Date().toISOString(),
    rules: list.map((r) => r.definition),
  };
}

/**
 * Writes a rule file in one transaction: every definition is checked first, so a file with one bad
 * rule changes nothing. `merge` creates and updates; `replace` also removes rules the file lacks.
 * Rules whose definition is unchanged are left alone (no new version).
 */
export async function importRules(
  database: Database,
  namespaceId: string,
  defs: RuleDefinition[],
  mode: 'merge' | 'replace',
  actor: Actor,
): Promise<{ created: string[]; updated: string[]; unchanged: string[]; removed: string[] }> {
  const seen = new Set<string>();
  defs.forEach((d, i) => {
    checkDefinition(d, `rules.${i}`);
    if (seen.has(d.id))
      throw new UserError(
        'BAD_REQUEST',
        `Invalid rules.${i}.id: "${d.id}" appears twice in the file; ids are unique.`,
      );
    seen.add(d.id);
  });
  return database.db.transaction(async (tx) => {
    await lockNamespace(tx, namespaceId);
    const held = new Map(
      (await tx.select().from(rules).where(eq(rules.namespaceId, namespaceId))).map((r) => [r.ruleId, r]),
    );
    const out = {
      created: [] as string[],
      updated: [] as string[],
      unchanged: [] as string[],
      removed: [] as string[],
    };
    for (const def of defs) {
      const { enabled, ...stored } = def;
      const on = enabled !== false;
      const row = held.get(def.id);
      if (row && row.origin === 'override') {
        throw new UserError(
          'CONFLICT',
          `"${def.id}" is an override in "${namespaceId}"; cancel it or rename the rule in the file.`,
        );
      }
      if (row && JSON.stringify(row.definition) === JSON.stringify(stored) && row.enabled === on) {
        out.unchanged.push(def.id);
        continue;
      }
      const values = {
        kind: def.kind,
        definition: stored as unknown as Record<string, unknown>,
        enabled: on,
        expiresAt: expiryOf(def),
        updatedBy: actor,
      };
      const [written] = row
        ? await tx
            .update(rules)
            .set({ ...values, version: row.version + 1, updatedAt: sql`now()` })
            .where(and(eq(rules.namespaceId, namespaceId), eq(rules.ruleId, def.id)))
            .returning()
        : await tx
            .insert(rules)
            .values({ ...values, namespaceId, ruleId: def.id, origin: 'rule', version: 1, createdBy: actor })
            .returning();
      await audit(tx, namespaceId, written!, 'import', actor);
      (row ? out.updated : out.created).push(def.id);
    }
    if (mode === 'replace') {
      const gone = [...held.values()].filter((r) => r.origin === 'rule' && !seen.has(r.ruleId));
      if (gone.length > 0) {
        await tx.delete(rules).where(
          and(
            eq(rules.namespaceId, namespaceId),
            inArray(
              rules.ruleId,
              gone.map((r) => r.ruleId),
            ),
          ),
        );
        for (const r of gone)
          await audit(tx, namespaceId, { ...r, version: r.version + 1 }, 'remove', actor, 'import --replace');
        out.removed = gone.map((r) => r.ruleId);
      }
    }
    const touched = [...out.created, ...out.updated, ...out.removed];
    if (touched.length > 0) await announce(tx, namespaceId, touched);
    return out;
  });
}

/** What a merchandiser asks for in a manual override. */
export interface OverrideInput {
  kind: 'pin' | 'boost' | 'bury' | 'block';
  itemIds: string[];
  /** Pins: 0-based slot. */
  slot?: number | undefined;
  /** Boosts (≥ 1) and buries (0…1). */
  multiplier?: number | undefined;
  when?: RuleDefinition['when'];
  /** When it stops: an instant, ISO-8601. */
  expiresAt: string;
  reason: string;
  /** Defaults to `ovr-<random>`. */
  id?: string | undefined;
}

/** A manual override: a rule with an expiry and a reason, priority above every plain rule of its kind. */
export async function addOverride(
  database: Database,
  namespaceId: string,
  input: OverrideInput,
  actor: Actor,
  now = Date.now(),
): Promise<StoredRule> {
  const expires = Date.parse(input.expiresAt);
  if (!Number.isFinite(expires) || expires <= now) {
    throw new UserError(
      'BAD_REQUEST',
      `Invalid expiresAt: "${input.expiresAt}" must be a future instant, e.g. "${new Date(now + 2 * 86_400_000).toISOString()}".`,
    );
  }
  const base = {
    id: input.id ?? `ovr-${randomUUID().slice(0, 8)}`,
    name: input.reason,
    // Overrides are a merchandiser's explicit, temporary decision: they outrank standing rules.
    priority: 1_000_000,
    items: { itemIds: input.itemIds },
    schedule: { end: new Date(expires).toISOString() },
    ...(input.when ? { when: input.when } : {}),
  };
  const def =
    input.kind === 'pin'
      ? { ...base, kind: 'pin' as const, slot: input.slot ?? 0 }
      : input.kind === 'block'
        ? { ...base, kind: 'block' as const }
        : { ...base, kind: input.kind, multiplier: input.multiplier ?? (input.kind === 'boost' ? 2 : 0.5) };
  return createRule(database, namespaceId, checkDefinition(def, 'override') as RuleDefinition, actor, {
    origin: 'override',
    reason: input.reason,
  });
}

/** Overrides, newest first, with their state at `now`. */
export async function listOverrides(
  database: Database,
  namespaceId: string,
  now = Date.now(),
): Promise<StoredOverride[]> {
  const rows = await database.db
    .select()
    .from(rules)
    .where(and(eq(rules.namespaceId, namespaceId), eq(rules.origin, 'override')))
    .orderBy(desc(rules.createdAt), asc(rules.ruleId));
  return rows.map((row) => ({
    ...toStored(row),
    state: !row.enabled
      ? 'cancelled'
      : row.expiresAt && row.expiresAt.getTime() <= now
        ? 'expired'
        : 'active',
  }));
}
