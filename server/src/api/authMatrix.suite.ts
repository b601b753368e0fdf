/*
 * Longer than the ~450-line guideline on purpose: the declared policy, the matrix built from it and
 * the checks of every cell must be read together; split, a reader could not see that every procedure
 * is checked against the policy and nothing else.
 */
import { randomUUID } from 'node:crypto';
import { USER_TOKEN_FIELD, USER_TOKEN_HEADER } from '@recsys/engine/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, revokeApiKey } from '../auth/namespaces';
import type { Database } from '../db/client';
import {
  getTestDatabaseTargets,
  startTestServer,
  TEST_ORIGIN,
  type TestDatabaseTarget,
  type TestTenant,
} from '../testing';
import { appRouter } from './router';

/**
 * The auth matrix: namespaces × key kinds × every procedure and `/v1/collect` × origins × user
 * tokens. What each cell must answer is derived from the small policy below — written from the
 * README's security model, not from the implementation — and every answer is checked for its
 * status and for what it reveals or writes: nothing of the other namespace, and a user's history
 * only to a secret key or a browser holding that user's token.
 */

// ---- The declared policy ---------------------------------------------------------------------

const NAMESPACES = ['matrix-a', 'matrix-b'] as const;
type Ns = (typeof NAMESPACES)[number];
const KEY_KINDS = ['secret', 'publishable', 'revoked', 'none', 'malformed'] as const;
type KeyKind = (typeof KEY_KINDS)[number];
const ORIGINS = ['allowed', 'other', 'missing'] as const;
type OriginVariant = (typeof ORIGINS)[number];
/** valid: signed for the named user by the key's namespace; the rest prove nothing. */
const TOKENS = ['none', 'valid', 'forged', 'other user', 'other namespace'] as const;
type TokenVariant = (typeof TOKENS)[number];

/**
 * Who may call what. secret: secret keys only. browser: publishable keys too (events, login link,
 * recommendations). What a browser may do with a userId it names is `userPolicy`.
 */
type Access = 'secret' | 'browser';
/** How a browser call naming a user behaves without a valid token for that user. */
type UserPolicy = 'none' | 'answer as anonymous' | 'refuse' | 'store without userId';

interface Procedure {
  access: Access;
  user: UserPolicy;
  /** Status of an allowed call (409: rollback with nothing to roll back is state, not access). */
  ok: readonly number[];
}

const P = (access: Access, user: UserPolicy = 'none', ok: readonly number[] = [200]): Procedure => ({
  access,
  user,
  ok,
});
const POLICY: Record<string, Procedure> = {
  'items.upsert': P('secret'),
  'items.remove': P('secret'),
  'items.restore': P('secret'),
  'items.get': P('secret'),
  'items.list': P('secret'),
  'users.upsert': P('secret'),
  'users.alias': P('browser', 'refuse'),
  'users.forget': P('secret'),
  'users.get': P('secret'),
  'users.list': P('secret'),
  'events.batch': P('browser', 'store without userId'),
  'events.list': P('secret'),
  'recs.forUser': P('browser', 'answer as anonymous'),
  'recs.similar': P('browser', 'answer as anonymous'),
  'recs.cart': P('browser', 'answer as anonymous'),
  'recs.buyAgain': P('browser', 'answer as anonymous'),
  'recs.trending': P('browser', 'answer as anonymous'),
  'recs.recentlyViewed': P('browser', 'answer as anonymous'),
  'recs.bundle': P('browser', 'answer as anonymous'),
  'recs.group': P('browser', 'answer as anonymous'),
  'recs.rerank': P('browser', 'answer as anonymous'),
  'admin.bundles.acceptance': P('secret'),
  'admin.bundles.backfill': P('secret'),
  'admin.config.get': P('secret'),
  'admin.config.list': P('secret'),
  'admin.config.save': P('secret'),
  'admin.config.activate': P('secret'),
  'admin.config.rollback': P('secret', 'none', [200, 409]),
  'admin.keys.list': P('secret'),
  'admin.operators.list': P('secret'),
  'admin.operators.add': P('secret'),
  // 404: the operator the matrix names does not exist (state, not access).
  'admin.operators.remove': P('secret', 'none', [200, 404]),
  'admin.keys.create': P('secret'),
  // 404: the key id the matrix names does not exist (state, not access).
  'admin.keys.setOrigins': P('secret', 'none', [200, 404]),
  'admin.keys.revoke': P('secret', 'none', [200, 404]),
  'admin.experiments.create': P('secret'),
  'admin.experiments.list': P('secret'),
  'admin.experiments.plan': P('secret'),
  // 404: the experiment the matrix names does not exist (state, not access).
  'admin.experiments.get': P('secret', 'none', [404]),
  'admin.experiments.start': P('secret', 'none', [404]),
  'admin.experiments.pause': P('secret', 'none', [404]),
  'admin.experiments.resume': P('secret', 'none', [404]),
  'admin.experiments.complete': P('secret', 'none', [404]),
  'admin.experiments.results': P('secret', 'none', [404]),
  'admin.experiments.checkGuardrails': P('secret', 'none', [404]),
  'admin.experiments.allocations': P('secret', 'none', [404]),
  'admin.experiments.reallocate': P('secret', 'none', [404]),
  // 404: the requestId the matrix names was never served (state, not access).
  'admin.traces.get': P('secret', 'none', [200, 404]),
  'admin.traces.search': P('secret'),
  'admin.traces.prune': P('secret'),
  'admin.jobs.list': P('secret'),
  'admin.jobs.run': P('secret'),
  'admin.jobs.history': P('secret'),
  'admin.overview': P('secret'),
  'admin.catalog.list': P('secret'),
  'admin.lookup.user': P('secret'),
  // 404: the item the matrix names may not exist (state, not access).
  'admin.lookup.item': P('secret', 'none', [200, 404]),
  'admin.catalog.archive': P('secret'),
  'admin.catalog.restore': P('secret'),
  'admin.rules.list': P('secret'),
  // 404: the rule the matrix names does not exist (state, not access).
  'admin.rules.get': P('secret', 'none', [200, 404]),
  'admin.rules.create': P('secret'),
  'admin.rules.update': P('secret', 'none', [200, 404]),
  'admin.rules.disable': P('secret', 'none', [200, 404]),
  'admin.rules.enable': P('secret', 'none', [200, 404]),
  'admin.rules.remove': P('secret', 'none', [200, 404]),
  'admin.rules.preview': P('secret'),
  'admin.rules.export': P('secret'),
  'admin.rules.import': P('secret'),
  'admin.overrides.list': P('secret'),
  'admin.overrides.add': P('secret'),
  'admin.overrides.cancel': P('secret', 'none', [200, 404]),
  collect: P('browser', 'store without userId'),
};

interface Expected {
  statuses: readonly number[];
  /** The named user's identity is honoured (history readable, userId stored, link made). */
  actsAsUser: boolean;
}

/** The expected outcome of one cell, from the policy alone. */
function expected(proc: Procedure, key: KeyKind, origin: OriginVariant, token: TokenVariant): Expected {
  if (key === 'none' || key === 'malformed' || key === 'revoked')
    return { statuses: [401], actsAsUser: false };
  if (key === 'secret') return { statuses: proc.ok, actsAsUser: true };
  if (origin !== 'allowed') return { statuses: [403], actsAsUser: false };
  if (proc.access === 'secret') return { statuses: [403], actsAsUser: false };
  const proven = token === 'valid';
  if (!proven && proc.user === 'refuse') return { statuses: [401], actsAsUser: false };
  return { statuses: proc.ok, actsAsUser: proven };
}

// ---- Running it ---------------------------------------------------------------------------------

const VICTIM = 'u-victim';
const now = () => new Date().toISOString();
const other = (ns: Ns): Ns => (ns === 'matrix-a' ? 'matrix-b' : 'matrix-a');
/** Item ids are per namespace, so any id of the other namespace in an answer is a leak. */
const item = (ns: Ns, name: string) => `${ns}-${name}`;

/**
 * The matrix on one database. Each database has its own test file (`authMatrix.<name>.test.ts`), so
 * the two run on different workers at once: together they are the longest suite.
 */
export function describeAuthMatrix(name: 'pglite' | 'postgres'): void {
  const target = getTestDatabaseTargets().find((t) => t.name === name);
  describe.skipIf(!target)(`the auth matrix on ${name}`, () => defineMatrix(target!));
}

function defineMatrix(target: TestDatabaseTarget): void {
  let database: Database & { drop(): Promise<void> };
  let stack: Awaited<ReturnType<typeof startTestServer>>;
  const tenants = {} as Record<Ns, TestTenant>;
  const revoked = {} as Record<Ns, string>;

  beforeAll(async () => {
    database = await target.open();
    stack = await startTestServer(database, { engine: { encoder: null } });
    for (const ns of NAMESPACES) {
      const t = await stack.tenant(ns);
      tenants[ns] = t;
      const gone = await createApiKey(database, ns, { kind: 'secret' });
      await revokeApiKey(database, ns, gone.keyId);
      revoked[ns] = gone.key;
      await t.admin.items.upsert.mutate({
        items: ['bought', 'viewed', 'shared'].map((name) => ({
          itemId: item(ns, name),
          title: `${name} in ${ns}`,
          category: 'things',
        })),
      });
      // The victim's history: purchases and views only a proven request may see.
      await t.admin.events.batch.mutate({
        events: [
          ...[1, 2, 3].map((i) => ({
            eventId: `hist-buy-${i}`,
            type: 'purchase' as const,
            itemId: item(ns, 'bought'),
            userId: VICTIM,
            ts: now(),
            meta: { orderId: `o-${i}` },
          })),
          {
            eventId: 'hist-view',
            type: 'view' as const,
            itemId: item(ns, 'viewed'),
            userId: VICTIM,
            ts: now(),
          },
        ],
      });
      await t.admin.admin.config.save.mutate({ config: { diversity: { lambda: 0.7 } }, note: 'matrix' });
    }
    await stack.engines!.catchUp();
  });
  afterAll(async () => {
    await stack?.close();
    await database?.drop();
  });

  function keyOf(ns: Ns, kind: KeyKind): string | undefined {
    const t = tenants[ns];
    if (kind === 'secret') return t.secretKey;
    if (kind === 'publishable') return t.publishableKey;
    if (kind === 'revoked') return revoked[ns];
    if (kind === 'malformed') return 'pk_not-a-key';
    return undefined;
  }

  function tokenOf(ns: Ns, variant: TokenVariant): string | undefined {
    if (variant === 'none') return undefined;
    if (variant === 'valid') return tenants[ns].userToken(VICTIM);
    if (variant === 'other user') return tenants[ns].userToken('u-attacker');
    if (variant === 'other namespace') return tenants[other(ns)].userToken(VICTIM);
    const [v, payload] = tenants[ns].userToken('u-attacker').split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    const lie = Buffer.from(JSON.stringify({ ...claims, sub: VICTIM })).toString('base64url');
    return `${v}.${lie}.${tenants[ns]
      .userToken(VICTIM)
      .split('.')[2]!
      .replace(/^./, (c) => (c === 'A' ? 'B' : 'A'))}`;
  }

  /** A valid input for each procedure, naming the victim wherever the procedure takes a userId. */
  function inputOf(path: string, ns: Ns, tag: string): unknown {
    const anon = `anon-${tag}`;
    const personal = { userId: VICTIM, anonymousId: anon, k: 10 };
    const event = {
      eventId: `ev-${tag}`,
      type: 'view',
      itemId: item(ns, 'shared'),
      userId: VICTIM,
      anonymousId: anon,
      ts: now(),
    };
    const inputs: Record<string, unknown> = {
      'items.upsert': { items: [{ itemId: item(ns, 'shared'), title: 'shared' }] },
      'items.remove': { itemIds: [item(ns, 'gone')] },
      'items.restore': { itemIds: [item(ns, 'gone')] },
      'items.get': { itemIds: [item(ns, 'shared')] },
      'items.list': { limit: 5 },
      'users.upsert': { users: [{ userId: `u-${tag}` }] },
      'users.alias': { anonymousId: anon, userId: VICTIM },
      'users.forget': { userId: 'nobody' },
      'users.get': { userId: VICTIM },
      'users.list': { limit: 5 },
      'events.batch': { events: [event] },
      'events.list': { limit: 5 },
      'recs.forUser': personal,
      'recs.similar': { ...personal, itemId: item(ns, 'shared') },
      'recs.cart': { ...personal, itemIds: [item(ns, 'shared')] },
      'recs.buyAgain': personal,
      'recs.trending': personal,
      'recs.recentlyViewed': personal,
      'recs.bundle': { userId: VICTIM, anonymousId: anon, itemId: item(ns, 'shared') },
      'recs.group': {
        members: [{ userId: VICTIM, anonymousId: anon }, { anonymousId: `${anon}-2` }],
        k: 10,
        explain: true,
      },
      'recs.rerank': {
        userId: VICTIM,
        anonymousId: anon,
        itemIds: ['bought', 'viewed', 'shared'].map((name) => item(ns, name)),
      },
      'admin.bundles.acceptance': { days: 7 },
      'admin.bundles.backfill': { lookbackDays: 7, dryRun: true },
      'admin.config.get': {},
      'admin.config.list': {},
      'admin.config.save': { config: { diversity: { lambda: 0.6 } }, note: tag },
      'admin.config.activate': { version: 1 },
      'admin.config.rollback': {},
      'admin.keys.list': {},
      'admin.operators.list': {},
      'admin.operators.add': { name: 'matrix-op', role: 'viewer', replace: true },
      'admin.operators.remove': { name: 'matrix-nobody' },
      'admin.keys.create': { kind: 'publishable', allowedOrigins: ['https://matrix.example'] },
      'admin.keys.setOrigins': { keyId: '0000000000000000', allowedOrigins: ['https://matrix.example'] },
      'admin.keys.revoke': { keyId: '0000000000000000' },
      'admin.experiments.create': {
        id: `m-${tag.toLowerCase().replace(/[^a-z0-9_-]/g, '-')}`.slice(0, 64),
        name: 'matrix',
        variants: [
          { key: 'control', kind: 'control' },
          { key: 'off', kind: 'surface', enabled: false },
        ],
      },
      'admin.experiments.list': {},
      'admin.experiments.plan': { surfaces: ['trending'], minimumDetectableEffect: 0.1 },
      'admin.experiments.get': { id: 'matrix-none' },
      'admin.experiments.start': { id: 'matrix-none' },
      'admin.experiments.pause': { id: 'matrix-none' },
      'admin.experiments.resume': { id: 'matrix-none' },
      'admin.experiments.complete': { id: 'matrix-none' },
      'admin.experiments.results': { id: 'matrix-none' },
      'admin.experiments.checkGuardrails': { id: 'matrix-none' },
      'admin.experiments.allocations': { id: 'matrix-none' },
      'admin.experiments.reallocate': { id: 'matrix-none', dryRun: true },
      'admin.traces.get': { requestId: `never-served-${tag}` },
      'admin.traces.search': { limit: 5 },
      'admin.traces.prune': {},
      'admin.jobs.list': {},
      // A dry run: the matrix calls it many times at once, and real runs of one job never overlap (409).
      'admin.jobs.run': { job: 'trace-retention', dryRun: true },
      'admin.jobs.history': { job: 'trace-retention', limit: 5 },
      'admin.overview': { range: '1h' },
      'admin.catalog.list': { search: 'gone', status: 'all', limit: 5 },
      'admin.lookup.user': { userId: 'matrix-user' },
      'admin.lookup.item': { itemId: item(ns, 'gone') },
      'admin.catalog.archive': { itemIds: [item(ns, 'gone')] },
      'admin.catalog.restore': { itemIds: [item(ns, 'gone')] },
      'admin.rules.list': {},
      'admin.rules.get': { ruleId: 'no-such-rule' },
      'admin.rules.create': {
        rule: { id: `r-${tag}`.slice(0, 128), kind: 'block', items: { itemIds: ['x'] } },
      },
      'admin.rules.update': { rule: { id: 'no-such-rule', kind: 'block', items: { itemIds: ['x'] } } },
      'admin.rules.disable': { ruleId: 'no-such-rule' },
      'admin.rules.enable': { ruleId: 'no-such-rule' },
      'admin.rules.remove': { ruleId: 'no-such-rule' },
      'admin.rules.preview': {
        change: { upsert: [{ id: 'preview', kind: 'block', items: { itemIds: [item(ns, 'shared')] } }] },
        requests: [{ surface: 'trending', k: 3 }],
      },
      'admin.rules.export': {},
      'admin.rules.import': { rules: [] },
      'admin.overrides.list': {},
      'admin.overrides.add': { kind: 'boost', itemIds: [item(ns, 'shared')], hours: 1, reason: tag },
      'admin.overrides.cancel': { ruleId: 'no-such-rule' },
      collect: { events: [event] },
    };
    return inputs[path];
  }

  async function send(
    path: string,
    ns: Ns,
    key: KeyKind,
    origin: OriginVariant,
    token: TokenVariant,
    tag: string,
  ) {
    const raw = keyOf(ns, key);
    const userToken = tokenOf(ns, token);
    const input = inputOf(path, ns, tag);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (origin === 'allowed') headers.origin = TEST_ORIGIN;
    if (origin === 'other') headers.origin = 'https://evil.example';
    let res: Response;
    if (path === 'collect') {
      // Browsers put a publishable key in the URL and the token in the body; servers use the header.
      const url = new URL(`${stack.url}/v1/collect`);
      if (raw && key !== 'secret' && key !== 'revoked') url.searchParams.set('key', raw);
      else if (raw) headers.authorization = `Bearer ${raw}`;
      const body = { ...(input as object), ...(userToken ? { [USER_TOKEN_FIELD]: userToken } : {}) };
      res = await fetch(url, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'text/plain' },
        body: JSON.stringify(body),
      });
    } else {
      if (raw) headers.authorization = `Bearer ${raw}`;
      if (userToken) headers[USER_TOKEN_HEADER] = userToken;
      // The router says which procedures are queries (GET) and which are mutations (POST).
      const procedures = appRouter._def.procedures as unknown as Record<string, { _def: { type: string } }>;
      const query = procedures[path]?._def.type === 'query';
      res = query
        ? await fetch(`${stack.url}/trpc/${path}?input=${encodeURIComponent(JSON.stringify(input))}`, {
            headers,
          })
        : await fetch(`${stack.url}/trpc/${path}`, { method: 'POST', headers, body: JSON.stringify(input) });
    }
    const text = await res.text();
    return { status: res.status, text, body: JSON.parse(text) as { result?: { data?: unknown } } };
  }

  const procedures = Object.keys(POLICY);

  it('declares a policy for every procedure of the router, and /v1/collect', () => {
    expect(Object.keys(appRouter._def.procedures).sort()).toEqual(
      procedures.filter((p) => p !== 'collect').sort(),
    );
  });

  it.each(procedures)(
    'answers every cell of %s as the policy says, revealing and writing nothing else',
    async (path) => {
      const proc = POLICY[path]!;
      let cells = 0;
      for (const ns of NAMESPACES) {
        for (const key of KEY_KINDS) {
          for (const origin of ORIGINS) {
            for (const token of TOKENS) {
              const tag =
                `${path}-${ns}-${key}-${origin}-${token}`.replace(/[^a-z0-9-]/gi, '-') +
                randomUUID().slice(0, 6);
              const want = expected(proc, key, origin, token);
              const got = await send(path, ns, key, origin, token, tag);
              const cell = `${path} ${ns} key=${key} origin=${origin} token=${token}: ${got.text.slice(0, 300)}`;
              cells++;
              expect(want.statuses, cell).toContain(got.status);
              // Nothing of the other namespace is ever in an answer.
              expect(got.text.includes(other(ns)), cell).toBe(false);
              if (got.status !== 200) continue;
              await checkEffects(path, ns, tag, want.actsAsUser, got.body, cell);
            }
          }
        }
      }
      expect(cells).toBe(NAMESPACES.length * KEY_KINDS.length * ORIGINS.length * TOKENS.length);
    },
  );

  /** What an accepted call revealed or wrote: the victim's history and identity only when allowed. */
  async function checkEffects(
    path: string,
    ns: Ns,
    tag: string,
    actsAsUser: boolean,
    body: unknown,
    cell: string,
  ) {
    if (path === 'recs.buyAgain' || path === 'recs.recentlyViewed') {
      const ids = (body as { result: { data: { items: Array<{ itemId: string }> } } }).result.data.items.map(
        (i) => i.itemId,
      );
      const history = item(ns, path === 'recs.buyAgain' ? 'bought' : 'viewed');
      expect(ids.includes(history), cell).toBe(actsAsUser);
    }
    if (path === 'recs.group') {
      // The victim is a member only when proven; else that member is the anonymous visitor, and told so.
      const data = (
        body as { result: { data: { members: Array<{ userId: string | null }>; warnings: string[] } } }
      ).result.data;
      expect(data.members[0]!.userId, cell).toBe(actsAsUser ? VICTIM : null);
      expect(
        data.warnings.some((w) => w.startsWith('members[0].userId was ignored')),
        cell,
      ).toBe(!actsAsUser);
    }
    if (path === 'recs.rerank') {
      expect((body as { result: { data: { userId: string | null } } }).result.data.userId, cell).toBe(
        actsAsUser ? VICTIM : null,
      );
    }
    if (path === 'events.batch' || path === 'collect') {
      const rows = await database.query<{ namespace_id: string; user_id: string | null }>(
        'SELECT namespace_id, user_id FROM events WHERE event_id = $1',
        [`ev-${tag}`],
      );
      expect(rows, cell).toEqual([{ namespace_id: ns, user_id: actsAsUser ? VICTIM : null }]);
    }
    if (path === 'users.alias') {
      const rows = await database.query<{ namespace_id: string; user_id: string }>(
        'SELECT namespace_id, user_id FROM aliases WHERE anonymous_id = $1',
        [`anon-${tag}`],
      );
      expect(rows, cell).toEqual(actsAsUser ? [{ namespace_id: ns, user_id: VICTIM }] : []);
    }
  }
}
