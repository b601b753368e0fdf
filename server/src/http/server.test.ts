import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../db/client';
import { getTestDatabaseTargets, startTestServer, TEST_ORIGIN, type TestTenant } from '../testing';

const event = (id: string) => ({
  eventId: id,
  type: 'view',
  itemId: 'sku-1',
  anonymousId: 'anon-beacon',
  ts: new Date().toISOString(),
});

describe.each(getTestDatabaseTargets())('HTTP host on $name', (target) => {
  let database: Database & { drop(): Promise<void> };
  let stack: Awaited<ReturnType<typeof startTestServer>>;
  let shop: TestTenant;
  let engineLoaded = false;

  beforeAll(async () => {
    database = await target.open();
    stack = await startTestServer(database, { engineReady: () => engineLoaded });
    shop = await stack.tenant('beacon-shop');
  });
  afterAll(async () => {
    await stack?.close();
    await database?.drop();
  });

  const collect = (body: string, init: { key?: string; origin?: string; contentType?: string } = {}) =>
    fetch(`${stack.url}/v1/collect?key=${encodeURIComponent(init.key ?? shop.publishableKey)}`, {
      method: 'POST',
      headers: {
        'content-type': init.contentType ?? 'text/plain;charset=UTF-8',
        ...(init.origin !== '' ? { origin: init.origin ?? TEST_ORIGIN } : {}),
      },
      body,
    });

  it('accepts a text/plain beacon with the key in the query string and reports the outcome', async () => {
    const res = await collect(
      JSON.stringify({ events: [event('b-1'), event('b-2')], sentAt: new Date().toISOString() }),
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(TEST_ORIGIN);
    expect(await res.json()).toEqual({ accepted: 2, duplicates: 0, rejected: [] });
    const again = await collect(JSON.stringify({ events: [event('b-1')] }));
    expect(await again.json()).toEqual({ accepted: 0, duplicates: 1, rejected: [] });
  });

  it('answers a CORS preflight for the tRPC endpoint with the headers the SDK sends', async () => {
    const res = await fetch(`${stack.url}/trpc/recs.similar`, {
      method: 'OPTIONS',
      headers: {
        origin: TEST_ORIGIN,
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'authorization',
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(TEST_ORIGIN);
    expect(res.headers.get('access-control-allow-headers')).toMatch(/authorization/);
  });

  it('refuses beacons from origins the key does not allow (403) and unknown keys (401)', async () => {
    expect((await collect(JSON.stringify({ events: [] }), { origin: 'https://evil.example' })).status).toBe(
      403,
    );
    expect((await collect(JSON.stringify({ events: [] }), { key: 'pk_nope' })).status).toBe(401);
  });

  it('answers malformed JSON and wrong shapes with a 400 that says what to send', async () => {
    const bad = await collect('{not json');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/not valid JSON/);
    const shape = await collect(JSON.stringify({ events: 'nope' }));
    expect(shape.status).toBe(400);
    expect(((await shape.json()) as { error: { message: string } }).error.message).toMatch(/events/);
  });

  it('refuses a body over 1 MB with 413 and stores nothing of it', async () => {
    const big = JSON.stringify({ events: [event('big-1')], pad: 'x'.repeat(1_100_000) });
    const res = await collect(big);
    expect(res.status).toBe(413);
    const rows = await database.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM events WHERE namespace_id = 'beacon-shop' AND event_id = 'big-1'`,
    );
    expect(rows[0]?.n).toBe(0);
  });

  it('answers malformed tRPC input with a 400, never a 500', async () => {
    const res = await fetch(`${stack.url}/trpc/events.batch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${shop.secretKey}`, 'content-type': 'application/json' },
      body: '{"events": [1, 2',
    });
    expect(res.status).toBe(400);
    const wrongType = await fetch(
      `${stack.url}/trpc/items.list?input=${encodeURIComponent('{"limit":"ten"}')}`,
      {
        headers: { authorization: `Bearer ${shop.secretKey}` },
      },
    );
    expect(wrongType.status).toBe(400);
    const body = (await wrongType.json()) as { error: { message: string; data: { issues: unknown[] } } };
    expect(body.error.message).toMatch(/limit/);
    expect(body.error.data.issues).toHaveLength(1);
  });

  it('carries the caller request id through to the response', async () => {
    const res = await fetch(`${stack.url}/healthz`, { headers: { 'x-request-id': 'trace-123' } });
    expect(res.headers.get('x-request-id')).toBe('trace-123');
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('reports not ready until the engine is loaded, with each check', async () => {
    const before = await fetch(`${stack.url}/readyz`);
    expect(before.status).toBe(503);
    const body = (await before.json()) as { checks: Record<string, { ok: boolean }> };
    expect(body.checks.database?.ok).toBe(true);
    expect(body.checks.migrations?.ok).toBe(true);
    expect(body.checks.engine?.ok).toBe(false);
    engineLoaded = true;
    expect((await fetch(`${stack.url}/readyz`)).status).toBe(200);
  });

  it('exposes Prometheus metrics with counts, errors and latency per procedure', async () => {
    await shop.admin.items.list.query({ limit: 1 });
    await fetch(`${stack.url}/trpc/items.list`, { headers: { authorization: 'Bearer nope' } });
    const text = await (await fetch(`${stack.url}/metrics`)).text();
    expect(text).toMatch(/recsys_requests_total\{procedure="items.list",code="OK"\} [1-9]/);
    expect(text).toMatch(/recsys_request_errors_total\{procedure="items.list",code="UNAUTHORIZED"\} [1-9]/);
    expect(text).toMatch(/recsys_request_duration_seconds_bucket\{le="0.005",procedure="items.list"\}/);
    expect(text).toMatch(/recsys_events_total\{outcome="accepted"\} [1-9]/);
  });

  it('answers unknown routes with a JSON 404', async () => {
    const res = await fetch(`${stack.url}/nope`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
  });
});
