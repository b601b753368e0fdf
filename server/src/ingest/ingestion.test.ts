/**
 * Over ~450 lines because every ingestion behaviour (events, items, users, PII, values PostgreSQL
 * cannot store) runs against the same pair of databases (PGlite and PostgreSQL) opened once here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../db/client';
import { failure, getTestDatabaseTargets, startTestServer, TEST_ORIGIN, type TestTenant } from '../testing';

const ts = (offsetSec = 0) => new Date(Date.UTC(2026, 0, 10, 12, 0, offsetSec)).toISOString();

const NUL = 'a\u0000b';
const LONE = 'a\ud800b';
const view = (eventId: string, extra: Record<string, unknown> = {}) => ({
  eventId,
  type: 'view',
  itemId: 'sku-1',
  anonymousId: 'anon-1',
  ts: ts(),
  ...extra,
});

describe.each(getTestDatabaseTargets())('ingestion API on $name', (target) => {
  let database: Database & { drop(): Promise<void> };
  let stack: Awaited<ReturnType<typeof startTestServer>>;
  let shop: TestTenant;

  beforeAll(async () => {
    database = await target.open();
    stack = await startTestServer(database);
    shop = await stack.tenant('shop');
  });
  afterAll(async () => {
    await stack?.close();
    await database?.drop();
  });

  describe('items', () => {
    it('round-trips an upserted item with normalized tags and brand/category shorthands', async () => {
      const result = await shop.admin.items.upsert.mutate({
        items: [
          {
            itemId: 'sku-1',
            title: 'Trail Runner',
            description: 'Light trail shoe',
            price: 89.5,
            currency: 'eur',
            tags: ['Color: Black', 'waterproof'],
            brand: 'Acme ',
            category: ['Shoes', 'Running'],
            props: { url: '/p/sku-1', imageUrl: '/img/sku-1.png' },
          },
        ],
      });
      expect(result).toEqual({ upserted: 1, rejected: [] });
      const [item] = await shop.admin.items.get.query({ itemIds: ['sku-1'] });
      expect(item).toMatchObject({
        itemId: 'sku-1',
        title: 'Trail Runner',
        price: 89.5,
        currency: 'EUR',
        available: true,
        archivedAt: null,
        props: { url: '/p/sku-1', imageUrl: '/img/sku-1.png' },
      });
      expect(item?.tags.sort()).toEqual([
        'brand:acme',
        'category:running',
        'category:shoes',
        'color:black',
        'waterproof',
      ]);
    });

    it('applies a partial update without erasing the fields it omits', async () => {
      await shop.admin.items.upsert.mutate({ items: [{ itemId: 'sku-1', price: 79, available: false }] });
      const [item] = await shop.admin.items.get.query({ itemIds: ['sku-1'] });
      expect(item).toMatchObject({ title: 'Trail Runner', price: 79, available: false, currency: 'EUR' });
      expect(item?.tags).toContain('brand:acme');
    });

    it('is idempotent: the same upsert twice leaves one row with the same values', async () => {
      const batch = { items: [{ itemId: 'sku-2', title: 'Sock', price: 5 }] };
      await shop.admin.items.upsert.mutate(batch);
      await shop.admin.items.upsert.mutate(batch);
      const page = await shop.admin.items.list.query({ limit: 100 });
      expect(page.items.filter((i) => i.itemId === 'sku-2')).toHaveLength(1);
    });

    it('stores the valid items of a batch and reports each bad row by index and field path', async () => {
      const result = await shop.admin.items.upsert.mutate({
        items: [
          { itemId: 'ok-1', title: 'Fine' },
          { itemId: 'bad-1', price: -3 },
          { title: 'no id' },
          { itemId: 'bad-2', currency: 'EURO', unknownField: 1 },
          { itemId: 'ok-2', title: 'Also fine' },
        ],
      });
      expect(result.upserted).toBe(2);
      expect(result.rejected.map((r) => [r.index, r.path])).toEqual([
        [1, 'price'],
        [2, 'itemId'],
        [3, 'currency'],
        [3, ''],
      ]);
      expect(result.rejected[0]?.message).toMatch(/>=\s*0|non-?negative|greater/i);
      const got = await shop.admin.items.get.query({ itemIds: ['ok-1', 'ok-2', 'bad-1'] });
      expect(got.map((i) => i.itemId)).toEqual(['ok-1', 'ok-2']);
    });

    it('archives with items.remove, keeps the row, lists it as archived and restores it', async () => {
      expect(await shop.admin.items.remove.mutate({ itemIds: ['ok-1', 'missing'] })).toEqual({
        archived: 1,
        unchanged: ['missing'],
      });
      const active = await shop.admin.items.list.query({ limit: 100 });
      expect(active.items.map((i) => i.itemId)).not.toContain('ok-1');
      const archived = await shop.admin.items.list.query({ limit: 100, status: 'archived' });
      expect(archived.items.map((i) => i.itemId)).toEqual(['ok-1']);
      expect(archived.items[0]?.archivedAt).not.toBeNull();
      expect(await shop.admin.items.restore.mutate({ itemIds: ['ok-1'] })).toEqual({
        restored: 1,
        unchanged: [],
      });
      const [restored] = await shop.admin.items.get.query({ itemIds: ['ok-1'] });
      expect(restored?.archivedAt).toBeNull();
    });

    it('pages through items with a cursor and filters by tag', async () => {
      await shop.admin.items.upsert.mutate({
        items: Array.from({ length: 25 }, (_, i) => ({
          itemId: `page-${String(i).padStart(2, '0')}`,
          tags: ['paged'],
        })),
      });
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await shop.admin.items.list.query({ limit: 10, tag: 'paged', cursor });
        seen.push(...page.items.map((i) => i.itemId));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      expect(seen).toHaveLength(25);
      expect(new Set(seen).size).toBe(25);
    });

    it('searches ids and titles case-insensitively, taking % and _ literally', async () => {
      await shop.admin.items.upsert.mutate({
        items: [
          { itemId: 'find-mug', title: 'Blue Enamel Mug' },
          { itemId: 'find-sale', title: 'Teapot 50% off' },
          { itemId: 'find-5x0', title: 'Teapot 5000' },
          { itemId: 'find_under', title: 'Kettle' },
        ],
      });
      const search = async (text: string) =>
        (await shop.admin.items.list.query({ limit: 100, search: text })).items.map((i) => i.itemId);
      expect(await search('enamel')).toEqual(['find-mug']);
      expect(await search('FIND-MU')).toEqual(['find-mug']);
      expect(await search('50%')).toEqual(['find-sale']);
      expect(await search('find_')).toEqual(['find_under']);
      // The console's procedure is the same list, reachable by console sessions.
      await shop.admin.admin.catalog.archive.mutate({ itemIds: ['find-mug'] });
      const archived = await shop.admin.admin.catalog.list.query({
        search: 'mug',
        status: 'archived',
        limit: 5,
      });
      expect(archived.items.map((i) => i.itemId)).toEqual(['find-mug']);
      await shop.admin.admin.catalog.restore.mutate({ itemIds: ['find-mug'] });
      expect(await search('mug')).toEqual(['find-mug']);
    });

    it('refuses a batch over 1,000 items with a message saying to split it', async () => {
      const items = Array.from({ length: 1_001 }, (_, i) => ({ itemId: `x${i}` }));
      await expect(shop.admin.items.upsert.mutate({ items })).rejects.toThrow(/at most 1000 items/);
    });

    it('holds brand and category values to the 128-character tag limit and the 100-tag limit', async () => {
      const long = 'b'.repeat(200);
      const result = await shop.admin.items.upsert.mutate({
        items: [
          { itemId: 'facet-long-1', brand: long },
          { itemId: 'facet-long-2', category: ['ok', long] },
          { itemId: 'facet-many', tags: Array.from({ length: 100 }, (_, i) => `t${i}`), brand: 'one-more' },
          { itemId: 'facet-ok', brand: 'b'.repeat(122), category: 'shoes' },
        ],
      });
      expect(result.upserted).toBe(1);
      expect(result.rejected.map((r) => [r.index, r.path])).toEqual([
        [0, 'brand'],
        [1, 'category.1'],
        [2, 'tags'],
      ]);
      expect(result.rejected[0]?.message).toMatch(/at most 128 characters/);
      expect(result.rejected[2]?.message).toMatch(/at most 100 tags, brand and category included/);
      const [ok] = await shop.admin.items.get.query({ itemIds: ['facet-ok'] });
      expect(ok?.tags).toContain(`brand:${'b'.repeat(122)}`);
    });
  });

  describe('events', () => {
    const event = (i: number, extra: Record<string, unknown> = {}) => ({
      eventId: `e-${i}`,
      type: 'view',
      itemId: 'sku-1',
      anonymousId: 'anon-1',
      sessionId: 's-1',
      ts: ts(i),
      ...extra,
    });

    it('stores a replayed batch once: the same batch three times gives no duplicates', async () => {
      const batch = { events: Array.from({ length: 50 }, (_, i) => event(i)) };
      const first = await shop.browser.events.batch.mutate(batch);
      const second = await shop.browser.events.batch.mutate(batch);
      const third = await shop.browser.events.batch.mutate(batch);
      expect(first).toEqual({ accepted: 50, duplicates: 0, rejected: [] });
      expect(second).toEqual({ accepted: 0, duplicates: 50, rejected: [] });
      expect(third).toEqual({ accepted: 0, duplicates: 50, rejected: [] });
      const rows = await database.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM events WHERE namespace_id = 'shop' AND event_id LIKE 'e-%'`,
      );
      expect(rows[0]?.n).toBe(50);
    });

    it('keeps a browser row naming a userId it cannot prove for its anonymousId only, and says so', async () => {
      const rows = [
        { ...event(700), userId: 'u-victim' },
        { eventId: 'e-701', type: 'view', itemId: 'sku-1', userId: 'u-victim', ts: ts(701) },
        { ...event(702), userId: 'u-proven' },
      ];
      for (const [client, proven] of [
        [shop.browser, []],
        [shop.browserAs('u-proven'), ['e-702']],
      ] as const) {
        const result = await client.events.batch.mutate({ events: rows });
        expect(result.rejected.map((r) => `${r.index}:${r.path}`)).toEqual(['1:userId']);
        expect(result.rejected[0]?.message).toMatch(/user token.*no anonymousId either/);
        expect(result.warnings?.map((w) => `${w.index}:${w.path}`)).toEqual(
          proven.length ? ['0:userId'] : ['0:userId', '2:userId'],
        );
        expect(result.warnings?.[0]?.message).toMatch(
          /userId ignored, stored for the anonymousId: .*signUserToken/,
        );
        const stored = await shop.admin.events.list.query({ userId: 'u-proven', limit: 10 });
        expect(stored.events.map((e) => e.eventId)).toEqual(proven);
        await shop.admin.users.forget.mutate({ userId: 'u-proven' });
        await database.query(`DELETE FROM events WHERE namespace_id = 'shop' AND event_id LIKE 'e-70_'`);
      }
      expect((await shop.admin.events.list.query({ userId: 'u-victim', limit: 10 })).events).toEqual([]);
    });

    it('takes the user token from a beacon body, and a token that is not a string costs no row', async () => {
      const post = (userToken: unknown, id: string) =>
        fetch(`${stack.url}/v1/collect?key=${shop.publishableKey}`, {
          method: 'POST',
          headers: { 'content-type': 'text/plain', origin: TEST_ORIGIN },
          body: JSON.stringify({ events: [{ ...event(0), eventId: id, userId: 'u-beacon' }], userToken }),
        }).then((r) => r.json());
      expect(await post(shop.userToken('u-beacon'), 'beacon-1')).toEqual({
        accepted: 1,
        duplicates: 0,
        rejected: [],
      });
      const odd = await post({ not: 'a token' }, 'beacon-2');
      expect(odd).toMatchObject({ accepted: 1, warnings: [{ index: 0, path: 'userId' }] });
      const stored = await shop.admin.events.list.query({ anonymousId: 'anon-1', limit: 100 });
      expect(
        stored.events.filter((e) => e.eventId.startsWith('beacon-')).map((e) => [e.eventId, e.userId]),
      ).toEqual(
        expect.arrayContaining([
          ['beacon-1', 'u-beacon'],
          ['beacon-2', null],
        ]),
      );
    });

    it('refuses users.alias from a browser without the user token, and with another user’s', async () => {
      for (const client of [shop.browser, shop.browserAs('u-other')]) {
        await expect(
          client.users.alias.mutate({ anonymousId: 'anon-hijack', userId: 'u-victim' }),
        ).rejects.toMatchObject({
          data: { httpStatus: 401 },
          message: expect.stringMatching(/may name a userId only with a user token/),
        });
      }
      expect(await shop.admin.users.alias.mutate({ anonymousId: 'anon-hijack', userId: 'u-victim' })).toEqual(
        {
          linked: true,
          eventsMerged: 0,
        },
      );
    });

    it('counts a repeated eventId inside one batch once', async () => {
      const result = await shop.browser.events.batch.mutate({ events: [event(900), event(900)] });
      expect(result).toEqual({ accepted: 1, duplicates: 1, rejected: [] });
    });

    it('stores the good rows of a batch and returns index, path and reason for the bad ones', async () => {
      const result = await shop.browserAs('u-1').events.batch.mutate({
        events: [
          event(100),
          { ...event(101), type: 'teleport' },
          { ...event(102), itemId: undefined },
          { ...event(103), ts: '2026-01-10 12:00' },
          { ...event(104), anonymousId: undefined },
          { ...event(105), type: 'rate' },
          { ...event(106), meta: { rank: 'first' } },
          {
            eventId: 'order-1',
            type: 'custom',
            userId: 'u-1',
            ts: ts(107),
            meta: { name: 'order', orderId: 'o-1' },
          },
        ],
      });
      expect(result.accepted).toBe(2);
      expect(result.rejected.map((r) => `${r.index}:${r.path}`)).toEqual([
        '1:type',
        '2:itemId',
        '3:ts',
        '4:userId',
        '5:value',
        '6:meta.rank',
      ]);
      expect(result.rejected.find((r) => r.index === 3)?.message).toMatch(/ISO-8601/);
      const stored = await shop.admin.events.list.query({ limit: 10, since: ts(100), until: ts(108) });
      expect(stored.events.map((e) => e.eventId).sort()).toEqual(['e-100', 'order-1']);
    });

    it('clamps a far-future client timestamp to the receive time and keeps the client value', async () => {
      const future = new Date(Date.now() + 7 * 86_400_000).toISOString();
      await shop.browser.events.batch.mutate({ events: [{ ...event(200), ts: future }] });
      const { events } = await shop.admin.events.list.query({ limit: 5, itemId: 'sku-1', since: ts(0) });
      const stored = events.find((e) => e.eventId === 'e-200');
      expect(stored?.clientTs).toBe(future);
      expect(Date.parse(stored!.ts)).toBeLessThanOrEqual(Date.now());
      expect(Date.parse(stored!.receivedAt)).toBeLessThanOrEqual(Date.now());
    });

    it('round-trips every documented meta key and free keys within limits', async () => {
      const meta = {
        surface: 'home',
        widget: 'top-picks',
        recommended: true,
        requestId: 'req-1',
        rank: 3,
        referrer: 'https://search.example/',
        experiment: 'exp-1',
        variant: 'b',
        orderId: 'o-9',
        unitPrice: 9.99,
        currency: 'usd',
        color: 'red',
      };
      await shop.browser.events.batch.mutate({ events: [{ ...event(300), type: 'click', meta }] });
      const { events } = await shop.admin.events.list.query({ limit: 1, type: 'click' });
      expect(events[0]?.meta).toEqual({ ...meta, currency: 'USD' });
    });

    it('rejects meta values that look like e-mail addresses or phone numbers', async () => {
      const result = await shop.browser.events.batch.mutate({
        events: [
          { ...event(400), meta: { contact: 'jane@example.com' } },
          { ...event(401), meta: { phone: '+44 7700 900123' } },
          { ...event(402), meta: { sku: '12345' } },
        ],
      });
      expect(result.rejected.map((r) => `${r.index}:${r.path}`)).toEqual(['0:meta.contact', '1:meta.phone']);
      expect(result.rejected[0]?.message).toMatch(/e-mail/);
      expect(result.accepted).toBe(1);
    });

    it('scrubs personal data instead of rejecting it when the namespace says so', async () => {
      const { updateNamespaceSettings } = await import('../auth/namespaces');
      const scrubbing = await stack.tenant('scrub-shop');
      await updateNamespaceSettings(database, 'scrub-shop', { pii: 'scrub' });
      const result = await scrubbing.browser.events.batch.mutate({
        events: [{ ...event(450), meta: { note: 'mail jane@example.com or +44 7700 900123' } }],
      });
      expect(result).toEqual({ accepted: 1, duplicates: 0, rejected: [] });
      const users = await scrubbing.admin.users.upsert.mutate({
        users: [{ userId: 'u-s', traits: { contact: 'a@b.co' } }],
      });
      expect(users.rejected).toEqual([]);
      const { events } = await scrubbing.admin.events.list.query({ limit: 1 });
      expect(events[0]?.meta).toEqual({ note: 'mail [email] or [phone]' });
      expect((await scrubbing.admin.users.get.query({ userId: 'u-s' }))?.traits).toEqual({
        contact: '[email]',
      });
    });

    it('enforces the meta key limit with a clear message', async () => {
      const meta = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, i]));
      const result = await shop.browser.events.batch.mutate({ events: [{ ...event(500), meta }] });
      expect(result.rejected[0]?.message).toMatch(/at most 32 keys/);
    });

    it('refuses a batch over 500 events as a 400, never a 500', async () => {
      const events = Array.from({ length: 501 }, (_, i) => event(10_000 + i));
      await expect(shop.browser.events.batch.mutate({ events })).rejects.toMatchObject({
        data: { httpStatus: 400 },
        message: expect.stringMatching(/at most 500 events/),
      });
    });

    it('pages events newest first with a stable cursor', async () => {
      const all: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await shop.admin.events.list.query({
          limit: 7,
          anonymousId: 'anon-1',
          type: 'view',
          cursor,
        });
        all.push(...page.events.map((e) => e.eventId));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      const total = await database.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM events WHERE namespace_id='shop' AND anonymous_id='anon-1' AND type='view'`,
      );
      expect(all).toHaveLength(total[0]!.n);
      expect(new Set(all).size).toBe(all.length);
    });
  });

  describe('users', () => {
    it('upserts traits and merges later partial traits key by key', async () => {
      await shop.admin.users.upsert.mutate({
        users: [{ userId: 'u-1', traits: { country: 'DE', tier: 'gold' } }],
      });
      await shop.admin.users.upsert.mutate({
        users: [{ userId: 'u-1', traits: { tier: 'platinum', device: 'ios' } }],
      });
      const user = await shop.admin.users.get.query({ userId: 'u-1' });
      expect(user?.traits).toEqual({ country: 'DE', tier: 'platinum', device: 'ios' });
    });

    it('rejects traits that look like personal data with the field path', async () => {
      const result = await shop.admin.users.upsert.mutate({
        users: [
          { userId: 'u-2', traits: { email: 'x@y.io' } },
          { userId: 'u-3', traits: { note: 'call +1 (415) 555-0100' } },
          { userId: 'u-4', traits: { segment: 'bargain' } },
        ],
      });
      expect(result.upserted).toBe(1);
      expect(result.rejected.map((r) => `${r.index}:${r.path}`)).toEqual(['0:traits.email', '1:traits.note']);
    });

    it('merges anonymous history into the user on alias, idempotently', async () => {
      await shop.browser.events.batch.mutate({
        events: [1, 2, 3].map((i) => ({
          eventId: `pre-login-${i}`,
          type: 'view',
          itemId: 'sku-2',
          anonymousId: 'anon-login',
          ts: ts(i),
        })),
      });
      const signedIn = shop.browserAs('u-login');
      const first = await signedIn.users.alias.mutate({ anonymousId: 'anon-login', userId: 'u-login' });
      const again = await signedIn.users.alias.mutate({ anonymousId: 'anon-login', userId: 'u-login' });
      expect(first).toEqual({ linked: true, eventsMerged: 3 });
      expect(again).toEqual({ linked: false, eventsMerged: 0 });
      const history = await shop.admin.events.list.query({ limit: 10, userId: 'u-login' });
      expect(history.events.map((e) => e.eventId).sort()).toEqual([
        'pre-login-1',
        'pre-login-2',
        'pre-login-3',
      ]);
    });

    it('refuses to link an anonymous id that already belongs to another user', async () => {
      await expect(
        shop
          .browserAs('someone-else')
          .users.alias.mutate({ anonymousId: 'anon-login', userId: 'someone-else' }),
      ).rejects.toMatchObject({ data: { httpStatus: 409 } });
    });

    it('forgets a user: no user, alias, event or served-list row of theirs is left', async () => {
      await shop.admin.users.upsert.mutate({ users: [{ userId: 'u-login', traits: { country: 'FR' } }] });
      await shop.browserAs('u-login').events.batch.mutate({
        events: [
          { eventId: 'post-login', type: 'add', itemId: 'sku-2', userId: 'u-login', ts: ts(10) },
          { eventId: 'anon-after', type: 'view', itemId: 'sku-2', anonymousId: 'anon-login', ts: ts(11) },
        ],
      });
      await database.query(
        `INSERT INTO rec_logs (namespace_id, request_id, surface, user_id, items) VALUES ('shop', 'r-forget', 'forUser', 'u-login', '[]')`,
      );
      const result = await shop.admin.users.forget.mutate({ userId: 'u-login' });
      expect(result).toEqual({
        userDeleted: true,
        aliasesDeleted: 1,
        eventsDeleted: 5,
        recLogsDeleted: 1,
        tracesDeleted: 0,
      });
      for (const [table, where] of [
        ['users', `user_id = 'u-login'`],
        ['aliases', `user_id = 'u-login' OR anonymous_id = 'anon-login'`],
        ['events', `user_id = 'u-login' OR anonymous_id = 'anon-login'`],
        ['rec_logs', `user_id = 'u-login'`],
      ]) {
        const rows = await database.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM ${table} WHERE namespace_id = 'shop' AND (${where})`,
        );
        expect(rows[0]?.n, table).toBe(0);
      }
      expect(await shop.admin.users.get.query({ userId: 'u-login' })).toBeNull();
    });

    it('pages users and filters by trait', async () => {
      await shop.admin.users.upsert.mutate({
        users: Array.from({ length: 12 }, (_, i) => ({
          userId: `seg-${i}`,
          traits: { segment: i % 2 ? 'odd' : 'even' },
        })),
      });
      const page = await shop.admin.users.list.query({ limit: 100, trait: { key: 'segment', value: 'odd' } });
      expect(page.users.map((u) => u.userId).sort()).toEqual([
        'seg-1',
        'seg-11',
        'seg-3',
        'seg-5',
        'seg-7',
        'seg-9',
      ]);
    });
  });

  /**
   * Values PostgreSQL refuses (NUL, lone surrogates, year 0000) used to fail the
   * whole statement: a 500 and every good row of the batch lost. Each is now a
   * rejected row (index, path, message) or a 400, and the good rows are stored.
   */
  describe('values PostgreSQL cannot store', () => {
    let poison: TestTenant;
    beforeAll(async () => {
      poison = await stack.tenant('poison');
    });

    const storedEventIds = async (prefix: string) =>
      (
        await database.query<{ event_id: string }>(
          `SELECT event_id FROM events WHERE namespace_id = 'poison' AND event_id LIKE $1 ORDER BY event_id`,
          [`${prefix}%`],
        )
      ).map((r) => r.event_id);

    it('stores the good event of a /v1/collect batch and rejects the one with a NUL in meta by index and path', async () => {
      const res = await fetch(`${stack.url}/v1/collect?key=${poison.publishableKey}`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain', origin: TEST_ORIGIN },
        body: JSON.stringify({ events: [view('collect-good'), view('collect-bad', { meta: { n: NUL } })] }),
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as {
        accepted: number;
        rejected: Array<{ index: number; path: string }>;
      };
      expect(body.accepted).toBe(1);
      expect(body.rejected).toMatchObject([
        { index: 1, path: 'meta.n', message: expect.stringMatching(/NUL/) },
      ]);
      expect(await storedEventIds('collect-')).toEqual(['collect-good']);
    });

    it('rejects NUL and lone surrogates anywhere in an event, in values and in meta keys, and keeps the rest', async () => {
      const result = await poison.admin.events.batch.mutate({
        events: [
          view('mix-good-1'),
          view('mix-bad-1', { meta: { name: NUL } }),
          view('mix-bad-2', { meta: { [`k${NUL}`]: 1 } }),
          view('mix-bad-3', { meta: { free: LONE } }),
          view('mix-bad-4', { sessionId: LONE }),
          view('mix-bad-5', { itemId: `sku${NUL}` }),
          view('mix-good-2'),
        ],
      });
      expect(result.accepted).toBe(2);
      // A NUL in an id also breaks the id rule (no control characters): one row may have two messages.
      const rows = new Set(result.rejected.map((r) => `${r.index} ${r.path}`));
      expect([...rows].map((r) => r.split(' ')).map(([i, p]) => [Number(i), p])).toEqual([
        [1, 'meta.name'],
        [2, `meta.k${NUL}`],
        [3, 'meta.free'],
        [4, 'sessionId'],
        [5, 'itemId'],
      ]);
      expect(result.rejected[2]?.message).toMatch(/lone surrogate|well-formed/);
      expect(await storedEventIds('mix-')).toEqual(['mix-good-1', 'mix-good-2']);
    });

    it('rejects event ids with lone surrogates instead of storing two distinct ids as the same U+FFFD id', async () => {
      const result = await poison.admin.events.batch.mutate({
        events: [view('sur-\ud800'), view('sur-\udfff'), view('sur-ok')],
      });
      expect(result).toMatchObject({ accepted: 1, duplicates: 0 });
      expect(result.rejected.map((r) => [r.index, r.path])).toEqual([
        [0, 'eventId'],
        [1, 'eventId'],
      ]);
      expect(await storedEventIds('sur-')).toEqual(['sur-ok']);
    });

    it('rejects timestamps outside years 0001–9999 and impossible calendar dates instead of moving them', async () => {
      const bad = [
        '0000-01-01T00:00:00Z',
        '0001-01-01T00:30:00+01:00', // year 0000 in UTC
        '9999-12-31T23:00:00-05:00', // year 10000 in UTC
        '2026-02-30T00:00:00Z',
        '2026-01-01T24:00:00Z',
        '2026-01-01T23:60:00Z',
        '2026-01-01T12:00:60Z',
        '2026-13-01T00:00:00Z',
        '2026-01-01T12:00:00+25:00',
      ];
      const result = await poison.admin.events.batch.mutate({
        events: [view('ts-good'), ...bad.map((t, i) => view(`ts-bad-${i}`, { ts: t }))],
      });
      expect(result.accepted).toBe(1);
      expect(result.rejected.map((r) => [r.index, r.path])).toEqual(bad.map((_, i) => [i + 1, 'ts']));
      expect(await storedEventIds('ts-')).toEqual(['ts-good']);
      // The edges of the range are real dates and are stored.
      const edges = await poison.admin.events.batch.mutate({
        events: [
          view('edge-1', { ts: '0001-01-01T00:00:00Z' }),
          view('edge-2', { ts: '2024-02-29T23:59:59Z' }),
        ],
      });
      expect(edges).toEqual({ accepted: 2, duplicates: 0, rejected: [] });
    });

    it('rejects items with NUL or lone surrogates in title, tags, brand or nested props, and stores the rest', async () => {
      const result = await poison.admin.items.upsert.mutate({
        items: [
          { itemId: 'pi-good-1', title: 'Fine' },
          { itemId: 'pi-bad-1', title: NUL },
          { itemId: 'pi-bad-2', tags: ['ok', NUL] },
          { itemId: 'pi-bad-3', brand: NUL },
          { itemId: 'pi-bad-4', props: { deep: { list: ['x', LONE] } } },
          { itemId: 'pi-bad-5', props: { [NUL]: 1 } },
          { itemId: 'pi-bad-6', description: LONE },
          { itemId: 'pi-bad-7', createdAt: '0000-06-01T00:00:00Z' },
          { itemId: 'pi-good-2', title: 'Also fine', props: { deep: { list: ['x', 1, null] } } },
        ],
      });
      expect(result.upserted).toBe(2);
      expect(result.rejected.map((r) => [r.index, r.path])).toEqual([
        [1, 'title'],
        [2, 'tags.1'],
        [3, 'brand'],
        [4, 'props.deep.list.1'],
        [5, `props.${NUL}`],
        [6, 'description'],
        [7, 'createdAt'],
      ]);
      const stored = await database.query<{ item_id: string }>(
        `SELECT item_id FROM items WHERE namespace_id = 'poison' AND item_id LIKE 'pi-%' ORDER BY item_id`,
      );
      expect(stored.map((r) => r.item_id)).toEqual(['pi-good-1', 'pi-good-2']);
    });

    it('rejects users with NUL or lone surrogates in trait keys or values, and stores the rest', async () => {
      const result = await poison.admin.users.upsert.mutate({
        users: [
          { userId: 'pu-good', traits: { tier: 'gold' } },
          { userId: 'pu-bad-1', traits: { tier: NUL } },
          { userId: 'pu-bad-2', traits: { [`t${NUL}`]: 'x' } },
          { userId: 'pu-bad-3', traits: { tier: LONE } },
          { userId: `pu-bad-\udc00` },
        ],
      });
      expect(result.upserted).toBe(1);
      expect(result.rejected.map((r) => [r.index, r.path])).toEqual([
        [1, 'traits.tier'],
        [2, `traits.t${NUL}`],
        [3, 'traits.tier'],
        [4, 'userId'],
      ]);
    });

    it('answers a config name or note PostgreSQL cannot store with a 400 that names the field', async () => {
      const name = await failure(poison.admin.admin.config.save.mutate({ config: {}, name: NUL }));
      expect(name).toMatchObject({ status: 400, message: expect.stringMatching(/name: .*NUL/) });
      const note = await failure(poison.admin.admin.config.save.mutate({ config: {}, note: LONE }));
      expect(note).toMatchObject({ status: 400, message: expect.stringMatching(/note: .*surrogate/) });
    });

    it('answers a config version beyond what the column holds with a 400, not a 500', async () => {
      const result = await failure(poison.admin.admin.config.activate.mutate({ version: 4294967296 }));
      expect(result).toMatchObject({ status: 400, message: expect.stringMatching(/version/) });
    });

    it('answers cursors that do not decode to a position with a 400 that says to pass nextCursor unchanged', async () => {
      const garbage = [
        'garbage',
        Buffer.from(JSON.stringify(['not a date', 'x'])).toString('base64url'),
        Buffer.from(JSON.stringify(['2026-01-01T00:00:00.000Z', NUL])).toString('base64url'),
        Buffer.from(JSON.stringify(['0000-01-01T00:00:00.000Z', 'x'])).toString('base64url'),
        Buffer.from('[1e400,"x"]').toString('base64url'),
        Buffer.from('{"ts":1}').toString('base64url'),
      ];
      for (const cursor of garbage) {
        const events = await failure(poison.admin.events.list.query({ cursor }));
        expect(events).toMatchObject({ status: 400, message: expect.stringMatching(/cursor.*nextCursor/) });
      }
      const items = Buffer.from(JSON.stringify([NUL])).toString('base64url');
      expect(await failure(poison.admin.items.list.query({ cursor: items }))).toMatchObject({ status: 400 });
      const users = Buffer.from(JSON.stringify([LONE])).toString('base64url');
      expect(await failure(poison.admin.users.list.query({ cursor: users }))).toMatchObject({ status: 400 });
    });

    it('answers NUL or lone surrogates in list filters and cursors with a 400 naming the field', async () => {
      expect(await failure(poison.admin.items.list.query({ tag: NUL }))).toMatchObject({
        status: 400,
        message: expect.stringMatching(/tag/),
      });
      expect(
        await failure(poison.admin.users.list.query({ trait: { key: 'tier', value: NUL } })),
      ).toMatchObject({
        status: 400,
        message: expect.stringMatching(/trait\.value/),
      });
      expect(await failure(poison.admin.events.list.query({ cursor: NUL }))).toMatchObject({ status: 400 });
      expect(await failure(poison.admin.events.list.query({ since: '0000-01-01T00:00:00Z' }))).toMatchObject({
        status: 400,
        message: expect.stringMatching(/since/),
      });
    });

    it('answers users.forget with a lone surrogate with a 400 and forgets nobody', async () => {
      await poison.admin.users.upsert.mutate({ users: [{ userId: 'forget-\ufffd' }] });
      const result = await failure(poison.admin.users.forget.mutate({ userId: 'forget-\ud800' }));
      expect(result).toMatchObject({ status: 400, message: expect.stringMatching(/userId/) });
      expect(await poison.admin.users.get.query({ userId: 'forget-\ufffd' })).not.toBeNull();
    });
  });
});
