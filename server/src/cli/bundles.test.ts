import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BundleAcceptance } from '../bundles/acceptance';
import { openDatabase } from '../db/client';
import type { SeedQaResult } from '../lab/bundles/seedQa';
import { type CliStorage, openCliStorage, runRecsys, startTestServer } from '../testing';

let storage: CliStorage;
beforeAll(async () => {
  storage = await openCliStorage('recsys-bundles-');
});
afterAll(() => storage?.drop());
const recsys = (args: string[]) => runRecsys(args, { env: storage.env });

describe('recsys bundles', () => {
  it('seed-qa seeds bundles whose acceptance the acceptance command reads back, the same on a second run', async () => {
    const seeded = await recsys([
      'bundles',
      'seed-qa',
      '--slug',
      'qa-catalog',
      '--days',
      '3',
      '--per-day',
      '20',
      '--json',
    ]);
    expect(seeded.stderr).not.toMatch(/Error/);
    expect(seeded.code).toBe(0);
    const first = JSON.parse(seeded.stdout) as SeedQaResult;
    expect(first).toMatchObject({ namespaceId: 'qa-catalog', createdNamespace: true, bundlesServed: 60 });
    expect(first.newlyRecorded).toBe(60);
    expect(first.allAdded).toBeGreaterThan(0);
    expect(first.purchased).toBeGreaterThan(0);
    expect(first.purchased).toBeLessThanOrEqual(first.allAdded);

    const read = await recsys(['bundles', 'acceptance', '-n', 'qa-catalog', '--days', '3', '--json']);
    expect(read.code).toBe(0);
    const acceptance = JSON.parse(read.stdout) as BundleAcceptance;
    expect(acceptance.totals).toMatchObject({
      shown: 60,
      allAdded: first.allAdded,
      purchased: first.purchased,
      acceptance: first.purchased / 60,
    });
    expect(acceptance.byDay).toHaveLength(3);
    expect(acceptance.byDay.reduce((n, d) => n + d.shown, 0)).toBe(60);
    expect(acceptance.bundles.length).toBeGreaterThan(1);
    for (const b of acceptance.bundles) {
      expect(b.itemIds.length).toBeGreaterThanOrEqual(2);
      expect(b.bundleKey).toBe([...b.itemIds].sort().join(' + '));
    }

    // Deterministic: the same ids again, so nothing new is stored and the numbers stay.
    const again = JSON.parse(
      (
        await recsys([
          'bundles',
          'seed-qa',
          '--slug',
          'qa-catalog',
          '--days',
          '3',
          '--per-day',
          '20',
          '--json',
        ])
      ).stdout,
    ) as SeedQaResult;
    expect(again).toMatchObject({
      createdNamespace: false,
      newlyRecorded: 0,
      bundleEvents: 0,
      allAdded: first.allAdded,
    });

    const table = await recsys(['bundles', 'acceptance', '-n', 'qa-catalog', '--days', '3']);
    expect(table.stdout).toMatch(/all bundles\s+60\s+/);
    expect(table.stdout).toMatch(/add-all rate\s+acceptance/);

    // Backfill: a dry run stores nothing, the real run stores what acceptance computes.
    const backfill = (flag: string) =>
      recsys(['bundles', 'backfill', '-n', 'qa-catalog', '--lookback-days', '3', flag]);
    const dry = await backfill('--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(
      /^Would store \d+ bundle-day rows for "qa-catalog" .* dry run, nothing written/,
    );
    expect(dry.stdout).toMatch(/all bundles\s+60\s+/);
    const empty = await recsys(['bundles', 'acceptance', '-n', 'qa-catalog', '--days', '3', '--stored']);
    expect(empty.stdout).toMatch(/No stored acceptance .*: run recsys bundles backfill first/);
    const stored = await backfill('--json');
    expect(stored.code).toBe(0);
    expect(JSON.parse(stored.stdout)).toMatchObject({ dryRun: false, days: 3, replaced: 0 });
    const fast = JSON.parse(
      (await recsys(['bundles', 'acceptance', '-n', 'qa-catalog', '--days', '3', '--stored', '--json']))
        .stdout,
    ) as BundleAcceptance;
    expect(fast.stored).toBe(true);
    expect({ ...fast, computedAt: '', stored: undefined }).toEqual({
      ...acceptance,
      computedAt: '',
      stored: undefined,
    });
  }, 300_000);

  it('reads acceptance through a running server with --url and a secret key', async () => {
    const database = await openDatabase({ dataDir: 'memory://' });
    await database.migrate();
    const stack = await startTestServer(database, { engine: { encoder: null, pollIntervalMs: 100 } });
    try {
      const shop = await stack.tenant('cli-bundles');
      await shop.admin.items.upsert.mutate({
        items: ['a', 'b'].map((itemId) => ({ itemId, title: itemId, price: 5, currency: 'EUR' })),
      });
      await shop.admin.events.batch.mutate({
        events: [0, 1].flatMap((o) =>
          ['a', 'b'].map((itemId) => ({
            eventId: `o${o}-${itemId}`,
            type: 'purchase' as const,
            itemId,
            userId: `u${o}`,
            ts: new Date().toISOString(),
            meta: { orderId: `o${o}` },
          })),
        ),
      });
      await stack.engines!.catchUp();
      const served = await shop.browser.recs.bundle.query({ itemId: 'a', anonymousId: 'cli' });
      expect(served.items.map((i) => i.itemId)).toEqual(['a', 'b']);
      await stack.recLog!.flush();
      const remote = await recsys([
        'bundles',
        'acceptance',
        '--url',
        stack.url,
        '--key',
        shop.secretKey,
        '--json',
      ]);
      expect(remote.code).toBe(0);
      const result = JSON.parse(remote.stdout) as BundleAcceptance;
      expect(result.bundles).toEqual([
        expect.objectContaining({ bundleKey: 'a + b', shown: 1, allAdded: 0, purchased: 0, acceptance: 0 }),
      ]);
      const publishable = await recsys([
        'bundles',
        'acceptance',
        '--url',
        stack.url,
        '--key',
        shop.publishableKey,
      ]);
      expect(publishable.code).toBe(2);
      expect(publishable.stderr).toMatch(/secret key/);
      const backfilled = await recsys(['bundles', 'backfill', '--url', stack.url, '--key', shop.secretKey]);
      expect(backfilled.code).toBe(0);
      expect(backfilled.stdout).toMatch(
        /^Stored 1 bundle-day row for "cli-bundles" .*\(1 bundle on 1 day; replaced 0 stored before/,
      );
    } finally {
      await stack.close();
      await database.close();
    }
  }, 180_000);

  it('refuses a bad --days or --lookback-days, an unknown flag and a missing namespace with what to do', async () => {
    const days = await recsys(['bundles', 'acceptance', '-n', 'qa-catalog', '--days', '0']);
    expect(days.code).not.toBe(0);
    expect(days.stderr).toMatch(/whole number from 1 to 366/);
    const none = await recsys(['bundles', 'acceptance']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/-n <id>/);
    for (const bad of ['0', '367', 'abc', '2.5']) {
      const lookback = await recsys(['bundles', 'backfill', '-n', 'qa-catalog', '--lookback-days', bad]);
      expect(lookback.code).not.toBe(0);
      expect(lookback.stderr).toMatch(/--lookback-days.*whole number from 1 to 366/);
    }
    const unknown = await recsys(['bundles', 'backfill', '-n', 'qa-catalog', '--lookback', '3']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/unknown option '--lookback'/);
    const noNamespace = await recsys(['bundles', 'backfill', '--dry-run']);
    expect(noNamespace.code).toBe(2);
    expect(noNamespace.stderr).toMatch(/-n <id>/);
  }, 180_000);
});
