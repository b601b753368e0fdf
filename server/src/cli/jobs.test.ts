import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../db/client';
import type { JobRun } from '../jobs/runs';
import {
  type CliStorage,
  getTestDatabaseTargets,
  openCliStorage,
  runRecsys,
  startTestServer,
  type TestTenant,
} from '../testing';
import { formatRun } from './jobs';

let storage: CliStorage;
beforeAll(async () => {
  storage = await openCliStorage('recsys-jobs-');
});
afterAll(() => storage?.drop());
const recsys = (...args: string[]) =>
  runRecsys(args, { env: { ...storage.env, RECSYS_JOBS: 'rec-log-retention=off' } });

describe('recsys jobs on the database', () => {
  it('lists the jobs with their schedules, runs one (dry or not) and prints the history', async () => {
    const list = await recsys('jobs', 'list');
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^guardrails\t\*\/5 \* \* \* \*\tnext \S+Z\tnever ran\t/m);
    // RECSYS_JOBS, as `recsys serve` reads it.
    expect(list.stdout).toMatch(/^rec-log-retention\toff\t—\tnever ran\t/m);

    const dry = await recsys('jobs', 'run', 'trace-retention', '--dry-run');
    expect(dry).toMatchObject({ code: 0 });
    expect(dry.stdout).toMatch(/^trace-retention \(dry run\): would delete 0 traces \(\d+ ms\)$/m);
    expect((await recsys('jobs', 'run', 'guardrails')).stdout).toMatch(
      /^guardrails: no running experiments/m,
    );

    const history = await recsys('jobs', 'history', '--json', '--limit', '5');
    const runs = JSON.parse(history.stdout) as JobRun[];
    expect(runs.map((r) => [r.job, r.trigger, r.dryRun, r.outcome, r.namespaceId])).toEqual([
      ['guardrails', 'manual', false, 'ok', null],
      ['trace-retention', 'manual', true, 'ok', null],
    ]);
    // The text form of the same history, one run a line.
    expect(runs.map(formatRun).at(-1)).toMatch(
      /^\d+\ttrace-retention\tmanual, dry run\t\S+Z\t\d+ ms\tok\twould delete 0 traces$/,
    );
  });

  it('refuses an unknown job with the names of the jobs (exit 2)', async () => {
    const out = await recsys('jobs', 'run', 'backfill');
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(
      /No job "backfill": the jobs are guardrails, trace-retention, rec-log-retention/,
    );
  });

  it('recsys serve refuses a schedule that is not a cron expression before it opens anything (exit 2)', async () => {
    const out = await recsys('serve', '--port', '0', '--job', 'guardrails=every five minutes');
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/Schedule of guardrails "every five minutes" is not a cron expression/);
  });
});

describe.each(getTestDatabaseTargets().slice(0, 1))(
  'recsys jobs through a running server ($name)',
  (target) => {
    let database: Database & { drop(): Promise<void> };
    let stack: Awaited<ReturnType<typeof startTestServer>>;
    let shop: TestTenant;

    beforeAll(async () => {
      database = await target.open();
      stack = await startTestServer(database);
      shop = await stack.tenant('cli-jobs');
    });
    afterAll(async () => {
      await stack?.close();
      await database?.drop();
    });

    it('runs a job for the key’s namespace and reads it back in the history', async () => {
      const remote = ['--url', stack.url, '--key', shop.secretKey];
      const out = await recsys('jobs', 'run', 'rec-log-retention', ...remote, '--json');
      expect(out.code).toBe(0);
      expect(JSON.parse(out.stdout)).toMatchObject({
        job: 'rec-log-retention',
        namespaceId: 'cli-jobs',
        outcome: 'ok',
        summary: 'deleted 0 served lists',
      });
      const history = await recsys('jobs', 'history', ...remote);
      expect(history.stdout).toMatch(/^\d+\trec-log-retention \[cli-jobs\]\tmanual\t/m);
    });
  },
);
