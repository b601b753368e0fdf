/** How failed deliveries are retried. */
export interface RetryPolicy {
  /**
   * Delay before the first retry, in ms.
   * @default 1000
   */
  baseDelay: number;
  /**
   * Upper bound of one backoff delay (before a server's `Retry-After`), in ms.
   * @default 60000
   */
  maxDelay: number;
  /**
   * Total time a batch keeps being retried after its first failure, in ms.
   * Past it, a batch the server keeps failing (5xx/408/429) is dropped and
   * counted in `dropped`; a batch that cannot reach the network stays queued
   * and waits for the `online` event, the tab becoming visible or the next page.
   * @default 600000
   */
  maxRetryTime: number;
}

export const defaultRetryPolicy: RetryPolicy = { baseDelay: 1000, maxDelay: 60_000, maxRetryTime: 600_000 };

/** Statuses worth retrying: the request may succeed later unchanged. Every other 4xx never will. */
export function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

/**
 * Parses a `Retry-After` header (delta-seconds or an HTTP date) into ms from `now`.
 * @returns `undefined` when absent or unparseable.
 */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * Exponential backoff with "equal jitter": half the delay is fixed, half random,
 * so retries from many tabs spread out but never collapse to zero.
 * @param attempt 1 for the first retry.
 * @param random a number in [0, 1).
 */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: number): number {
  const exp = Math.min(policy.maxDelay, policy.baseDelay * 2 ** (attempt - 1));
  return Math.round(exp / 2 + (random * exp) / 2);
}

/**
 * The delay before the next retry, or `null` when the total retry time would be exceeded.
 * A server's `Retry-After` wins over the computed backoff.
 */
export function nextRetryDelay(input: {
  attempt: number;
  firstFailureAt: number;
  now: number;
  retryAfter?: number | undefined;
  policy: RetryPolicy;
  random: number;
}): number | null {
  return retryDelay(
    input.attempt,
    input.firstFailureAt,
    input.now,
    input.retryAfter,
    input.policy,
    input.random,
  );
}

/**
 * {@link nextRetryDelay} with positional arguments: what the tracker calls, because a minifier can
 * shorten argument names but not property names (the tracking build counts every byte).
 */
export function retryDelay(
  attempt: number,
  firstFailureAt: number,
  now: number,
  retryAfter: number | undefined,
  policy: RetryPolicy,
  random: number,
): number | null {
  const delay = retryAfter ?? backoffDelay(attempt, policy, random);
  return now + delay - firstFailureAt > policy.maxRetryTime ? null : delay;
}
