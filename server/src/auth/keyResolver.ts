import { timingSafeEqual } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { LRUCache } from 'lru-cache';
import type { Database } from '../db/client';
import type { OperatorRole } from '../db/operatorRoles';
import { apiKeys, namespaces } from '../db/schema';
import { isDatabaseUnavailable } from '../db/unavailable';
import { type KeyKind, originAllowed, parseApiKey, secretMatches } from './keys';
import type { NamespaceSettings } from './namespaces';

export interface Principal {
  namespaceId: string;
  kind: KeyKind;
  keyId: string;
  settings: NamespaceSettings;
  /**
   * Set when the request is an admin-console session (a cookie), not a key: who signed in and
   * with which role. Such a principal reaches `admin.*` only, as far as its role allows.
   */
  operator?: { name: string; role: OperatorRole };
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
  /** When the row was read (the resolver's clock): how old what an outage falls back on is. */
  loadedAt?: number;
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

/** A key's row as the resolver needs it; null when there is no such key or it is revoked. */
export type StoredKey = Omit<CachedKey, 'verified' | 'loadedAt'>;

/** Reads one key from the database (what the resolver does on a cache miss). */
export async function loadApiKey(
  database: Database,
  namespaceId: string,
  keyId: string,
): Promise<StoredKey | null> {
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
  if (!row || row.revokedAt) return null;
  return {
    hash: row.hash,
    kind: row.kind,
    allowedOrigins: row.allowedOrigins,
    settings: row.settings as NamespaceSettings,
  };
}

export interface KeyResolverOptions {
  /**
   * How long a looked-up key, or the absence of one, is remembered: a revoked key, changed
   * allowed origins or changed namespace settings take effect within this time.
   * @default 10_000
   */
  ttlMs?: number;
  /**
   * Most keys remembered, and separately most unknown keys remembered: a flood of made-up keys
   * can only push out other made-up keys, never the real ones.
   * @default 10_000
   */
  max?: number;
  /**
   * Reads a key on a cache miss.
   * @default (namespaceId, keyId) => loadApiKey(database, namespaceId, keyId)
   */
  load?: (namespaceId: string, keyId: string) => Promise<StoredKey | null>;
  /**
   * While the database is unreachable, a key read within this time keeps resolving as it was read,
   * so recommendations (served from memory) and buffered lists keep working through an outage for
   * every key seen before it; a revocation made meanwhile could not be read anyway. 0 turns it off.
   * @default 900_000 (15 minutes)
   */
  staleOnOutageMs?: number;
  /**
   * The clock of the TTLs, in ms (tests move it).
   * @default performance.now
   */
  now?: () => number;
}

/**
 * Resolves API keys to principals. Keys, and keys found not to exist, are cached (bounded, with a
 * TTL) so the hot ingestion path does not query the database per request and random well-formed
 * keys cost one query each per TTL at most; a revoked key stops working within the TTL.
 */
export function createKeyResolver(database: Database, options: KeyResolverOptions = {}) {
  const ttl = options.ttlMs ?? 10_000;
  const max = options.max ?? 10_000;
  const read =
    options.load ?? ((namespaceId: string, keyId: string) => loadApiKey(database, namespaceId, keyId));
  // A given clock is read on every check: the default caches it for 1 ms, by a timer of its own.
  const perf = options.now ? { perf: { now: options.now }, ttlResolution: 0 } : {};
  const clock = options.now ?? (() => performance.now());
  const staleOnOutageMs = options.staleOnOutageMs ?? 900_000;
  const unknown = new LRUCache<string, true>({ max, ttl, ...perf });
  // fetch() shares one load between concurrent requests for the same key.
  const known = new LRUCache<string, CachedKey, { namespaceId: string; keyId: string }>({
    max,
    ttl,
    ...perf,
    async fetchMethod(cacheKey, stale, { context }) {
      let stored: StoredKey | null;
      try {
        stored = await read(context.namespaceId, context.keyId);
      } catch (error) {
        const age = stale?.loadedAt === undefined ? Number.POSITIVE_INFINITY : clock() - stale.loadedAt;
        if (stale !== undefined && isDatabaseUnavailable(error) && age <= staleOnOutageMs) return stale;
        throw error;
      }
      if (stored) return { ...stored, loadedAt: clock() };
      unknown.set(cacheKey, true);
      return undefined;
    },
  });

  async function load(namespaceId: string, keyId: string): Promise<CachedKey | null> {
    const cacheKey = `${namespaceId}/${keyId}`;
    if (unknown.get(cacheKey)) return null;
    return (await known.fetch(cacheKey, { context: { namespaceId, keyId } })) ?? null;
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
            message: `Origin ${origin} is not allowed for this publishable key; add it with \`recsys keys origins <keyId> --origin …\`.`,
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
    /** Forgets every cached key (the next request of each reads it again). */
    clear() {
      known.clear();
      unknown.clear();
    },
    /** How many keys and unknown keys are remembered now. */
    get cacheSize() {
      return { known: known.size, unknown: unknown.size };
    },
  };
}

export type KeyResolver = ReturnType<typeof createKeyResolver>;
