import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../db/client';
import { createJobsService } from '../jobs/service';
import { seedBundlesQa } from '../lab/bundles/seedQa';
import { createLogger } from '../obs/logger';
import { getTestDatabaseTargets } from '../testing';
import { type BundleAcceptance, bundleAcceptance } from './acceptance';
import { backfillBundleAcceptance, storedBundleAcceptance } from './backfill';

const NS = 'backfill-shop';
const DAYS = 4;

/** The acceptance without when it was computed or where it was read from. */
const numbers = ({ computedAt: _c, stored: _s, ...rest }: BundleAcceptance) => rest;

describe.each(getTestDatabaseTargets())('bundle acceptance backfill on $name', (target) => {
  let database: Database & { drop(): Promise<void> };
  let seededShown = 0;

  const storedRows = () =>
    database.query<Record<string, unknown>>(
      `SELECT namespace_id, day, bundle_key, item_ids, shown, all_added, purchased, purchase_window_days
       FROM bundle_acceptance_days ORDER BY namespace_id, day, bundle_key`,
    );

  beforeAll(async () => {
    database = await target.open();
    // Generated history, bundles served over the last DAYS days and what visitors did with them.
    const seeded = await seedBundlesQa(database, NS, { seed: 3, days: DAYS, perDay: 15 });
    seededShown = seeded.bundlesServed;
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('a dry run computes the period and writes nothing', async () => {
    const dry = await backfillBundleAcceptance(database, NS, { lookbackDays: DAYS, dryRun: true });
    expect(dry).toMatchObject({ namespaceId: NS, dryRun: true, days: DAYS, replaced: 0 });
    expect(dry.totals.shown).toBe(seededShown);
    expect(dry.rows).toBeGreaterThan(DAYS);
    expect(await storedRows()).toEqual([]);
  });

  it('stores per bundle and day exactly what the on-the-fly computation gives', async () => {
    const done = await backfillBundleAcceptance(database, NS, { lookbackDays: DAYS });
    expect(done).toMatchObject({ dryRun: false, replaced: 0 });
    expect(await storedRows()).toHaveLength(done.rows);

    const computed = await bundleAcceptance(database, NS, { days: DAYS });
    const stored = await storedBundleAcceptance(database, NS, { days: DAYS });
    expect(stored.stored).toBe(true);
    expect(computed.totals.purchased).toBeGreaterThan(0);
    expect(numbers(stored)).toEqual(numbers(computed));
    expect(done.totals).toEqual(computed.totals);
  });

  it('gives the same rows when run again, and drops a day whose bundles are gone', async () => {
    const before = await storedRows();
    const again = await backfillBundleAcceptance(database, NS, { lookbackDays: DAYS });
    expect(again.replaced).toBe(before.length);
    expect(await storedRows()).toEqual(before);

    // The oldest day's served bundles leave the log (retention): the next backfill removes its rows.
    const oldest = String(before[0]?.day);
    await database.query(
      `DELETE FROM rec_logs WHERE namespace_id = $1 AND surface = 'bundle'
         AND to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') = $2`,
      [NS, oldest],
    );
    const after = await backfillBundleAcceptance(database, NS, { lookbackDays: DAYS });
    expect(after.days).toBe(DAYS - 1);
    const rows = await storedRows();
    expect(rows.some((r) => r.day === oldest)).toBe(false);
    expect(rows).toEqual(before.filter((r) => r.day !== oldest));
    expect(numbers(await storedBundleAcceptance(database, NS, { days: DAYS }))).toEqual(
      numbers(await bundleAcceptance(database, NS, { days: DAYS })),
    );
  });

  it('runs as the bundle-backfill job, whose dry run changes nothing', async () => {
    const jobs = createJobsService({ database, log: createLogger({ level: 'silent' }) });
    const before = await storedRows();
    await database.query(`DELETE FROM bundle_acceptance_days WHERE day = $1`, [before.at(-1)?.day]);
    const dry = await jobs.run('bundle-backfill', { dryRun: true });
    expect(dry).toMatchObject({ outcome: 'ok', dryRun: true });
    expect(dry.summary).toMatch(/^would store \d+ bundle-days \(\d+ bundles shown\) in 1 namespace$/);
    expect((await storedRows()).length).toBeLessThan(before.length);

    const real = await jobs.run('bundle-backfill', { namespaceId: NS });
    expect(real.outcome).toBe('ok');
    expect(real.summary).toMatch(/^stored \d+ bundle-days/);
    expect(await storedRows()).toEqual(before);
  });
});
