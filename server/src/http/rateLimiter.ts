import type { IncomingMessage } from 'node:http';
import {
  BurstyRateLimiter,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
} from 'rate-limiter-flexible';
import type { AuthFailure, Principal } from '../auth/keyResolver';
import type { KeyKind } from '../auth/keys';
import { checkRateLimit, type RateLimit } from '../auth/rateLimitSettings';
import { connectRedis, firstConnection } from '../db/connectRedis';
import type { Logger } from '../obs/logger';
import { createClientIp, type TrustProxySetting } from './clientIp';

/**
 * Rate limits of one server. Every API request (`/trpc/*`, `/v1/collect`) is counted where it
 * arrives, before any work: per key and client address (limits per key kind, each namespace may set
 * its own), per client address across publishable keys, and per client address for requests whose
 * key is missing, unknown, revoked or refused (so guessing keys is throttled before it costs a query).
 */
export interface RateLimitOptions {
  /**
   * Per publishable key and client address (browser traffic).
   * @default { points: 50, duration: 1, burst: 100 }
   */
  publishable?: RateLimit;
  /**
   * Per secret key and client address (your own servers).
   * @default { points: 5000, duration: 1, burst: 10000 }
   */
  secret?: RateLimit;
  /**
   * Per client address across every publishable key of every namespace.
   * @default { points: 200, duration: 1, burst: 400 }
   */
  ip?: RateLimit;
  /**
   * Per client address: requests with a missing, malformed, unknown, revoked or refused key. Past it,
   * the address gets 429 before its keys are looked up.
   * @default { points: 30, duration: 60 }
   */
  invalidKey?: RateLimit;
  /**
   * Redis URL: the budgets are shared by every process (and HTTP thread) using the same Redis and
   * `keyPrefix`. Without it each process, or HTTP thread, counts in its own memory. While Redis is
   * unreachable, each process counts in memory (the limiter's insurance) and serves on.
   * @default undefined (`startRecsys` reads `REDIS_URL`)
   * @example 'redis://127.0.0.1:6379'
   */
  redisUrl?: string | undefined;
  /**
   * Prefix of every Redis key the limiter writes.
   * @default 'recsys:rl'
   */
  keyPrefix?: string;
  /**
   * A Redis command slower than this counts in memory instead, so a stalled Redis cannot stall requests.
   * @default 250
   */
  redisTimeoutMs?: number;
  /**
   * Which proxies may name the client through `X-Forwarded-For` (see {@link TrustProxySetting}).
   * @default false (`startRecsys` reads `RECSYS_TRUST_PROXY`): the socket's peer address
   */
  trustProxy?: TrustProxySetting;
}

/** Defaults of {@link RateLimitOptions}. */
export const DEFAULT_RATE_LIMITS = {
  publishable: { points: 50, duration: 1, burst: 100 },
  secret: { points: 5000, duration: 1, burst: 10_000 },
  ip: { points: 200, duration: 1, burst: 400 },
  invalidKey: { points: 30, duration: 60 },
} as const satisfies Record<string, RateLimit>;

/** Which limit refused a request. */
export type LimitName = 'key' | 'ip' | 'invalidKey';

export interface RateLimitRefusal {
  limit: LimitName;
  /** The namespace of the key refused (the `ip` and `key` limits, once the key is known). */
  namespaceId?: string;
  /** Seconds until a retry can succeed, rounded up (at least 1); also the `Retry-After` header. */
  retryAfter: number;
  message: string;
}

type Admission = { auth: Principal | AuthFailure | undefined } | { refused: RateLimitRefusal };

export interface RateLimiter {
  /** 'redis' when budgets are shared through Redis, 'memory' otherwise. */
  readonly store: 'redis' | 'memory';
  /**
   * Settles once the first connection to Redis succeeded or failed (at once in memory), so that a
   * server starts counting in the shared store from its first request when Redis is up.
   */
  readonly ready: Promise<void>;
  /** The client a request is counted against: an IPv4 address or an IPv6 /64. */
  clientIp(req: IncomingMessage): string;
  /** Counts a request from `ip` and resolves its key with `resolve`, unless a limit refuses it. */
  admit(ip: string, resolve: () => Promise<Principal | AuthFailure | undefined>): Promise<Admission>;
  /**
   * A counter of `points` per `duration` seconds in this limiter's store — Redis when `redisUrl` is
   * set (so every replica counts together, with this process's memory as insurance while Redis is
   * down), memory otherwise — for limits outside the API's, such as console sign-in.
   */
  counter(name: string, points: number, duration: number): RateCounter;
  close(): Promise<void>;
}

type Limiter = RateLimiterMemory | RateLimiterRedis;
/** A counter from {@link RateLimiter.counter}. */
export type RateCounter = Limiter;

/** One limit over its store: `points` per `duration`, plus the burst allowance when there is one. */
class Bucket {
  private readonly counter: Limiter | BurstyRateLimiter;
  constructor(
    readonly limit: Required<RateLimit>,
    private readonly primary: Limiter,
    extra: Limiter | undefined,
    private readonly onStoreError: (error: unknown) => void,
  ) {
    this.counter = extra ? new BurstyRateLimiter(primary, extra) : primary;
  }

  /** Counts one request: 0 when allowed, else the ms until a retry can succeed. */
  consume(key: string): Promise<number> {
    return this.counter.consume(key).then(
      () => 0,
      (rejection: unknown) => {
        if (rejection instanceof RateLimiterRes) return Math.max(1, rejection.msBeforeNext);
        // Both Redis and the memory insurance failed: serving on beats refusing everyone.
        this.onStoreError(rejection);
        return 0;
      },
    );
  }

  /**
   * Whether `key` is already over the limit, without counting: ms until it is not, or 0. Through
   * Redis this reads only the blocks this process has seen (no round trip per request); another
   * process's refusals reach it at the key's next counted request.
   */
  async blockedMs(key: string): Promise<number> {
    if (this.primary instanceof RateLimiterRedis) {
      // Public in the library's source (RateLimiterStoreAbstract), missing from its types.
      const store = this.primary as RateLimiterRedis & {
        getInMemoryBlockMsBeforeExpire(rlKey: string): number;
      };
      return store.getInMemoryBlockMsBeforeExpire(store.getKey(key));
    }
    const used = await this.primary.get(key);
    if (!used || used.consumedPoints <= this.limit.points) return 0;
    return Math.max(1, used.msBeforeNext);
  }
}

/** Builds the server's rate limiter (one per process, or per HTTP thread). */
export function createRateLimiter(options: RateLimitOptions, log: Logger): RateLimiter {
  const prefix = options.keyPrefix ?? 'recsys:rl';
  const redis = options.redisUrl
    ? connectRedis(options.redisUrl, options.redisTimeoutMs ?? 250, log, {
        // Commands fail at once while disconnected (the memory insurance counts them) instead of queueing.
        down: 'Redis unreachable: rate limits count in this process until it is back',
        back: 'Redis reachable again: rate limits are shared again',
      })
    : undefined;
  let storeErrorLogged = false;
  const onStoreError = (error: unknown) => {
    if (storeErrorLogged) return;
    storeErrorLogged = true;
    log.error({ err: error }, 'rate limiter store failed; requests are served without this limit');
  };

  function limiter(keyPrefix: string, points: number, duration: number, blockInMemory: boolean): Limiter {
    const memory = new RateLimiterMemory({ keyPrefix, points, duration });
    if (!redis) return memory;
    return new RateLimiterRedis({
      storeClient: redis,
      keyPrefix,
      points,
      duration,
      // Fail over at once while Redis is down, instead of waiting for each command to time out.
      rejectIfRedisNotReady: true,
      insuranceLimiter: memory,
      // A client over the limit is then refused from memory until its window ends.
      ...(blockInMemory ? { inMemoryBlockOnConsumed: points + 1 } : {}),
    });
  }

  const buckets = new Map<string, Bucket>();
  function bucket(scope: LimitName, raw: RateLimit, where: string, blockInMemory = false): Bucket {
    const limit = checkRateLimit(raw, where);
    const signature = `${scope}:${limit.points}/${limit.duration}+${limit.burst}/${limit.burstDuration}`;
    let found = buckets.get(signature);
    if (!found) {
      // The limit is in the Redis prefix, so every process with the same limit counts in the same keys.
      const keyPrefix = `${prefix}:${signature}`;
      const extraPoints = limit.burst - limit.points;
      found = new Bucket(
        limit,
        limiter(keyPrefix, limit.points, limit.duration, blockInMemory),
        extraPoints > 0 ? limiter(`${keyPrefix}:burst`, extraPoints, limit.burstDuration, false) : undefined,
        onStoreError,
      );
      buckets.set(signature, found);
    }
    return found;
  }

  const defaults: Record<KeyKind, Bucket> = {
    publishable: bucket(
      'key',
      options.publishable ?? DEFAULT_RATE_LIMITS.publishable,
      'rateLimits.publishable',
    ),
    secret: bucket('key', options.secret ?? DEFAULT_RATE_LIMITS.secret, 'rateLimits.secret'),
  };
  const perIp = bucket('ip', options.ip ?? DEFAULT_RATE_LIMITS.ip, 'rateLimits.ip');
  const invalidKey = bucket(
    'invalidKey',
    options.invalidKey ?? DEFAULT_RATE_LIMITS.invalidKey,
    'rateLimits.invalidKey',
    true,
  );

  // A namespace's own limits, per settings object: the key cache hands out the same object for
  // every request of a key, so this is a lookup, not a validation, per request.
  const overrides = new WeakMap<object, Bucket>();
  function keyBucket(auth: Principal): Bucket {
    const own = auth.settings.rateLimits?.[auth.kind];
    if (!own) return defaults[auth.kind];
    let found = overrides.get(own);
    if (!found) {
      try {
        found = bucket('key', own, `of namespace "${auth.namespaceId}" for ${auth.kind} keys`);
      } catch (error) {
        log.warn(
          { err: error, namespaceId: auth.namespaceId, kind: auth.kind },
          'invalid namespace rate limit; using the default',
        );
        found = defaults[auth.kind];
      }
      overrides.set(own, found);
    }
    return found;
  }

  const refuse = (
    limit: LimitName,
    ms: number,
    what: string,
    bucket: Bucket,
    namespaceId?: string,
  ): { refused: RateLimitRefusal } => {
    const retryAfter = Math.ceil(ms / 1000);
    const { points, duration, burst } = bucket.limit;
    const allowance = `${points} per ${duration} s${burst > points ? `, ${burst} at once` : ''}`;
    return {
      refused: {
        limit,
        ...(namespaceId === undefined ? {} : { namespaceId }),
        retryAfter,
        message: `Too many requests ${what} (${allowance}); retry in ${retryAfter} s.`,
      },
    };
  };

  return {
    store: redis ? 'redis' : 'memory',
    ready: firstConnection(redis),
    clientIp: createClientIp(options.trustProxy ?? false),
    async admit(ip, resolve) {
      const failing = 'with a missing, unknown, revoked or refused API key from this address';
      const blocked = await invalidKey.blockedMs(ip);
      if (blocked > 0) return refuse('invalidKey', blocked, failing, invalidKey);
      const auth = await resolve();
      if (!auth || 'code' in auth) {
        const ms = await invalidKey.consume(ip);
        return ms > 0 ? refuse('invalidKey', ms, failing, invalidKey) : { auth };
      }
      if (auth.kind === 'publishable') {
        const ms = await perIp.consume(ip);
        if (ms > 0)
          return refuse('ip', ms, 'from this address across publishable keys', perIp, auth.namespaceId);
      }
      const own = keyBucket(auth);
      const ms = await own.consume(`${auth.namespaceId}:${auth.keyId}:${ip}`);
      if (ms > 0) {
        return refuse('key', ms, `with this ${auth.kind} key from this address`, own, auth.namespaceId);
      }
      return { auth };
    },
    counter: (name, points, duration) => limiter(`${prefix}:${name}`, points, duration, false),
    async close() {
      redis?.disconnect();
    },
  };
}
