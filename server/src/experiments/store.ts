import { randomBytes } from 'node:crypto';
import type { EngineConfig, PartialEngineConfig, RequestOverrides } from '@recsys/engine';
import { SIGNALS, SURFACES, type Surface } from '@recsys/engine/protocol';
import { and, asc, eq, sql } from 'drizzle-orm';
import { listBuiltinProfiles, loadProfile } from '../config/profiles';
import { validateEngineConfig } from '../config/schema';
import type { Database } from '../db/client';
import {
  type ExperimentAllocation,
  type ExperimentStatus,
  engineConfigs,
  experimentAllocations,
  experimentChanges,
  experiments,
  namespaces,
  rules,
} from '../db/schema';
import { describeZodError, UserError } from '../errors';
import { initialWeights } from './bandit/thompson';
import {
  type BanditSettings,
  banditSchema,
  type CreateExperimentInput,
  createExperimentSchema,
  DEFAULT_GUARDRAIL_WINDOW_MINUTES,
  type ExperimentMetric,
  type ExperimentTarget,
  type Guardrails,
  type VariantInput,
} from './contracts';

/** A variant as stored: what was asked for, and the per-request settings it was resolved to. */
export type StoredVariant = VariantInput & {
  /** Per surface, the request overrides a `config` or `profile` variant ranks with. */
  overrides?: Partial<Record<Surface, RequestOverrides>>;
  /**
   * Settings of the variant's configuration that a single request cannot change (they shape the
   * indexes every list shares), so this variant does not differ from the control in them.
   */
  notApplied?: string[];
};

/** An experiment as procedures return it. */
export interface Experiment {
  id: string;
  name: string;
  hypothesis: string | null;
  status: ExperimentStatus;
  salt: string;
  traffic: number;
  variants: StoredVariant[];
  target: ExperimentTarget;
  primaryMetric: ExperimentMetric;
  minimumDetectableEffect: number;
  guardrails: Guardrails;
  breachStreak: number;
  /** `bandit`: the variants' weights are the current allocation, recomputed by the bandit job. */
  allocation: ExperimentAllocation;
  /** The bandit's settings; null for `fixed` experiments. */
  bandit: BanditSettings | null;
  createdAt: string;
  startedAt: string | null;
  endedAt: string | null;
}

/** One recorded change. */
export interface ExperimentChange {
  action: string;
  fromStatus: string | null;
  toStatus: string | null;
  actor: string;
  detail: Record<string, unknown>;
  at: string;
}

/** Settings a request may override; the rest of a configuration shapes shared indexes. */
const PER_REQUEST = new Set([
  'blend',
  'diversity',
  'excludePurchased',
  'purchaseExclusionWindowMs',
  'fallback',
]);

/** Per-surface request overrides that make a request rank as `resolved` would. */
function overridesOf(resolved: EngineConfig): Partial<Record<Surface, RequestOverrides>> {
  const out: Partial<Record<Surface, RequestOverrides>> = {};
  for (const surface of SURFACES) {
    // Every signal spelled out: overrides merge over the active weights, and a signal this
    // configuration leaves out must not keep the control's weight.
    const blend = Object.fromEntries(SIGNALS.map((s) => [s, resolved.blend[surface][s] ?? 0]));
    out[surface] = {
      blend,
      diversity: { ...resolved.diversity },
      excludePurchased: resolved.excludePurchased[surface],
      purchaseExclusionWindowMs: resolved.purchaseExclusionWindowMs,
      fallback: resolved.fallback.enabled[surface],
    };
  }
  return out;
}

function resolveVariantConfig(
  variant: StoredVariant,
  partial: PartialEngineConfig,
  source: string,
): StoredVariant {
  const { resolved } = validateEngineConfig(partial, source);
  const notApplied = Object.keys(partial).filter((k) => !PER_REQUEST.has(k));
  return { ...variant, overrides: overridesOf(resolved), ...(notApplied.length ? { notApplied } : {}) };
}

async function resolveVariants(
  database: Database,
  namespaceId: string,
  variants: VariantInput[],
): Promise<StoredVariant[]> {
  const out: StoredVariant[] = [];
  for (const [i, v] of variants.entries()) {
    if (v.kind === 'config') {
      const [row] = await database.db
        .select({ config: engineConfigs.config })
        .from(engineConfigs)
        .where(and(eq(engineConfigs.namespaceId, namespaceId), eq(engineConfigs.version, v.version)));
      if (!row) {
        throw new UserError(
          'BAD_REQUEST',
          `variants.${i}.version: no configuration version ${v.version} in "${namespaceId}"; see \`recsys config list\`.`,
        );
      }
      out.push(resolveVariantConfig(v, row.config as PartialEngineConfig, `version ${v.version}`));
    } else if (v.kind === 'profile') {
      // Built-in names only: a procedure must never read a file path a client chose.
      if (!listBuiltinProfiles().includes(v.profile)) {
        throw new UserError(
          'BAD_REQUEST',
          `variants.${i}.profile: "${v.profile}" is not a built-in profile (${listBuiltinProfiles().join(', ')}); save a file as a config version and use kind "config".`,
        );
      }
      out.push(resolveVariantConfig(v, loadProfile(v.profile).config, `profile "${v.profile}"`));
    } else if (v.kind === 'rules') {
      // A rule set exists by its rules: none means a typo, and the variant would serve the control.
      const [held] = await database.db
        .select({ ruleId: rules.ruleId })
        .from(rules)
        .where(
          and(
            eq(rules.namespaceId, namespaceId),
            eq(rules.origin, 'rule'),
            sql`${rules.definition}->>'ruleSet' = ${v.ruleSetId}`,
          ),
        )
        .limit(1);
      if (!held) {
        throw new UserError(
          'BAD_REQUEST',
          `variants.${i}.ruleSetId: no rule in "${namespaceId}" belongs to rule set "${v.ruleSetId}"; add its rules first (\`recsys rules add --rule-set ${v.ruleSetId} …\`, or "ruleSet": "${v.ruleSetId}" in the definition), see \`recsys rules list --rule-set ${v.ruleSetId}\`.`,
        );
      }
      out.push(v);
    } else {
      out.push(v);
    }
  }
  return out;
}

function toExperiment(row: typeof experiments.$inferSelect): Experiment {
  return {
    id: row.id,
    name: row.name,
    hypothesis: row.hypothesis,
    status: row.status,
    salt: row.salt,
    traffic: row.traffic,
    variants: row.variants as StoredVariant[],
    target: row.target as ExperimentTarget,
    primaryMetric: row.primaryMetric as ExperimentMetric,
    minimumDetectableEffect: row.minimumDetectableEffect,
    // Experiments created before the service window existed judge the default one.
    guardrails: {
      ...(row.guardrails as Guardrails),
      windowMinutes:
        (row.guardrails as Partial<Guardrails>).windowMinutes ?? DEFAULT_GUARDRAIL_WINDOW_MINUTES,
    },
    breachStreak: row.breachStreak,
    allocation: row.allocation,
    bandit: (row.bandit as BanditSettings | null) ?? null,
    createdAt: row.createdAt.toISOString(),
    startedAt: row.startedAt?.toISOString() ?? null,
    endedAt: row.endedAt?.toISOString() ?? null,
  };
}

/**
 * Creates a draft experiment: validates it, resolves `config`/`profile` variants to the per-request
 * settings they rank with (a snapshot: later edits of that version do not change a running test) and
 * records the creation.
 *
 * @param actor - who asked (an API key id, or `cli`)
 */
export async function createExperiment(
  database: Database,
  namespaceId: string,
  input: CreateExperimentInput,
  actor: string,
): Promise<Experiment> {
  const parsed = createExperimentSchema.safeParse(input);
  if (!parsed.success) throw new UserError('BAD_REQUEST', describeZodError(parsed.error));
  const e = parsed.data;
  const [ns] = await database.db
    .select({ id: namespaces.id })
    .from(namespaces)
    .where(eq(namespaces.id, namespaceId));
  if (!ns) throw new UserError('NOT_FOUND', `Namespace "${namespaceId}" does not exist; create it first.`);
  let variants = await resolveVariants(database, namespaceId, e.variants);
  const bandit = e.allocation === 'bandit' ? banditSchema.parse(e.bandit ?? {}) : null;
  if (bandit) {
    // A bandit starts with the holdout on the control and the rest split evenly; the job moves it.
    const weights = initialWeights(variants.length, bandit.holdout, bandit.floor);
    variants = variants.map((v, i) => ({ ...v, weight: weights[i] ?? 0 }));
  }
  return database.db.transaction(async (tx) => {
    const [row] = await tx
      .insert(experiments)
      .values({
        namespaceId,
        id: e.id,
        name: e.name,
        hypothesis: e.hypothesis ?? null,
        salt: randomBytes(16).toString('hex'),
        traffic: e.traffic,
        variants,
        target: e.target,
        primaryMetric: e.primaryMetric,
        minimumDetectableEffect: e.minimumDetectableEffect,
        guardrails: e.guardrails,
        allocation: e.allocation,
        bandit,
      })
      .onConflictDoNothing()
      .returning();
    if (!row) {
      throw new UserError(
        'CONFLICT',
        `Experiment "${e.id}" already exists in "${namespaceId}"; pick another id.`,
      );
    }
    await tx.insert(experimentChanges).values({
      namespaceId,
      experimentId: e.id,
      action: 'create',
      toStatus: 'draft',
      actor,
      detail: {
        variants: variants.map((v) => ({ key: v.key, kind: v.kind, weight: v.weight })),
        ...(bandit ? { allocation: 'bandit', bandit } : {}),
      },
    });
    if (bandit) {
      await tx.insert(experimentAllocations).values({
        namespaceId,
        experimentId: e.id,
        seq: 0,
        weights: Object.fromEntries(variants.map((v) => [v.key, v.weight])),
        arms: variants.map((v) => ({
          key: v.key,
          trials: 0,
          successes: 0,
          probabilityBest: 1 / variants.length,
          weight: v.weight,
        })),
        actor,
      });
    }
    return toExperiment(row);
  });
}

/** Every experiment of a namespace, newest first. */
export async function listExperiments(database: Database, namespaceId: string): Promise<Experiment[]> {
  const rows = await database.db
    .select()
    .from(experiments)
    .where(eq(experiments.namespaceId, namespaceId))
    .orderBy(asc(experiments.createdAt), asc(experiments.id));
  return rows.map(toExperiment).reverse();
}

/** Running experiments, oldest first (the order assignment tries them in). */
export async function listRunningExperiments(database: Database, namespaceId: string): Promise<Experiment[]> {
  const rows = await database.db
    .select()
    .from(experiments)
    .where(and(eq(experiments.namespaceId, namespaceId), eq(experiments.status, 'running')))
    .orderBy(asc(experiments.startedAt), asc(experiments.id));
  return rows.map(toExperiment);
}

/** One experiment, or a 404 naming where to look. */
export async function getExperiment(
  database: Database,
  namespaceId: string,
  id: string,
): Promise<Experiment> {
  const [row] = await database.db
    .select()
    .from(experiments)
    .where(and(eq(experiments.namespaceId, namespaceId), eq(experiments.id, id)));
  if (!row)
    throw new UserError(
      'NOT_FOUND',
      `No experiment "${id}" in "${namespaceId}"; see \`recsys experiments list\`.`,
    );
  return toExperiment(row);
}

/** The change log of an experiment, oldest first. */
export async function listExperimentChanges(
  database: Database,
  namespaceId: string,
  id: string,
): Promise<ExperimentChange[]> {
  const rows = await database.db
    .select()
    .from(experimentChanges)
    .where(and(eq(experimentChanges.namespaceId, namespaceId), eq(experimentChanges.experimentId, id)))
    .orderBy(asc(experimentChanges.id));
  return rows.map((r) => ({
    action: r.action,
    fromStatus: r.fromStatus,
    toStatus: r.toStatus,
    actor: r.actor,
    detail: r.detail,
    at: r.createdAt.toISOString(),
  }));
}

/** The lifecycle steps, and the statuses each may start from. */
export const TRANSITIONS = {
  start: { from: ['draft'], to: 'running' },
  pause: { from: ['running'], to: 'paused' },
  resume: { from: ['paused'], to: 'running' },
  complete: { from: ['running', 'paused'], to: 'completed' },
} as const satisfies Record<string, { from: readonly ExperimentStatus[]; to: ExperimentStatus }>;
export type ExperimentAction = keyof typeof TRANSITIONS;

/**
 * Records an event in an experiment's change log that is not a status change (e.g. `notify`: a
 * guardrail notification and whether it was delivered), so the log says everything that happened.
 */
export async function recordExperimentEvent(
  database: Database,
  namespaceId: string,
  id: string,
  action: 'notify',
  actor: string,
  detail: Record<string, unknown>,
): Promise<void> {
  await database.db
    .insert(experimentChanges)
    .values({ namespaceId, experimentId: id, action, actor, detail });
}

/**
 * Moves an experiment through its lifecycle (draft → running ⇄ paused → completed) and records who
 * did it and why, in one transaction; a step the current status does not allow is a 409.
 */
export async function transitionExperiment(
  database: Database,
  namespaceId: string,
  id: string,
  action: ExperimentAction,
  actor: string,
  detail: Record<string, unknown> = {},
): Promise<Experiment> {
  const step = TRANSITIONS[action];
  return database.db.transaction(async (tx) => {
    const [current] = await tx
      .select()
      .from(experiments)
      .where(and(eq(experiments.namespaceId, namespaceId), eq(experiments.id, id)))
      .for('update');
    if (!current) {
      throw new UserError(
        'NOT_FOUND',
        `No experiment "${id}" in "${namespaceId}"; see \`recsys experiments list\`.`,
      );
    }
    if (!(step.from as readonly string[]).includes(current.status)) {
      throw new UserError(
        'CONFLICT',
        `Experiment "${id}" is ${current.status}; "${action}" applies to ${step.from.join(' or ')} experiments.`,
      );
    }
    const now = new Date();
    const [row] = await tx
      .update(experiments)
      .set({
        status: step.to,
        updatedAt: now,
        ...(action === 'start' ? { startedAt: now } : {}),
        ...(action === 'complete' ? { endedAt: now } : {}),
        // A resume is a decision to look again: the breach count starts over.
        ...(action === 'resume' || action === 'start' ? { breachStreak: 0 } : {}),
      })
      .where(and(eq(experiments.namespaceId, namespaceId), eq(experiments.id, id)))
      .returning();
    await tx.insert(experimentChanges).values({
      namespaceId,
      experimentId: id,
      action,
      fromStatus: current.status,
      toStatus: step.to,
      actor,
      detail,
    });
    return toExperiment(row as typeof experiments.$inferSelect);
  });
}
