import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningStorefront, startShoppers, startStorefront } from '@recsys/storefront';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** The simulated shoppers `pnpm start` runs, so the admin console's charts are never empty. */
describe('demo shoppers', () => {
  let dataDir: string;
  let shop: RunningStorefront;
  const errors: unknown[] = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'recsys-shoppers-'));
    shop = await startStorefront({
      port: 0,
      dataDir,
      databaseUrl: null,
      embeddings: { kind: 'off' },
      seed: { items: 300, events: 6000 },
      shoppers: { burst: 80, everyMs: 0, onError: (e) => errors.push(e) },
    });
  });

  afterAll(async () => {
    await shop?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("fills the console overview's served lists and funnel with visits attributed to their lists", async () => {
    await shop.shoppers!.ready;
    expect(errors).toEqual([]);
    const done = shop.shoppers!.stats();
    expect(done.visits).toBe(80);
    // The funnel narrows but is not empty at any step (the seeded choices make it so for this seed).
    expect(done.impressions).toBeGreaterThan(done.clicks);
    expect(done.clicks).toBeGreaterThan(done.adds);
    expect(done.adds).toBeGreaterThanOrEqual(done.purchases);
    expect(done.purchases).toBeGreaterThan(0);

    // Served lists reach the log in batches: wait until all of them are there, then every attributed
    // event is counted for the list it names.
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    await expect
      .poll(async () => sum((await shop.api.admin.overview.query({ range: '1h' })).lists.served), {
        timeout: 60_000,
      })
      .toBe(done.lists);
    const overview = await shop.api.admin.overview.query({ range: '1h' });
    expect(sum(overview.funnel.impressions)).toBe(done.impressions);
    expect(sum(overview.funnel.clicks)).toBe(done.clicks);
    expect(sum(overview.funnel.adds)).toBe(done.adds);
    expect(sum(overview.funnel.purchases)).toBe(done.purchases);
    // Several widgets' surfaces, each with its own lists.
    const surfaces = overview.surfaces.filter((s) => s.lists > 0).map((s) => s.surface);
    expect(surfaces.length).toBeGreaterThanOrEqual(3);
  });

  it('goes on visiting at its pace after the burst, until stopped', async () => {
    const more = startShoppers(shop.api, shop.catalog, {
      burst: 0,
      everyMs: 20,
      seed: 3,
      onError: (e) => errors.push(e),
    });
    await expect.poll(() => more.stats().visits, { timeout: 60_000 }).toBeGreaterThanOrEqual(3);
    await more.stop();
    expect(errors).toEqual([]);
  });
});
