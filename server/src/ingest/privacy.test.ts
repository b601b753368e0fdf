/**
 * What is kept about a visitor: personal data refused (or scrubbed) on the way in, ids that could
 * collide or identify refused, and erasure by userId or anonymousId that leaves nothing behind —
 * in any table, and in the engine. On PGlite and PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { updateNamespaceSettings } from '../auth/namespaces';
import type { Database } from '../db/client';
import { failure, getTestDatabaseTargets, startTestServer, type TestTenant } from '../testing';
import { ingestEvents } from './events';

const ts = (offsetSec = 0) => new Date(Date.now() - 3_600_000 + offsetSec * 1000).toISOString();
const view = (eventId: string, extra: Record<string, unknown> = {}) => ({
  eventId,
  type: 'view',
  itemId: 'sku-1',
  anonymousId: 'anon-1',
  ts: ts(),
  ...extra,
});

const paths = (result: { rejected: Array<{ index: number; path: string }> }) =>
  result.rejected.map((r) => `${r.index}:${r.path}`);

describe.each(getTestDatabaseTargets())('visitor privacy on $name', (target) => {
  let database: Database & { drop(): Promise<void> };
  let stack: Awaited<ReturnType<typeof startTestServer>>;
  let shop: TestTenant;
  let scrub: TestTenant;
  const count = async (sql: string) => (await database.query<{ n: number }>(sql))[0]!.n;

  beforeAll(async () => {
    database = await target.open();
    stack = await startTestServer(database, { engine: { encoder: null, pollIntervalMs: 60_000 } });
    shop = await stack.tenant('privacy');
    scrub = await stack.tenant('privacy-scrub');
    await updateNamespaceSettings(database, 'privacy-scrub', { pii: 'scrub' });
    // These tests are about what is stored and erased, not who may name whom (the auth matrix's
    // subject): the browser names users freely here.
    for (const ns of ['privacy', 'privacy-scrub']) {
      await updateNamespaceSettings(database, ns, { trustBrowserUserIds: true });
    }
    await shop.admin.items.upsert.mutate({
      items: ['sku-1', 'sku-2', 'sku-3', 'sku-4', 'sku-5'].map((itemId) => ({ itemId, title: itemId })),
    });
  });
  afterAll(async () => {
    await stack?.close();
    await database?.drop();
  });

  describe('personal data on the way in', () => {
    it('screens the documented meta keys too: url and referrer query strings, name, orderId, experiment', async () => {
      const result = await shop.browser.events.batch.mutate({
        events: [
          view('pd-url', { meta: { url: 'https://shop.example/checkout?email=a@b.com' } }),
          view('pd-ref', { meta: { referrer: 'https://mail.example/?to=jane%40example.com' } }),
          view('pd-name', { meta: { name: 'call 0151 12345678' } }),
          view('pd-order', { meta: { orderId: 'jane@example.com' } }),
          view('pd-exp', { meta: { experiment: '+49 151 12345678' } }),
          view('pd-ok', {
            meta: {
              url: 'https://shop.example/p/4006381333931?ref=home',
              orderId: 'ORD-2026-000123',
              name: 'checkout',
              experiment: 'exp-2026-12',
              unitPrice: 1299.99,
              placedAt: '2026-12-06T10:15:00Z',
            },
          }),
        ],
      });
      expect(paths(result)).toEqual([
        '0:meta.url',
        '1:meta.referrer',
        '2:meta.name',
        '3:meta.orderId',
        '4:meta.experiment',
      ]);
      expect(result.accepted).toBe(1);
    });

    it('finds digits-only and number-typed phone numbers, IDN and full-width addresses, and leaves ids, times and prices alone', async () => {
      const result = await shop.browser.events.batch.mutate({
        events: [
          view('pd-digits', { meta: { contact: '015112345678' } }),
          view('pd-number', { meta: { contact: 15112345678 } }),
          view('pd-idn', { meta: { contact: 'jörg@bücher.de' } }),
          view('pd-wide', { meta: { contact: 'ｊｏｈｎ＠ｅｘａｍｐｌｅ．ｃｏｍ' } }),
          view('pd-ids', {
            meta: { sku: '4006381333931', order: 'ORD-2026-000123', at: 1733480100000, price: 89.5 },
          }),
        ],
      });
      expect(paths(result)).toEqual(['0:meta.contact', '1:meta.contact', '2:meta.contact', '3:meta.contact']);
      expect(result.rejected[1]?.message).toMatch(/number looks like a phone number/);
      expect(result.accepted).toBe(1);
      const traits = await shop.admin.users.upsert.mutate({
        users: [
          { userId: 'pd-u1', traits: { mobile: 4915112345678 } },
          { userId: 'pd-u2', traits: { since: 1733480100, ltv: 1234.5 } },
        ],
      });
      expect(paths(traits)).toEqual(['0:traits.mobile']);
    });

    it('scrubs what it finds in query strings, numbers and full-width text when the namespace says so', async () => {
      const result = await scrub.browser.events.batch.mutate({
        events: [
          view('sc-1', {
            meta: {
              url: 'https://shop.example/checkout?email=jane%40example.com&step=2',
              contact: 15112345678,
              note: 'ｊｏｈｎ＠ｅｘａｍｐｌｅ．ｃｏｍ',
              orderId: 'ORD-2026-000123',
            },
          }),
        ],
      });
      expect(result).toEqual({ accepted: 1, duplicates: 0, rejected: [] });
      const { events } = await scrub.admin.events.list.query({ limit: 1 });
      expect(events[0]?.meta).toEqual({
        url: 'https://shop.example/checkout?email=[email]&step=2',
        contact: '[phone]',
        note: '[email]',
        orderId: 'ORD-2026-000123',
      });
    });

    it('refuses an e-mail address as userId or anonymousId under either policy, with the field path', async () => {
      for (const tenant of [shop, scrub]) {
        const result = await tenant.browser.events.batch.mutate({
          events: [
            view('id-1', { userId: 'jane@example.com' }),
            view('id-2', { anonymousId: 'ＪＡＮＥ＠ＥＸＡＭＰＬＥ．ＣＯＭ' }),
            view('id-3'),
          ],
        });
        expect(paths(result)).toEqual(['0:userId', '1:anonymousId']);
        expect(result.rejected[0]?.message).toMatch(/e-mail address.*opaque id/);
        expect(result.accepted).toBe(1);
        const users = await tenant.admin.users.upsert.mutate({ users: [{ userId: 'jane@example.com' }] });
        expect(paths(users)).toEqual(['0:userId']);
        const alias = await failure(
          tenant.browser.users.alias.mutate({ anonymousId: 'anon-9', userId: 'jane@example.com' }),
        );
        expect(alias).toMatchObject({ status: 400, message: expect.stringMatching(/userId.*e-mail/) });
        const recs = await failure(
          tenant.admin.recs.recentlyViewed.query({ anonymousId: 'jane@example.com', k: 3 }),
        );
        expect(recs).toMatchObject({ status: 400, message: expect.stringMatching(/anonymousId.*e-mail/) });
      }
      expect(
        await count(
          `SELECT count(*)::int AS n FROM events WHERE user_id LIKE '%@%' OR anonymous_id LIKE '%@%'`,
        ),
      ).toBe(0);
    });

    it('refuses ids with lone surrogates everywhere instead of storing two ids as one U+FFFD id', async () => {
      const events = await shop.browser.events.batch.mutate({
        events: [
          view('sur-item', { itemId: 'sku-\ud800' }),
          view('sur-anon', { anonymousId: 'anon-\udfff' }),
          view('sur-user', { userId: 'u-\ud800', anonymousId: undefined }),
          view('sur-\udc00'),
        ],
      });
      expect(paths(events)).toEqual(['0:itemId', '1:anonymousId', '2:userId', '3:eventId']);
      const items = await shop.admin.items.upsert.mutate({ items: [{ itemId: 'item-\ud800' }] });
      expect(paths(items)).toEqual(['0:itemId']);
      const alias = await failure(
        shop.browser.users.alias.mutate({ anonymousId: 'a-\ud800', userId: 'u-1' }),
      );
      expect(alias).toMatchObject({ status: 400, message: expect.stringMatching(/anonymousId.*surrogate/) });
      const forget = await failure(shop.admin.users.forget.mutate({ anonymousId: 'a-\udfff' }));
      expect(forget).toMatchObject({ status: 400, message: expect.stringMatching(/anonymousId.*surrogate/) });
      expect(await count(`SELECT count(*)::int AS n FROM events WHERE event_id LIKE 'sur-%'`)).toBe(0);
    });

    it('gives the event loop a turn while it screens a 1 MB batch instead of holding it until the insert', async () => {
      // 512 events with 2 KB of free meta each: what a 1 MB /v1/collect body can carry.
      const batch = Array.from({ length: 512 }, (_, i) =>
        view(`big-${i}`, { meta: { a: 'a'.repeat(1_000), b: `${'b'.repeat(990)} ${i}` } }),
      );
      let turns = 0;
      let turnsBeforeInsert = -1;
      let done = false;
      const tick = () => {
        turns++;
        if (!done) setImmediate(tick);
      };
      setImmediate(tick);
      const watched: Database = Object.create(database, {
        query: {
          value: (...args: Parameters<Database['query']>) => {
            if (turnsBeforeInsert < 0) turnsBeforeInsert = turns;
            return database.query(...args);
          },
        },
      });
      const result = await ingestEvents(watched, 'privacy', {}, batch.slice(0, 500));
      done = true;
      expect(result).toMatchObject({ accepted: 500, rejected: [] });
      // ~1 MB of meta in 64K-character slices: about 15 turns before the insert; none without them.
      expect(turnsBeforeInsert).toBeGreaterThanOrEqual(10);
    });
  });

  describe('erasure', () => {
    const rowsNaming = async (ids: string[]) => {
      const list = ids.map((id) => `'${id}'`).join(',');
      const counts: Record<string, number> = {};
      for (const [table, where] of [
        ['users', `user_id IN (${list})`],
        ['aliases', `user_id IN (${list}) OR anonymous_id IN (${list})`],
        ['events', `user_id IN (${list}) OR anonymous_id IN (${list})`],
        ['rec_logs', `user_id IN (${list}) OR anonymous_id IN (${list})`],
        ['changes', ids.map((id) => `payload::text LIKE '%${id}%'`).join(' OR ')],
      ] as const) {
        counts[table] = await count(
          `SELECT count(*)::int AS n FROM ${table} WHERE namespace_id = 'privacy' AND (${where})`,
        );
      }
      return counts;
    };
    const nothing = { users: 0, aliases: 0, events: 0, rec_logs: 0, changes: 0 };
    const servedList = (requestId: string, column: 'user_id' | 'anonymous_id', id: string) =>
      database.query(
        `INSERT INTO rec_logs (namespace_id, request_id, surface, ${column}, items) VALUES ('privacy', '${requestId}', 'forUser', '${id}', '[]')`,
      );

    it('forgets a user with the anonymous ids linked to them by alias or only by an event, in every table, changes included', async () => {
      await shop.admin.users.upsert.mutate({ users: [{ userId: 'er-u', traits: { tier: 'gold' } }] });
      await shop.browser.events.batch.mutate({
        events: [
          view('er-1', { anonymousId: 'er-a-alias', itemId: 'sku-1' }),
          view('er-2', { anonymousId: 'er-a-seen', itemId: 'sku-2', ts: ts(1) }),
          view('er-3', { anonymousId: 'er-a-seen', userId: 'er-u', itemId: 'sku-3', ts: ts(2) }),
          view('er-4', { anonymousId: 'er-a-seen', userId: 'er-other', itemId: 'sku-4', ts: ts(3) }),
        ],
      });
      await shop.browser.users.alias.mutate({ anonymousId: 'er-a-alias', userId: 'er-u' });
      await servedList('er-r1', 'anonymous_id', 'er-a-seen');
      // A forget row as older releases wrote it, naming the user and the anonymous id.
      await database.query(
        `INSERT INTO changes (namespace_id, kind, payload) VALUES ('privacy', 'forget', '{"userId":"er-u","anonymousIds":["er-a-seen"]}')`,
      );

      const result = await shop.admin.users.forget.mutate({ userId: 'er-u' });
      expect(result).toEqual({
        userDeleted: true,
        aliasesDeleted: 1,
        eventsDeleted: 3,
        recLogsDeleted: 1,
        tracesDeleted: 0,
      });
      expect(await rowsNaming(['er-u', 'er-a-alias'])).toEqual(nothing);
      // The event that names another user is theirs and stays; nothing else under the linked id does.
      const seen = await shop.admin.events.list.query({ limit: 10, anonymousId: 'er-a-seen' });
      expect(seen.events.map((e) => e.eventId)).toEqual(['er-4']);
      expect(
        await count(
          `SELECT count(*)::int AS n FROM changes WHERE namespace_id = 'privacy' AND payload::text LIKE '%er-a-seen%'`,
        ),
      ).toBe(0);
    });

    it('forgets one anonymous visitor who never logged in, and the user they were linked to keeps their own rows', async () => {
      await shop.browser.events.batch.mutate({
        events: [
          view('an-1', { anonymousId: 'an-a', itemId: 'sku-1' }),
          view('an-2', { anonymousId: 'an-a', itemId: 'sku-2', ts: ts(1) }),
          view('an-3', { anonymousId: 'an-b', itemId: 'sku-3' }),
          view('an-4', { anonymousId: undefined, userId: 'an-u', itemId: 'sku-4' }),
        ],
      });
      await shop.browser.users.alias.mutate({ anonymousId: 'an-b', userId: 'an-u' });
      await servedList('an-r1', 'anonymous_id', 'an-a');

      expect(await shop.admin.users.forget.mutate({ anonymousId: 'an-a' })).toEqual({
        userDeleted: false,
        aliasesDeleted: 0,
        eventsDeleted: 2,
        recLogsDeleted: 1,
        tracesDeleted: 0,
      });
      expect(await rowsNaming(['an-a'])).toEqual(nothing);

      expect(await shop.admin.users.forget.mutate({ anonymousId: 'an-b' })).toMatchObject({
        aliasesDeleted: 1,
        eventsDeleted: 1,
      });
      expect(await rowsNaming(['an-b'])).toEqual(nothing);
      const own = await shop.admin.events.list.query({ limit: 10, userId: 'an-u' });
      expect(own.events.map((e) => e.eventId)).toEqual(['an-4']);
    });

    it('erases the lists this process served but had not written yet', async () => {
      await shop.admin.recs.recentlyViewed.query({ anonymousId: 'sl-anon', k: 3 });
      await shop.admin.recs.trending.query({ userId: 'sl-user', k: 3 });
      await shop.admin.users.forget.mutate({ anonymousId: 'sl-anon' });
      await shop.admin.users.forget.mutate({ userId: 'sl-user' });
      await stack.recLog!.flush();
      expect(await rowsNaming(['sl-anon', 'sl-user'])).toEqual(nothing);
    });

    it('asks for exactly one of userId and anonymousId', async () => {
      for (const input of [{}, { userId: 'x', anonymousId: 'y' }]) {
        expect(await failure(shop.admin.users.forget.mutate(input))).toMatchObject({
          status: 400,
          message: expect.stringMatching(/either userId .* or anonymousId/),
        });
      }
    });

    it('stops an erased visitor shaping recommendations, linked anonymous ids included', async () => {
      await shop.browser.events.batch.mutate({
        events: [
          view('rv-1', { anonymousId: 'rv-anon', itemId: 'sku-1' }),
          view('rv-2', { anonymousId: 'rv-seen', itemId: 'sku-2' }),
          view('rv-3', { anonymousId: 'rv-seen', userId: 'rv-u', itemId: 'sku-3', ts: ts(1) }),
        ],
      });
      await stack.engines!.catchUp();
      const recent = async (who: { userId?: string; anonymousId?: string }) =>
        (await shop.admin.recs.recentlyViewed.query({ ...who, k: 5 })).items.map((i) => i.itemId);
      expect(await recent({ anonymousId: 'rv-anon' })).toEqual(['sku-1']);
      expect(await recent({ userId: 'rv-u' })).toContain('sku-3');
      expect(await recent({ anonymousId: 'rv-seen' })).not.toEqual([]);

      await shop.admin.users.forget.mutate({ anonymousId: 'rv-anon' });
      await shop.admin.users.forget.mutate({ userId: 'rv-u' });
      await stack.engines!.catchUp();
      expect(await recent({ anonymousId: 'rv-anon' })).toEqual([]);
      expect(await recent({ userId: 'rv-u' })).toEqual([]);
      expect(await recent({ anonymousId: 'rv-seen' })).toEqual([]);
    });
  });
});
