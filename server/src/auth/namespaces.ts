import { timingSafeEqual } from 'node:crypto';
import { and, eq, isNull, sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { apiKeys, namespaces } from '../db/schema';
import { UserError } from '../errors';
import {
  generateApiKey,
  type KeyKind,
  NAMESPACE_ID_RE,
  originAllowed,
  parseApiKey,
  secretMatches,
} from './keys';

/** Per-namespace settings stored with the namespace. */
export interface NamespaceSettings {
  /**
   * What to do with traits or meta values that look like e-mail addresses or
   * phone numbers: refuse the row, or replace the match with `[email]`/`[phone]`.
   * @default 'reject'
   */
  pii?: 'reject' | 'scrub';
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
  const origins = options.allowedOrigins ?? [];
  if (options.kind === 'publishable' && origins.length === 0) {
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
  const { key, keyId, hash } = generateApiKey(options.kind, namespaceId);
  await database.db.insert(apiKeys).values({
    namespaceId,
    id: keyId,
    kind: options.kind,
    hash,
    label: options.label ?? null,
    allowedOrigins: origins.map((o) => o.replace(/\/$/, '')),
  });
  return { key, keyId, kind: options.kind, namespaceId, allowedOrigins: origins };
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

export interface Principal {
  namespaceId: string;
  kind: KeyKind;
  keyId: string;
  settings: NamespaceSettings;
}

export type AuthFailure = { code: 'UNAUTHORIZED' | 'FORBIDDEN'; message: string };

interface CachedKey {
  hash: string;
  kind: KeyKind;
  allowedOrigins: string[];
  settings: NamespaceSettings;
  /**
   * The secret that last matched `hash`, for as long as this entry lives: repeated requests with
   * the same key compare it in constant time instead of hashing again (the hash was a few percent
   * of a recommendation request's CPU).
   */
  verified?: Buffer;
}

/** Whether `secret` matches the key's hash, through the cached verified secret when there is one. */
function verify(secret: string, stored: CachedKey): boolean {
  if (stored.verified !== undefined) {
    const presented = Buffer.from(secret);
    if (presented.length === stored.verified.length && timingSafeEqual(presented, stored.verified))
      return true;
  }
  if (!secretMatches(secret, stored.hash)) return false;
  stored.verified = Buffer.from(secret);
  return true;
}

/**
 * Resolves API keys to principals. Verified keys are cached briefly so the
 * hot ingestion path does not hit the database for every request; a revoked
 * key stops working within `ttlMs`.
 */
export function createKeyResolver(database: Database, ttlMs = 10_000) {
  const cache = new Map<string, { value: CachedKey | null; expires: number }>();

  async function load(namespaceId: string, keyId: string): Promise<CachedKey | null> {
    const cacheKey = `${namespaceId}/${keyId}`;
    const now = Date.now();
    const hit = cache.get(cacheKey);
    if (hit && hit.expires > now) return hit.value;
    const [row] = await database.db
      .select({
        hash: apiKeys.hash,
        kind: apiKeys.kind,
        allowedOrigins: apiKeys.allowedOrigins,
        revokedAt: apiKeys.revokedAt,
        settings: namespaces.settings,
      })
      .from(apiKeys)
      .innerJoin(namespaces, eq(namespaces.id, apiKeys.namespaceId))
      .where(and(eq(apiKeys.namespaceId, namespaceId), eq(apiKeys.id, keyId)));
    const value: CachedKey | null =
      row && !row.revokedAt
        ? {
            hash: row.hash,
            kind: row.kind,
            allowedOrigins: row.allowedOrigins,
            settings: row.settings as NamespaceSettings,
          }
        : null;
    cache.set(cacheKey, { value, expires: now + ttlMs });
    return value;
  }

  return {
    /**
     * @param origin the browser origin of the request (Origin header, else the
     *   Referer's origin); undefined for server-side calls.
     */
    async resolve(rawKey: string, origin: string | undefined): Promise<Principal | AuthFailure> {
      const parsed = parseApiKey(rawKey);
      if (!parsed) {
        return {
          code: 'UNAUTHORIZED',
          message:
            'The API key is malformed. Keys look like sk_<namespace>_<id>_<secret> or pk_<namespace>_<id>_<secret>.',
        };
      }
      const stored = await load(parsed.namespaceId, parsed.keyId);
      if (!stored || stored.kind !== parsed.kind || !verify(parsed.secret, stored)) {
        return {
          code: 'UNAUTHORIZED',
          message: 'The API key is unknown or revoked. Create one with `recsys keys create`.',
        };
      }
      if (stored.kind === 'publishable') {
        if (!origin) {
          return {
            code: 'FORBIDDEN',
            message:
              'A publishable key can only be used from a browser page on an allowed origin; use a secret key server-side.',
          };
        }
        if (!originAllowed(origin, stored.allowedOrigins)) {
          return {
            code: 'FORBIDDEN',
            message: `Origin ${origin} is not allowed for this publishable key; add it with \`recsys keys create --origin\`.`,
          };
        }
      }
      return {
        namespaceId: parsed.namespaceId,
        kind: stored.kind,
        keyId: parsed.keyId,
        settings: stored.settings,
      };
    },
    clear() {
      cache.clear();
    },
  };
}

export type KeyResolver = ReturnType<typeof createKeyResolver>;
