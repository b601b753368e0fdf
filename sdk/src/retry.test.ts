import { describe, expect, it } from 'vitest';
import {
  backoffDelay,
  defaultRetryPolicy,
  isRetryableStatus,
  nextRetryDelay,
  parseRetryAfter,
} from './retry';

describe('retry policy', () => {
  it('retries 5xx, 408 and 429 and nothing else', () => {
    expect([500, 502, 503, 504, 408, 429].every(isRetryableStatus)).toBe(true);
    expect([400, 401, 403, 404, 413, 422].some(isRetryableStatus)).toBe(false);
  });

  it('reads Retry-After as seconds or as an HTTP date, and ignores garbage', () => {
    const now = Date.parse('2025-03-10T12:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Mon, 10 Mar 2025 12:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Mon, 10 Mar 2025 11:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });

  it('doubles the backoff per attempt with jitter between half and all of it, up to the cap', () => {
    const p = { ...defaultRetryPolicy, baseDelay: 1000, maxDelay: 8000 };
    expect([1, 2, 3, 4, 5].map((a) => backoffDelay(a, p, 0))).toEqual([500, 1000, 2000, 4000, 4000]);
    expect([1, 2, 3, 4, 5].map((a) => backoffDelay(a, p, 0.999_999))).toEqual([1000, 2000, 4000, 8000, 8000]);
  });

  it('prefers the server’s Retry-After and stops once the total retry time would be exceeded', () => {
    const base = {
      attempt: 1,
      firstFailureAt: 0,
      policy: { ...defaultRetryPolicy, maxRetryTime: 10_000 },
      random: 0,
    };
    expect(nextRetryDelay({ ...base, now: 0 })).toBe(500);
    expect(nextRetryDelay({ ...base, now: 0, retryAfter: 7_000 })).toBe(7_000);
    expect(nextRetryDelay({ ...base, now: 5_000, retryAfter: 5_000 })).toBe(5_000);
    expect(nextRetryDelay({ ...base, now: 5_000, retryAfter: 5_001 })).toBeNull();
  });
});
