import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../db/client';
import { failure, getTestDatabaseTargets, startTestServer, type TestTenant } from '../testing';

const now = Date.now();
const at = (minutesAgo: number) => new Date(now - minutesAgo * 60_000).toISOString();

/**
 * A household: alice looks at a tent (boots go with it strongly, a stove less), bob at a kettle (a
 * mug goes with it); a picnic set is viewed with both, less strongly than each one's favourite.
 * Popularity is switched off so each member's scores come from their own history.
 */
const catalog = [
  { itemId: 'tent', title: 'Dome tent', price: 200, currency: 'EUR' },
  { itemId: 'boots', title: 'Hiking boots', price: 80, currency: 'EUR' },
  {
    itemId: 'stove',
    title: 'Camping stove',
    price: 50,
    currency: 'EUR',
    // Sold in Germany and the US only, dearer in the US.
    markets: { DE: {}, us: { price: 60, currency: 'USD' } },
  },
  { itemId: 'kettle', title: 'Kettle', price: 30, currency: 'EUR' },
  { itemId: 'mug', title: 'Mug', price: 8, currency: 'EUR' },
  { itemId: 'picnic', title: 'Picnic set', price: 40, currency: 'EUR' },
  { itemId: 'lamp', title: 'Lamp', price: 25, currency: 'EUR' },
  { itemId: 'sold-out', title: 'Sold out', price: 5, currency: 'EUR', available: false },
];

function seedEvents() {
  const events: Array<Record<string, unknown>> = [];
  const coView = (items: string[], users: number, prefix: string) => {
    for (let u = 0; u < users; u++) {
      for (const [i, itemId] of items.entries()) {
        events.push({
          eventId: `${prefix}-${u}-${itemId}`,
          type: 'view',
          itemId,
          userId: `${prefix}${u}`,
          sessionId: `${prefix}${u}-s`,
          ts: at(600 - i),
        });
      }
    }
  };
  coView(['tent', 'boots'], 10, 'p');
  coView(['tent', 'stove'], 3, 'o');
  coView(['tent', 'picnic'], 3, 'r');
  coView(['kettle', 'mug'], 10, 'q');
  coView(['kettle', 'picnic'], 3, 'k');
  coView(['mug', 'lamp'], 3, 'l');
  events.push(
    { eventId: 'alice-1', type: 'view', itemId: 'tent', userId: 'alice', sessionId: 'alice-s', ts: at(60) },
    { eventId: 'bob-1', type: 'view', itemId: 'kettle', userId: 'bob', sessionId: 'bob-s', ts: at(60) },
  );
  return events;
}

const ids = (list: { items: Array<{ itemId: string }> }) => list.items.map((i) => i.itemId);
const household = [{ userId: 'alice' }, { userId: 'bob' }];

describe.each(getTestDatabaseTargets())('recs.group and recs.rerank on $name', (target) => {
  let database: Database & { drop(): Promise<void> };
  let stack: Awaited<ReturnType<typeof startTestServer>>;
  let shop: TestTenant;

  beforeAll(async () => {
    database = await target.open();
    stack = await startTestServer(database, { engine: { encoder: null, pollIntervalMs: 100 } });
    shop = await stack.tenant('household');
    await shop.admin.items.upsert.mutate({ items: catalog });
    await shop.admin.events.batch.mutate({ events: seedEvents() });
    await shop.admin.admin.config.save.mutate({
      // What goes with each member's own items, not the items themselves (revisit off).
      config: { blend: { forUser: { popular: 0, trending: 0, revisit: 0 } } },
      note: 'own history only',
      activate: true,
    });
    await stack.engines!.catchUp();
  });
  afterAll(async () => {
    await stack?.close();
    await database?.drop();
  });

  describe('recs.group', () => {
    it('puts first, under the min rule, the item everyone likes, with each member’s scores on explain', async () => {
      const res = await shop.admin.recs.group.query({ members: household, k: 4, explain: true });
      expect(res.surface).toBe('group');
      expect(ids(res)[0]).toBe('picnic');
      expect(res.items[0]).toMatchObject({
        rank: 1,
        title: 'Picnic set',
        price: 40,
        currency: 'EUR',
        locked: false,
      });
      const [a, b] = res.items[0]!.memberScores!;
      expect(a).toBeGreaterThan(0);
      expect(b).toBeGreaterThan(0);
      expect(res.items.find((i) => i.itemId === 'boots')?.memberScores).toEqual([1, 0]);
      expect(res.members).toEqual([
        { userId: 'alice', anonymousId: null },
        { userId: 'bob', anonymousId: null },
      ]);
      expect(res.warnings).toEqual([]);
      expect(res.explain).toEqual({ rule: 'min', strongFit: null, locked: [], candidates: 4 });
      // Without explain: no per-member scores and no summary.
      const plain = await shop.admin.recs.group.query({ members: household, k: 4 });
      expect(plain.items[0]).not.toHaveProperty('memberScores');
      expect(plain).not.toHaveProperty('explain');
    });

    it('ranks by the mean under avg, and locks strong fits for everyone on top', async () => {
      const avg = await shop.admin.recs.group.query({ members: household, k: 4, rule: 'avg' });
      // boots and mug: (1 + 0) / 2 each; the picnic set about (0.3 + 0.3) / 2.
      expect(ids(avg).slice(0, 2).sort()).toEqual(['boots', 'mug']);
      const locked = await shop.admin.recs.group.query({
        members: household,
        k: 4,
        rule: 'avg',
        strongFit: { threshold: 0.2 },
        explain: true,
      });
      expect(locked.items[0]).toMatchObject({ itemId: 'picnic', locked: true });
      expect(locked.explain).toMatchObject({
        rule: 'avg',
        strongFit: { threshold: 0.2, maxLocked: 3 },
        locked: ['picnic'],
      });
      expect(locked.warnings).toEqual([]);
    });

    it('warns when no item clears the strong-fit bar for every member', async () => {
      const res = await shop.admin.recs.group.query({
        members: household,
        k: 4,
        strongFit: { threshold: 0.99, maxLocked: 2 },
        explain: true,
      });
      expect(res.explain?.locked).toEqual([]);
      expect(res.items.every((i) => !i.locked)).toBe(true);
      expect(res.warnings).toEqual([expect.stringMatching(/^No item scores at least 0.99 for every member/)]);
    });

    it('logs the list as served under surface group', async () => {
      const { requestId } = await shop.admin.recs.group.query({ members: household, k: 3 });
      await expect
        .poll(async () =>
          database.query<{ surface: string; user_id: string | null }>(
            'SELECT surface, user_id FROM rec_logs WHERE request_id = $1',
            [requestId],
          ),
        )
        .toEqual([{ surface: 'group', user_id: 'alice' }]);
    });

    it('answers a browser key that names users it cannot prove for anonymous visitors, and says so', async () => {
      const stranger = await shop.browser.recs.group.query({
        members: [{ userId: 'alice', anonymousId: 'device-1' }, { userId: 'bob' }],
        k: 4,
        explain: true,
      });
      expect(stranger.members).toEqual([
        { userId: null, anonymousId: 'device-1' },
        { userId: null, anonymousId: null },
      ]);
      expect(stranger.warnings).toHaveLength(2);
      expect(stranger.warnings[0]).toMatch(/^members\[0\]\.userId was ignored .*user token/);
      // Nobody's history is read, and popularity is off in this shop: nothing scores for anyone.
      expect(stranger.items).toEqual([]);
      const proven = await shop.browserAs('alice').recs.group.query({ members: household, k: 4 });
      expect(proven.members.map((m) => m.userId)).toEqual(['alice', null]);
      expect(proven.warnings).toEqual([expect.stringMatching(/^members\[1\]\.userId was ignored/)]);
    });

    it('refuses malformed groups with a 400 that says what is wrong', async () => {
      const cases: Array<[unknown, RegExp]> = [
        [{ members: [{ userId: 'alice' }] }, /2–10 members/],
        [{ members: Array.from({ length: 11 }, (_, i) => ({ anonymousId: `a${i}` })) }, /2–10 members/],
        [{ members: [{ userId: 'alice' }, {}] }, /needs a userId or an anonymousId/],
        [{ members: household, strongFit: { threshold: 2 } }, /threshold is between 0 and 1/],
        [{ members: household, rule: 'max' }, /rule/],
        [{ members: household, country: 'XX' }, /ISO 3166-1 alpha-2/],
        [{ members: household, traits: { a: 'b' } }, /traits/],
      ];
      for (const [input, message] of cases) {
        const got = await failure(shop.admin.recs.group.query(input as never));
        expect(got.status, JSON.stringify(input)).toBe(400);
        expect(got.message).toMatch(message);
      }
    });
  });

  describe('recs.rerank', () => {
    it("moves the user's items up and keeps unknown ids where they were", async () => {
      const res = await shop.admin.recs.rerank.query({
        userId: 'alice',
        itemIds: ['lamp', 'ext-1', 'mug', 'stove', 'boots'],
      });
      expect(res.surface).toBe('rerank');
      expect(ids(res)).toEqual(['boots', 'ext-1', 'stove', 'lamp', 'mug']);
      expect(res.items.map((i) => [i.rank, i.originalRank, i.known])).toEqual([
        [1, 5, true],
        [2, 2, false],
        [3, 4, true],
        [4, 1, true],
        [5, 3, true],
      ]);
      expect(res.items[1]).toMatchObject({ title: null, price: null, score: 0 });
      expect(res.items[0]).toMatchObject({ title: 'Hiking boots', price: 80 });
      expect(res.unknownItemIds).toEqual(['ext-1']);
      expect(res.userId).toBe('alice');
    });

    it('removes what may not be shown and says why, and reports repeated ids', async () => {
      const res = await shop.admin.recs.rerank.query({
        userId: 'alice',
        itemIds: ['sold-out', 'boots', 'picnic', 'stove', 'mug', 'boots'],
        filters: { priceBetween: [null, 45] },
        country: 'us',
        explain: true,
      });
      expect(res.removed).toEqual([
        { itemId: 'sold-out', originalRank: 1, reason: 'unavailable' },
        { itemId: 'boots', originalRank: 2, reason: 'filtered' },
        { itemId: 'stove', originalRank: 4, reason: 'filtered' },
      ]);
      expect(ids(res)).toEqual(['picnic', 'mug']);
      expect(res.duplicateItemIds).toEqual(['boots']);
      expect(res.items[0]!.reasons?.map((r) => r.signal)).toContain('covisit');
    });

    it('answers a browser key naming a user without their token for the visitor only', async () => {
      const input = { userId: 'alice', itemIds: ['lamp', 'mug', 'boots'] };
      const stranger = await shop.browser.recs.rerank.query(input);
      expect(stranger.userId).toBeNull();
      // No history: nothing scores, the original order stands.
      expect(ids(stranger)).toEqual(['lamp', 'mug', 'boots']);
      const alice = await shop.browserAs('alice').recs.rerank.query(input);
      expect(alice.userId).toBe('alice');
      expect(ids(alice)[0]).toBe('boots');
    });

    it('refuses an empty or too long candidate list', async () => {
      expect((await failure(shop.admin.recs.rerank.query({ itemIds: [] }))).status).toBe(400);
      const many = Array.from({ length: 501 }, (_, i) => `x${i}`);
      const got = await failure(shop.admin.recs.rerank.query({ itemIds: many }));
      expect(got).toMatchObject({ status: 400, message: expect.stringMatching(/at most 500 candidates/) });
    });
  });
});
