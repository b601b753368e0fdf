import { USER_TOKEN_HEADER } from '@recsys/engine/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../db/client';
import { getTestDatabaseTargets, startTestServer, TEST_ORIGIN, type TestTenant } from '../testing';
import { appRouter } from './router';

type Access = 'secret' | 'keyed';
interface Case {
  type: 'query' | 'mutation';
  access: Access;
  input: unknown;
  /** What a secret key gets: 200, or 404 where the input names something that does not exist (state, not access). */
  secretStatus?: number;
}

const now = new Date().toISOString();

/**
 * Every procedure with a valid input and who may call it. The first test
 * fails when a procedure is added without a row here, so new procedures
 * cannot skip the access checks.
 */
const cases: Record<string, Case> = {
  'items.upsert': {
    type: 'mutation',
    access: 'secret',
    input: { items: [{ itemId: 'shared', title: 'X' }] },
  },
  'items.remove': { type: 'mutation', access: 'secret', input: { itemIds: ['shared'] } },
  'items.restore': { type: 'mutation', access: 'secret', input: { itemIds: ['shared'] } },
  'items.get': { type: 'query', access: 'secret', input: { itemIds: ['shared'] } },
  'items.list': { type: 'query', access: 'secret', input: { limit: 10 } },
  'users.upsert': { type: 'mutation', access: 'secret', input: { users: [{ userId: 'shared' }] } },
  'users.alias': { type: 'mutation', access: 'keyed', input: { anonymousId: 'anon-x', userId: 'shared' } },
  'users.forget': { type: 'mutation', access: 'secret', input: { userId: 'nobody' } },
  'users.get': { type: 'query', access: 'secret', input: { userId: 'shared' } },
  'users.list': { type: 'query', access: 'secret', input: { limit: 10 } },
  'events.batch': {
    type: 'mutation',
    access: 'keyed',
    input: { events: [{ eventId: 'ev-x', type: 'view', itemId: 'shared', anonymousId: 'a', ts: now }] },
  },
  'events.list': { type: 'query', access: 'secret', input: { limit: 10 } },
  'recs.forUser': { type: 'query', access: 'keyed', input: { anonymousId: 'a', k: 3 } },
  'recs.similar': { type: 'query', access: 'keyed', input: { itemId: 'shared', k: 3 } },
  'recs.cart': { type: 'query', access: 'keyed', input: { itemIds: ['shared'], k: 3 } },
  'recs.buyAgain': { type: 'query', access: 'keyed', input: { userId: 'shared', k: 3 } },
  'recs.trending': { type: 'query', access: 'keyed', input: { k: 3 } },
  'recs.recentlyViewed': { type: 'query', access: 'keyed', input: { anonymousId: 'a', k: 3 } },
  'recs.bundle': { type: 'query', access: 'keyed', input: { itemId: 'shared', anonymousId: 'a' } },
  'recs.group': {
    type: 'query',
    access: 'keyed',
    input: { members: [{ anonymousId: 'a' }, { anonymousId: 'b' }], k: 3 },
  },
  'recs.rerank': { type: 'query', access: 'keyed', input: { itemIds: ['shared', 'nope'], anonymousId: 'a' } },
  'admin.bundles.acceptance': { type: 'query', access: 'secret', input: { days: 7 } },
  'admin.bundles.backfill': { type: 'mutation', access: 'secret', input: { lookbackDays: 7, dryRun: true } },
  // Order matters for the secret-key run: save creates version 1, activate switches to it, rollback returns to defaults.
  'admin.config.get': { type: 'query', access: 'secret', input: {} },
  'admin.config.list': { type: 'query', access: 'secret', input: {} },
  'admin.config.save': {
    type: 'mutation',
    access: 'secret',
    input: { config: { diversity: { lambda: 0.7 } }, note: 'access check' },
  },
  'admin.config.activate': { type: 'mutation', access: 'secret', input: { version: 1 } },
  'admin.config.rollback': { type: 'mutation', access: 'secret', input: {} },
  'admin.keys.list': { type: 'query', access: 'secret', input: {} },
  'admin.operators.list': { type: 'query', access: 'secret', input: {} },
  'admin.operators.add': {
    type: 'mutation',
    access: 'secret',
    input: { name: 'access-op', role: 'viewer', replace: true },
  },
  'admin.operators.remove': {
    type: 'mutation',
    access: 'secret',
    input: { name: 'nobody' },
    secretStatus: 404,
  },
  'admin.keys.create': {
    type: 'mutation',
    access: 'secret',
    input: { kind: 'publishable', allowedOrigins: ['https://new.example'] },
  },
  // The key id is a spare publishable key of tenant A, filled in once it exists; origins before revoke.
  'admin.keys.setOrigins': {
    type: 'mutation',
    access: 'secret',
    input: { keyId: '', allowedOrigins: ['https://other.example'] },
  },
  'admin.keys.revoke': { type: 'mutation', access: 'secret', input: { keyId: '' } },
  // In order for the secret-key run: create, then read and move through the lifecycle.
  'admin.experiments.create': {
    type: 'mutation',
    access: 'secret',
    input: {
      id: 'access-exp',
      name: 'Access',
      variants: [
        { key: 'control', kind: 'control' },
        { key: 'off', kind: 'surface', enabled: false },
      ],
    },
  },
  'admin.experiments.list': { type: 'query', access: 'secret', input: {} },
  'admin.experiments.plan': { type: 'query', access: 'secret', input: { minimumDetectableEffect: 0.1 } },
  'admin.experiments.get': { type: 'query', access: 'secret', input: { id: 'access-exp' } },
  'admin.experiments.start': { type: 'mutation', access: 'secret', input: { id: 'access-exp' } },
  'admin.experiments.pause': { type: 'mutation', access: 'secret', input: { id: 'access-exp' } },
  'admin.experiments.resume': { type: 'mutation', access: 'secret', input: { id: 'access-exp' } },
  'admin.experiments.checkGuardrails': { type: 'mutation', access: 'secret', input: { id: 'access-exp' } },
  'admin.experiments.results': { type: 'query', access: 'secret', input: { id: 'access-exp' } },
  // 400: access-exp has fixed weights (state, not access); no id reallocates the namespace's bandits (none).
  'admin.experiments.allocations': {
    type: 'query',
    access: 'secret',
    input: { id: 'access-exp' },
    secretStatus: 400,
  },
  'admin.experiments.reallocate': { type: 'mutation', access: 'secret', input: { dryRun: true } },
  'admin.experiments.complete': { type: 'mutation', access: 'secret', input: { id: 'access-exp' } },
  'admin.traces.get': {
    type: 'query',
    access: 'secret',
    input: { requestId: 'never-served' },
    secretStatus: 404,
  },
  'admin.traces.search': { type: 'query', access: 'secret', input: { limit: 5 } },
  'admin.traces.prune': { type: 'mutation', access: 'secret', input: {} },
  'admin.jobs.list': { type: 'query', access: 'secret', input: {} },
  'admin.jobs.run': { type: 'mutation', access: 'secret', input: { job: 'trace-retention', dryRun: true } },
  'admin.jobs.history': { type: 'query', access: 'secret', input: { limit: 5 } },
  'admin.overview': { type: 'query', access: 'secret', input: { range: '24h' } },
  'admin.catalog.list': { type: 'query', access: 'secret', input: { search: 'shared', limit: 10 } },
  'admin.lookup.user': { type: 'query', access: 'secret', input: { userId: 'u-access' } },
  'admin.lookup.item': { type: 'query', access: 'secret', input: { itemId: 'shared' } },
  'admin.catalog.archive': { type: 'mutation', access: 'secret', input: { itemIds: ['shared'] } },
  'admin.catalog.restore': { type: 'mutation', access: 'secret', input: { itemIds: ['shared'] } },
  'admin.rules.create': {
    type: 'mutation',
    access: 'secret',
    input: { rule: { id: 'access-rule', kind: 'block', items: { itemIds: ['shared'] } } },
  },
  'admin.rules.get': { type: 'query', access: 'secret', input: { ruleId: 'access-rule' } },
  'admin.rules.update': {
    type: 'mutation',
    access: 'secret',
    input: { rule: { id: 'access-rule', kind: 'block', items: { itemIds: ['other'] } } },
  },
  'admin.rules.disable': { type: 'mutation', access: 'secret', input: { ruleId: 'access-rule' } },
  'admin.rules.enable': { type: 'mutation', access: 'secret', input: { ruleId: 'access-rule' } },
  'admin.rules.preview': {
    type: 'mutation',
    access: 'secret',
    input: {
      change: { upsert: [{ id: 'preview', kind: 'block', items: { itemIds: ['shared'] } }] },
      requests: [{ surface: 'trending', k: 3 }],
    },
  },
  'admin.rules.export': { type: 'query', access: 'secret', input: {} },
  'admin.rules.import': { type: 'mutation', access: 'secret', input: { rules: [] } },
  'admin.rules.list': { type: 'query', access: 'secret', input: {} },
  'admin.rules.remove': { type: 'mutation', access: 'secret', input: { ruleId: 'access-rule' } },
  'admin.overrides.add': {
    type: 'mutation',
    access: 'secret',
    input: { kind: 'boost', itemIds: ['shared'], hours: 1, reason: 'access' },
  },
  'admin.overrides.list': { type: 'query', access: 'secret', input: {} },
  'admin.overrides.cancel': {
    type: 'mutation',
    access: 'secret',
    input: { ruleId: 'no-such-override' },
    secretStatus: 404,
  },
};

async function call(
  url: string,
  path: string,
  c: Case,
  key: string | undefined,
  origin?: string,
  userToken?: string,
) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (key) headers.authorization = `Bearer ${key}`;
  if (origin) headers.origin = origin;
  if (userToken) headers[USER_TOKEN_HEADER] = userToken;
  const res =
    c.type === 'query'
      ? await fetch(`${url}/trpc/${path}?input=${encodeURIComponent(JSON.stringify(c.input))}`, { headers })
      : await fetch(`${url}/trpc/${path}`, { method: 'POST', headers, body: JSON.stringify(c.input) });
  const body = (await res.json()) as { error?: { message: string } };
  return { status: res.status, message: body.error?.message ?? '' };
}

describe.each(getTestDatabaseTargets())('access control on $name', (target) => {
  let database: Database & { drop(): Promise<void> };
  let stack: Awaited<ReturnType<typeof startTestServer>>;
  let a: TestTenant;
  let b: TestTenant;

  beforeAll(async () => {
    database = await target.open();
    stack = await startTestServer(database, { engine: { encoder: null } });
    a = await stack.tenant('tenant-a');
    b = await stack.tenant('tenant-b');
    const { createApiKey } = await import('../auth/namespaces');
    const spare = await createApiKey(database, 'tenant-a', {
      kind: 'publishable',
      allowedOrigins: ['https://spare.example'],
    });
    for (const path of ['admin.keys.setOrigins', 'admin.keys.revoke']) {
      Object.assign(cases[path]!.input as object, { keyId: spare.keyId });
    }
  });
  afterAll(async () => {
    await stack?.close();
    await database?.drop();
  });

  it('has an access case for every procedure of the router', () => {
    expect(Object.keys(appRouter._def.procedures).sort()).toEqual(Object.keys(cases).sort());
  });

  it.each(Object.entries(cases))('refuses %s without a key (401)', async (path, c) => {
    const res = await call(stack.url, path, c, undefined);
    expect(res.status).toBe(401);
    expect(res.message).toMatch(/Missing API key/);
  });

  it.each(Object.entries(cases))('refuses %s with a malformed or unknown key (401)', async (path, c) => {
    expect((await call(stack.url, path, c, 'sk_nope')).status).toBe(401);
    const forged = a.secretKey.replace(/[0-9a-f]{48}$/, '0'.repeat(48));
    expect((await call(stack.url, path, c, forged)).status).toBe(401);
  });

  it.each(Object.entries(cases))(
    'lets a publishable key call %s only if it is an event or recommendation procedure',
    async (path, c) => {
      // signed in as the user the inputs name (user tokens themselves: authMatrix.suite.ts)
      const res = await call(stack.url, path, c, a.publishableKey, TEST_ORIGIN, a.userToken('shared'));
      if (c.access === 'secret') {
        expect(res.status).toBe(403);
        expect(res.message).toMatch(/needs a secret key/);
      } else {
        expect(res.status).toBe(200);
      }
    },
  );

  it.each(Object.entries(cases).filter(([, c]) => c.access === 'keyed'))(
    'refuses %s with a publishable key from an origin it does not allow (403)',
    async (path, c) => {
      const res = await call(stack.url, path, c, a.publishableKey, 'https://evil.example');
      expect(res.status).toBe(403);
      expect(res.message).toMatch(/not allowed/);
      const noOrigin = await call(stack.url, path, c, a.publishableKey);
      expect(noOrigin.status).toBe(403);
    },
  );

  it.each(Object.entries(cases))('lets a secret key call %s', async (path, c) => {
    const res = await call(stack.url, path, c, a.secretKey);
    expect(res.status, res.message).toBe(c.secretStatus ?? 200);
  });

  it('keeps namespaces apart: the same ids in A and B never leak across keys', async () => {
    await b.admin.items.upsert.mutate({ items: [{ itemId: 'shared', title: 'Only in B' }] });
    await b.admin.users.upsert.mutate({ users: [{ userId: 'shared', traits: { tier: 'b' } }] });
    await b.browserAs('shared').events.batch.mutate({
      events: [{ eventId: 'ev-b', type: 'view', itemId: 'shared', userId: 'shared', ts: now }],
    });
    await a.admin.items.upsert.mutate({ items: [{ itemId: 'shared', title: 'Only in A' }] });
    await a.admin.items.remove.mutate({ itemIds: ['shared'] });
    await a.admin.users.forget.mutate({ userId: 'shared' });

    // B's rows are untouched by A's writes, archive and forget.
    const [bItem] = await b.admin.items.get.query({ itemIds: ['shared'] });
    expect(bItem).toMatchObject({ title: 'Only in B', archivedAt: null });
    expect((await b.admin.users.get.query({ userId: 'shared' }))?.traits).toEqual({ tier: 'b' });
    expect((await b.admin.events.list.query({ limit: 10 })).events.map((e) => e.eventId)).toEqual(['ev-b']);

    // A's reads see only A.
    const [aItem] = await a.admin.items.get.query({ itemIds: ['shared'] });
    expect(aItem?.title).toBe('Only in A');
    expect((await a.admin.events.list.query({ limit: 10 })).events.map((e) => e.eventId)).not.toContain(
      'ev-b',
    );
    expect((await a.admin.users.list.query({ limit: 10 })).users.map((u) => u.userId)).not.toContain(
      'shared',
    );

    // Recommendations of A never surface B's catalog or behaviour.
    await b.admin.items.upsert.mutate({ items: [{ itemId: 'b-only', title: 'B item', category: 'x' }] });
    await b.admin.events.batch.mutate({
      events: [1, 2, 3].map((i) => ({
        eventId: `b-buy-${i}`,
        type: 'purchase',
        itemId: 'b-only',
        userId: `bu${i}`,
        ts: now,
      })),
    });
    await stack.engines!.catchUp();
    expect((await b.browser.recs.trending.query({ k: 10 })).items.map((i) => i.itemId)).toContain('b-only');
    for (const list of [
      await a.browser.recs.trending.query({ k: 10 }),
      await a.browserAs('bu1').recs.forUser.query({ userId: 'bu1', k: 10 }),
      await a.browserAs('bu1').recs.buyAgain.query({ userId: 'bu1', k: 10 }),
    ]) {
      expect(list.items.map((i) => i.itemId)).not.toContain('b-only');
    }
  });

  it('stops accepting a revoked key', async () => {
    const { createApiKey, revokeApiKey } = await import('../auth/namespaces');
    const key = await createApiKey(database, 'tenant-a', { kind: 'secret' });
    expect((await call(stack.url, 'items.list', cases['items.list']!, key.key)).status).toBe(200);
    await revokeApiKey(database, 'tenant-a', key.keyId);
    stack.server.services.keys.clear();
    expect((await call(stack.url, 'items.list', cases['items.list']!, key.key)).status).toBe(401);
  });
});
