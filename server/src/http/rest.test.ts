import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REST_PREFIX, restRoutes } from '../api/openapi';
import { appRouter } from '../api/router';
import type { Database } from '../db/client';
import { getTestDatabaseTargets, startTestServer, TEST_ORIGIN, type TestTenant } from '../testing';

const anyString = expect.any(String);

/** A REST answer's body: a result, or tRPC's error envelope. */
// biome-ignore lint/suspicious/noExplicitAny: bodies of every procedure, checked by shape below
type Body = any;
const anyNumber = expect.any(Number);
/**
 * A recommendation list of `surface`: exactly `itemIds` where the surface's purpose fixes them (the
 * user's own history), else any list (which items rank is the engine's policy, tested elsewhere); the
 * shape of every item is checked after the call.
 */
const recsList = (surface: string, itemIds?: string[]) => ({
  requestId: anyString,
  surface,
  items: itemIds
    ? itemIds.map((itemId, i) => expect.objectContaining({ itemId, rank: i + 1, score: anyNumber }))
    : expect.any(Array),
  fallback: expect.objectContaining({ used: expect.any(Boolean) }),
});

/**
 * One call per REST route: a valid input and the shape its 200 answer must have. A procedure
 * added to the router without an entry here fails the first test, which lists it.
 */
const CALLS: Record<string, { input?: unknown; body: unknown }> = {
  'items.upsert': {
    input: { items: [{ itemId: 'rest-2', title: 'Second', category: 'mugs' }] },
    body: { upserted: 1, rejected: [] },
  },
  'items.remove': { input: { itemIds: ['rest-2'] }, body: { archived: 1, unchanged: [] } },
  'items.restore': { input: { itemIds: ['rest-2'] }, body: { restored: 1, unchanged: [] } },
  'items.get': {
    input: { itemIds: ['rest-1'] },
    body: [expect.objectContaining({ itemId: 'rest-1', title: 'First', tags: ['category:mugs'] })],
  },
  'items.list': {
    input: { limit: 5 },
    body: expect.objectContaining({
      items: expect.arrayContaining([expect.objectContaining({ itemId: 'rest-2', available: true })]),
    }),
  },
  'users.upsert': {
    input: { users: [{ userId: 'u-rest', traits: { plan: 'gold' } }] },
    body: { upserted: 1, rejected: [] },
  },
  'users.alias': {
    input: { anonymousId: 'anon-rest', userId: 'u-rest' },
    body: { linked: true, eventsMerged: 0 },
  },
  'users.forget': {
    input: { anonymousId: 'anon-gone' },
    body: expect.objectContaining({ eventsDeleted: 0, recLogsDeleted: 0 }),
  },
  'users.get': {
    input: { userId: 'u-rest' },
    body: expect.objectContaining({
      userId: 'u-rest',
      traits: { plan: 'gold' },
      anonymousIds: ['anon-rest'],
    }),
  },
  'users.list': {
    input: { limit: 5 },
    body: { users: [expect.objectContaining({ userId: 'u-rest' })], nextCursor: null },
  },
  'events.batch': {
    input: {
      events: [
        {
          eventId: 'rest-ev-2',
          type: 'view',
          itemId: 'rest-1',
          userId: 'u-rest',
          ts: new Date().toISOString(),
        },
      ],
    },
    body: { accepted: 1, duplicates: 0, rejected: [] },
  },
  'events.list': {
    input: { limit: 5 },
    body: expect.objectContaining({
      events: expect.arrayContaining([expect.objectContaining({ eventId: 'rest-ev-2', type: 'view' })]),
    }),
  },
  'recs.forUser': { input: { userId: 'u-rest', k: 5 }, body: recsList('forUser') },
  'recs.similar': { input: { itemId: 'rest-1', k: 5 }, body: recsList('similar') },
  'recs.cart': { input: { itemIds: ['rest-1'], anonymousId: 'anon-rest' }, body: recsList('cart') },
  'recs.buyAgain': { input: { userId: 'u-rest' }, body: recsList('buyAgain', ['rest-1']) },
  'recs.trending': { input: { anonymousId: 'anon-rest' }, body: recsList('trending') },
  // Before recentlyViewed: the traces calls read the last list served, and bundles leave no trace.
  'recs.bundle': {
    input: { itemId: 'rest-1', anonymousId: 'anon-rest' },
    // One item bought alone: no partner, so an empty bundle that says why.
    body: expect.objectContaining({
      requestId: anyString,
      surface: 'bundle',
      anchorItemId: 'rest-1',
      items: [],
      emptyReason: 'no-partners',
    }),
  },
  // Group and rerank lists leave no trace either.
  'recs.group': {
    input: {
      members: [{ userId: 'u-rest' }, { anonymousId: 'anon-new' }],
      k: 5,
      country: 'de',
      explain: true,
    },
    body: expect.objectContaining({
      requestId: anyString,
      surface: 'group',
      items: expect.any(Array),
      members: [
        { userId: 'u-rest', anonymousId: null },
        { userId: null, anonymousId: 'anon-new' },
      ],
      warnings: [],
      explain: { rule: 'min', strongFit: null, locked: [], candidates: anyNumber },
    }),
  },
  'recs.rerank': {
    input: { itemIds: ['rest-2', 'not-in-catalog', 'rest-1'], userId: 'u-rest' },
    body: expect.objectContaining({
      requestId: anyString,
      surface: 'rerank',
      // The unknown id keeps its place; the two known ones are ordered for the user.
      items: [
        expect.objectContaining({ known: true }),
        expect.objectContaining({ itemId: 'not-in-catalog', rank: 2, originalRank: 2, known: false }),
        expect.objectContaining({ known: true }),
      ],
      unknownItemIds: ['not-in-catalog'],
      removed: [],
      duplicateItemIds: [],
      userId: 'u-rest',
    }),
  },
  // explain: always traced (the traces calls below read this list's trace), however many polls ran.
  'recs.recentlyViewed': {
    input: { userId: 'u-rest', explain: true },
    body: recsList('recentlyViewed', ['rest-1']),
  },
  'admin.bundles.acceptance': {
    input: { days: 7 },
    body: expect.objectContaining({ bundles: [], byDay: [], totals: expect.objectContaining({ shown: 0 }) }),
  },
  'admin.bundles.backfill': {
    input: { lookbackDays: 7, dryRun: true },
    body: expect.objectContaining({ namespaceId: 'rest', dryRun: true, rows: 0, bundles: 0 }),
  },
  'admin.config.get': {
    body: expect.objectContaining({ namespaceId: 'rest', version: null, resolved: expect.any(Object) }),
  },
  'admin.config.list': { input: {}, body: [] },
  'admin.config.save': {
    input: { config: { diversity: { lambda: 0.6 } }, note: 'rest', activate: true },
    body: expect.objectContaining({ version: 1, note: 'rest', active: true, hash: anyString }),
  },
  'admin.config.activate': { input: { version: 'SAVED' }, body: { version: 1, previous: 1 } },
  'admin.config.rollback': { body: { version: 1, previous: 1 } },
  'admin.operators.list': { input: {}, body: [] },
  'admin.operators.add': {
    input: { name: 'rest-op', role: 'viewer' },
    body: {
      operator: { namespaceId: 'rest', name: 'rest-op', role: 'viewer', createdAt: anyString },
      password: anyString,
    },
  },
  'admin.operators.remove': { input: { name: 'rest-op' }, body: { name: 'rest-op', removed: true } },
  'admin.keys.list': {
    body: [expect.objectContaining({ kind: 'secret' }), expect.objectContaining({ kind: 'publishable' })],
  },
  'admin.keys.create': {
    input: { kind: 'publishable', allowedOrigins: ['https://rest.example'] },
    body: expect.objectContaining({
      key: expect.stringMatching(/^pk_rest_/),
      keyId: anyString,
      kind: 'publishable',
    }),
  },
  'admin.keys.setOrigins': {
    input: { keyId: 'CREATED', allowedOrigins: ['https://other.example'] },
    body: { keyId: anyString, allowedOrigins: ['https://other.example'] },
  },
  'admin.keys.revoke': { input: { keyId: 'CREATED' }, body: { keyId: anyString, revoked: true } },
  'admin.traces.get': {
    input: { requestId: 'SERVED' },
    body: expect.objectContaining({ requestId: anyString, surface: 'recentlyViewed' }),
  },
  'admin.traces.search': {
    input: { surface: 'recentlyViewed', limit: 5 },
    // Every list served so far was traced (the default rate is 1), polls included.
    body: expect.objectContaining({
      traces: expect.arrayContaining([expect.objectContaining({ surface: 'recentlyViewed' })]),
    }),
  },
  'admin.traces.prune': { body: { deleted: 0 } },
  'admin.jobs.list': {
    body: expect.arrayContaining([expect.objectContaining({ name: 'guardrails', schedule: '*/5 * * * *' })]),
  },
  'admin.jobs.run': {
    input: { job: 'trace-retention', dryRun: true },
    body: expect.objectContaining({
      job: 'trace-retention',
      outcome: 'ok',
      summary: 'would delete 0 traces',
    }),
  },
  'admin.jobs.history': {
    input: { job: 'trace-retention' },
    body: [expect.objectContaining({ job: 'trace-retention', trigger: 'manual', dryRun: true })],
  },
  'admin.overview': {
    input: { range: '1h' },
    body: expect.objectContaining({ range: '1h', bucketMinutes: 1, latencyP95MsByBucket: expect.any(Array) }),
  },
  'admin.catalog.list': {
    input: { search: 'REST-', status: 'all', limit: 5 },
    body: expect.objectContaining({
      items: expect.arrayContaining([expect.objectContaining({ itemId: 'rest-2' })]),
    }),
  },
  'admin.lookup.user': {
    input: { userId: 'rest-lookup' },
    body: expect.objectContaining({ userId: 'rest-lookup', user: null, events: [] }),
  },
  'admin.lookup.item': {
    input: { itemId: 'rest-2' },
    body: expect.objectContaining({ item: expect.objectContaining({ itemId: 'rest-2' }) }),
  },
  'admin.catalog.archive': { input: { itemIds: ['rest-2'] }, body: { archived: 1, unchanged: [] } },
  'admin.catalog.restore': { input: { itemIds: ['rest-2'] }, body: { restored: 1, unchanged: [] } },
  'admin.rules.create': {
    input: { rule: { id: 'rest-rule', kind: 'boost', items: { itemIds: ['rest-1'] }, multiplier: 2 } },
    body: expect.objectContaining({ ruleId: 'rest-rule', kind: 'boost', enabled: true, version: 1 }),
  },
  'admin.rules.get': {
    input: { ruleId: 'rest-rule' },
    body: expect.objectContaining({ ruleId: 'rest-rule', history: expect.any(Array) }),
  },
  'admin.rules.update': {
    input: { rule: { id: 'rest-rule', kind: 'bury', items: { itemIds: ['rest-1'] }, multiplier: 0.5 } },
    body: expect.objectContaining({ ruleId: 'rest-rule', kind: 'bury', version: 2 }),
  },
  'admin.rules.disable': {
    input: { ruleId: 'rest-rule' },
    body: expect.objectContaining({ enabled: false }),
  },
  'admin.rules.enable': { input: { ruleId: 'rest-rule' }, body: expect.objectContaining({ enabled: true }) },
  'admin.rules.preview': {
    input: {
      change: { upsert: [{ id: 'rest-block', kind: 'block', items: { itemIds: ['rest-1'] } }] },
      requests: [{ surface: 'trending', k: 3 }],
    },
    body: expect.objectContaining({ lists: [expect.objectContaining({ rows: expect.any(Array) })] }),
  },
  'admin.rules.export': {
    body: expect.objectContaining({
      format: 'recsys-rules',
      namespaceId: 'rest',
      rules: [expect.any(Object)],
    }),
  },
  'admin.rules.import': {
    input: { rules: [{ id: 'rest-import', kind: 'block', items: { itemIds: ['nothing'] } }] },
    body: { created: ['rest-import'], updated: [], unchanged: [], removed: [] },
  },
  'admin.rules.list': {
    body: expect.arrayContaining([expect.objectContaining({ ruleId: 'rest-import' })]),
  },
  'admin.rules.remove': { input: { ruleId: 'rest-import' }, body: expect.any(Object) },
  'admin.overrides.add': {
    input: { kind: 'boost', itemIds: ['rest-1'], hours: 1, reason: 'rest' },
    body: expect.objectContaining({ ruleId: anyString, reason: 'rest' }),
  },
  'admin.overrides.list': { body: [expect.objectContaining({ reason: 'rest' })] },
  'admin.overrides.cancel': { input: { ruleId: 'ADDED' }, body: expect.objectContaining({ enabled: false }) },
  'admin.experiments.create': {
    input: {
      id: 'rest-exp',
      name: 'REST experiment',
      variants: [
        { key: 'control', kind: 'control' },
        { key: 'off', kind: 'surface', enabled: false },
      ],
      target: { surfaces: ['trending'] },
      allocation: 'bandit',
    },
    body: expect.objectContaining({ id: 'rest-exp', status: 'draft', allocation: 'bandit' }),
  },
  'admin.experiments.list': { body: [expect.objectContaining({ id: 'rest-exp' })] },
  'admin.experiments.plan': {
    input: { surfaces: ['trending'], primaryMetric: 'ctr', baseRate: 0.1 },
    body: expect.objectContaining({ baseRate: 0.1, baseRateSource: 'given', perVariant: expect.any(Number) }),
  },
  'admin.experiments.get': {
    input: { id: 'rest-exp' },
    body: expect.objectContaining({ id: 'rest-exp', changes: expect.any(Array) }),
  },
  'admin.experiments.start': {
    input: { id: 'rest-exp' },
    body: expect.objectContaining({ status: 'running' }),
  },
  'admin.experiments.pause': {
    input: { id: 'rest-exp', reason: 'checking' },
    body: expect.objectContaining({ status: 'paused' }),
  },
  'admin.experiments.resume': {
    input: { id: 'rest-exp' },
    body: expect.objectContaining({ status: 'running' }),
  },
  'admin.experiments.checkGuardrails': { input: { id: 'rest-exp' }, body: [expect.any(Object)] },
  'admin.experiments.allocations': {
    input: { id: 'rest-exp' },
    body: expect.objectContaining({
      experimentId: 'rest-exp',
      history: [expect.objectContaining({ seq: 0 })],
    }),
  },
  'admin.experiments.reallocate': {
    input: { id: 'rest-exp', dryRun: true },
    body: [expect.objectContaining({ experimentId: 'rest-exp', dryRun: true })],
  },
  'admin.experiments.results': {
    input: { id: 'rest-exp' },
    body: expect.objectContaining({ variants: expect.any(Array) }),
  },
  'admin.experiments.complete': {
    input: { id: 'rest-exp' },
    body: expect.objectContaining({ status: 'completed' }),
  },
};

describe('the OpenAPI document', () => {
  it('has a REST route and a call in this file for every procedure of the router', () => {
    const routed = restRoutes(appRouter).map((r) => r.procedure);
    const procedures = Object.keys(appRouter._def.procedures).sort();
    expect(routed.sort()).toEqual(procedures);
    const withoutCall = procedures.filter((p) => !(p in CALLS));
    expect(withoutCall, `procedures without a call in rest.test.ts: ${withoutCall.join(', ')}`).toEqual([]);
  });
});

describe.each(getTestDatabaseTargets())('REST on $name', (target) => {
  let database: Database & { drop(): Promise<void> };
  let stack: Awaited<ReturnType<typeof startTestServer>>;
  let tenant: TestTenant;

  beforeAll(async () => {
    database = await target.open();
    stack = await startTestServer(database, { engine: { encoder: null } });
    tenant = await stack.tenant('rest');
    await tenant.admin.items.upsert.mutate({
      items: [{ itemId: 'rest-1', title: 'First', category: 'mugs' }],
    });
    await tenant.admin.events.batch.mutate({
      events: [
        {
          eventId: 'rest-ev-1',
          type: 'purchase',
          itemId: 'rest-1',
          userId: 'u-rest',
          ts: new Date().toISOString(),
        },
      ],
    });
    await stack.engines!.catchUp();
  });
  afterAll(async () => {
    await stack?.close();
    await database?.drop();
  });

  async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
    const res = await fetch(`${stack.url}${path}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${tenant.secretKey}`,
        'content-type': 'application/json',
        ...headers,
      },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    return { status: res.status, headers: res.headers, body: (await res.json()) as Body };
  }

  it('serves an OpenAPI 3.1 document that a validator accepts, with one operation per procedure', async () => {
    const res = await fetch(`${stack.url}/openapi.json`);
    expect(res.status).toBe(200);
    const document = (await res.json()) as { openapi: string; paths: Record<string, { post: unknown }> };
    expect(document.openapi).toBe('3.1.0');
    const result = await new Validator().validate(document as Body);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(Object.keys(document.paths).sort()).toEqual(
      restRoutes(appRouter)
        .map((r) => r.path)
        .sort(),
    );
    expect(document.paths[`${REST_PREFIX}items/upsert`]).toMatchObject({
      post: {
        operationId: 'items.upsert',
        security: [{ secretKey: [] }],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object' } } } },
      },
    });
    expect(document.paths[`${REST_PREFIX}recs/forUser`]).toMatchObject({
      post: { security: [{ secretKey: [] }, { publishableKey: [] }] },
    });
  });

  it('serves the API reference page and its renderer from this server alone', async () => {
    const page = await fetch(`${stack.url}/docs`);
    expect(page.status).toBe(200);
    const html = await page.text();
    const sources = [...html.matchAll(/(?:src|href)="([^"]+)"/g)]
      .map((m) => m[1]!)
      .filter((u) => !u.startsWith('data:'));
    expect(sources.length).toBeGreaterThanOrEqual(3);
    for (const source of sources) {
      expect(source.startsWith('/'), `${source} must be served locally`).toBe(true);
      const asset = await fetch(`${stack.url}${source}`);
      expect(asset.status, source).toBe(200);
      expect((await asset.arrayBuffer()).byteLength, source).toBeGreaterThan(10);
    }
  });

  it('answers every procedure over REST with status 200 and the shape of its result', async () => {
    let created: string | undefined;
    let saved: number | undefined;
    let served: string | undefined;
    let added: string | undefined;
    const routes = new Map(restRoutes(appRouter).map((r) => [r.procedure, r]));
    // In the table's order: calls that need what an earlier one made (a key, a config version) follow it.
    for (const [procedure, call] of Object.entries(CALLS)) {
      const route = routes.get(procedure)!;
      let input = call.input as Record<string, unknown> | undefined;
      if (input?.keyId === 'CREATED') input = { ...input, keyId: created };
      if (input?.version === 'SAVED') input = { ...input, version: saved };
      if (input?.requestId === 'SERVED') input = { ...input, requestId: served };
      if (input?.ruleId === 'ADDED') input = { ...input, ruleId: added };
      // A list's trace is written in the background, after its answer: wait until it is stored.
      if (procedure.startsWith('recs.') || procedure.startsWith('admin.traces.')) {
        // A write reaches the engines once its transaction is older than every open one on the
        // database server (see the README's Freshness): on a busy PostgreSQL that can take a moment.
        await expect
          .poll(async () => (await post(route.path, input)).body, { timeout: 240_000, interval: 100 })
          .toEqual(call.body);
      }
      const got = await post(route.path, input);
      expect(got.status, `${route.procedure}: ${JSON.stringify(got.body)}`).toBe(200);
      expect(got.body, route.procedure).toEqual(call.body);
      if (procedure.startsWith('recs.')) {
        for (const item of got.body.items) {
          expect(item, procedure).toMatchObject({
            itemId: anyString,
            rank: anyNumber,
            score: anyNumber,
            // A reranked id the catalog does not know has no display fields.
            title: item.known === false ? null : anyString,
          });
        }
        // The anchor and the basket are never recommended back.
        if (procedure === 'recs.similar' || procedure === 'recs.cart') {
          expect(
            got.body.items.map((i: { itemId: string }) => i.itemId),
            procedure,
          ).not.toContain('rest-1');
        }
      }
      expect(got.headers.get('x-request-id'), route.procedure).toBeTruthy();
      // What a write changed is in the engines' next poll: make it now, so later reads see it.
      if (route.type === 'mutation') await stack.engines!.catchUp();
      if (procedure === 'admin.keys.create') created = got.body.keyId;
      if (procedure === 'admin.config.save') saved = got.body.version;
      if (procedure.startsWith('recs.')) served = got.body.requestId;
      if (procedure === 'admin.overrides.add') added = got.body.ruleId;
    }
  });

  it('refuses invalid input with 400 naming the field, in the tRPC error envelope with the request id', async () => {
    const got = await post(
      `${REST_PREFIX}items/get`,
      { itemIds: ['ok', 7] },
      { 'x-request-id': 'req-rest-1' },
    );
    expect(got.status).toBe(400);
    expect(got.headers.get('x-request-id')).toBe('req-rest-1');
    expect(got.body.error.message).toBe(
      'Invalid input: itemIds.1: Invalid input: expected string, received number',
    );
    expect(got.body.error.data).toMatchObject({
      code: 'BAD_REQUEST',
      httpStatus: 400,
      path: 'items.get',
      requestId: 'req-rest-1',
      issues: [expect.objectContaining({ path: 'itemIds.1' })],
    });
  });

  it('refuses a body that is not JSON with 400 saying how to send it', async () => {
    const got = await post(`${REST_PREFIX}items/upsert`, '{"items": [');
    expect(got.status).toBe(400);
    expect(got.body.error.message).toMatch(/not valid JSON/);
    const form = await post(`${REST_PREFIX}items/upsert`, 'a=b', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(form.status).toBe(415);
    expect(form.body.error.message).toMatch(/content-type application\/json/);
  });

  it('applies the same keys as tRPC: none 401, publishable on a secret route 403, wrong origin 403', async () => {
    const none = await post(`${REST_PREFIX}items/list`, {}, { authorization: '' });
    expect(none.status).toBe(401);
    expect(none.body.error.message).toMatch(/Authorization: Bearer/);
    const browser = { authorization: `Bearer ${tenant.publishableKey}`, origin: TEST_ORIGIN };
    const forbidden = await post(`${REST_PREFIX}items/list`, {}, browser);
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error.message).toMatch(/needs a secret key/);
    const recs = await post(`${REST_PREFIX}recs/trending`, { anonymousId: 'a-1' }, browser);
    expect(recs.status).toBe(200);
    expect(recs.headers.get('access-control-allow-origin')).toBe(TEST_ORIGIN);
    const elsewhere = await post(
      `${REST_PREFIX}recs/trending`,
      { anonymousId: 'a-1' },
      { ...browser, origin: 'https://evil.example' },
    );
    expect(elsewhere.status).toBe(403);
  });

  it('answers an unknown route 404 and another method 405, each saying what to send', async () => {
    const missing = await post(`${REST_PREFIX}items/nope`, {});
    expect(missing.status).toBe(404);
    expect(missing.body.error.message).toMatch(/openapi\.json/);
    const get = await fetch(`${stack.url}${REST_PREFIX}items/list`, {
      headers: { authorization: `Bearer ${tenant.secretKey}` },
    });
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    expect(((await get.json()) as Body).error.message).toMatch(/POST only/);
  });

  it('answers a CORS preflight for REST routes', async () => {
    const res = await fetch(`${stack.url}${REST_PREFIX}recs/forUser`, {
      method: 'OPTIONS',
      headers: { origin: TEST_ORIGIN, 'access-control-request-method': 'POST' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-methods')).toMatch(/POST/);
  });

  it('rate-limits REST calls with the limits of tRPC and answers 429 in the same envelope', async () => {
    const limited = await startTestServer(database, {
      engine: { encoder: null },
      rateLimits: { secret: { points: 1, duration: 60 } },
    });
    try {
      const t = await limited.tenant('rest-limited');
      const call = () =>
        fetch(`${limited.url}${REST_PREFIX}items/list`, {
          method: 'POST',
          headers: { authorization: `Bearer ${t.secretKey}`, 'content-type': 'application/json' },
          body: '{}',
        });
      expect((await call()).status).toBe(200);
      const refused = await call();
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toBeTruthy();
      expect(((await refused.json()) as Body).error.data).toMatchObject({
        code: 'TOO_MANY_REQUESTS',
        path: 'items.list',
        limit: 'key',
      });
    } finally {
      await limited.close();
    }
  });
});
