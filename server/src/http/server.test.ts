import type { IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../auth/namespaces';
import type { Database } from '../db/client';
import { getTestDatabaseTargets, startTestServer, TEST_ORIGIN, type TestTenant } from '../testing';

const event = (id: string) => ({
  eventId: id,
  type: 'view',
  itemId: 'sku-1',
  anonymousId: 'anon-beacon',
  ts: new Date().toISOString(),
});

/** An HTTP/1.1 response read off a raw socket: status, headers, the body (chunks joined) and whether it ended. */
interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** The body's end was received (last chunk, or Content-Length bytes). */
  complete: boolean;
  /** The server closed its side (FIN) after the response. */
  ended: boolean;
}

/**
 * Posts a chunked body of `bytes` bytes (no Content-Length, as a streaming client sends it) on a new
 * keep-alive connection, and resolves once the socket has closed with what came back.
 */
function postChunked(base: string, path: string, headers: Record<string, string>, bytes: number) {
  const { port, hostname } = new URL(base);
  return new Promise<RawResponse>((resolve) => {
    const socket = connect(Number(port), hostname, () => {
      const head = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
      socket.write(`POST ${path} HTTP/1.1\r\nHost: ${hostname}\r\nConnection: keep-alive\r\n`);
      socket.write(`${head.join('')}Transfer-Encoding: chunked\r\n\r\n`);
      const chunk = '['.repeat(64 * 1024);
      for (let sent = 0; sent < bytes; sent += chunk.length) {
        socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
      }
      socket.write('0\r\n\r\n');
    });
    const received: Buffer[] = [];
    let ended = false;
    socket.on('data', (data) => received.push(data));
    socket.on('end', () => {
      ended = true;
    });
    // The server may close while this side is still writing the refused body: not what is tested.
    socket.on('error', () => {});
    socket.on('close', () =>
      resolve({ ...parseResponse(Buffer.concat(received).toString('latin1')), ended }),
    );
  });
}

function parseResponse(text: string): Omit<RawResponse, 'ended'> {
  const split = text.indexOf('\r\n\r\n');
  const [statusLine = '', ...lines] = text.slice(0, split).split('\r\n');
  const headers: IncomingHttpHeaders = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  let rest = text.slice(split + 4);
  if (headers['transfer-encoding'] !== 'chunked') {
    const length = Number(headers['content-length']);
    return {
      status: Number(statusLine.split(' ')[1]),
      headers,
      body: rest,
      complete: rest.length === length,
    };
  }
  let body = '';
  for (;;) {
    const eol = rest.indexOf('\r\n');
    const size = eol < 0 ? Number.NaN : Number.parseInt(rest.slice(0, eol), 16);
    if (!Number.isFinite(size) || rest.length < eol + 2 + size + 2) {
      return { status: Number(statusLine.split(' ')[1]), headers, body, complete: false };
    }
    if (size === 0) return { status: Number(statusLine.split(' ')[1]), headers, body, complete: true };
    body += rest.slice(eol + 2, eol + 2 + size);
    rest = rest.slice(eol + 2 + size + 2);
  }
}

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
    const bytes = new Uint8Array([...Buffer.from('{"events":[{"eventId":"'), 0xff, ...Buffer.from('"}]}')]);
    const notUtf8 = await fetch(`${stack.url}/v1/collect?key=${shop.publishableKey}`, {
      method: 'POST',
      headers: { origin: TEST_ORIGIN },
      body: new Blob([bytes]),
    });
    expect(notUtf8.status).toBe(400);
    expect(((await notUtf8.json()) as { error: { message: string } }).error.message).toMatch(/UTF-8/);
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

  it.each([
    { route: '/v1/collect', limit: 1024 * 1024 },
    { route: '/trpc/events.batch', limit: 16 * 1024 * 1024 },
  ])(
    'answers an oversize chunked body to $route with a whole 413, then closes the connection',
    async ({ route, limit }) => {
      const reply = await postChunked(
        stack.url,
        route,
        { authorization: `Bearer ${shop.secretKey}`, 'content-type': 'application/json' },
        limit + 256 * 1024,
      );
      expect(reply.status).toBe(413);
      expect(reply.complete).toBe(true);
      expect(reply.headers.connection).toBe('close');
      const body = JSON.parse(reply.body) as { error: { message: string } };
      expect(body.error.message).toMatch(/exceeds \d+ bytes/);
      expect(JSON.stringify(body)).toContain(String(reply.headers['x-request-id']));
      expect(reply.ended).toBe(true);
      // The server is not stuck on the refused body: a new connection is served.
      expect((await fetch(`${stack.url}/healthz`)).status).toBe(200);
    },
  );

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

  it('refuses a tRPC body that is not UTF-8 with a 400 instead of storing its bytes as U+FFFD', async () => {
    const good = new TextEncoder().encode(JSON.stringify({ events: [event('utf8-ok')] }));
    // The same batch with the id's last byte replaced by 0xFF: once decoded leniently, a different
    // id ('utf8-o\uFFFD') would have been stored.
    const bad = good.slice();
    bad[Buffer.from(good).indexOf('utf8-ok') + 6] = 0xff;
    const post = (body: Uint8Array<ArrayBuffer>) =>
      fetch(`${stack.url}/trpc/events.batch`, {
        method: 'POST',
        headers: { authorization: `Bearer ${shop.secretKey}`, 'content-type': 'application/json' },
        body,
      });
    const refused = await post(bad);
    expect(refused.status).toBe(400);
    const body = (await refused.json()) as {
      error: { message: string; data: { code: string; requestId: string } };
    };
    expect(body.error.message).toMatch(/not valid UTF-8/);
    expect(body.error.data.code).toBe('BAD_REQUEST');
    expect(body.error.data.requestId).toBe(refused.headers.get('x-request-id'));
    expect((await post(good)).status).toBe(200);
    const rows = await database.query<{ id: string }>(
      `SELECT event_id AS id FROM events WHERE namespace_id = 'beacon-shop' AND event_id LIKE 'utf8-%'`,
    );
    expect(rows.map((r) => r.id)).toEqual(['utf8-ok']);
  });

  it('carries the caller request id through to the response', async () => {
    const res = await fetch(`${stack.url}/healthz`, { headers: { 'x-request-id': 'trace-123' } });
    expect(res.headers.get('x-request-id')).toBe('trace-123');
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('gives every response a request id, successes too, and makes one up for an id it cannot use', async () => {
    const auth = { authorization: `Bearer ${shop.secretKey}` };
    const responses = [
      await fetch(`${stack.url}/readyz`),
      await fetch(`${stack.url}/metrics`),
      await fetch(`${stack.url}/trpc/items.list?input=${encodeURIComponent('{}')}`, { headers: auth }),
      await fetch(`${stack.url}/trpc/events.batch`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ events: [event('rid-1')] }),
      }),
      await fetch(`${stack.url}/v1/collect`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ events: [event('rid-2')] }),
      }),
      await fetch(`${stack.url}/healthz`, { headers: { 'x-request-id': 'no spaces or newlines allowed' } }),
    ];
    for (const res of responses) {
      expect(res.headers.get('x-request-id'), res.url).toMatch(/^[0-9a-f]{8}-[0-9a-f-]{27}$/);
    }
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

  it('accepts the Authorization scheme in any case: bearer, Bearer and BEARER', async () => {
    for (const scheme of ['bearer', 'Bearer', 'BEARER']) {
      const res = await fetch(`${stack.url}/trpc/items.list?input=${encodeURIComponent('{}')}`, {
        headers: { authorization: `${scheme} ${shop.secretKey}` },
      });
      expect(res.status, scheme).toBe(200);
    }
    const beacon = await fetch(`${stack.url}/v1/collect`, {
      method: 'POST',
      headers: { authorization: `bearer ${shop.publishableKey}`, origin: TEST_ORIGIN },
      body: JSON.stringify({ events: [event('lower-bearer')] }),
    });
    expect(await beacon.json()).toEqual({ accepted: 1, duplicates: 0, rejected: [] });
  });

  it('refuses a secret key in a URL with a 400 that says secret keys never travel in URLs, and stores nothing', async () => {
    const input = encodeURIComponent(JSON.stringify({ note: shop.secretKey }));
    const urls = [
      `/v1/collect?key=${shop.secretKey}`,
      `/v1/collect?key=sk_whatever`,
      `/trpc/items.list?key=${shop.secretKey}`,
      `/trpc/items.list?input=${input}`,
      `/healthz?key=${shop.secretKey}`,
    ];
    for (const path of urls) {
      const res = await fetch(`${stack.url}${path}`, {
        method: path.startsWith('/v1/') ? 'POST' : 'GET',
        headers: { origin: TEST_ORIGIN },
        ...(path.startsWith('/v1/') ? { body: JSON.stringify({ events: [event('sk-in-url')] }) } : {}),
      });
      expect(res.status, path).toBe(400);
      const body = (await res.json()) as { error: { message: string } };
      expect(body.error.message, path).toMatch(/Secret keys never travel in URLs.*Authorization: Bearer/);
    }
    const rows = await database.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM events WHERE event_id = 'sk-in-url'`,
    );
    expect(rows[0]?.n).toBe(0);
  });

  it('answers a request target that is not a URL with a 400 and keeps serving', async () => {
    const { port } = new URL(stack.url);
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.end('GET http://[ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      });
      let text = '';
      socket.on('data', (chunk) => {
        text += chunk.toString();
      });
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(reply).toMatch(/^HTTP\/1\.1 400/);
    expect((await fetch(`${stack.url}/healthz`)).status).toBe(200);
  });

  it('answers tRPC requests it cannot read with a 4xx, never a 500', async () => {
    const post = (path: string, body: string | Blob, contentType = 'application/json') =>
      fetch(`${stack.url}/trpc/${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${shop.secretKey}`, 'content-type': contentType },
        body,
      });
    const notJson = await post('items.upsert', '{"items": [');
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { error: { message: string } }).error.message).toMatch(
      /not valid JSON.*send one JSON value/,
    );
    expect((await post('items.upsert', '')).status).toBeLessThan(500);
    const form = await post('items.upsert', 'items=1', 'application/x-www-form-urlencoded');
    expect(form.status).toBe(415);
    expect(((await form.json()) as { error: { message: string } }).error.message).toMatch(
      /application\/json/,
    );
    expect((await post('items.upsert', new Blob([new Uint8Array([0xff, 0xfe, 0x00])]))).status).toBe(400);
    expect((await post('nope.nothing', '{}')).status).toBe(404);
    expect((await fetch(`${stack.url}/trpc/nope.nothing`)).status).toBe(404);
    expect((await post('items.list', '{}')).status).toBe(405);
    const big = `{"items":[{"itemId":"x","description":"${'x'.repeat(17 * 1024 * 1024)}"}]}`;
    const tooLarge = await post('items.upsert', big);
    expect(tooLarge.status).toBe(413);
    const message = ((await tooLarge.json()) as { error: { message: string } }).error.message;
    expect(message).toMatch(/exceeds 16777216 bytes \(16 MB\); split it/);
  });

  it('answers unknown routes with a JSON 404', async () => {
    const res = await fetch(`${stack.url}/nope`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
  });
});

describe.each(getTestDatabaseTargets())('HTTP host on $name with its database gone', (target) => {
  it('answers tRPC and /v1/collect with 503, Retry-After and the request id, and /healthz with 200', async () => {
    const database = await target.open();
    const lines: Array<{ level: number; msg: string; requestId?: string }> = [];
    const log = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const stack = await startTestServer(database, { log });
    try {
      const shop = await stack.tenant('gone-shop');
      // Never used before the outage: checking it needs the database (the other key is cached).
      const unchecked = (await createApiKey(database, 'gone-shop', { kind: 'secret' })).key;
      await shop.admin.events.batch.mutate({ events: [event('before-outage')] });
      await database.close();
      const post = (path: string, key: string, body: unknown) => ({
        path,
        init: {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        },
      });
      const get = (path: string, key: string) => ({
        path,
        init: { headers: { authorization: `Bearer ${key}` } },
      });
      const batch = { events: [event('during-outage')] };
      const list = `/trpc/items.list?input=${encodeURIComponent('{}')}`;
      const calls = [
        post('/trpc/events.batch', shop.secretKey, batch),
        post('/trpc/events.batch', unchecked, batch),
        get(list, shop.secretKey),
        get(list, unchecked),
        post('/v1/collect', shop.secretKey, batch),
        post('/v1/collect', unchecked, batch),
      ];
      for (const [i, { path, init }] of calls.entries()) {
        const traced = i % 2 === 0;
        const res = await fetch(`${stack.url}${path}`, {
          ...init,
          headers: { ...init.headers, ...(traced ? { 'x-request-id': `outage-${i}` } : {}) },
        });
        const what = `${path} (call ${i})`;
        expect(res.status, what).toBe(503);
        expect(res.headers.get('retry-after'), what).toBe('5');
        const requestId = res.headers.get('x-request-id');
        expect(requestId, what).toMatch(traced ? `outage-${i}` : /^[0-9a-f-]{36}$/);
        const { error } = (await res.json()) as {
          error: { message: string; requestId?: string; data?: { requestId?: string } };
        };
        expect(error.message, what).toMatch(/database is unreachable right now; retry in 5 s/);
        expect(error.data?.requestId ?? error.requestId, what).toBe(requestId);
        // The operator's side of it: a warning (an outage, not a bug) that names the same request.
        expect(
          lines.filter((l) => l.requestId === requestId && l.msg === 'database unreachable; answered 503'),
          what,
        ).toMatchObject([{ level: 40 }]);
      }
      const health = await fetch(`${stack.url}/healthz`);
      expect(health.status).toBe(200);
      expect(health.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      const metrics = await (await fetch(`${stack.url}/metrics`)).text();
      for (const procedure of ['collect', 'events.batch', 'items.list']) {
        expect(metrics).toMatch(
          `recsys_request_errors_total{procedure="${procedure}",code="SERVICE_UNAVAILABLE"} 2`,
        );
      }
      const ready = await fetch(`${stack.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(((await ready.json()) as { checks: { database: { ok: boolean } } }).checks.database.ok).toBe(
        false,
      );
    } finally {
      await stack.close();
      // Closed above already: dropping the scratch database is what matters here.
      await database.drop().catch(() => {});
    }
  });
});
