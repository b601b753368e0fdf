import { createTextEncoder, type EmbeddingEncoder } from '@recsys/engine';
import { UserError } from '../errors';
import { parseTrustProxy } from '../http/clientIp';
import type { RateLimitOptions } from '../http/rateLimiter';
import { DEFAULT_CACHE_TTL_MS, type ResponseCacheOptions } from '../serve/ResponseCache';

/*
 * What a start reads from its environment (RECSYS_EMBEDDINGS, REDIS_URL, RECSYS_TRUST_PROXY,
 * RECSYS_RECS_CACHE_TTL) and how each setting is parsed, apart from the composition in `start.ts`
 * that uses them: an unreadable value is refused here with a message naming the variable.
 */

/** How item text becomes vectors. */
export type EmbeddingsSetting =
  | { kind: 'builtin'; dim?: number }
  | { kind: 'transformer'; dir: string; maxLength?: number }
  | { kind: 'off' };

export function parseEmbeddingsSetting(value: string | undefined): EmbeddingsSetting {
  if (!value || value === 'builtin') return { kind: 'builtin' };
  if (value === 'off') return { kind: 'off' };
  if (value.startsWith('transformer:'))
    return { kind: 'transformer', dir: value.slice('transformer:'.length) };
  throw new Error(
    `RECSYS_EMBEDDINGS="${value}" is not understood: use builtin, off or transformer:<model folder>.`,
  );
}

export async function createEncoder(setting: EmbeddingsSetting): Promise<EmbeddingEncoder | null> {
  if (setting.kind === 'off') return null;
  if (setting.kind === 'builtin')
    return createTextEncoder({ kind: 'builtin', ...(setting.dim ? { dim: setting.dim } : {}) });
  return createTextEncoder({
    kind: 'transformer',
    dir: setting.dir,
    ...(setting.maxLength ? { maxLength: setting.maxLength } : {}),
  });
}

/** The rate-limit options with what the environment says filled in. */
export function rateLimitsFromEnv(options: RateLimitOptions | false = {}): RateLimitOptions | false {
  if (options === false) return false;
  // An empty REDIS_URL (REDIS_URL= in a shell) means memory, as an empty DATABASE_URL means PGlite.
  const redisUrl = options.redisUrl ?? (process.env.REDIS_URL || undefined);
  return {
    ...options,
    ...(redisUrl ? { redisUrl } : {}),
    trustProxy: options.trustProxy ?? parseTrustProxy(process.env.RECSYS_TRUST_PROXY),
  };
}

/**
 * The response cache's options with what the environment says filled in: `RECSYS_RECS_CACHE_TTL`
 * (seconds; 0 or off for none), Redis as the rate limits have it (`--redis-url`, `REDIS_URL`).
 */
export function recsCacheFromEnv(
  options: ResponseCacheOptions | false | undefined,
  rateLimits: RateLimitOptions | false,
): ResponseCacheOptions | false {
  if (options === false) return false;
  const ttlMs = options?.ttlMs ?? parseCacheTtl(process.env.RECSYS_RECS_CACHE_TTL);
  if (ttlMs !== undefined && !(ttlMs >= 0 && ttlMs <= 3_600_000)) {
    throw new UserError(
      'BAD_REQUEST',
      `The recommendation cache TTL recsCache.ttlMs=${ttlMs} is not understood: give milliseconds from 0 (off) to 3600000.`,
    );
  }
  if (ttlMs === 0) return false;
  const limitsRedisUrl = rateLimits === false ? undefined : rateLimits.redisUrl;
  const redisUrl = options?.redisUrl ?? (limitsRedisUrl || undefined) ?? (process.env.REDIS_URL || undefined);
  return { ...options, ...(ttlMs === undefined ? {} : { ttlMs }), ...(redisUrl ? { redisUrl } : {}) };
}

/** `RECSYS_RECS_CACHE_TTL` / `--recs-cache-ttl`: seconds (decimals allowed), `0` or `off` for none. */
export function parseCacheTtl(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (value === 'off') return 0;
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds < 0 || seconds > 3_600) {
    throw new UserError(
      'BAD_REQUEST',
      `The recommendation cache TTL "${value}" (--recs-cache-ttl or RECSYS_RECS_CACHE_TTL) is not understood: give seconds from 0 to 3600 (e.g. 10, or 0.5), or off.`,
    );
  }
  return Math.round(seconds * 1000);
}

/** The cache as the start-up log line describes it. */
export function describeCache(cache: ResponseCacheOptions) {
  const redis = cache.redisUrl ? new URL(cache.redisUrl) : undefined;
  return {
    ttlMs: cache.ttlMs ?? DEFAULT_CACHE_TTL_MS,
    // The host only: a URL may carry a password.
    store: redis ? `redis ${redis.host}` : 'memory',
  };
}
