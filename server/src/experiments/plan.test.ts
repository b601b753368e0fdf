import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../db/client';
import { failure, getTestDatabaseTargets, startTestServer, type TestTenant } from '../testing';
import { fixedHorizonSampleSize, sequentialSampleSize } from './stats/power';

const catalog = Array.from({ length: 8 }, (_, i) => ({
  itemId: `sku-${i}`,
  title: `Item ${i}`,
  price: 10 + i,
  category: 'mugs',
}));

describe.each(getTestDatabaseTargets())('the experiment planner on $name', (target) => {
  let database: Database & { drop(): Promise<void> };
  let stack: Awaited<ReturnType<typeof startTestServer>>;
  let shop: TestTenant;

  beforeAll(async () => {
    database = await target.open();
    stack = await startTestServer(database, { engine: { encoder: null, pollIntervalMs: 100 } });
    shop = await stack.tenant('plan-shop');
    await shop.admin.items.upsert.mutate({ items: catalog });
    await shop.admin.events.batch.mutate({
      events: catalog.map((item, i) => ({
        eventId: `seed-${i}`,
        type: 'purchase',
        itemId: item.itemId,
        userId: `seed-${i % 3}`,
        ts: new Date(Date.now() - 3_600_000 + i * 1_000).toISOString(),
      })),
    });
    await stack.engines!.catchUp();
  });
  afterAll(async () => {
    await stack?.close();
    await database?.drop();
  });

  it('says there is no control rate to plan with before any list was served, and plans with a given one', async () => {
    const empty = await shop.admin.admin.experiments.plan.query({ surfaces: ['trending'] });
    expect(empty.baseRate).toBeNull();
    expect(empty.perVariant).toBeNull();
    expect(empty.days).toBeNull();
    expect(empty.notes.join(' ')).toMatch(/no control rate to plan with: give the rate you expect/);

    const given = await shop.admin.admin.experiments.plan.query({
      surfaces: ['trending'],
      baseRate: 0.1,
      minimumDetectableEffect: 0.2,
    });
    expect(given.baseRateSource).toBe('given');
    expect(given.perVariant).toBe(sequentialSampleSize({ baseRate: 0.1, minimumDetectableEffect: 0.2 }));
    expect(given.fixedHorizonPerVariant).toBe(3_839);
    // No traffic yet: the size is known, the duration is not.
    expect(given.days).toBeNull();
    expect(given.notes.join(' ')).toMatch(/duration is unknown/);
  });

  it("measures the control's conversion on the chosen surfaces and the days the smallest variant needs", async () => {
    // 40 visitors see the trending list, 10 of them buy afterwards: a 25 % control conversion rate.
    // 20 visitors of forUser only, who buy nothing: outside the surface planned, so not counted.
    for (let i = 0; i < 40; i++) await shop.browser.recs.trending.query({ anonymousId: `t-${i}`, k: 4 });
    for (let i = 0; i < 20; i++) await shop.browser.recs.forUser.query({ anonymousId: `f-${i}`, k: 4 });
    await stack.recLog!.flush();
    const ts = new Date().toISOString();
    await shop.admin.events.batch.mutate({
      events: Array.from({ length: 10 }, (_, i) => ({
        eventId: `buy-${i}`,
        type: 'purchase' as const,
        itemId: 'sku-1',
        anonymousId: `t-${i * 4}`,
        ts,
      })),
    });

    const plan = await shop.admin.admin.experiments.plan.query({
      surfaces: ['trending'],
      primaryMetric: 'conversionRate',
      minimumDetectableEffect: 0.1,
      weights: [1, 1, 2],
      traffic: 0.5,
    });
    expect(plan.baseRateSource).toBe('measured');
    expect(plan.baseRate).toBe(0.25);
    expect(plan.baseSample).toBe(40);
    expect(plan.traffic).toMatchObject({ lists: 40, visitors: 40 });
    // Everything was served within the last minutes: the traffic is read as one day's.
    expect(plan.observedDays).toBe(1);
    const n = sequentialSampleSize({ baseRate: 0.25, minimumDetectableEffect: 0.1 });
    expect(plan.perVariant).toBe(n);
    expect(plan.fixedHorizonPerVariant).toBe(
      fixedHorizonSampleSize({ baseRate: 0.25, minimumDetectableEffect: 0.1 }),
    );
    // 40 visitors a day, half of them in the experiment, a quarter of those in the smallest variant.
    expect(plan.smallestVariantPerDay).toBe(5);
    expect(plan.days).toBe(Math.ceil(n / 5));
    expect(plan.notes.join(' ')).toMatch(/only 40 visitors: treat the plan as a rough guide/);

    // A treatment's lists are not the control's: they count as traffic, not toward its rate.
    await shop.admin.admin.experiments.create.mutate({
      id: 'running',
      name: 'Hidden trending',
      variants: [
        { key: 'base', kind: 'control' },
        { key: 'off', kind: 'surface', enabled: false },
      ],
      target: { surfaces: ['trending'] },
    });
    await shop.admin.admin.experiments.start.mutate({ id: 'running' });
    for (let i = 0; i < 30; i++) await shop.browser.recs.trending.query({ anonymousId: `x-${i}`, k: 4 });
    await stack.recLog!.flush();
    const after = await shop.admin.admin.experiments.plan.query({ surfaces: ['trending'] });
    const results = await shop.admin.admin.experiments.results.query({ id: 'running' });
    const control = results.variants.find((v) => v.key === 'base')!;
    expect(after.traffic.lists).toBe(70);
    expect(after.baseSample).toBe(40 + control.visitors);
    await shop.admin.admin.experiments.complete.mutate({ id: 'running' });

    // CTR is planned per list, from clicks that name the list.
    const ctr = await shop.admin.admin.experiments.plan.query({
      surfaces: ['forUser'],
      primaryMetric: 'ctr',
    });
    expect(ctr.baseRate).toBe(0);
    expect(ctr.perVariant).toBeNull();
    expect(ctr.notes.join(' ')).toMatch(/was 0 over 20 lists/);
  });

  it('cannot plan revenue per visitor, nor a lift past 100 %, and says why', async () => {
    const revenue = await shop.admin.admin.experiments.plan.query({ primaryMetric: 'revenuePerVisitor' });
    expect(revenue.perVariant).toBeNull();
    expect(revenue.notes.join(' ')).toMatch(/Revenue per visitor has no planner/);
    const tooMuch = await shop.admin.admin.experiments.plan.query({
      baseRate: 0.6,
      minimumDetectableEffect: 1,
    });
    expect(tooMuch.perVariant).toBeNull();
    expect(tooMuch.notes.join(' ')).toMatch(/would exceed 100 %: choose a smaller minimum detectable effect/);
  });

  it('refuses bad input with a 400 that names the field and what to give', async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ minimumDetectableEffect: 0 }, /minimumDetectableEffect: at least 0.001/],
      [{ weights: [1] }, /weights: an experiment needs a control and at least one other variant/],
      [{ traffic: 2 }, /traffic: at most 1/],
      [{ lookbackDays: 1.5 }, /lookbackDays: a whole number of days/],
      [{ baseRate: 1 }, /baseRate: a rate below 1/],
      [{ surfaces: ['home'] }, /surfaces\.0/],
      [{ primaryMetric: 'bundleAcceptance' }, /primaryMetric/],
      [{ variants: [] }, /variants/],
    ];
    for (const [input, message] of cases) {
      const refused = await failure(shop.admin.admin.experiments.plan.query(input as never));
      expect(refused.status, JSON.stringify(input)).toBe(400);
      expect(refused.message).toMatch(message);
    }
  });
});
