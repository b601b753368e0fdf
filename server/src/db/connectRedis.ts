import { Redis } from 'ioredis';
import type { Logger } from '../obs/logger';

/** What the log says when Redis goes away and comes back, for one user of it. */
export interface RedisOutageMessages {
  /** Logged (warn) once when Redis becomes unreachable, e.g. 'Redis unreachable: …'. */
  down: string;
  /** Logged (info) once when it is reachable again. */
  back: string;
}

/**
 * A Redis client for a store that must never hold a request up: commands fail at once while
 * disconnected (no offline queue) and after `timeoutMs` when Redis is slow, so the caller falls back
 * to memory; it reconnects by itself. Each outage is logged once.
 */
export function connectRedis(
  url: string,
  timeoutMs: number,
  log: Logger,
  messages: RedisOutageMessages,
): Redis {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    connectTimeout: 2_000,
  });
  let down = false;
  redis.on('error', (error: Error) => {
    if (down) return;
    down = true;
    log.warn({ err: error }, messages.down);
  });
  redis.on('ready', () => {
    if (!down) return;
    down = false;
    log.info(messages.back);
  });
  return redis;
}

/** Settles once the client's first connection succeeded or failed (at once without a client). */
export function firstConnection(redis: Redis | undefined): Promise<void> {
  if (!redis) return Promise.resolve();
  return new Promise<void>((resolve) => {
    redis.once('ready', resolve);
    redis.once('error', () => resolve());
    redis.once('end', resolve);
  });
}
