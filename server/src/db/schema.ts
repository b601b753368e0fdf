/*
 * Longer than the ~450-line guideline on purpose: the whole database schema is one file, from which
 * drizzle-kit generates the migrations and which every typed read and write imports; split, a table's
 * foreign keys and indexes would sit in another file than the tables they join.
 */
import { EVENT_TYPES } from '@recsys/engine/protocol';
import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  customType,
  doublePrecision,
  foreignKey,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import { OPERATOR_ROLES, type OperatorRole } from './operatorRoles';

/**
 * Every table is keyed by `namespace_id` first, so a namespace can be the
 * distribution key when one PostgreSQL primary is no longer enough.
 *
 * `tx` columns hold the writing transaction's id (`pg_current_xact_id()`).
 * Engine hosts poll `tx < pg_snapshot_xmin(pg_current_snapshot())`, which
 * sees every committed write exactly once, in every replica, without the
 * gaps a sequence-based cursor has when transactions commit out of order.
 */

const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({
  dataType: () => 'bytea',
});

const txDefault = sql`(pg_current_xact_id()::text::bigint)`;
const txColumn = () => bigint('tx', { mode: 'number' }).notNull().default(txDefault);
const createdAt = () => timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow();

export const namespaces = pgTable('namespaces', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  /** Namespace settings: PII policy, clock skew, … (see `namespaceSettingsSchema`). */
  settings: jsonb('settings').$type<Record<string, unknown>>().notNull().default({}),
  /** The engine configuration version in force; null = engine defaults. */
  activeConfigVersion: integer('active_config_version'),
  /**
   * Salt of the user and anonymous id hashes in `rec_traces`, random per namespace. It never leaves
   * the database: ids are hashed by the statements that write and search traces.
   */
  traceSalt: text('trace_salt').notNull().default(sql`(gen_random_uuid()::text)`),
  createdAt: createdAt(),
});

export const apiKeys = pgTable(
  'api_keys',
  {
    namespaceId: text('namespace_id')
      .notNull()
      .references(() => namespaces.id, { onDelete: 'cascade' }),
    id: text('id').notNull(),
    kind: text('kind', { enum: ['secret', 'publishable'] }).notNull(),
    /** sha-256 of the secret part; the key itself is shown once and never stored. */
    hash: text('hash').notNull(),
    label: text('label'),
    allowedOrigins: text('allowed_origins').array().notNull().default(sql`'{}'::text[]`),
    createdAt: createdAt(),
    revokedAt: timestamp('revoked_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [primaryKey({ columns: [t.namespaceId, t.id] })],
);

/** One market of an item as stored in `items.markets` (the item's own price/currency where unset). */
export interface StoredMarketOffer {
  available: boolean;
  price?: number;
  currency?: string;
}

export const items = pgTable(
  'items',
  {
    namespaceId: text('namespace_id').notNull(),
    itemId: text('item_id').notNull(),
    title: text('title'),
    description: text('description'),
    price: doublePrecision('price'),
    currency: text('currency'),
    available: boolean('available').notNull().default(true),
    tags: text('tags').array().notNull().default(sql`'{}'::text[]`),
    props: jsonb('props').$type<Record<string, unknown>>().notNull().default({}),
    /** Where the item is sold (country → offer); null: everywhere at `price`. */
    markets: jsonb('markets').$type<Record<string, StoredMarketOffer>>(),
    parentId: text('parent_id'),
    createdAt: createdAt(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    archivedAt: timestamp('archived_at', { withTimezone: true, mode: 'date' }),
    tx: txColumn(),
  },
  (t) => [
    primaryKey({ columns: [t.namespaceId, t.itemId] }),
    index('items_tx_idx').on(t.tx),
    index('items_ns_updated_idx').on(t.namespaceId, t.updatedAt),
  ],
);

export const users = pgTable(
  'users',
  {
    namespaceId: text('namespace_id').notNull(),
    userId: text('user_id').notNull(),
    traits: jsonb('traits').$type<Record<string, string | number | boolean>>().notNull().default({}),
    createdAt: createdAt(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    tx: txColumn(),
  },
  (t) => [primaryKey({ columns: [t.namespaceId, t.userId] }), index('users_tx_idx').on(t.tx)],
);

export const aliases = pgTable(
  'aliases',
  {
    namespaceId: text('namespace_id').notNull(),
    anonymousId: text('anonymous_id').notNull(),
    userId: text('user_id').notNull(),
    createdAt: createdAt(),
    tx: txColumn(),
  },
  (t) => [
    primaryKey({ columns: [t.namespaceId, t.anonymousId] }),
    index('aliases_ns_user_idx').on(t.namespaceId, t.userId),
    index('aliases_tx_idx').on(t.tx),
  ],
);

export const events = pgTable(
  'events',
  {
    namespaceId: text('namespace_id').notNull(),
    eventId: text('event_id').notNull(),
    type: text('type', { enum: EVENT_TYPES }).notNull(),
    itemId: text('item_id'),
    userId: text('user_id'),
    anonymousId: text('anonymous_id'),
    sessionId: text('session_id'),
    /** Event time after clamping far-future client clocks. */
    ts: timestamp('ts', { withTimezone: true, mode: 'date' }).notNull(),
    /** The timestamp the client sent, kept when it was clamped. */
    clientTs: timestamp('client_ts', { withTimezone: true, mode: 'date' }),
    receivedAt: timestamp('received_at', { withTimezone: true, mode: 'date' }).notNull(),
    value: doublePrecision('value'),
    meta: jsonb('meta').$type<Record<string, unknown>>().notNull().default({}),
    tx: txColumn(),
  },
  (t) => [
    primaryKey({ columns: [t.namespaceId, t.eventId] }),
    index('events_tx_idx').on(t.tx),
    index('events_ns_ts_idx').on(t.namespaceId, t.ts),
    index('events_ns_user_idx').on(t.namespaceId, t.userId),
    index('events_ns_anon_idx').on(t.namespaceId, t.anonymousId),
    index('events_ns_item_idx').on(t.namespaceId, t.itemId),
  ],
);

/**
 * Changes that leave no row behind (a user forgotten, a namespace reset, a
 * configuration switch). Engine hosts read it with the same `tx` cursor.
 */
export const changes = pgTable(
  'changes',
  {
    namespaceId: text('namespace_id').notNull(),
    id: bigint('id', { mode: 'number' }).generatedAlwaysAsIdentity(),
    kind: text('kind', { enum: ['forget', 'reset', 'config', 'alias', 'rules', 'encoder'] }).notNull(),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
    tx: txColumn(),
  },
  (t) => [primaryKey({ columns: [t.namespaceId, t.id] }), index('changes_tx_idx').on(t.tx)],
);

export const itemEmbeddings = pgTable(
  'item_embeddings',
  {
    namespaceId: text('namespace_id').notNull(),
    itemId: text('item_id').notNull(),
    modelId: text('model_id').notNull(),
    textHash: text('text_hash').notNull(),
    /** Little-endian float32; bytea because plain PostgreSQL has no pgvector here. */
    vector: bytea('vector').notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    tx: txColumn(),
  },
  (t) => [
    primaryKey({ columns: [t.namespaceId, t.itemId, t.modelId] }),
    index('item_embeddings_tx_idx').on(t.tx),
  ],
);

/**
 * The learned cold-item encoder of a namespace (`recsys encoder train`), one active model each: the
 * query tower W over the built-in encoder (the rest of its ONNX graph is regenerated from `model`) and
 * the item tower of the items it was trained on. A `changes` row of kind `encoder` tells the engines.
 */
export const learnedEncoders = pgTable('learned_encoders', {
  namespaceId: text('namespace_id').primaryKey(),
  modelId: text('model_id').notNull(),
  /** Built-in model options, ridge and training figures (see `StoredProjection`). */
  model: jsonb('model').$type<Record<string, unknown>>().notNull(),
  /** W: little-endian float32, dim × dim. */
  weights: bytea('weights').notNull(),
  /** The item tower's items, in the order of `itemVectors`. */
  itemIds: jsonb('item_ids').$type<string[]>().notNull(),
  /** Little-endian float32, itemIds.length × dim. */
  itemVectors: bytea('item_vectors').notNull(),
  createdAt: createdAt(),
  tx: txColumn(),
});

export const engineConfigs = pgTable(
  'engine_configs',
  {
    namespaceId: text('namespace_id').notNull(),
    version: integer('version').notNull(),
    name: text('name'),
    config: jsonb('config').$type<Record<string, unknown>>().notNull(),
    note: text('note'),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.namespaceId, t.version] })],
);

/** Every served recommendation list, for attribution, experiments and traces. */
export const recLogs = pgTable(
  'rec_logs',
  {
    namespaceId: text('namespace_id').notNull(),
    requestId: text('request_id').notNull(),
    surface: text('surface').notNull(),
    userId: text('user_id'),
    anonymousId: text('anonymous_id'),
    items: jsonb('items').$type<Array<{ itemId: string; rank: number; score: number }>>().notNull(),
    fallback: boolean('fallback').notNull().default(false),
    configVersion: integer('config_version'),
    /** The experiment this list was served in, and its variant (null outside experiments). */
    experimentId: text('experiment_id'),
    variant: text('variant'),
    /**
     * The request's `traits.segment` (at most 256 characters, as the contract allows; null when the
     * request named none, and on lists logged before it was recorded): experiment results break down by it.
     */
    segment: text('segment'),
    /** How long serving the list took, ms (request validated → list ready); null on older lists. */
    durationMs: doublePrecision('duration_ms'),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.namespaceId, t.requestId] }),
    index('rec_logs_ns_user_idx').on(t.namespaceId, t.userId),
    index('rec_logs_ns_created_idx').on(t.namespaceId, t.createdAt),
    index('rec_logs_ns_experiment_idx').on(t.namespaceId, t.experimentId, t.variant),
  ],
);

/**
 * Bundle acceptance per bundle and served day, as `recsys bundles backfill` (and the nightly
 * `bundle-backfill` job) last computed it from `rec_logs` and the events. A backfill replaces every
 * row of the days it covers, so running it again gives the same rows. `recsys bundles acceptance
 * --stored` reads these instead of recomputing.
 */
export const bundleAcceptanceDays = pgTable(
  'bundle_acceptance_days',
  {
    namespaceId: text('namespace_id').notNull(),
    /** The UTC day the bundles were served on, `YYYY-MM-DD`. */
    day: text('day').notNull(),
    /** The item ids sorted and joined by ` + `. */
    bundleKey: text('bundle_key').notNull(),
    itemIds: jsonb('item_ids').$type<string[]>().notNull(),
    shown: integer('shown').notNull(),
    allAdded: integer('all_added').notNull(),
    purchased: integer('purchased').notNull(),
    /** The purchase window the row was computed with (days). */
    purchaseWindowDays: integer('purchase_window_days').notNull(),
    computedAt: timestamp('computed_at', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.namespaceId, t.day, t.bundleKey] })],
);

export const EXPERIMENT_STATUSES = ['draft', 'running', 'paused', 'completed'] as const;
export type ExperimentStatus = (typeof EXPERIMENT_STATUSES)[number];
export const EXPERIMENT_ALLOCATIONS = ['fixed', 'bandit'] as const;
export type ExperimentAllocation = (typeof EXPERIMENT_ALLOCATIONS)[number];

/**
 * A/B experiments: variants with their treatment and weight, traffic share, target, metrics and
 * guardrails. Definitions are JSON validated by `experiments/contracts.ts`; what changes with a
 * lifecycle step (status, timestamps, the guardrail streak) is a column.
 */
export const experiments = pgTable(
  'experiments',
  {
    namespaceId: text('namespace_id')
      .notNull()
      .references(() => namespaces.id, { onDelete: 'cascade' }),
    id: text('id').notNull(),
    name: text('name').notNull(),
    hypothesis: text('hypothesis'),
    status: text('status', { enum: EXPERIMENT_STATUSES }).notNull().default('draft'),
    /** Keys the assignment hash, so two experiments split the same visitors independently. */
    salt: text('salt').notNull(),
    /** Share of targeted visitors in the experiment, 0–1; the rest see the control, unlogged. */
    traffic: doublePrecision('traffic').notNull().default(1),
    variants: jsonb('variants').$type<unknown[]>().notNull(),
    target: jsonb('target').$type<Record<string, unknown>>().notNull().default({}),
    primaryMetric: text('primary_metric').notNull(),
    minimumDetectableEffect: doublePrecision('minimum_detectable_effect').notNull().default(0.05),
    guardrails: jsonb('guardrails').$type<Record<string, unknown>>().notNull().default({}),
    /** Consecutive guardrail evaluations that found a breach; reset by a clean one or a resume. */
    breachStreak: integer('breach_streak').notNull().default(0),
    /**
     * `fixed`: the variants' weights stay as created. `bandit`: a job recomputes them from the
     * attributed outcomes (Thompson sampling); each allocation is a row of `experiment_allocations`.
     */
    allocation: text('allocation', { enum: EXPERIMENT_ALLOCATIONS }).notNull().default('fixed'),
    /** The bandit's settings (metric, holdout, floor); null for fixed experiments. */
    bandit: jsonb('bandit').$type<Record<string, unknown>>(),
    createdAt: createdAt(),
    startedAt: timestamp('started_at', { withTimezone: true, mode: 'date' }),
    endedAt: timestamp('ended_at', { withTimezone: true, mode: 'date' }),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.namespaceId, t.id] })],
);

/**
 * Every allocation a bandit experiment has had: the weights each variant was served with from
 * `created_at` until the next row, and the posterior counts and Thompson draws they came from.
 */
export const experimentAllocations = pgTable(
  'experiment_allocations',
  {
    namespaceId: text('namespace_id').notNull(),
    experimentId: text('experiment_id').notNull(),
    /** 0 for the allocation at creation, then one more per reallocation; also seeds its draws. */
    seq: integer('seq').notNull(),
    /** Share of the experiment's traffic per variant key (they sum to 1). */
    weights: jsonb('weights').$type<Record<string, number>>().notNull(),
    /** Per arm: trials, successes and the share of posterior draws in which it was best. */
    arms: jsonb('arms').$type<unknown[]>().notNull(),
    /** `job` (the scheduled reallocation), or the API key id / `cli` that created the experiment or asked. */
    actor: text('actor').notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.namespaceId, t.experimentId, t.seq] })],
);

/**
 * Recommendation requests assigned to an experiment's variant that then failed (no list was served),
 * counted per variant and minute: the numerator of the `errorRate` guardrail. Counts, not rows per request: a
 * failing variant must not write a row per failure while it fails, and no visitor id is kept.
 */
export const experimentFailures = pgTable(
  'experiment_failures',
  {
    namespaceId: text('namespace_id').notNull(),
    experimentId: text('experiment_id').notNull(),
    variant: text('variant').notNull(),
    /**
     * The UTC minute the requests failed in: one counter per variant and minute, so the service
     * guardrails can judge a recent window (`guardrails.windowMinutes`). `-infinity` (never recent) for
     * counts restored from a backup made before failures were counted per minute.
     */
    minute: timestamp('minute', { withTimezone: true, mode: 'date' }).notNull().default(sql`'-infinity'`),
    failed: integer('failed').notNull(),
    lastFailedAt: timestamp('last_failed_at', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.namespaceId, t.experimentId, t.variant, t.minute] })],
);

/**
 * Per minute, namespace and replica: the longest an event waited between being stored and being
 * applied to that replica's engine (the admin console's freshness chart). Minutes in which no event
 * was applied have no row. Kept 8 days.
 */
export const indexFreshness = pgTable(
  'index_freshness',
  {
    namespaceId: text('namespace_id').notNull(),
    minute: timestamp('minute', { withTimezone: true, mode: 'date' }).notNull(),
    replica: text('replica').notNull(),
    maxLagMs: doublePrecision('max_lag_ms').notNull(),
  },
  (t) => [primaryKey({ columns: [t.namespaceId, t.minute, t.replica] })],
);

/** Every change to an experiment: who, when, from which status to which, and why. */
export const experimentChanges = pgTable(
  'experiment_changes',
  {
    namespaceId: text('namespace_id').notNull(),
    experimentId: text('experiment_id').notNull(),
    id: bigint('id', { mode: 'number' }).generatedAlwaysAsIdentity(),
    action: text('action').notNull(),
    fromStatus: text('from_status'),
    toStatus: text('to_status'),
    /** The API key id that asked for it, or `guardrails` for an automatic pause. */
    actor: text('actor').notNull(),
    detail: jsonb('detail').$type<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.namespaceId, t.id] }),
    index('experiment_changes_exp_idx').on(t.namespaceId, t.experimentId),
  ],
);

/**
 * The decision trace of a served list (sampled; see `traceSampleRate`), written with its `rec_logs`
 * row by the same statement. User and anonymous ids are stored only as salted hashes.
 */
export const recTraces = pgTable(
  'rec_traces',
  {
    namespaceId: text('namespace_id').notNull(),
    requestId: text('request_id').notNull(),
    /** The placement when the request named one, else the surface. */
    surface: text('surface').notNull(),
    /** sha-256 of the namespace's `trace_salt`, `:u:` and the userId. */
    userHash: text('user_hash'),
    /** sha-256 of the namespace's `trace_salt`, `:a:` and the anonymousId. */
    anonymousHash: text('anonymous_hash'),
    configVersion: integer('config_version'),
    experiment: text('experiment'),
    variant: text('variant'),
    /** Items shown, and items a filter, cap or rule removed: what a search by item looks in. */
    itemIds: text('item_ids').array().notNull().default(sql`'{}'::text[]`),
    /** Rules that matched. */
    ruleIds: text('rule_ids').array().notNull().default(sql`'{}'::text[]`),
    /** The trace itself (request, signals, removals, final items; see `StoredTrace`). */
    trace: jsonb('trace').$type<Record<string, unknown>>().notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.namespaceId, t.requestId] }),
    index('rec_traces_ns_created_idx').on(t.namespaceId, t.createdAt),
    index('rec_traces_ns_user_idx').on(t.namespaceId, t.userHash),
    index('rec_traces_ns_anonymous_idx').on(t.namespaceId, t.anonymousHash),
    index('rec_traces_items_idx').using('gin', t.itemIds),
    index('rec_traces_rules_idx').using('gin', t.ruleIds),
  ],
);

/**
 * Merchandising rules and manual overrides, one row per rule in its current version. `definition`
 * is the engine's `RuleDefinition` (validated by the engine's `validateRule`); `enabled` is kept
 * beside it so a rule can be switched off without losing it. Every change is also a row of
 * `rule_changes` and a `changes` row of kind `rules`, which every engine host reads on its next poll.
 */
export const rules = pgTable(
  'rules',
  {
    namespaceId: text('namespace_id').notNull(),
    ruleId: text('rule_id').notNull(),
    /** `rule`: set by a merchandiser; `override`: a quick action with an expiry and a reason. */
    origin: text('origin', { enum: ['rule', 'override'] })
      .notNull()
      .default('rule'),
    kind: text('kind').notNull(),
    definition: jsonb('definition').$type<Record<string, unknown>>().notNull(),
    enabled: boolean('enabled').notNull().default(true),
    /** Why an override exists (required for overrides). */
    reason: text('reason'),
    /** When an override stops applying (its schedule's end, kept as a column to list and sort by). */
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }),
    /** Starts at 1; every change adds one. */
    version: integer('version').notNull(),
    createdAt: createdAt(),
    createdBy: text('created_by').notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    updatedBy: text('updated_by').notNull(),
  },
  (t) => [primaryKey({ columns: [t.namespaceId, t.ruleId] })],
);

/** The audit trail of rules: who changed what, when, and the definition after each change. */
export const ruleChanges = pgTable(
  'rule_changes',
  {
    namespaceId: text('namespace_id').notNull(),
    id: bigint('id', { mode: 'number' }).generatedAlwaysAsIdentity(),
    ruleId: text('rule_id').notNull(),
    version: integer('version').notNull(),
    action: text('action', {
      enum: ['create', 'update', 'disable', 'enable', 'remove', 'import', 'cancel'],
    }).notNull(),
    /** The definition after the change (before it, for `remove`). */
    definition: jsonb('definition').$type<Record<string, unknown>>().notNull(),
    enabled: boolean('enabled').notNull(),
    /** `key:<keyId>` for a change made through the API, `cli:<user>` for one made on the database. */
    actor: text('actor').notNull(),
    note: text('note'),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.namespaceId, t.id] }),
    index('rule_changes_ns_rule_idx').on(t.namespaceId, t.ruleId),
  ],
);

export { OPERATOR_ROLES, type OperatorRole };

/**
 * People who sign in to the admin console (`/admin`), per namespace, with a role: `viewer` reads,
 * `operator` also changes rules, overrides, experiments and configuration, `admin` also keys.
 * Passwords are stored as scrypt hashes (`scrypt$N$r$p$salt$hash`), never in clear.
 */
export const operators = pgTable(
  'operators',
  {
    namespaceId: text('namespace_id')
      .notNull()
      .references(() => namespaces.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    role: text('role', { enum: OPERATOR_ROLES }).notNull(),
    passwordHash: text('password_hash').notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.namespaceId, t.name] })],
);

/**
 * Console sessions: the cookie holds a random id; only its sha-256 is stored, so a copy of this
 * table signs nobody in. Removing an operator ends their sessions (cascade).
 */
export const operatorSessions = pgTable(
  'operator_sessions',
  {
    idHash: text('id_hash').primaryKey(),
    namespaceId: text('namespace_id').notNull(),
    operatorName: text('operator_name').notNull(),
    createdAt: createdAt(),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [
    foreignKey({
      columns: [t.namespaceId, t.operatorName],
      foreignColumns: [operators.namespaceId, operators.name],
    }).onDelete('cascade'),
    index('operator_sessions_expires_idx').on(t.expiresAt),
  ],
);

/**
 * Every change made through a console session: which operator, when, which procedure, with what
 * input. Rules and experiments also name the operator in their own trails (`operator:<name>`);
 * this table covers the changes that have no trail of their own (keys, configuration).
 */
export const operatorAudit = pgTable(
  'operator_audit',
  {
    namespaceId: text('namespace_id').notNull(),
    id: bigint('id', { mode: 'number' }).generatedAlwaysAsIdentity(),
    operatorName: text('operator_name').notNull(),
    role: text('role').notNull(),
    procedure: text('procedure').notNull(),
    input: jsonb('input').$type<unknown>(),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.namespaceId, t.id] }),
    index('operator_audit_ns_created_idx').on(t.namespaceId, t.createdAt),
  ],
);

export const JOB_OUTCOMES = ['running', 'ok', 'failed', 'skipped'] as const;
export type JobOutcome = (typeof JOB_OUTCOMES)[number];

/**
 * Every run of a scheduled job (see `jobs/`), and the claim that makes a scheduled slot run once
 * across replicas: a replica owns a slot when its INSERT of `(job, slot)` is the one the unique index
 * lets through. Manual runs (`recsys jobs run`, `admin.jobs.run`) have no slot. Not keyed by namespace
 * like the other tables: a scheduled run covers every namespace (`namespace_id` is null), and this
 * table stays small (a few hundred rows a day).
 */
export const jobRuns = pgTable(
  'job_runs',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    job: text('job').notNull(),
    /** The scheduled occurrence this run is for; null for a manual run. */
    slot: timestamp('slot', { withTimezone: true, mode: 'date' }),
    trigger: text('trigger', { enum: ['schedule', 'manual'] }).notNull(),
    /** The one namespace a manual run was limited to; null = every namespace. */
    namespaceId: text('namespace_id'),
    dryRun: boolean('dry_run').notNull().default(false),
    outcome: text('outcome', { enum: JOB_OUTCOMES }).notNull(),
    /** Which process ran it: `<host>:<pid>`. */
    runner: text('runner').notNull(),
    startedAt: timestamp('started_at', { withTimezone: true, mode: 'date' }).notNull(),
    /** Moved forward while the run is alive; a `running` row whose heartbeat stopped was abandoned. */
    heartbeatAt: timestamp('heartbeat_at', { withTimezone: true, mode: 'date' }).notNull(),
    finishedAt: timestamp('finished_at', { withTimezone: true, mode: 'date' }),
    durationMs: integer('duration_ms'),
    /** What it did (or would do, in a dry run), e.g. "deleted 1,204 traces". */
    summary: text('summary'),
    error: text('error'),
    /** The summary per namespace, so a namespace's key sees its own part of a run over all of them. */
    detail: jsonb('detail').$type<Record<string, unknown>>().notNull().default({}),
  },
  (t) => [
    uniqueIndex('job_runs_job_slot_idx').on(t.job, t.slot),
    index('job_runs_job_started_idx').on(t.job, t.startedAt),
    index('job_runs_started_idx').on(t.startedAt),
  ],
);
