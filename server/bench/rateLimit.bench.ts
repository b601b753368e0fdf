/**
 * What the rate limiter adds to each request, in process: `admit()` around an already resolved
 * key, against the same key resolution without it. Memory mode always; Redis mode too when Redis
 * answers at REDIS_URL (default redis://127.0.0.1:6379), under a scratch key prefix removed after.
 *
 *   pnpm --filter @recsys/server bench:ratelimit
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Principal } from '../src/auth/keyResolver';
import { createRateLimiter, type RateLimitOptions } from '../src/http/rateLimiter';
import { createLogger } from '../src/obs/logger';

const CALLS = Number(process.env.BENCH_CALLS ?? 200_000);
const REDIS_CALLS = Number(process.env.BENCH_REDIS_CALLS ?? 20_000);
const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const log = createLogger({ level: 'warn' });
// Budgets no run can spend: every call takes the path of an admitted request.
const roomy = { points: 10_000_000, duration: 3600 };
const limits: RateLimitOptions = { publishable: roomy, secret: roomy, ip: roomy };

const principal = (kind: Principal['kind']): Principal => ({
  namespaceId: 'bench',
  kind,
  keyId: '0123456789abcdef',
  settings: {},
});
// 1,000 client addresses in turn, so the stores hold as many entries as a busy server's.
const addresses = Array.from({ length: 1_000 }, (_, i) => `10.0.${i >> 8}.${i & 255}`);

async function perCall(calls: number, run: (i: number) => Promise<unknown>): Promise<number> {
  for (let i = 0; i < Math.min(calls, 10_000); i++) await run(i); // warm-up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) await run(i);
  return Number(process.hrtime.bigint() - t0) / calls;
}

async function measure(label: string, options: RateLimitOptions, calls: number) {
  const limiter = createRateLimiter(options, log);
  await limiter.ready;
  const rows: string[] = [];
  for (const kind of ['publishable', 'secret'] as const) {
    const auth = principal(kind);
    const resolve = () => Promise.resolve(auth);
    const bare = await perCall(calls, () => resolve());
    const limited = await perCall(calls, (i) => limiter.admit(addresses[i % addresses.length]!, resolve));
    rows.push(
      `  ${label.padEnd(7)} ${kind.padEnd(12)} ${((limited - bare) / 1000).toFixed(2).padStart(7)} µs per request  (${calls.toLocaleString('en-US')} calls)`,
    );
  }
  await limiter.close();
  return rows;
}

console.log(
  'rate limiter overhead per admitted request, in process (admit() minus resolving the key alone):',
);
for (const row of await measure('memory', limits, CALLS)) console.log(row);

const probe = new Redis(redisUrl, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
const reachable = await probe.connect().then(
  () => true,
  () => false,
);
if (reachable) {
  const keyPrefix = `recsys-bench:${randomUUID()}`;
  try {
    for (const row of await measure('redis', { ...limits, redisUrl, keyPrefix }, REDIS_CALLS))
      console.log(row);
  } finally {
    const keys = await probe.keys(`${keyPrefix}:*`);
    if (keys.length > 0) await probe.del(...keys);
  }
} else {
  console.log(`  redis   skipped: nothing answers at ${redisUrl}`);
}
probe.disconnect();
console.log(
  'publishable: the per-address bucket and the key bucket (each with its burst allowance); secret: the key bucket; both also check the failed-authentication block.',
);
