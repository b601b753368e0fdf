import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { updateNamespaceSettings } from '../../auth/namespaces';
import type { Database } from '../../db/client';
import type { RateLimitOptions } from '../../http/rateLimiter';
import { getTestDatabaseTargets, startTestServer, TEST_ORIGIN, type TestTenant } from '../../testing';
import {
  hostileInputFor,
  type MixedBatch,
  mixedEvents,
  mixedItems,
  mixedUsers,
  withIdPrefix,
} from './arbitraries';
import { type Answer, createProber, findInvalidRows, isWellFormedRejection, procedurePaths } from './harness';

/**
 * The hostile suite's rules with rate limits on and low (hostile.suite.ts runs without them, to reach
 * every procedure thousands of times): past a limit, every answer is 429 with `Retry-After` and a
 * message naming the limit, never a 5xx, a refused batch stores nothing, and an admitted one stores
 * its good rows exactly once. A few hundred requests, so it stays a matter of seconds.
 *
 * Limits per hour, not per second: which requests are refused then depends on their count only, not
 * on how fast a loaded machine sends them.
 */
const SEED = Number(process.env.HOSTILE_SEED ?? 20_261_207);
const CALLS_PER_RUN = 16;
const GENERATED_RUNS = 12;
const MIXED_BATCH_RUNS = 20;
const LIMITS = {
  secret: { points: 30, duration: 3600 },
  publishable: { points: 10, duration: 3600 },
  ip: { points: 15, duration: 3600 },
  invalidKey: { points: 5, duration: 3600 },
} satisfies RateLimitOptions;

/** What a 429 says, in the collector's body or tRPC's envelope. */
function refusalOf(answer: Answer): { message: string; limit: string; retryAfter: number } {
  const error = (answer.body as { error?: Record<string, unknown> } | null)?.error ?? {};
  const data = (error.data as Record<string, unknown> | undefined) ?? error;
  return {
    message: String(error.message),
    limit: String(data.limit),
    retryAfter: Number(data.retryAfter),
  };
}

/** Checks a 429 and returns the limit that refused it. */
function expectWellFormedRefusal(answer: Answer): string {
  const refusal = refusalOf(answer);
  expect(refusal.message).toMatch(/^Too many requests .+; retry in \d+ s\.$/);
  expect(answer.retryAfter).toBe(String(refusal.retryAfter));
  expect(refusal.retryAfter).toBeGreaterThanOrEqual(1);
  return refusal.limit;
}

describe.each(getTestDatabaseTargets())('hostile input past low rate limits on $name', (target) => {
  let database: Database & { drop(): Promise<void> };
  let stack: Awaited<ReturnType<typeof startTestServer>>;
  let prober: ReturnType<typeof createProber>;
  /** One tenant per test, so that each starts with its keys' full budgets. */
  let generated: TestTenant;
  let mixed: TestTenant;
  const secret = (tenant: TestTenant) => ({ authorization: `Bearer ${tenant.secretKey}` });
  const collect = (tenant: TestTenant, body: string) =>
    prober.send(`/v1/collect?key=${tenant.publishableKey}`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', origin: TEST_ORIGIN },
      body,
    });
  const failures = () => prober.failures.map((f) => `${f.status} for ${f.request}\n  → ${f.body}`).join('\n');

  beforeAll(async () => {
    database = await target.open();
    stack = await startTestServer(database, { engine: { encoder: null }, rateLimits: LIMITS });
    prober = createProber(stack.url);
    // Made directly in the database: the limits count API requests only.
    generated = await stack.tenant('limited');
    mixed = await stack.tenant('limited-mixed');
    for (const tenant of [generated, mixed]) {
      await updateNamespaceSettings(database, tenant.namespaceId, { trustBrowserUserIds: true });
    }
  });
  afterAll(async () => {
    await stack?.close();
    await database?.drop();
  });

  it(`answers generated hostile input past the key and address limits with 429 and Retry-After, never a 5xx (seed ${SEED})`, async () => {
    const answers: Answer[] = [];
    const call = fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(...procedurePaths()) },
      { weight: 1, arbitrary: fc.constant('/v1/collect') },
    );
    const calls = call.chain((t) =>
      hostileInputFor(t === '/v1/collect' ? 'events.batch' : t).map((input) => ({ target: t, input })),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(calls, { minLength: CALLS_PER_RUN, maxLength: CALLS_PER_RUN }),
        async (batch) => {
          answers.push(
            ...(await Promise.all(
              batch.map(({ target: t, input }) =>
                t === '/v1/collect'
                  ? collect(generated, JSON.stringify(input) ?? 'null')
                  : prober.call(t, input, secret(generated)),
              ),
            )),
          );
        },
      ),
      { seed: SEED, numRuns: GENERATED_RUNS },
    );
    expect(failures()).toBe('');
    const refused = answers.filter((a) => a.status === 429);
    const limits = new Set(refused.map(expectWellFormedRefusal));
    // The secret key's 30 and the publishable key's 10 were admitted; past them, the key limit, and
    // past 15 publishable requests from this address, the address limit.
    expect([...limits].sort()).toEqual(['ip', 'key']);
    expect(answers.length - refused.length).toBeGreaterThanOrEqual(LIMITS.secret.points);
    expect(answers.length - refused.length).toBeLessThanOrEqual(
      LIMITS.secret.points + LIMITS.publishable.points,
    );
  });

  it(`stores the good rows of every admitted mixed batch exactly once, and nothing of a refused one (seed ${SEED})`, async () => {
    let run = 0;
    const stored = { events: [] as string[], items: [] as string[], users: [] as string[] };
    const refusedIds: string[] = [];
    let admitted = 0;
    const sendBatch = async (
      procedure: 'events.batch' | 'items.upsert' | 'users.upsert',
      batch: MixedBatch,
      viaCollect: boolean,
    ) => {
      const field = ({ 'events.batch': 'events', 'items.upsert': 'items', 'users.upsert': 'users' } as const)[
        procedure
      ];
      const idKey = { events: 'eventId', items: 'itemId', users: 'userId' }[field];
      const rows = withIdPrefix(batch, idKey, `mixed-${run}-`);
      const answer = viaCollect
        ? await collect(mixed, JSON.stringify({ events: rows }))
        : await prober.call(procedure, { [field]: rows }, secret(mixed));
      const ids = rows.map((r) => String(r[idKey]));
      if (answer.status === 429) {
        expectWellFormedRefusal(answer);
        refusedIds.push(...ids);
        return;
      }
      admitted++;
      const body = answer.body as Record<string, number> & { rejected: Array<{ index: number }> };
      expect(answer.status, procedure).toBe(200);
      expect(body.rejected.every(isWellFormedRejection)).toBe(true);
      expect([...new Set(body.rejected.map((r) => r.index))].sort((a, b) => a - b)).toEqual(batch.poison);
      const good = ids.filter((_, i) => !batch.poison.includes(i));
      expect(body[field === 'events' ? 'accepted' : 'upserted'], procedure).toBe(good.length);
      stored[field].push(...good);
    };
    await fc.assert(
      fc.asyncProperty(
        fc.record({ events: mixedEvents, items: mixedItems, users: mixedUsers, viaCollect: fc.boolean() }),
        async ({ events, items, users, viaCollect }) => {
          run++;
          // Concurrently: the limit is counted as requests arrive, in whatever order that is.
          await Promise.all([
            sendBatch('events.batch', events, viaCollect),
            sendBatch('items.upsert', items, false),
            sendBatch('users.upsert', users, false),
          ]);
        },
      ),
      { seed: SEED, numRuns: MIXED_BATCH_RUNS },
    );
    expect(failures()).toBe('');
    expect(admitted).toBeGreaterThan(0);
    expect(refusedIds.length).toBeGreaterThan(0);
    const events = await database.query<{ event_id: string; n: number }>(
      `SELECT event_id, count(*)::int AS n FROM events WHERE namespace_id = 'limited-mixed' GROUP BY event_id`,
    );
    expect(events.filter((r) => r.n !== 1)).toEqual([]);
    expect(events.map((r) => r.event_id).sort()).toEqual([...stored.events].sort());
    const items = await database.query<{ item_id: string }>(
      `SELECT item_id FROM items WHERE namespace_id = 'limited-mixed'`,
    );
    expect(items.map((r) => r.item_id).sort()).toEqual([...stored.items].sort());
    const users = await database.query<{ user_id: string }>(
      `SELECT user_id FROM users WHERE namespace_id = 'limited-mixed'`,
    );
    expect(users.map((r) => r.user_id).sort()).toEqual([...stored.users].sort());
  });

  it('refuses an address past its failed-authentication limit with 429 before looking up any key, its right keys too', async () => {
    const guesses = await Promise.all(
      Array.from({ length: LIMITS.invalidKey.points + 3 }, (_, i) =>
        prober.send('/trpc/items.get?input=%7B%22itemIds%22%3A%5B%22x%22%5D%7D', {
          headers: { authorization: `Bearer sk_guess_${i}_${'x'.repeat(20)}` },
        }),
      ),
    );
    const statuses = guesses.map((a) => a.status).sort();
    expect(statuses.filter((s) => s === 401)).toHaveLength(LIMITS.invalidKey.points);
    expect(statuses.filter((s) => s === 429)).toHaveLength(3);
    for (const answer of guesses.filter((a) => a.status === 429)) {
      expect(expectWellFormedRefusal(answer)).toBe('invalidKey');
    }
    const right = await prober.call('items.get', { itemIds: ['x'] }, secret(mixed));
    expect(right.status).toBe(429);
    expect(expectWellFormedRefusal(right)).toBe('invalidKey');
    expect(failures()).toBe('');
  });

  it('leaves no row with a mangled value or a timestamp outside years 0001–9999', async () => {
    await stack.recLog?.flush();
    expect(await findInvalidRows(database)).toEqual([]);
    console.info(`hostile input past rate limits on ${target.name}: ${prober.sent} requests`);
  });
});
