import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appRouter } from '../api/router';
import { createNamespace } from '../auth/namespaces';
import type { Database } from '../db/client';
import { operatorAudit, operatorSessions, ruleChanges } from '../db/schema';
import { getTestDatabaseTargets, startTestServer } from '../testing';
import { addOperator } from './operators';
import { requiredRole } from './roles';
import { CSRF_HEADER } from './sessions';

const NS = 'console-shop';
const PASSWORD = 'correct horse battery';

interface Session {
  cookie: string;
  csrfToken: string;
  role: string;
}

const procedures = Object.entries(
  appRouter._def.procedures as unknown as Record<string, { _def: { type: string } }>,
).map(([path, p]) => ({ path, type: p._def.type as 'query' | 'mutation' }));

describe.each(getTestDatabaseTargets())('admin console sessions on $name', (target) => {
  let database: Database & { drop(): Promise<void> };
  let stack: Awaited<ReturnType<typeof startTestServer>>;
  let url: string;
  let origin: string;

  beforeAll(async () => {
    database = await target.open();
    stack = await startTestServer(database, { console: { signInAttempts: 5 } });
    url = stack.url;
    origin = new URL(url).origin;
    await createNamespace(database, NS);
    for (const role of ['viewer', 'operator', 'admin'] as const) {
      await addOperator(database, NS, { name: `${role}@shop.test`, role, password: PASSWORD });
    }
  });
  afterAll(async () => {
    await stack?.close();
    await database?.drop();
  });

  function signIn(name: string, password = PASSWORD, headers: Record<string, string> = {}) {
    return fetch(`${url}/admin/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin, ...headers },
      body: JSON.stringify({ namespace: NS, name, password }),
    });
  }

  async function session(role: string): Promise<Session> {
    const res = await signIn(`${role}@shop.test`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { csrfToken: string; operator: { role: string } };
    const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
    return { cookie, csrfToken: body.csrfToken, role: body.operator.role };
  }

  /** Calls a procedure as a browser on the console's page would (cookie, Origin, CSRF header). */
  function call(
    s: Session | undefined,
    path: string,
    type: 'query' | 'mutation',
    input: unknown,
    headers: Record<string, string> = {},
  ) {
    const base = { ...(s ? { cookie: s.cookie } : {}), origin, ...headers };
    if (type === 'query') {
      return fetch(`${url}/trpc/${path}?input=${encodeURIComponent(JSON.stringify(input))}`, {
        headers: base,
      });
    }
    return fetch(`${url}/trpc/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(s ? { [CSRF_HEADER]: s.csrfToken } : {}), ...base },
      body: JSON.stringify(input),
    });
  }

  it('signs in with the right password: an HTTP-only, SameSite=Strict cookie and a CSRF token', async () => {
    const res = await signIn('operator@shop.test');
    expect(res.status).toBe(200);
    const setCookie = res.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(
      /^recsys_console=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/,
    );
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ namespace: NS, operator: { name: 'operator@shop.test', role: 'operator' } });
    expect(body.csrfToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // Only the id's hash is stored.
    const rows = await database.db.select().from(operatorSessions);
    expect(rows.map((r) => r.idHash)).not.toContain(setCookie.split(';')[0]!.split('=')[1]);
    // The session answers "who am I", with the same CSRF token.
    const me = await fetch(`${url}/admin/api/session`, { headers: { cookie: setCookie.split(';')[0]! } });
    expect(await me.json()).toMatchObject({ operator: { role: 'operator' }, csrfToken: body.csrfToken });
  });

  it('marks the cookie Secure (with the __Host- prefix) behind an https proxy', async () => {
    const res = await signIn('viewer@shop.test', PASSWORD, {
      'x-forwarded-proto': 'https',
      origin: `https://${new URL(url).host}`,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('set-cookie')).toMatch(
      /^__Host-recsys_console=.*; HttpOnly; SameSite=Strict; .*; Secure$/,
    );
  });

  it('refuses a wrong password, an unknown operator and a bad body with 4xx and no cookie', async () => {
    const wrong = await signIn('admin@shop.test', 'not the password');
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();
    expect(((await wrong.json()) as { error: { message: string } }).error.message).toBe(
      'Wrong shop, operator name or password.',
    );
    const unknown = await signIn('nobody@shop.test');
    expect(unknown.status).toBe(401);
    const garbage = await fetch(`${url}/admin/api/session`, {
      method: 'POST',
      headers: { origin },
      body: '{"namespace":',
    });
    expect(garbage.status).toBe(400);
    const extra = await fetch(`${url}/admin/api/session`, {
      method: 'POST',
      headers: { origin },
      body: JSON.stringify({ namespace: NS, name: 'x', password: 'y', role: 'admin' }),
    });
    expect(extra.status).toBe(400);
    for (const hostile of [
      { namespace: 'a\u0000b', name: 'x', password: 'y' },
      { namespace: NS, name: '\ud800', password: 'y' },
      { namespace: NS, name: 'x', password: 'y'.repeat(5_000) },
      { namespace: 7, name: [], password: null },
    ]) {
      const res = await fetch(`${url}/admin/api/session`, {
        method: 'POST',
        headers: { origin },
        body: JSON.stringify(hostile),
      });
      expect([400, 413], JSON.stringify(hostile).slice(0, 60)).toContain(res.status);
    }
    const badCookie = await fetch(`${url}/trpc/admin.rules.list`, {
      headers: { cookie: 'recsys_console=%00; recsys_console=../../etc; recsys_console=' },
    });
    expect(badCookie.status).toBe(401);
    const crossSite = await signIn('admin@shop.test', PASSWORD, { origin: 'https://evil.test' });
    expect(crossSite.status).toBe(403);
  });

  it('limits failed sign-ins per operator name with 429 and Retry-After, even for the right password', async () => {
    await addOperator(database, NS, { name: 'target@shop.test', role: 'viewer', password: PASSWORD });
    for (let i = 0; i < 5; i++) expect((await signIn('target@shop.test', `guess ${i}`)).status).toBe(401);
    const blocked = await signIn('target@shop.test');
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('ends a session at its expiry: the cookie then gets 401 and "sign in again"', async () => {
    const s = await session('admin');
    expect((await call(s, 'admin.rules.list', 'query', {})).status).toBe(200);
    await database.db.update(operatorSessions).set({ expiresAt: new Date(Date.now() - 1000) });
    const expired = await call(s, 'admin.rules.list', 'query', {});
    expect(expired.status).toBe(401);
    expect(((await expired.json()) as { error: { message: string } }).error.message).toMatch(/sign in again/);
    expect((await fetch(`${url}/admin/api/session`, { headers: { cookie: s.cookie } })).status).toBe(401);
  });

  it('signs out: the session is deleted and the cookie cleared', async () => {
    const s = await session('operator');
    const noCsrf = await fetch(`${url}/admin/api/session`, {
      method: 'DELETE',
      headers: { cookie: s.cookie, origin },
    });
    expect(noCsrf.status).toBe(403);
    const out = await fetch(`${url}/admin/api/session`, {
      method: 'DELETE',
      headers: { cookie: s.cookie, origin, [CSRF_HEADER]: s.csrfToken },
    });
    expect(out.status).toBe(200);
    expect(out.headers.get('set-cookie')).toMatch(/Max-Age=0/);
    expect((await call(s, 'admin.rules.list', 'query', {})).status).toBe(401);
  });

  it('refuses a cookie mutation without the CSRF token, with a wrong one, or from another origin (403, never 500)', async () => {
    const s = await session('admin');
    const rule = { rule: { id: 'csrf-probe', kind: 'block', items: { itemIds: ['x'] } } };
    const attempts = [
      call(s, 'admin.rules.create', 'mutation', rule, { [CSRF_HEADER]: '' }),
      // One character changed (never to itself: a token that already ends in "A" stays wrong with "B").
      call(s, 'admin.rules.create', 'mutation', rule, {
        [CSRF_HEADER]: `${s.csrfToken.slice(0, -1)}${s.csrfToken.endsWith('A') ? 'B' : 'A'}`,
      }),
      call(s, 'admin.rules.create', 'mutation', rule, { origin: 'https://evil.test' }),
      call(s, 'admin.rules.create', 'mutation', rule, { origin: 'null' }),
      // A batch, as httpBatchLink sends it.
      fetch(`${url}/trpc/admin.rules.create,admin.rules.disable?batch=1`, {
        method: 'POST',
        headers: { cookie: s.cookie, origin, 'content-type': 'application/json' },
        body: JSON.stringify({ 0: rule, 1: { ruleId: 'x' } }),
      }),
    ];
    for (const res of await Promise.all(attempts)) {
      expect(res.status).toBe(403);
      expect(JSON.stringify(await res.json())).toMatch(/x-recsys-csrf|own page/);
    }
    expect((await call(s, 'admin.rules.get', 'query', { ruleId: 'csrf-probe' })).status).toBe(404);
    // The same call with the token and Origin goes through.
    expect((await call(s, 'admin.rules.create', 'mutation', rule)).status).toBe(200);
  });

  it('maps every procedure to a role: reads to viewer, changes to operator, keys to admin, the rest to none', () => {
    const byRole = Object.fromEntries(
      procedures.map(({ path, type }) => [path, requiredRole(path, type) ?? 'none']),
    );
    for (const [path, role] of Object.entries(byRole)) {
      const { type } = procedures.find((p) => p.path === path)!;
      if (!path.startsWith('admin.')) expect(role, path).toBe('none');
      else if (path.startsWith('admin.keys.') || path.startsWith('admin.operators.'))
        expect(role, path).toBe('admin');
      else if (path === 'admin.rules.preview') expect(role, path).toBe('viewer');
      else expect(role, path).toBe(type === 'query' ? 'viewer' : 'operator');
    }
    expect(byRole['admin.experiments.pause']).toBe('operator');
    expect(byRole['admin.config.activate']).toBe('operator');
    expect(byRole['admin.traces.search']).toBe('viewer');
  });

  it('lets a viewer read but change nothing: every admin mutation but the dry run is 403 before its input is read', async () => {
    const s = await session('viewer');
    expect((await call(s, 'admin.rules.list', 'query', {})).status).toBe(200);
    expect((await call(s, 'admin.experiments.list', 'query', {})).status).toBe(200);
    const mutations = procedures.filter((p) => p.type === 'mutation' && p.path !== 'admin.rules.preview');
    expect(mutations.length).toBeGreaterThan(20);
    for (const { path } of mutations) {
      const res = await call(s, path, 'mutation', {});
      expect(res.status, path).toBe(403);
    }
    expect((await call(s, 'admin.keys.list', 'query', {})).status).toBe(403);
    const preview = await call(s, 'admin.rules.preview', 'mutation', {
      change: { upsert: [{ id: 'p', kind: 'block', items: { itemIds: ['x'] } }] },
      sample: 0,
    });
    // No engines in this server, so the dry run has nothing to rank; what matters is it is not refused.
    expect(preview.status).not.toBe(403);
    expect(preview.status).toBeLessThan(500);
  });

  it('gives an operator rules and experiments but not keys, and an admin keys but never a secret one', async () => {
    const op = await session('operator');
    const created = await call(op, 'admin.rules.create', 'mutation', {
      rule: { id: 'by-operator', kind: 'boost', multiplier: 2, items: { tags: ['brand:acme'] } },
    });
    expect(created.status).toBe(200);
    expect((await call(op, 'admin.keys.list', 'query', {})).status).toBe(403);
    expect(
      (await call(op, 'admin.keys.create', 'mutation', { kind: 'publishable', allowedOrigins: [origin] }))
        .status,
    ).toBe(403);

    const admin = await session('admin');
    expect((await call(admin, 'admin.keys.list', 'query', {})).status).toBe(200);
    const pk = await call(admin, 'admin.keys.create', 'mutation', {
      kind: 'publishable',
      allowedOrigins: [origin],
    });
    expect(pk.status).toBe(200);
    const sk = await call(admin, 'admin.keys.create', 'mutation', { kind: 'secret' });
    expect(sk.status).toBe(403);
    expect(JSON.stringify(await sk.json())).toMatch(/recsys keys create --kind secret/);
  });

  it('lets an admin add and remove operators (a password shown once), never itself; others not at all', async () => {
    const admin = await session('admin');
    const added = await call(admin, 'admin.operators.add', 'mutation', {
      name: 'new@shop.test',
      role: 'viewer',
    });
    expect(added.status).toBe(200);
    const { password } = ((await added.json()) as { result: { data: { password: string } } }).result.data;
    expect((await signIn('new@shop.test', password)).status).toBe(200);
    const listed = await call(admin, 'admin.operators.list', 'query', {});
    expect(JSON.stringify(await listed.json())).not.toMatch(/scrypt|passwordHash/);
    const self = await call(admin, 'admin.operators.remove', 'mutation', { name: 'admin@shop.test' });
    expect(self.status).toBe(403);
    const demote = await call(admin, 'admin.operators.add', 'mutation', {
      name: 'admin@shop.test',
      role: 'viewer',
      replace: true,
    });
    expect(demote.status).toBe(403);
    const op = await session('operator');
    expect((await call(op, 'admin.operators.list', 'query', {})).status).toBe(403);
    expect((await call(op, 'admin.operators.remove', 'mutation', { name: 'new@shop.test' })).status).toBe(
      403,
    );
    expect((await call(admin, 'admin.operators.remove', 'mutation', { name: 'new@shop.test' })).status).toBe(
      200,
    );
    expect((await signIn('new@shop.test', password)).status).toBe(401);
  });

  it('never lets a session reach ingestion, recommendations or REST', async () => {
    const admin = await session('admin');
    const items = await call(admin, 'items.upsert', 'mutation', { items: [{ itemId: 'a', title: 'A' }] });
    expect(items.status).toBe(403);
    expect((await call(admin, 'items.list', 'query', { limit: 1 })).status).toBe(403);
    const rest = await fetch(`${url}/v1/rest/admin/rules/list`, {
      method: 'POST',
      headers: {
        cookie: admin.cookie,
        origin,
        'content-type': 'application/json',
        [CSRF_HEADER]: admin.csrfToken,
      },
      body: '{}',
    });
    expect(rest.status).toBe(401);
  });

  it('records who made each console change and when: the rule trail and the audit table', async () => {
    const op = await session('operator');
    const before = Date.now();
    const res = await call(op, 'admin.rules.create', 'mutation', {
      rule: { id: 'audited', kind: 'block', items: { itemIds: ['z'] } },
      note: 'test',
    });
    expect(res.status).toBe(200);
    const [change] = await database.db.select().from(ruleChanges).where(eq(ruleChanges.ruleId, 'audited'));
    expect(change?.actor).toBe('operator:operator@shop.test');
    const audit = await database.db
      .select()
      .from(operatorAudit)
      .where(eq(operatorAudit.procedure, 'admin.rules.create'));
    const entry = audit.find((a) => JSON.stringify(a.input).includes('audited'));
    expect(entry).toMatchObject({ operatorName: 'operator@shop.test', role: 'operator', namespaceId: NS });
    expect(entry!.createdAt.getTime()).toBeGreaterThanOrEqual(before - 1000);
    // Reads and refused calls are not changes.
    const viewer = await session('viewer');
    await call(viewer, 'admin.rules.disable', 'mutation', { ruleId: 'audited' });
    const all = await database.db.select().from(operatorAudit);
    expect(all.some((a) => a.operatorName === 'viewer@shop.test')).toBe(false);
  });

  it('keeps no password an admin sets through the console in the audit trail', async () => {
    const admin = await session('admin');
    const secret = 'a passphrase nobody should read';
    const res = await call(admin, 'admin.operators.add', 'mutation', {
      name: 'audited-op@shop.test',
      role: 'viewer',
      password: secret,
    });
    expect(res.status).toBe(200);
    const entry = (
      await database.db.select().from(operatorAudit).where(eq(operatorAudit.procedure, 'admin.operators.add'))
    ).find((a) => JSON.stringify(a.input).includes('audited-op@shop.test'));
    expect(entry?.input).toMatchObject({ name: 'audited-op@shop.test', password: '(not recorded)' });
    expect(JSON.stringify(entry?.input)).not.toContain(secret);
  });

  it("ends an operator's sessions when they are removed", async () => {
    await addOperator(database, NS, { name: 'leaver@shop.test', role: 'admin', password: PASSWORD });
    const res = await signIn('leaver@shop.test');
    const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
    const { removeOperator } = await import('./operators');
    expect(await removeOperator(database, NS, 'leaver@shop.test')).toBe(true);
    const after = await fetch(`${url}/trpc/admin.rules.list`, { headers: { cookie } });
    expect(after.status).toBe(401);
  });
});

describe('admin console pages', () => {
  let dir: string;
  let database: Database & { drop(): Promise<void> };
  let built: Awaited<ReturnType<typeof startTestServer>>;
  let missing: Awaited<ReturnType<typeof startTestServer>>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'recsys-console-app-'));
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>console</title>');
    writeFileSync(join(dir, 'assets', 'index-abc123.js'), 'console.log(1)');
    database = await getTestDatabaseTargets()[0]!.open();
    built = await startTestServer(database, { console: { dir } });
    missing = await startTestServer(database, { console: { dir: join(dir, 'nope') } });
  });
  afterAll(async () => {
    await built?.close();
    await missing?.close();
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the app for every page path (deep links) under a strict Content-Security-Policy', async () => {
    for (const path of ['/admin/', '/admin/rules/new?id=x', '/admin/traces/some-request']) {
      const res = await fetch(`${built.url}${path}`);
      expect(res.status, path).toBe(200);
      expect(await res.text()).toContain('<title>console</title>');
      expect(res.headers.get('content-security-policy')).toMatch(
        /script-src 'self';.*frame-ancestors 'none'/,
      );
      expect(res.headers.get('x-frame-options')).toBe('DENY');
    }
    const asset = await fetch(`${built.url}/admin/assets/index-abc123.js`);
    expect(asset.headers.get('content-type')).toMatch(/text\/javascript/);
    expect(asset.headers.get('cache-control')).toMatch(/immutable/);
    const redirect = await fetch(`${built.url}/admin`, { redirect: 'manual' });
    expect(redirect.status).toBe(308);
    expect(redirect.headers.get('location')).toBe('/admin/');
    expect((await fetch(`${built.url}/admin/assets/../../package.json`)).status).not.toBe(200);
    expect((await fetch(`${built.url}/admin/api/nothing`)).status).toBe(404);
    expect((await fetch(`${built.url}/admin/api/session`, { method: 'PUT' })).status).toBe(405);
  });

  it('says how to build the console when it is not built', async () => {
    const res = await fetch(`${missing.url}/admin/`);
    expect(res.status).toBe(404);
    expect(await res.text()).toMatch(/pnpm build/);
  });
});
