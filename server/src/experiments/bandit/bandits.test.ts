import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../db/client';
import { createJobsService } from '../../jobs/service';
import { createLogger } from '../../obs/logger';
import { failure, getTestDatabaseTargets, startTestServer, type TestTenant } from '../../testing';
import { assignmentDraws } from '../assign';

const catalog = Array.from({ length: 12 }, (_, i) => ({
  itemId: `sku-${i}`,
  title: `Item ${i}`,
  price: 10 + i,
  currency: 'EUR',
  category: i % 2 ? 'shoes' : 'socks',
}));

/** Planted click rates: "retail" is clearly better than the control and "same". */
const CLICK_RATE: Record<string, number> = { control: 0.05, same: 0.05, retail: 0.2 };
const HOLDOUT = 0.2;
const FLOOR = 0.05;

describe.each(getTestDatabaseTargets())('bandit experiments on $name', (target) => {
  let database: Database & { drop(): Promise<void> };
  let stack: Awaited<ReturnType<typeof startTestServer>>;
  let shop: TestTenant;
  const rng = xoroshiro128plus(2026);

  /** `n` new visitors each get a trending list and click its first item at their variant's planted rate. */
  async function traffic(round: number, n: number) {
    const lists: Array<Awaited<ReturnType<typeof shop.browser.recs.trending.query>>> = [];
    for (let i = 0; i < n; i += 10) {
      lists.push(
        ...(await Promise.all(
          Array.from({ length: Math.min(10, n - i) }, (_, j) =>
            shop.browser.recs.trending.query({ anonymousId: `r${round}-${i + j}`, k: 4 }),
          ),
        )),
      );
    }
    const events = lists.flatMap((list, i) => {
      const variant = list.experiment?.variant ?? 'none';
      const item = list.items[0];
      if (!item || uniformFloat64(rng) >= (CLICK_RATE[variant] ?? 0)) return [];
      return [
        {
          eventId: `click-${round}-${i}`,
          type: 'click' as const,
          itemId: item.itemId,
          anonymousId: `r${round}-${i}`,
          ts: new Date().toISOString(),
          meta: { requestId: list.requestId, rank: 1, experiment: 'home-bandit', variant },
        },
      ];
    });
    if (events.length) await shop.admin.events.batch.mutate({ events });
    await stack.recLog!.flush();
    return lists;
  }

  beforeAll(async () => {
    database = await target.open();
    stack = await startTestServer(database, { engine: { encoder: null, pollIntervalMs: 100 } });
    shop = await stack.tenant('bandit-shop');
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

  it('refuses a bandit without exactly one surface, or with a holdout and floor that need more than all the traffic', async () => {
    const variants = [
      { key: 'control', kind: 'control' as const },
      { key: 'same', kind: 'surface' as const, enabled: true },
    ];
    const noSurface = await failure(
      shop.admin.admin.experiments.create.mutate({ id: 'b-bad', name: 'x', variants, allocation: 'bandit' }),
    );
    expect(noSurface.status).toBe(400);
    expect(noSurface.message).toMatch(/target\.surfaces.*a bandit learns per surface/);
    const tooMuch = await failure(
      shop.admin.admin.experiments.create.mutate({
        id: 'b-bad',
        name: 'x',
        variants,
        target: { surfaces: ['trending'] },
        allocation: 'bandit',
        bandit: { holdout: 0.6, floor: 0.45 },
      }),
    );
    expect(tooMuch.status).toBe(400);
    expect(tooMuch.message).toMatch(/need 1\.05 of the traffic/);
    const settingsOnFixed = await failure(
      shop.admin.admin.experiments.create.mutate({
        id: 'b-bad',
        name: 'x',
        variants,
        bandit: { floor: 0.1 },
      }),
    );
    expect(settingsOnFixed.message).toMatch(/bandit settings need allocation "bandit"/);
    await shop.admin.admin.experiments.create.mutate({ id: 'fixed', name: 'Fixed', variants });
    const notBandit = await failure(shop.admin.admin.experiments.allocations.query({ id: 'fixed' }));
    expect(notBandit.status).toBe(400);
    expect(notBandit.message).toMatch(/fixed weights, not a bandit/);
  });

  it('moves traffic to the arm with a planted higher click rate over a few reallocations, the control keeping its holdout and every arm its floor', async () => {
    const created = await shop.admin.admin.experiments.create.mutate({
      id: 'home-bandit',
      name: 'Trending: which blend earns clicks',
      variants: [
        { key: 'control', kind: 'control' },
        { key: 'retail', kind: 'profile', profile: 'online-retail' },
        { key: 'same', kind: 'surface', enabled: true },
      ],
      target: { surfaces: ['trending'] },
      allocation: 'bandit',
      bandit: { metric: 'ctr', holdout: HOLDOUT, floor: FLOOR },
    });
    // Before any evidence: the holdout on the control and the rest split evenly.
    expect(created.allocation).toBe('bandit');
    expect(created.variants.map((v) => v.weight)).toEqual([HOLDOUT + 0.8 / 3, 0.8 / 3, 0.8 / 3]);
    await shop.admin.admin.experiments.start.mutate({ id: 'home-bandit' });

    // The holdout visitors: whatever the allocation, their draw falls in the control's share.
    const { salt } = await shop.admin.admin.experiments.get.query({ id: 'home-bandit' });
    const heldOut = (anonymousId: string) => assignmentDraws(salt, `a:${anonymousId}`)[1] < HOLDOUT;

    const shares: Array<Record<string, number>> = [];
    for (let round = 0; round < 4; round++) {
      const lists = await traffic(round, 240);
      for (const [i, list] of lists.entries()) {
        if (heldOut(`r${round}-${i}`)) expect(list.experiment?.variant).toBe('control');
      }
      const [done] = await shop.admin.admin.experiments.reallocate.mutate({ id: 'home-bandit' });
      expect(done?.outcome).toBe('reallocated');
      shares.push(done!.allocation!.weights);
    }
    const last = shares.at(-1)!;
    expect(Math.max(...Object.values(last))).toBe(last.retail);
    expect(last.retail).toBeGreaterThan(0.6);
    for (const s of shares) {
      expect(s.control).toBeGreaterThanOrEqual(HOLDOUT - 1e-12);
      for (const w of Object.values(s)) expect(w).toBeGreaterThanOrEqual(FLOOR - 1e-12);
      expect(Object.values(s).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
    }

    // The allocation over time: the creation and each reallocation, in order, with its evidence.
    const history = await shop.admin.admin.experiments.allocations.query({ id: 'home-bandit' });
    expect(history.settings).toEqual({ metric: 'ctr', holdout: HOLDOUT, floor: FLOOR });
    expect(history.history.map((h) => h.seq)).toEqual([0, 1, 2, 3, 4]);
    // The key that created it made the first allocation and asked for the others; the job is `job`.
    expect(new Set(history.history.map((h) => h.actor)).size).toBe(1);
    expect(history.history.slice(1).map((h) => h.weights)).toEqual(shares);
    const at = history.history.map((h) => Date.parse(h.at));
    expect(at).toEqual([...at].sort((a, b) => a - b));
    const retailArm = history.history.at(-1)!.arms.find((a) => a.key === 'retail')!;
    expect(retailArm.successes / retailArm.trials).toBeGreaterThan(0.1);
    expect(retailArm.probabilityBest).toBeGreaterThan(0.95);

    // Nothing new happened: the allocation stays (no new row, weights as they were).
    const [again] = await shop.admin.admin.experiments.reallocate.mutate({ id: 'home-bandit' });
    expect(again).toMatchObject({ outcome: 'unchanged', allocation: null, previous: last });

    // Results carry the history; the sample ratio is read against the allocation in effect when
    // each visitor arrived, so a moving split is not a mismatch.
    const results = await shop.admin.admin.experiments.results.query({ id: 'home-bandit' });
    expect(results.bandit?.history).toHaveLength(5);
    expect(results.variants.find((v) => v.key === 'retail')?.weight).toBe(last.retail);
    expect(results.variants.reduce((s, v) => s + v.visitors, 0)).toBe(4 * 240);
    expect(results.srm.mismatch).toBe(false);
    expect(results.notes.join(' ')).toMatch(/A bandit: weights follow ctr/);
  });

  it('learns from attributed purchases: trials are the visitors and successes the buyers the results count', async () => {
    await shop.admin.admin.experiments.create.mutate({
      id: 'buy-bandit',
      name: 'Which list sells',
      variants: [
        { key: 'control', kind: 'control' },
        { key: 'retail', kind: 'profile', profile: 'online-retail' },
      ],
      target: { surfaces: ['forUser'] },
      allocation: 'bandit',
      bandit: { metric: 'conversionRate', holdout: 0.1, floor: 0.05 },
    });
    await shop.admin.admin.experiments.start.mutate({ id: 'buy-bandit' });
    const lists = await Promise.all(
      Array.from({ length: 120 }, (_, i) =>
        shop.browser.recs.forUser.query({ anonymousId: `buyer-${i}`, k: 3 }),
      ),
    );
    // Half of "retail"'s visitors buy, a twentieth of the control's; each buyer clicks nothing.
    const events = lists.flatMap((list, i) => {
      const rate = list.experiment?.variant === 'retail' ? 0.5 : 0.05;
      if (uniformFloat64(rng) >= rate) return [];
      return [
        {
          eventId: `buy-${i}`,
          type: 'purchase' as const,
          itemId: 'sku-3',
          anonymousId: `buyer-${i}`,
          ts: new Date().toISOString(),
          value: 1,
          meta: { orderId: `o-${i}` },
        },
      ];
    });
    expect(events.length).toBeGreaterThan(10);
    await shop.admin.events.batch.mutate({ events });
    await stack.recLog!.flush();
    const [done] = await shop.admin.admin.experiments.reallocate.mutate({ id: 'buy-bandit' });
    const results = await shop.admin.admin.experiments.results.query({ id: 'buy-bandit' });
    for (const arm of done!.allocation!.arms) {
      const v = results.variants.find((x) => x.key === arm.key)!;
      expect(arm.trials).toBe(v.visitors);
      expect(arm.successes).toBe(Math.round((v.metrics.conversionRate ?? 0) * v.visitors));
    }
    expect(done!.allocation!.arms.reduce((s, a) => s + a.successes, 0)).toBe(events.length);
    expect(done!.allocation!.weights.retail).toBeGreaterThan(0.8);
    expect(done!.allocation!.weights.control).toBeGreaterThanOrEqual(0.1);
    // A completed bandit is left alone by the job.
    await shop.admin.admin.experiments.complete.mutate({ id: 'buy-bandit' });
    const [after] = await shop.admin.admin.experiments.reallocate.mutate({ id: 'buy-bandit' });
    expect(after).toMatchObject({ outcome: 'skipped', reason: 'it is completed' });
  });

  it('keeps each visitor on one variant within an allocation period, and the holdout on the control across periods', async () => {
    const { salt } = await shop.admin.admin.experiments.get.query({ id: 'home-bandit' });
    const visitors = Array.from({ length: 60 }, (_, i) => `sticky-${i}`);
    const variantsOf = () =>
      Promise.all(visitors.map((anonymousId) => shop.browser.recs.trending.query({ anonymousId, k: 3 })));
    const first = (await variantsOf()).map((l) => l.experiment?.variant);
    const second = (await variantsOf()).map((l) => l.experiment?.variant);
    expect(second).toEqual(first);
    expect(first.every((v) => v !== undefined)).toBe(true);

    // A new period: outcomes arrive, the job reallocates (a dry run first changes nothing).
    await traffic(9, 60);
    const jobs = createJobsService({ database, log: createLogger({ level: 'silent' }) });
    const before = await shop.admin.admin.experiments.allocations.query({ id: 'home-bandit' });
    const dry = await jobs.run('bandit-reallocate', { dryRun: true });
    expect(dry.outcome).toBe('ok');
    expect(dry.summary).toMatch(/^1 running bandit, would reallocate bandit-shop\/home-bandit$/);
    expect(await shop.admin.admin.experiments.allocations.query({ id: 'home-bandit' })).toEqual(before);
    const real = await shop.admin.admin.jobs.run.mutate({ job: 'bandit-reallocate' });
    expect(real.summary).toMatch(/reallocated bandit-shop\/home-bandit/);
    const after = await shop.admin.admin.experiments.allocations.query({ id: 'home-bandit' });
    expect(after.history).toHaveLength(before.history.length + 1);
    expect(after.history.at(-1)?.actor).toBe('job');

    const third = (await variantsOf()).map((l) => l.experiment?.variant);
    const fourth = (await variantsOf()).map((l) => l.experiment?.variant);
    expect(fourth).toEqual(third);
    visitors.forEach((v, i) => {
      if (assignmentDraws(salt, `a:${v}`)[1] < HOLDOUT) {
        expect(first[i]).toBe('control');
        expect(third[i]).toBe('control');
      }
    });
  });
});
