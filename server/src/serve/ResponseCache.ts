import { LRUCache } from 'lru-cache';
import { connectRedis, firstConnection } from '../db/connectRedis';
import type { Logger } from '../obs/logger';
import type { EngineList } from './EngineService';

/** How long a list is reused when no TTL is given, ms. */
export const DEFAULT_CACHE_TTL_MS = 10_000;

/** Options of {@link createResponseCache}: how long ranked lists are reused, and where they are kept. */
export interface ResponseCacheOptions {
  /**
   * How long a ranked list is reused, in ms. Changes of the visitor's own (events, traits, a login),
   * of the catalog, the configuration or the rules make the next request a miss at once; what other
   * visitors do (popularity, co-visitation) reaches a cached list within this time.
   * @default 10000
   * @example { ttlMs: 5_000 }
   */
  ttlMs?: number;
  /**
   * Lists kept in this process's memory (least recently used go first).
   * @default 10000
   */
  maxEntries?: number;
  /**
   * Redis URL: replicas using the same Redis and `keyPrefix` share their lists. This process still
   * keeps the lists it served or read in memory. While Redis is unreachable or slow, lists are served
   * from memory and the engines.
   * @default undefined (memory only; `startRecsys` reads `REDIS_URL`)
   * @example 'redis://127.0.0.1:6379'
   */
  redisUrl?: string | undefined;
  /**
   * Prefix of every Redis key the cache writes.
   * @default 'recsys:recs:'
   */
  keyPrefix?: string;
  /**
   * A Redis command slower than this is a miss, so a stalled Redis costs each request at most this.
   * @default 100
   */
  redisTimeoutMs?: number;
}

/** A list as stored: the list without its trace, and when it stops being served. */
export interface StoredList {
  list: EngineList;
  expiresAt: number;
}

/** Ranked lists by cache key (see `serveListCached`), in memory and, with a URL, in Redis. */
export interface ResponseCache {
  readonly ttlMs: number;
  /** Lists kept in this process's memory. */
  readonly maxEntries: number;
  /** 'redis' when lists are shared through Redis, 'memory' otherwise. */
  readonly store: 'redis' | 'memory';
  /** The stored list, or undefined; a promise only when memory missed and Redis is asked. */
  get(key: string): StoredList | undefined | Promise<StoredList | undefined>;
  /**
   * Stores a list (Redis writes are not waited for, and their failures are only logged); returns
   * when it expires.
   */
  set(key: string, list: EngineList): number;
  /** Settles once the first connection to Redis succeeded or failed (at once in memory). */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

/**
 * The response cache of the recommendation lists. Keys are made by the caller and already say
 * everything that changes the answer (see `serveListCached`), so nothing is ever deleted: a change
 * moves the key, and old entries run out their TTL.
 */
export function createResponseCache(options: ResponseCacheOptions, log: Logger): ResponseCache {
  const ttlMs = options.ttlMs ?? DEFAULT_CACHE_TTL_MS;
  const prefix = options.keyPrefix ?? 'recsys:recs:';
  const maxEntries = options.maxEntries ?? 10_000;
  const memory = new LRUCache<string, StoredList>({ max: maxEntries });
  const redis = options.redisUrl
    ? connectRedis(options.redisUrl, options.redisTimeoutMs ?? 100, log, {
        down: 'Redis unreachable: recommendation lists are cached in this process only',
        back: 'Redis reachable again: recommendation lists are shared again',
      })
    : undefined;

  const fromMemory = (key: string, now: number): StoredList | undefined => {
    const stored = memory.get(key);
    if (stored === undefined) return undefined;
    if (stored.expiresAt > now) return stored;
    memory.delete(key);
    return undefined;
  };

  return {
    ttlMs,
    maxEntries,
    store: redis ? 'redis' : 'memory',
    ready: firstConnection(redis),
    get(key) {
      const now = Date.now();
      const local = fromMemory(key, now);
      if (local !== undefined || redis === undefined || redis.status !== 'ready') return local;
      return redis.get(prefix + key).then(
        (text) => {
          if (text === null) return undefined;
          const stored = JSON.parse(text) as StoredList;
          if (stored.expiresAt <= Date.now()) return undefined;
          memory.set(key, stored);
          return stored;
        },
        // Down or slow: a miss (logged once per outage by connectRedis).
        () => undefined,
      );
    },
    set(key, list) {
      const stored: StoredList = { list, expiresAt: Date.now() + ttlMs };
      memory.set(key, stored);
      if (redis !== undefined && redis.status === 'ready') {
        redis.set(prefix + key, JSON.stringify(stored), 'PX', ttlMs).catch(() => undefined);
      }
      return stored.expiresAt;
    },
    async close() {
      memory.clear();
      if (redis) await redis.quit().catch(() => redis.disconnect());
    },
  };
}
