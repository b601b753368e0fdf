import { timingSafeEqual } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import type { Database } from '../db/client';
import { apiKeys, namespaces } from '../db/schema';
import { type KeyKind, originAllowed, parseApiKey, secretMatches } from './keys';
import type { NamespaceSettings } from './namespaces';

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
    /**
     * The stored sha-256 of a non-revoked secret key, which keys the MAC of the user tokens that
     * key signed; through the same cache, so a revoked key's tokens stop working as the key does.
     */
    async secretKeyHash(namespaceId: string, keyId: string): Promise<string | undefined> {
      const stored = await load(namespaceId, keyId);
      return stored?.kind === 'secret' ? stored.hash : undefined;
    },
    clear() {
      cache.clear();
    },
  };
}

export type KeyResolver = ReturnType<typeof createKeyResolver>;
