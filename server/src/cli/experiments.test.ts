import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../db/client';
import { getTestDatabaseTargets, startTestServer, type TestTenant } from '../testing';
import { parseGuardrail, parseVariant } from './experiments';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../../bin/recsys.js', import.meta.url));

async function recsys(...args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], {
      env: { ...process.env, DATABASE_URL: '' },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('recsys experiments: parsing the command line', () => {
  it('reads variants as key=kind[:argument][@weight]', () => {
    expect(parseVariant('control=control')).toEqual({ key: 'control', kind: 'control' });
    expect(parseVariant('retail=profile:online-retail@2')).toEqual({
      key: 'retail',
      kind: 'profile',
      profile: 'online-retail',
      weight: 2,
    });
    expect(parseVariant('v3=config:3')).toEqual({ key: 'v3', kind: 'config', version: 3 });
    expect(parseVariant('hidden=surface:off')).toEqual({ key: 'hidden', kind: 'surface', enabled: false });
    expect(parseVariant('summer=rules:summer-sale')).toEqual({
      key: 'summer',
      kind: 'rules',
      ruleSetId: 'summer-sale',
    });
    expect(parseVariant('kit=bundle:sku-2,sku-3:10%@2')).toEqual({
      key: 'kit',
      kind: 'bundle',
      partnerItemIds: ['sku-2', 'sku-3'],
      discountPercent: 10,
      weight: 2,
    });
    expect(parseVariant('kit=bundle:sku-2')).toEqual({
      key: 'kit',
      kind: 'bundle',
      partnerItemIds: ['sku-2'],
    });
    expect(() => parseVariant('retail=profile')).toThrow(/kind profile needs :<profile>/);
    expect(() => parseVariant('x=banana:1')).toThrow(
      /kind is one of control, config, profile, surface, rules/,
    );
  });

  it('reads guardrails as bounds on a metric', () => {
    expect(parseGuardrail('emptyListRate<=0.2')).toEqual({ metric: 'emptyListRate', max: 0.2 });
    expect(parseGuardrail('ctr>=0.01')).toEqual({ metric: 'ctr', min: 0.01 });
    expect(parseGuardrail('0.01<=ctr<=0.5')).toEqual({ metric: 'ctr', min: 0.01, max: 0.5 });
    expect(() => parseGuardrail('ctr=0.1')).toThrow(/metric>=min/);
    // Metric names with digits: the service guardrails.
    expect(parseGuardrail('p95LatencyMs<=250')).toEqual({ metric: 'p95LatencyMs', max: 250 });
    expect(parseGuardrail('errorRate<=0.01')).toEqual({ metric: 'errorRate', max: 0.01 });
  });
});

describe('recsys experiments simulate', () => {
  it('prints the A/A false-positive share of the always-valid test beside the peeked z-test, and exits 0 when it holds', async () => {
    const out = await recsys('experiments', 'simulate', '--aa', '--runs', '200', '--days', '30', '--json');
    expect(out.code).toBe(0);
    const r = JSON.parse(out.stdout) as {
      sequentialSignificantShare: number;
      peekedZTestSignificantShare: number;
      elapsedMs: number;
    };
    // 200 runs: 5% + three binomial standard deviations.
    expect(r.sequentialSignificantShare).toBeLessThanOrEqual(0.05 + 3 * Math.sqrt((0.05 * 0.95) / 200));
    expect(r.peekedZTestSignificantShare).toBeGreaterThan(r.sequentialSignificantShare + 0.1);
    expect(r.elapsedMs).toBeLessThan(20_000);
  });

  it('refuses --aa with an effect', async () => {
    const out = await recsys('experiments', 'simulate', '--aa', '--effect', '0.05');
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/--aa means no effect/);
  });
});

describe.each(getTestDatabaseTargets().slice(0, 1))(
  'recsys experiments through a running server ($name)',
  (target) => {
    let database: Database & { drop(): Promise<void> };
    let stack: Awaited<ReturnType<typeof startTestServer>>;
    let shop: TestTenant;

    beforeAll(async () => {
      database = await target.open();
      stack = await startTestServer(database, { engine: { encoder: null, pollIntervalMs: 100 } });
      shop = await stack.tenant('cli-exp');
      await shop.admin.items.upsert.mutate({
        items: [
          { itemId: 'a', title: 'A', price: 5 },
          { itemId: 'b', title: 'B', price: 7 },
        ],
      });
      await stack.engines!.catchUp();
    });
    afterAll(async () => {
      await stack?.close();
      await database?.drop();
    });

    it('creates, starts, pauses and reads results of an experiment, with every step in the change log', async () => {
      const remote = ['--url', stack.url, '--key', shop.secretKey];
      const created = await recsys(
        'experiments',
        'create',
        'home-blend',
        ...remote,
        '--name',
        'Retail blend on the home page',
        '--variant',
        'control=control',
        '--variant',
        'retail=profile:online-retail',
        '--surface',
        'forUser',
        '--metric',
        'conversionRate',
        '--mde',
        '0.1',
        '--guardrail',
        'emptyListRate<=0.5',
        '--guardrail',
        'p95LatencyMs<=5000',
      );
      expect(created.code, created.stderr).toBe(0);
      expect(created.stdout).toMatch(
        /Created home-blend \(draft\): control=control@1 retail=profile:online-retail@1/,
      );
      expect((await recsys('experiments', 'start', 'home-blend', ...remote)).stdout).toMatch(
        /home-blend is running/,
      );
      // Every other visitor's request names a segment.
      for (let i = 0; i < 20; i++) {
        await shop.browser.recs.forUser.query({
          anonymousId: `cli-${i}`,
          ...(i % 2 ? { traits: { segment: 'gold' } } : {}),
        });
      }
      await stack.recLog!.flush();
      const results = await recsys('experiments', 'results', 'home-blend', ...remote);
      expect(results.stdout).toMatch(/home-blend "Retail blend on the home page" — running/);
      expect(results.stdout).toMatch(/control \(control\)\s+control\s+1\s+\d+\s+\d+/);
      expect(results.stdout).toMatch(/retail\s+conversionRate\s+0\.0%\s+0\.0%\s+null/);
      expect(results.stdout).toMatch(/Sample ratio: χ² [\d.]+, p [\d.e-]+ — as configured/);
      const json = JSON.parse(
        (await recsys('experiments', 'results', 'home-blend', '--json', ...remote)).stdout,
      );
      expect(json.variants.reduce((s: number, v: { lists: number }) => s + v.lists, 0)).toBe(20);
      // --by and --custom reach the server: every list was on forUser; nobody sent the custom event.
      const sliced = await recsys(
        'experiments',
        'results',
        'home-blend',
        '--by',
        'surface',
        '--custom',
        'signup',
        ...remote,
      );
      expect(sliced.code, sliced.stderr).toBe(0);
      expect(sliced.stdout).toMatch(/By surface \(lift per slice with its always-valid interval/);
      expect(sliced.stdout).toMatch(/forUser\s+control\s+\d+\s+\d+/);
      expect(sliced.stdout).toMatch(/signup\s+retail\s+0\s+0\.0%\s+0/);
      const slicedJson = JSON.parse(
        (await recsys('experiments', 'results', 'home-blend', '--by', 'day', '--json', ...remote)).stdout,
      );
      expect(slicedJson.breakdown.by).toBe('day');
      expect(slicedJson.breakdown.slices.reduce((s: number, x: { lists: number }) => s + x.lists, 0)).toBe(
        20,
      );
      const bySegment = await recsys('experiments', 'results', 'home-blend', '--by', 'segment', ...remote);
      expect(bySegment.code, bySegment.stderr).toBe(0);
      expect(bySegment.stdout).toMatch(/By segment \(lift per slice with its always-valid interval/);
      expect(bySegment.stdout).toMatch(/\(none\)\s+(control|retail)\s+\d+/);
      expect(bySegment.stdout).toMatch(/gold\s+(control|retail)\s+\d+/);
      // How each variant was served: its p95 serving time and failed requests, over the whole
      // experiment and over the window the service guardrails judge (all of it was just served).
      expect(bySegment.stdout).toMatch(
        /Service \(requests assigned to each variant; the guardrails judge the last 60 min, since \d{4}-/,
      );
      expect(bySegment.stdout).toMatch(/retail\s+([\d.]+ ms)\s+0\s+0\.00%\s+\1\s+0\.00%/);
      const segmentJson = JSON.parse(
        (await recsys('experiments', 'results', 'home-blend', '--by', 'segment', '--json', ...remote)).stdout,
      );
      const segmentLists = (name: string) =>
        segmentJson.breakdown.slices
          .filter((x: { slice: string }) => x.slice === name)
          .reduce((s: number, x: { lists: number }) => s + x.lists, 0);
      expect([segmentLists('gold'), segmentLists('')]).toEqual([10, 10]);
      const byWeek = await recsys('experiments', 'results', 'home-blend', '--by', 'week', ...remote);
      expect(byWeek.code).toBe(2);
      expect(byWeek.stderr).toMatch(/breakdown: must be "day", "surface" or "segment"/);
      const guarded = await recsys('experiments', 'guardrails', ...remote);
      expect(guarded.stdout).toMatch(/home-blend\tok\tstreak 0 {2}below min sample: control, retail/);
      const paused = await recsys(
        'experiments',
        'pause',
        'home-blend',
        '--reason',
        'holiday freeze',
        ...remote,
      );
      expect(paused.stdout).toMatch(/home-blend is paused/);
      const shown = await recsys('experiments', 'show', 'home-blend', ...remote);
      expect(shown.stdout).toMatch(/pause\s+running → paused\s+by [0-9a-f]{16}\s+"holiday freeze"/);
      const again = await recsys('experiments', 'pause', 'home-blend', ...remote);
      expect(again.code).toBe(2);
      expect(again.stderr).toMatch(/is paused; "pause" applies to running experiments/);
    });

    it('creates a bandit, reallocates it (dry run first) and prints its allocation over time', async () => {
      const remote = ['--url', stack.url, '--key', shop.secretKey];
      const created = await recsys(
        'experiments',
        'create',
        'trend-bandit',
        ...remote,
        '--variant',
        'control=control',
        '--variant',
        'retail=profile:online-retail',
        '--surface',
        'trending',
        '--bandit',
        'ctr',
        '--holdout',
        '0.3',
        '--floor',
        '0.1',
      );
      expect(created.code, created.stderr).toBe(0);
      expect(created.stdout).toMatch(/control=control@0\.65 retail=profile:online-retail@0\.35/);
      expect(created.stdout).toMatch(/a bandit on ctr: 30% always on "control", at least 10% per arm/);
      await shop.admin.admin.experiments.start.mutate({ id: 'trend-bandit' });
      // Something to trend: two purchases.
      await shop.admin.events.batch.mutate({
        events: ['a', 'b'].map((itemId) => ({
          eventId: `tb-seed-${itemId}`,
          type: 'purchase' as const,
          itemId,
          userId: 'tb-seed',
          ts: new Date(Date.now() - 60_000).toISOString(),
        })),
      });
      await stack.engines!.catchUp();
      const lists = await Promise.all(
        Array.from({ length: 30 }, (_, i) => shop.browser.recs.trending.query({ anonymousId: `tb-${i}` })),
      );
      // Every "retail" list is clicked, no control list is.
      const events = lists
        .filter((l) => l.experiment?.variant === 'retail' && l.items[0])
        .map((l, i) => ({
          eventId: `tb-click-${i}`,
          type: 'click' as const,
          itemId: l.items[0]!.itemId,
          anonymousId: `tb-x-${i}`,
          ts: new Date().toISOString(),
          meta: { requestId: l.requestId },
        }));
      await shop.admin.events.batch.mutate({ events });
      await stack.recLog!.flush();
      const dry = await recsys('experiments', 'reallocate', 'trend-bandit', '--dry-run', ...remote);
      expect(dry.stdout).toMatch(
        /^trend-bandit\twould reallocate: control 30\.0%, retail 70\.0% \(was control 65\.0%, retail 35\.0%\)$/m,
      );
      const real = await recsys('experiments', 'reallocate', ...remote);
      expect(real.stdout).toMatch(/^trend-bandit\treallocated: control 30\.0%, retail 70\.0%/m);
      const shown = await recsys('experiments', 'allocations', 'trend-bandit', ...remote);
      expect(shown.stdout).toMatch(/Thompson sampling on ctr, 30% holdout on "control", floor 10% per arm/);
      expect(shown.stdout).toMatch(/^0\s+\S+Z\s+[0-9a-f]{16}\s+65\.0%\s+35\.0%$/m);
      expect(shown.stdout).toMatch(/^1\s+\S+Z\s+[0-9a-f]{16}\s+30\.0%\s+70\.0%$/m);
      expect(shown.stdout).toMatch(/^retail\s+\d+\s+\d+\s+100\.00%\s+100\.0%\s+70\.0%$/m);
      const json = JSON.parse(
        (await recsys('experiments', 'allocations', 'trend-bandit', '--json', ...remote)).stdout,
      );
      expect(json.history.map((h: { seq: number }) => h.seq)).toEqual([0, 1]);
    });
  },
);
