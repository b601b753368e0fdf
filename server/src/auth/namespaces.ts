import { and, eq, isNull, sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { apiKeys, namespaces } from '../db/schema';
import { UserError } from '../errors';
import { generateApiKey, type KeyKind, NAMESPACE_ID_RE } from './keys';
import type { NamespaceRateLimits } from './rateLimitSettings';

/** Per-namespace settings stored with the namespace. */
export interface NamespaceSettings {
  /**
   * What to do with traits or meta values that look like e-mail addresses or
   * phone numbers: refuse the row, or replace the match with `[email]`/`[phone]`.
   * @default 'reject'
   */
  pii?: 'reject' | 'scrub';
  /**
   * Rate limits of this namespace's keys per key kind, replacing the server's (see
   * `RateLimitOptions`); change them with `updateNamespaceRateLimits`.
   * @default the server's limits
   */
  rateLimits?: NamespaceRateLimits;
  /**
   * Accept a `userId` from publishable-key (browser) requests without a user token, as before user
   * tokens existed. Anyone holding the public key can then read any user's recommendations
   * (`buyAgain`, `recentlyViewed`), link any visitor to any user and send events as anyone: only
   * for shops that accept that risk.
   * @default false
   */
  trustBrowserUserIds?: boolean;
  /**
   * Share of served lists whose decision trace is stored, 0–1. Lists asked for with `explain` or
   * the `x-recsys-trace: 1` header are always traced. Unset: every list, up to 10 traces per second
   * (all the lists of a small shop, a sample of a busy one's); 1 traces every list however many.
   * @default undefined (every list up to 10 per second)
   * @example { traceSampleRate: 0.05 }
   */
  traceSampleRate?: number;
  /**
   * Days a decision trace is kept; `pruneTraces` (`recsys traces prune`) deletes older ones.
   * @default 30
   */
  traceRetentionDays?: number;
  /**
   * Days a served list (`rec_logs`: exposures, attribution) is kept; the `rec-log-retention` job
   * deletes older ones, except those of experiments that are not completed yet.
   * @default 90
   */
  recLogRetentionDays?: number;
}

export async function createNamespace(
  database: Database,
  id: string,
  name?: string,
): Promise<{ id: string }> {
  if (!NAMESPACE_ID_RE.test(id)) {
    throw new UserError(
      'BAD_REQUEST',
      `Namespace id "${id}" is invalid: use 1-63 lowercase letters, digits or dashes, starting with a letter or digit.`,
    );
  }
  const inserted = await database.db
    .insert(namespaces)
    .values({ id, name: name ?? id })
    .onConflictDoNothing()
    .returning({ id: namespaces.id });
  if (inserted.length === 0) throw new UserError('CONFLICT', `Namespace "${id}" already exists.`);
  return { id };
}

/**
 * Changes a namespace's settings (merged key by key). Keys already resolved by
 * a server keep the old settings for up to the key cache's TTL (10 s).
 */
export async function updateNamespaceSettings(database: Database, id: string, settings: NamespaceSettings) {
  if (settings.pii !== undefined && settings.pii !== 'reject' && settings.pii !== 'scrub') {
    throw new UserError('BAD_REQUEST', `pii must be "reject" or "scrub", not "${String(settings.pii)}".`);
  }
  if (settings.trustBrowserUserIds !== undefined && typeof settings.trustBrowserUserIds !== 'boolean') {
    throw new UserError(
      'BAD_REQUEST',
      `trustBrowserUserIds must be true or false, not "${String(settings.trustBrowserUserIds)}".`,
    );
  }
  const rate = settings.traceSampleRate;
  if (rate !== undefined && !(typeof rate === 'number' && rate >= 0 && rate <= 1)) {
    throw new UserError(
      'BAD_REQUEST',
      `traceSampleRate must be a number from 0 to 1 (e.g. 0.1 stores one trace in ten), not "${String(rate)}".`,
    );
  }
  for (const key of ['traceRetentionDays', 'recLogRetentionDays'] as const) {
    const days = settings[key];
    if (days !== undefined && !(Number.isInteger(days) && days >= 1 && days <= 3650)) {
      throw new UserError(
        'BAD_REQUEST',
        `${key} must be a whole number of days from 1 to 3650, not "${String(days)}".`,
      );
    }
  }
  const rows = await database.db
    .update(namespaces)
    .set({ settings: sql`${namespaces.settings} || ${JSON.stringify(settings)}::jsonb` })
    .where(eq(namespaces.id, id))
    .returning({ settings: namespaces.settings });
  if (rows.length === 0) throw new UserError('NOT_FOUND', `Namespace "${id}" does not exist.`);
  return rows[0]!.settings as NamespaceSettings;
}

export async function listNamespaces(database: Database) {
  return database.db.select().from(namespaces).orderBy(namespaces.id);
}

export async function getNamespace(database: Database, id: string) {
  const [row] = await database.db.select().from(namespaces).where(eq(namespaces.id, id));
  return row;
}

export interface CreateKeyOptions {
  kind: KeyKind;
  /** Browser origins a publishable key may be used from. Required for publishable keys. */
  allowedOrigins?: string[];
  label?: string;
}

/** Creates an API key. The returned `key` is the only time it is visible. */
export async function createApiKey(database: Database, namespaceId: string, options: CreateKeyOptions) {
  const ns = await getNamespace(database, namespaceId);
  if (!ns) throw new UserError('NOT_FOUND', `Namespace "${namespaceId}" does not exist; create it first.`);
  const origins = normalizeOrigins(options.kind, options.allowedOrigins ?? []);
  const { key, keyId, hash } = generateApiKey(options.kind, namespaceId);
  await database.db.insert(apiKeys).values({
    namespaceId,
    id: keyId,
    kind: options.kind,
    hash,
    label: options.label ?? null,
    allowedOrigins: origins,
  });
  return { key, keyId, kind: options.kind, namespaceId, allowedOrigins: origins };
}

/**
 * Checks a key's allowed origins and returns them without trailing slashes. A publishable key needs
 * at least one; a secret key is used server-side, where there is no origin to check.
 */
function normalizeOrigins(kind: KeyKind, origins: readonly string[]): string[] {
  if (kind === 'publishable' && origins.length === 0) {
    throw new UserError(
      'BAD_REQUEST',
      'A publishable key needs at least one allowed origin (e.g. https://shop.example), or "*" for development.',
    );
  }
  for (const origin of origins) {
    if (origin === '*' || origin.startsWith('*.')) continue;
    let parsed: URL;
    try {
      parsed = new URL(origin);
    } catch {
      throw new UserError(
        'BAD_REQUEST',
        `Allowed origin "${origin}" is not a URL origin like https://shop.example.`,
      );
    }
    if (parsed.origin !== origin.replace(/\/$/, '')) {
      throw new UserError(
        'BAD_REQUEST',
        `Allowed origin "${origin}" must be an origin only (no path), e.g. ${parsed.origin}.`,
      );
    }
  }
  return origins.map((o) => o.replace(/\/$/, ''));
}

/**
 * Replaces the allowed origins of an active publishable key. Servers that resolved the key keep
 * the old list for up to the key cache's TTL, except the one that made the change.
 */
export async function setApiKeyOrigins(
  database: Database,
  namespaceId: string,
  keyId: string,
  allowedOrigins: readonly string[],
): Promise<{ keyId: string; allowedOrigins: string[] }> {
  const [key] = await database.db
    .select({ kind: apiKeys.kind })
    .from(apiKeys)
    .where(and(eq(apiKeys.namespaceId, namespaceId), eq(apiKeys.id, keyId), isNull(apiKeys.revokedAt)));
  if (!key)
    throw new UserError('NOT_FOUND', `No active key ${keyId} in "${namespaceId}"; see \`recsys keys list\`.`);
  if (key.kind !== 'publishable') {
    throw new UserError(
      'BAD_REQUEST',
      `Key ${keyId} is a secret key: origins apply to publishable (browser) keys only.`,
    );
  }
  const origins = normalizeOrigins('publishable', allowedOrigins);
  await database.db
    .update(apiKeys)
    .set({ allowedOrigins: origins })
    .where(and(eq(apiKeys.namespaceId, namespaceId), eq(apiKeys.id, keyId)));
  return { keyId, allowedOrigins: origins };
}

export async function revokeApiKey(database: Database, namespaceId: string, keyId: string): Promise<boolean> {
  const rows = await database.db
    .update(apiKeys)
    .set({ revokedAt: new Date() })
    .where(and(eq(apiKeys.namespaceId, namespaceId), eq(apiKeys.id, keyId), isNull(apiKeys.revokedAt)))
    .returning({ id: apiKeys.id });
  return rows.length > 0;
}

export async function listApiKeys(database: Database, namespaceId: string) {
  return database.db
    .select({
      keyId: apiKeys.id,
      kind: apiKeys.kind,
      label: apiKeys.label,
      allowedOrigins: apiKeys.allowedOrigins,
      createdAt: apiKeys.createdAt,
      revokedAt: apiKeys.revokedAt,
    })
    .from(apiKeys)
    .where(eq(apiKeys.namespaceId, namespaceId))
    .orderBy(apiKeys.createdAt);
}
