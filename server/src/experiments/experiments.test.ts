import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatResults } from '../cli/experiments';
import type { Database } from '../db/client';
import {
  completeRunningExperiments,
  failure,
  getTestDatabaseTargets,
  startTestServer,
  type TestTenant,
} from '../testing';

const catalog = Array.from({ length: 12 }, (_, i) => ({
  itemId: `sku-${i}`,
  title: `Item ${i}`,
  price: 10 + i,
  currency: 'EUR',
  category: i % 2 ? 'shoes' : 'socks',
}));

describe.each(getTestDatabaseTargets())('experiments on $name', (target) => {
  let database: Database & { drop(): Promise<void> };
  let stack: Awaited<ReturnType<typeof startTestServer>>;
  let shop: TestTenant;

  beforeAll(async () => {
    database = await target.open();
    stack = await startTestServer(database, { engine: { encoder: null, pollIntervalMs: 100 } });
    shop = await stack.tenant('exp-shop');
    await shop.admin.items.upsert.mutate({ items: catalog });
    const now = Date.now();
    await shop.admin.events.batch.mutate({
      events: catalog.map((item, i) => ({
        eventId: `seed-${i}`,
        type: 'purchase',
        itemId: item.itemId,
        userId: `seed-${i % 3}`,
        ts: new Date(now - 3_600_000 + i * 1_000).toISOString(),
      })),
    });
    await stack.engines!.catchUp();
  });
  afterAll(async () => {
    await stack?.close();
    await database?.drop();
  });

  it('assigns each visitor one sticky variant, returns it with the list, and keeps it after login', async () => {
    await shop.admin.admin.experiments.create.mutate({
      id: 'sticky',
      name: 'Sticky assignment',
      variants: [
        { key: 'control', kind: 'control' },
        { key: 'hidden', kind: 'surface', enabled: false },
      ],
      target: { surfaces: ['trending'] },
    });
    // A draft serves no variant.
    const draft = await shop.browser.recs.trending.query({ anonymousId: 'anon-0' });
    expect(draft.experiment).toBeUndefined();
    await shop.admin.admin.experiments.start.mutate({ id: 'sticky' });

    const seen = new Map<string, string>();
    for (let i = 0; i < 40; i++) {
      const anonymousId = `anon-${i}`;
      const first = await shop.browser.recs.trending.query({ anonymousId, k: 5 });
      const again = await shop.browser.recs.trending.query({ anonymousId, k: 5 });
      expect(first.experiment?.id).toBe('sticky');
      expect(again.experiment).toEqual(first.experiment);
      // The hidden variant serves no list; the control its usual one.
      expect(first.items.length > 0).toBe(first.experiment?.variant === 'control');
      seen.set(anonymousId, first.experiment!.variant);
    }
    expect(new Set(seen.values())).toEqual(new Set(['control', 'hidden']));
    // Other surfaces are not targeted.
    expect((await shop.browser.recs.forUser.query({ anonymousId: 'anon-1' })).experiment).toBeUndefined();

    // Logging in links the anonymous id to the user: the visitor keeps the variant, with or without it.
    for (const i of [0, 1, 2, 3]) {
      const anonymousId = `anon-${i}`;
      const userId = `user-${i}`;
      await shop.admin.users.alias.mutate({ anonymousId, userId });
      const asUser = shop.browserAs(userId);
      expect((await asUser.recs.trending.query({ userId, anonymousId })).experiment?.variant).toBe(
        seen.get(anonymousId),
      );
      expect((await asUser.recs.trending.query({ userId })).experiment?.variant).toBe(seen.get(anonymousId));
    }

    // Pausing returns everyone to the control at once; resuming brings the same split back.
    await shop.admin.admin.experiments.pause.mutate({ id: 'sticky', reason: 'checking' });
    const paused = await shop.browser.recs.trending.query({ anonymousId: 'anon-5' });
    expect(paused.experiment).toBeUndefined();
    expect(paused.items.length).toBeGreaterThan(0);
    await shop.admin.admin.experiments.resume.mutate({ id: 'sticky' });
    expect((await shop.browser.recs.trending.query({ anonymousId: 'anon-5' })).experiment?.variant).toBe(
      seen.get('anon-5'),
    );

    // Every served list was logged with its variant.
    await stack.recLog!.flush();
    const logged = await database.query<{ variant: string; n: number }>(
      `SELECT variant, count(*)::int AS n FROM rec_logs WHERE namespace_id = 'exp-shop' AND experiment_id = 'sticky' GROUP BY variant`,
    );
    expect(logged.reduce((s, r) => s + Number(r.n), 0)).toBe(80 + 8 + 1);

    // The change log records each step, with the key that asked and the reason.
    const got = await shop.admin.admin.experiments.get.query({ id: 'sticky' });
    expect(got.changes.map((c) => `${c.action}:${c.fromStatus ?? ''}>${c.toStatus}`)).toEqual([
      'create:>draft',
      'start:draft>running',
      'pause:running>paused',
      'resume:paused>running',
    ]);
    expect(got.changes[2]?.detail).toEqual({ reason: 'checking' });
    await shop.admin.admin.experiments.complete.mutate({ id: 'sticky' });
    expect((await shop.browser.recs.trending.query({ anonymousId: 'anon-5' })).experiment).toBeUndefined();
  });

  it('serves a rules variant its rule set (a pinned item) and never the control, and the trace names the set', async () => {
    const pin = {
      id: 'summer-pin',
      kind: 'pin' as const,
      items: { itemIds: ['sku-0'] },
      slot: 0,
      when: { surfaces: ['trending' as const] },
    };
    const summer = {
      id: 'summer',
      name: 'Summer pin',
      variants: [
        { key: 'control', kind: 'control' as const },
        { key: 'summer', kind: 'rules' as const, ruleSetId: 'summer' },
      ],
      target: { surfaces: ['trending' as const] },
    };
    // A rule set exists by its rules: a variant naming one that has none is a typo, refused.
    const missing = await failure(shop.admin.admin.experiments.create.mutate(summer));
    expect(missing.status).toBe(400);
    expect(missing.message).toMatch(/variants\.1\.ruleSetId: no rule .* belongs to rule set "summer"/);
    const badSet = await failure(
      shop.admin.admin.rules.create.mutate({ rule: { ...pin, ruleSet: 'summer sale!' } }),
    );
    expect(badSet.status).toBe(400);
    expect(badSet.message).toMatch(/ruleSet/);

    await shop.admin.admin.rules.create.mutate({ rule: { ...pin, ruleSet: 'summer' } });
    expect((await shop.admin.admin.rules.list.query({ ruleSet: 'summer' })).map((r) => r.ruleId)).toEqual([
      'summer-pin',
    ]);
    expect(await shop.admin.admin.rules.list.query({ ruleSet: null })).toEqual([]);
    // A preview ranks as a visitor of the set when asked: removing its pin changes only their list.
    const preview = await shop.admin.admin.rules.preview.mutate({
      change: { remove: ['summer-pin'] },
      requests: [
        { surface: 'trending', k: 3, ruleSet: 'summer' },
        { surface: 'trending', k: 3 },
      ],
    });
    expect(preview.lists.map((l) => l.changed)).toEqual([true, false]);
    expect(preview.lists[0]!.rows[0]!.before).toBe('sku-0');
    // Outside any experiment the set is off: nobody gets the pin.
    const before = await shop.browser.recs.trending.query({ anonymousId: 'summer-x', k: 3 });
    expect(before.items[0]?.itemId).not.toBe('sku-0');

    await shop.admin.admin.experiments.create.mutate(summer);
    await shop.admin.admin.experiments.start.mutate({ id: 'summer' });
    const firstOf: Record<string, string[]> = { control: [], summer: [] };
    let traced: { requestId: string; variant: string } | undefined;
    for (let i = 0; i < 30; i++) {
      const list = await shop.browser.recs.trending.query({
        anonymousId: `summer-${i}`,
        k: 3,
        explain: true,
      });
      const variant = list.experiment!.variant;
      firstOf[variant]!.push(list.items[0]!.itemId);
      if (variant === 'summer') traced ??= { requestId: list.requestId, variant };
    }
    expect(firstOf.summer!.length).toBeGreaterThan(0);
    expect(firstOf.control!.length).toBeGreaterThan(0);
    expect(new Set(firstOf.summer)).toEqual(new Set(['sku-0']));
    expect(firstOf.control).not.toContain('sku-0');

    await stack.recLog!.flush();
    const trace = await shop.admin.admin.traces.get.query({ requestId: traced!.requestId });
    expect(trace).toMatchObject({ experiment: 'summer', variant: 'summer', ruleSet: 'summer' });
    expect(trace.rules.map((r) => r.ruleId)).toContain('summer-pin');
    const results = await shop.admin.admin.experiments.results.query({ id: 'summer' });
    expect(results.notes.join(' ')).not.toMatch(/control's list/);
    await shop.admin.admin.experiments.complete.mutate({ id: 'summer' });
  });

  it('refuses bad definitions and steps the status does not allow, naming what to fix', async () => {
    const bad = await failure(
      shop.admin.admin.experiments.create.mutate({
        id: 'Bad Id',
        name: 'x',
        variants: [{ key: 'control', kind: 'control' }],
      }),
    );
    expect(bad.status).toBe(400);
    expect(bad.message).toMatch(/id/);
    expect(bad.message).toMatch(/control and at least one other variant/);
    const unknownVersion = await failure(
      shop.admin.admin.experiments.create.mutate({
        id: 'no-version',
        name: 'x',
        variants: [
          { key: 'control', kind: 'control' },
          { key: 'v9', kind: 'config', version: 9 },
        ],
      }),
    );
    expect(unknownVersion).toMatchObject({ status: 400 });
    expect(unknownVersion.message).toMatch(/variants\.1\.version: no configuration version 9/);
    const conflict = await failure(shop.admin.admin.experiments.resume.mutate({ id: 'sticky' }));
    expect(conflict.status).toBe(409);
    expect(conflict.message).toMatch(/is completed; "resume" applies to paused experiments/);
  });

  it('detects a planted effect on conversion from generated traffic, and reports no lift before the control has data', async () => {
    await shop.admin.admin.experiments.create.mutate({
      id: 'planted',
      name: 'Online-retail blend on the home page',
      variants: [
        { key: 'control', kind: 'control' },
        { key: 'retail', kind: 'profile', profile: 'online-retail' },
        { key: 'same', kind: 'surface', enabled: true },
      ],
      target: { surfaces: ['forUser'] },
      primaryMetric: 'conversionRate',
      minimumDetectableEffect: 0.5,
    });
    // A fixed salt makes the split, and so the drawn outcomes, the same in every run. With a random
    // one, a run now and then (one fresh-clone CI run on 6 December) drew a split where the
    // always-valid interval of the planted 10% → 25% lift still held 0: a failure of chance, not code.
    await database.query(
      `UPDATE experiments SET salt = 'planted-fixed' WHERE namespace_id = $1 AND id = $2`,
      ['exp-shop', 'planted'],
    );
    await shop.admin.admin.experiments.start.mutate({ id: 'planted' });
    const before = await shop.admin.admin.experiments.results.query({ id: 'planted' });
    expect(before.comparisons.every((c) => c.lift === null)).toBe(true);
    expect(before.notes.join(' ')).toMatch(/no visitors yet: every lift is null/);

    // Visitors buy the first item of their list: 10% of them under the control and "same", 25% under "retail".
    const rate = { control: 0.1, same: 0.1, retail: 0.25 } as Record<string, number>;
    const rng = xoroshiro128plus(42);
    const events: Array<Record<string, unknown>> = [];
    const visitors = 1_500;
    // Lists are fetched a few at a time; what each visitor does is drawn afterwards, in visitor order.
    const lists: Array<Awaited<ReturnType<typeof shop.browser.recs.forUser.query>>> = [];
    for (let i = 0; i < visitors; i += 10) {
      const ids = Array.from({ length: 10 }, (_, j) => `v-${i + j}`);
      lists.push(
        ...(await Promise.all(
          ids.map((anonymousId) => shop.browser.recs.forUser.query({ anonymousId, k: 4 })),
        )),
      );
    }
    for (let i = 0; i < visitors; i++) {
      const anonymousId = `v-${i}`;
      const list = lists[i]!;
      const variant = list.experiment!.variant;
      const item = list.items[0]!;
      const ts = new Date().toISOString();
      const meta = { requestId: list.requestId, rank: 1, experiment: 'planted', variant };
      if (uniformFloat64(rng) < rate[variant]! * 2) {
        events.push({ eventId: `c-${i}`, type: 'click', itemId: item.itemId, anonymousId, ts, meta });
      }
      if (uniformFloat64(rng) < rate[variant]!) {
        events.push({ eventId: `a-${i}`, type: 'add', itemId: item.itemId, anonymousId, ts });
        events.push({
          eventId: `p-${i}`,
          type: 'purchase',
          itemId: item.itemId,
          anonymousId,
          ts,
          value: 2,
          meta: { orderId: `o-${i}`, unitPrice: 10 },
        });
      }
    }
    console.time('events');
    for (let i = 0; i < events.length; i += 500) {
      await shop.admin.events.batch.mutate({ events: events.slice(i, i + 500) });
    }
    await stack.recLog!.flush();

    console.timeEnd('events');
    console.time('results');
    const results = await shop.admin.admin.experiments.results.query({ id: 'planted' });
    console.timeEnd('results');
    expect(results.control).toBe('control');
    const visitorsSeen = results.variants.reduce((s, v) => s + v.visitors, 0);
    expect(visitorsSeen).toBe(visitors);
    expect(results.variants.reduce((s, v) => s + v.lists, 0)).toBe(visitors);
    expect(results.srm.mismatch).toBe(false);
    const conv = (variant: string) =>
      results.comparisons.find((c) => c.variant === variant && c.metric === 'conversionRate')!;
    expect(conv('retail').lift?.significant).toBe(true);
    expect(conv('retail').lift?.ci[0]).toBeGreaterThan(0);
    expect(conv('same').lift?.significant).toBe(false);
    // Revenue per visitor is 2 × 10 per buyer, so it follows conversion.
    const retail = results.variants.find((v) => v.key === 'retail')!;
    expect(retail.metrics.revenuePerVisitor).toBeCloseTo(20 * retail.metrics.conversionRate!, 9);
    const rpv = results.comparisons.find((c) => c.variant === 'retail' && c.metric === 'revenuePerVisitor')!;
    expect(rpv.lift?.significant).toBe(true);
    expect(results.plannedVisitorsPerVariant).toBeGreaterThan(0);
  });
  it("narrows the revenue interval with CUPED when each visitor's spend before the start predicts it", async () => {
    await shop.admin.admin.experiments.create.mutate({
      id: 'cuped',
      name: 'Same list twice',
      variants: [
        { key: 'control', kind: 'control' },
        { key: 'same', kind: 'surface', enabled: true },
      ],
      target: { surfaces: ['similar'] },
      primaryMetric: 'revenuePerVisitor',
    });
    const rng = xoroshiro128plus(5);
    const visitors = 300;
    const level = Array.from({ length: visitors }, () => Math.round(uniformFloat64(rng) * 100));
    const before = new Date(Date.now() - 3 * 86_400_000).toISOString();
    // Spend before the experiment: history the shop already had.
    const history = level.map((price, i) => ({
      eventId: `pre-${i}`,
      type: 'purchase',
      itemId: 'sku-1',
      anonymousId: `cu-${i}`,
      ts: before,
      value: 1,
      meta: { orderId: `pre-${i}`, unitPrice: price },
    }));
    await shop.admin.events.batch.mutate({ events: history });
    await shop.admin.admin.experiments.start.mutate({ id: 'cuped' });
    for (let i = 0; i < visitors; i += 10) {
      await Promise.all(
        Array.from({ length: 10 }, (_, j) =>
          shop.browser.recs.similar.query({ anonymousId: `cu-${i + j}`, itemId: 'sku-1' }),
        ),
      );
    }
    // Spend during it: the same level plus noise, alike in both arms.
    const now = new Date().toISOString();
    const during = level.map((price, i) => ({
      eventId: `in-${i}`,
      type: 'purchase',
      itemId: 'sku-1',
      anonymousId: `cu-${i}`,
      ts: now,
      value: 1,
      meta: { orderId: `in-${i}`, unitPrice: price + Math.round(uniformFloat64(rng) * 10) },
    }));
    await shop.admin.events.batch.mutate({ events: during });
    await stack.recLog!.flush();

    const revenue = (r: {
      comparisons: Array<{
        metric: string;
        lift: { ci: [number | null, number | null] } | null;
        cuped?: boolean;
      }>;
    }) => r.comparisons.find((c) => c.metric === 'revenuePerVisitor')!;
    const raw = revenue(await shop.admin.admin.experiments.results.query({ id: 'cuped' }));
    const adjusted = revenue(
      await shop.admin.admin.experiments.results.query({ id: 'cuped', cupedDays: 28 }),
    );
    const width = (c: typeof raw) => c.lift!.ci[1]! - c.lift!.ci[0]!;
    expect(raw.cuped).toBeUndefined();
    expect(adjusted.cuped).toBe(true);
    // The history explains nearly all the spread in spend (ρ² ≈ 0.99), so the interval shrinks severalfold.
    expect(width(adjusted)).toBeLessThan(width(raw) / 3);
  });

  it('counts as seen only the lists with an impression, and says so when no impression was sent', async () => {
    await shop.admin.admin.experiments.create.mutate({
      id: 'seen',
      name: 'Seen exposure',
      variants: [
        { key: 'control', kind: 'control' },
        { key: 'same', kind: 'surface', enabled: true },
      ],
      target: { surfaces: ['trending'] },
    });
    await shop.admin.admin.experiments.start.mutate({ id: 'seen' });

    // 40 visitors get a list; every one clicks its first item, and every third one buys it.
    const visitors = 40;
    const lists = await Promise.all(
      Array.from({ length: visitors }, (_, i) =>
        shop.browser.recs.trending.query({ anonymousId: `seen-v-${i}`, k: 3 }),
      ),
    );
    const ts = () => new Date().toISOString();
    const outcomes = lists.flatMap((list, i) => {
      const anonymousId = `seen-v-${i}`;
      const itemId = list.items[0]!.itemId;
      const meta = { requestId: list.requestId, experiment: 'seen', variant: list.experiment!.variant };
      const events: Array<Record<string, unknown>> = [
        { eventId: `seen-c-${i}`, type: 'click', itemId, anonymousId, ts: ts(), meta },
      ];
      if (i % 3 === 0) {
        events.push({ eventId: `seen-p-${i}`, type: 'purchase', itemId, anonymousId, ts: ts(), value: 1 });
      }
      return events;
    });
    await shop.admin.events.batch.mutate({ events: outcomes });
    await stack.recLog!.flush();

    const blind = await shop.admin.admin.experiments.results.query({ id: 'seen' });
    expect(blind.variants.reduce((n, v) => n + v.lists, 0)).toBe(visitors);
    for (const v of blind.variants) {
      expect(v).toMatchObject({ seen: null, seenVisitors: null, seenMetrics: null });
    }
    expect(blind.notes.join(' ')).toMatch(/impressions were not sent/);
    expect(formatResults(blind)).toMatch(/Seen exposure: none .*impressions were not sent/);

    // Impressions arrive for the lists of even visitors only; one without a requestId counts for nothing.
    const seenIndex = (i: number) => i % 2 === 0;
    await shop.admin.events.batch.mutate({
      events: [
        ...lists.flatMap((list, i) =>
          seenIndex(i)
            ? [
                {
                  eventId: `seen-i-${i}`,
                  type: 'impression' as const,
                  itemId: list.items[0]!.itemId,
                  anonymousId: `seen-v-${i}`,
                  ts: ts(),
                  meta: { requestId: list.requestId, rank: 1 },
                },
              ]
            : [],
        ),
        { eventId: 'seen-i-stray', type: 'impression', itemId: 'sku-0', anonymousId: 'seen-v-1', ts: ts() },
      ],
    });

    const results = await shop.admin.admin.experiments.results.query({ id: 'seen' });
    expect(results.notes.join(' ')).not.toMatch(/impressions were not sent/);
    for (const v of results.variants) {
      const mine = lists.map((l, i) => ({ l, i })).filter(({ l }) => l.experiment!.variant === v.key);
      const seen = mine.filter(({ i }) => seenIndex(i));
      const seenBought = seen.filter(({ i }) => i % 3 === 0);
      const seenBuyers = seenBought.length;
      // A purchase without unitPrice is worth the item's price.
      const price = (itemId: string) => catalog.find((c) => c.itemId === itemId)!.price;
      const seenRevenue = seenBought.reduce((sum, { l }) => sum + price(l.items[0]!.itemId), 0);
      // Every list served still counts as an exposure; the seen ones are a subset.
      expect(seen.length).toBeGreaterThan(0);
      expect(v.lists).toBe(mine.length);
      expect(v.seen).toBe(seen.length);
      expect(v.seenVisitors).toBe(seen.length);
      expect(v.seenMetrics?.conversionRate).toBeCloseTo(seenBuyers / seen.length, 12);
      expect(v.seenMetrics?.revenuePerVisitor).toBeCloseTo(seenRevenue / seen.length, 9);
      expect(v.seenMetrics).toMatchObject({ ctr: 1, emptyListRate: 0 });
      expect(v.metrics.conversionRate).toBe(mine.filter(({ i }) => i % 3 === 0).length / mine.length);
    }
    expect(results.variants.reduce((n, v) => n + (v.seen ?? 0), 0)).toBe(visitors / 2);
    const table = formatResults(results);
    expect(table).toMatch(/seen\s+seen visitors/);
    expect(table).toMatch(/Over seen exposures only/);
  });

  /** One experiment per surface at a time: ends the ones earlier tests left running. */
  const completeRunning = () => completeRunningExperiments(shop);
  const count = (xs: number[], keep: (i: number) => boolean) => xs.filter(keep).length;
  /** A click on a served list's item, now. */
  const clickOn = (eventId: string, anonymousId: string, itemId: string, requestId: string) => ({
    eventId,
    type: 'click',
    itemId,
    anonymousId,
    ts: new Date().toISOString(),
    meta: { requestId },
  });
  /** A purchase of one item at 10, now. */
  const buyAt10 = (eventId: string, anonymousId: string, itemId: string) => ({
    eventId,
    type: 'purchase',
    itemId,
    anonymousId,
    ts: new Date().toISOString(),
    value: 1,
    meta: { unitPrice: 10 },
  });

  it('breaks each variant down by the UTC day and by the surface of its lists, with the counts of generated traffic', async () => {
    await completeRunning();
    await shop.admin.admin.experiments.create.mutate({
      id: 'slices',
      name: 'Slices',
      variants: [
        { key: 'control', kind: 'control' },
        { key: 'same', kind: 'surface', enabled: true },
      ],
      target: { surfaces: ['trending', 'forUser'] },
    });
    await shop.admin.admin.experiments.start.mutate({ id: 'slices' });

    // 24 visitors get a trending list; the even ones a forUser list too.
    const n = 24;
    const variantOf = new Map<number, string>();
    const events: Array<Record<string, unknown>> = [];
    const ts = () => new Date().toISOString();
    for (let i = 0; i < n; i++) {
      const anonymousId = `sl-${i}`;
      const trending = await shop.browser.recs.trending.query({ anonymousId, k: 3 });
      variantOf.set(i, trending.experiment!.variant);
      const itemId = trending.items[0]?.itemId ?? 'sku-0';
      // Even visitors click their trending list; every fourth one clicks the forUser list too.
      if (i % 2 === 0) {
        events.push(clickOn(`sl-c-${i}`, anonymousId, itemId, trending.requestId));
        const forUser = await shop.browser.recs.forUser.query({ anonymousId, k: 3 });
        expect(forUser.experiment?.variant).toBe(variantOf.get(i));
        if (i % 4 === 0) {
          events.push(clickOn(`sl-cf-${i}`, anonymousId, itemId, forUser.requestId));
        }
      }
      // Every third visitor adds to the cart; every fourth buys one item at 10.
      if (i % 3 === 0) events.push({ eventId: `sl-a-${i}`, type: 'add', itemId, anonymousId, ts: ts() });
      if (i % 4 === 0) events.push(buyAt10(`sl-p-${i}`, anonymousId, itemId));
    }
    await shop.admin.events.batch.mutate({ events });
    await stack.recLog!.flush();
    // Visitors 0–11 were served on 1 March, 12–23 on 2 March (the trending list at 10:00, forUser at 11:00).
    await database.query(
      `UPDATE rec_logs SET created_at = (CASE WHEN substr(anonymous_id, 4)::int < 12 THEN '2026-03-01' ELSE '2026-03-02' END)::date
         + (CASE WHEN surface = 'trending' THEN interval '10 hours' ELSE interval '11 hours' END)
         + substr(anonymous_id, 4)::int * interval '1 second'
       WHERE namespace_id = 'exp-shop' AND experiment_id = 'slices'`,
    );

    const byDay = await shop.admin.admin.experiments.results.query({ id: 'slices', breakdown: 'day' });
    expect(byDay.breakdown?.by).toBe('day');
    const all = Array.from({ length: n }, (_, i) => i);
    for (const variant of ['control', 'same']) {
      for (const [day, inDay] of [
        ['2026-03-01', (i: number) => i < 12],
        ['2026-03-02', (i: number) => i >= 12],
      ] as const) {
        const mine = all.filter((i) => variantOf.get(i) === variant && inDay(i));
        const slice = byDay.breakdown!.slices.find((s) => s.variant === variant && s.slice === day);
        if (!mine.length) {
          expect(slice).toBeUndefined();
          continue;
        }
        const lists = mine.length + count(mine, (i) => i % 2 === 0);
        const buyers = count(mine, (i) => i % 4 === 0);
        expect(slice).toEqual({
          variant,
          slice: day,
          lists,
          visitors: mine.length,
          metrics: {
            ctr: (count(mine, (i) => i % 2 === 0) + buyers) / lists,
            addToCartRate: count(mine, (i) => i % 3 === 0) / mine.length,
            conversionRate: buyers / mine.length,
            revenuePerVisitor: (10 * buyers) / mine.length,
          },
        });
      }
    }
    // Each visitor is in one day: the days add up to the variant's totals.
    for (const v of byDay.variants) {
      const slices = byDay.breakdown!.slices.filter((s) => s.variant === v.key);
      expect(slices.reduce((sum, s) => sum + s.visitors, 0)).toBe(v.visitors);
      expect(slices.reduce((sum, s) => sum + s.lists, 0)).toBe(v.lists);
    }
    expect(byDay.notes.join(' ')).toMatch(
      /each slice's lift has its own always-valid interval, but reading many slices is many comparisons/,
    );
    const table = formatResults(byDay);
    expect(table).toMatch(/By day \(lift per slice with its always-valid interval/);
    expect(table).toMatch(/2026-03-02\s+(control|same)\s+\d+/);

    const bySurface = await shop.admin.admin.experiments.results.query({
      id: 'slices',
      breakdown: 'surface',
    });
    for (const variant of ['control', 'same']) {
      const mine = all.filter((i) => variantOf.get(i) === variant);
      const even = mine.filter((i) => i % 2 === 0);
      const buyers = count(mine, (i) => i % 4 === 0);
      const trending = bySurface.breakdown!.slices.find(
        (s) => s.variant === variant && s.slice === 'trending',
      );
      expect(trending).toEqual({
        variant,
        slice: 'trending',
        lists: mine.length,
        visitors: mine.length,
        metrics: {
          ctr: even.length / mine.length,
          addToCartRate: count(mine, (i) => i % 3 === 0) / mine.length,
          conversionRate: buyers / mine.length,
          revenuePerVisitor: (10 * buyers) / mine.length,
        },
      });
      // forUser served the even visitors only; every buyer (a multiple of 4) is one of them.
      const forUser = bySurface.breakdown!.slices.find((s) => s.variant === variant && s.slice === 'forUser');
      expect(forUser).toEqual({
        variant,
        slice: 'forUser',
        lists: even.length,
        visitors: even.length,
        metrics: {
          ctr: buyers / even.length,
          addToCartRate: count(even, (i) => i % 3 === 0) / even.length,
          conversionRate: buyers / even.length,
          revenuePerVisitor: (10 * buyers) / even.length,
        },
      });
    }
    expect(bySurface.notes.join(' ')).toMatch(/do not add up across surfaces/);
  });

  it("breaks each variant down by the segment its lists' requests named (traits.segment), hostile names included, with exact counts", async () => {
    await completeRunning();
    await shop.admin.admin.experiments.create.mutate({
      id: 'segs',
      name: 'Segments',
      variants: [
        { key: 'control', kind: 'control' },
        { key: 'same', kind: 'surface', enabled: true },
      ],
      target: { surfaces: ['trending'] },
    });
    await shop.admin.admin.experiments.start.mutate({ id: 'segs' });
    // Stored as given and read back as a slice: quotes, SQL, an emoji, 256 characters at most.
    const hostile = `vip "'; DROP TABLE rec_logs; -- 🙂 ${'x'.repeat(200)}`;
    const segmentOf = (i: number) => (i % 3 === 0 ? 'gold' : i % 3 === 1 ? hostile : '');
    const n = 24;
    const all = Array.from({ length: n }, (_, i) => i);
    const variantOf = new Map<number, string>();
    const events: Array<Record<string, unknown>> = [];
    const ts = () => new Date().toISOString();
    for (const i of all) {
      const anonymousId = `sg-${i}`;
      const segment = segmentOf(i);
      // The third kind names no segment: other traits, or none at all.
      const traits: Record<string, string> | undefined = segment
        ? { segment, locale: 'de' }
        : i % 2
          ? { locale: 'de' }
          : undefined;
      const list = await shop.browser.recs.trending.query({
        anonymousId,
        k: 3,
        ...(traits ? { traits } : {}),
      });
      variantOf.set(i, list.experiment!.variant);
      const itemId = list.items[0]?.itemId ?? 'sku-0';
      if (i % 2 === 0) {
        events.push(clickOn(`sg-c-${i}`, anonymousId, itemId, list.requestId));
      }
      // Gold visitors 0, 6, 12, 18 are served again after moving to the hostile segment: they count in both.
      if (i % 6 === 0) {
        const again = await shop.browser.recs.trending.query({
          anonymousId,
          k: 3,
          traits: { segment: hostile },
        });
        expect(again.experiment?.variant).toBe(variantOf.get(i));
      }
      if (i % 5 === 0) events.push({ eventId: `sg-a-${i}`, type: 'add', itemId, anonymousId, ts: ts() });
      if (i % 4 === 0) events.push(buyAt10(`sg-p-${i}`, anonymousId, itemId));
    }
    await shop.admin.events.batch.mutate({ events });
    await stack.recLog!.flush();
    const logged = await database.query<{ segment: string | null; n: number }>(
      `SELECT segment, count(*)::int AS n FROM rec_logs WHERE namespace_id = 'exp-shop' AND experiment_id = 'segs'
       GROUP BY segment ORDER BY segment NULLS FIRST`,
    );
    expect(logged).toEqual([
      { segment: null, n: 8 },
      { segment: 'gold', n: 8 },
      { segment: hostile, n: 8 + 4 },
    ]);

    const bySegment = await shop.admin.admin.experiments.results.query({ id: 'segs', breakdown: 'segment' });
    expect(bySegment.breakdown?.by).toBe('segment');
    for (const variant of ['control', 'same']) {
      const mine = all.filter((i) => variantOf.get(i) === variant);
      for (const segment of ['', 'gold', hostile]) {
        const first = mine.filter((i) => segmentOf(i) === segment);
        const again = segment === hostile ? mine.filter((i) => i % 6 === 0) : [];
        const visitors = [...first, ...again];
        const slice = bySegment.breakdown!.slices.find((s) => s.variant === variant && s.slice === segment);
        if (!visitors.length) {
          expect(slice).toBeUndefined();
          continue;
        }
        const lists = visitors.length;
        const buyers = count(visitors, (i) => i % 4 === 0);
        expect(slice).toEqual({
          variant,
          slice: segment,
          lists,
          visitors: visitors.length,
          metrics: {
            // Only first lists were clicked (by the even visitors).
            ctr: count(first, (i) => i % 2 === 0) / lists,
            addToCartRate: count(visitors, (i) => i % 5 === 0) / visitors.length,
            conversionRate: buyers / visitors.length,
            revenuePerVisitor: (10 * buyers) / visitors.length,
          },
        });
      }
      // Lists add up to the variant's; visitors of two segments count in both.
      const slices = bySegment.breakdown!.slices.filter((s) => s.variant === variant);
      expect(slices.reduce((sum, s) => sum + s.lists, 0)).toBe(
        bySegment.variants.find((v) => v.key === variant)!.lists,
      );
    }
    expect(bySegment.notes.join(' ')).toMatch(/do not add up across segments/);
    const table = formatResults(bySegment);
    expect(table).toMatch(/By segment \(lift per slice with its always-valid interval/);
    expect(table).toMatch(/\(none\)\s+(control|same)\s+\d+/);
    expect(table).toContain('DROP TABLE rec_logs; -- 🙂');

    // A segment longer than storage keeps, or one PostgreSQL cannot store, is refused before serving.
    const tooLong = await failure(
      shop.browser.recs.trending.query({ anonymousId: 'sg-x', traits: { segment: 'x'.repeat(257) } }),
    );
    expect(tooLong.status).toBe(400);
    expect(tooLong.message).toMatch(/traits\.segment/);
    const nul = await failure(
      shop.browser.recs.trending.query({ anonymousId: 'sg-x', traits: { segment: 'a\u0000b' } }),
    );
    expect(nul.status).toBe(400);
    expect(nul.message).toMatch(/traits\.segment.*NUL/);
  });

  it('reports per variant the share of visitors who sent a named custom event after their first list', async () => {
    await completeRunning();
    await shop.admin.admin.experiments.create.mutate({
      id: 'custom',
      name: 'Custom events',
      variants: [
        { key: 'control', kind: 'control' },
        { key: 'same', kind: 'surface', enabled: true },
      ],
      target: { surfaces: ['trending'] },
    });
    await shop.admin.admin.experiments.start.mutate({ id: 'custom' });
    const n = 20;
    const variantOf = new Map<number, string>();
    for (let i = 0; i < n; i++) {
      const list = await shop.browser.recs.trending.query({ anonymousId: `cu-${i}`, k: 3 });
      expect(list.experiment?.id).toBe('custom');
      variantOf.set(i, list.experiment!.variant);
    }
    const ts = () => new Date().toISOString();
    const custom = (eventId: string, anonymousId: string, meta: Record<string, string>) => ({
      eventId,
      type: 'custom' as const,
      anonymousId,
      ts: ts(),
      meta,
    });
    await shop.admin.events.batch.mutate({
      events: [
        // Every fourth visitor signs up for the newsletter (visitor 0 twice); every fifth adds to a wishlist.
        ...Array.from({ length: n }, (_, i) => i)
          .filter((i) => i % 4 === 0)
          .map((i) => custom(`cu-n-${i}`, `cu-${i}`, { name: 'newsletter' })),
        custom('cu-n-0-again', 'cu-0', { name: 'newsletter' }),
        ...Array.from({ length: n }, (_, i) => i)
          .filter((i) => i % 5 === 0)
          .map((i) => custom(`cu-w-${i}`, `cu-${i}`, { name: 'wishlist' })),
        // Not counted: a visitor never served, a custom event without a name, and (below) one before the list.
        custom('cu-stranger', 'stranger', { name: 'newsletter' }),
        { eventId: 'cu-unnamed', type: 'custom', anonymousId: 'cu-3', ts: ts() },
        custom('cu-early', 'cu-1', { name: 'newsletter' }),
      ],
    });
    await stack.recLog!.flush();
    // Visitor 1's list was served an hour after their newsletter event.
    await database.query(
      `UPDATE rec_logs SET created_at = now() + interval '1 hour' WHERE namespace_id = 'exp-shop' AND experiment_id = 'custom' AND anonymous_id = 'cu-1'`,
    );

    const results = await shop.admin.admin.experiments.results.query({
      id: 'custom',
      customEvents: ['newsletter', 'wishlist', 'never-sent'],
    });
    const expected = ['newsletter', 'wishlist', 'never-sent'].flatMap((name) =>
      ['control', 'same'].map((variant) => {
        const mine = Array.from({ length: n }, (_, i) => i).filter((i) => variantOf.get(i) === variant);
        const senders = mine.filter((i) =>
          name === 'newsletter' ? i % 4 === 0 : name === 'wishlist' ? i % 5 === 0 : false,
        );
        const events = senders.length + (name === 'newsletter' && senders.includes(0) ? 1 : 0);
        return { name, variant, visitors: senders.length, share: senders.length / mine.length, events };
      }),
    );
    expect(results.customEvents).toEqual(expected);
    expect(formatResults(results)).toMatch(
      /Custom events[^\n]*\n\s*event\s+variant\s+visitors\s+share\s+events/,
    );
    // Without the option, no custom events section.
    expect((await shop.admin.admin.experiments.results.query({ id: 'custom' })).customEvents).toBeUndefined();
  });

  it('refuses an unknown breakdown and an empty custom event name with a 400 that says why', async () => {
    const query = (input: Record<string, unknown>) =>
      failure(shop.admin.admin.experiments.results.query({ id: 'custom', ...input } as never));
    const week = await query({ breakdown: 'week' });
    expect(week.status).toBe(400);
    expect(week.message).toMatch(/breakdown: must be "day", "surface" or "segment"/);
    for (const name of ['', '   ']) {
      const empty = await query({ customEvents: ['newsletter', name] });
      expect(empty.status).toBe(400);
      expect(empty.message).toMatch(/customEvents\.1: an empty custom event name/);
    }
    const many = await query({ customEvents: Array.from({ length: 21 }, (_, i) => `e${i}`) });
    expect(many.status).toBe(400);
    expect(many.message).toMatch(/at most 20 custom event names/);
  });
});
