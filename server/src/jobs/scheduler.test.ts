import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../db/client';
import { createLogger } from '../obs/logger';
import { getTestDatabaseTargets } from '../testing';
import type { JobContext, JobDefinition } from './definitions';
import { BUILT_IN_JOBS } from './definitions';
import { JobScheduler, type JobSchedulerOptions } from './scheduler';
import { jobsFromEnv, parseJobSchedules, resolveJobSchedules } from './schedules';

const log = createLogger({ level: 'silent' });
const T0 = Date.parse('2026-12-06T10:00:00.000Z');
const at = (seconds: number) => new Date(T0 + seconds * 1_000);

/** A job that counts its runs and can be made to fail, or to wait until released. */
function testJob(name: string) {
  const state = {
    runs: [] as Date[],
    fail: undefined as string | undefined,
    gate: undefined as Promise<void> | undefined,
  };
  const job: JobDefinition = {
    name,
    description: 'test job',
    defaultSchedule: '* * * * * *',
    async run(ctx: JobContext) {
      state.runs.push(ctx.now);
      if (state.gate) {
        await Promise.race([
          state.gate,
          new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason))),
        ]);
      }
      if (state.fail) throw new Error(state.fail);
      return { summary: `run ${state.runs.length}`, byNamespace: {} };
    },
  };
  return { job, state };
}

describe('job schedules', () => {
  it('reads name=<cron> and name=off, and refuses unknown jobs and bad expressions with what to write', () => {
    expect(parseJobSchedules(['guardrails=*/2 * * * *', ' trace-retention=off '], BUILT_IN_JOBS)).toEqual({
      guardrails: '*/2 * * * *',
      'trace-retention': null,
    });
    expect(() => parseJobSchedules(['backfill=* * * * *'], BUILT_IN_JOBS)).toThrow(
      /Unknown job "backfill".*the jobs are guardrails, trace-retention, rec-log-retention/,
    );
    expect(() => parseJobSchedules(['guardrails=every 5 minutes'], BUILT_IN_JOBS)).toThrow(
      /not a cron expression.*5 fields/,
    );
    expect(() => parseJobSchedules(['guardrails'], BUILT_IN_JOBS)).toThrow(/guardrails=<cron expression>/);
  });

  it('fills every job not named with its default, and RECSYS_JOBS=off turns the scheduler off', () => {
    expect(resolveJobSchedules(BUILT_IN_JOBS, { 'rec-log-retention': null })).toEqual({
      guardrails: '*/5 * * * *',
      'trace-retention': '10 * * * *',
      'rec-log-retention': null,
      'bandit-reallocate': '*/30 * * * *',
      'bundle-backfill': '20 0 * * *',
    });
    expect(jobsFromEnv('off')).toBe(false);
    expect(jobsFromEnv(undefined)).toEqual({ schedules: {} });
    expect(jobsFromEnv('guardrails=* * * * *;trace-retention=off')).toEqual({
      schedules: { guardrails: '* * * * *', 'trace-retention': null },
    });
  });
});

describe.each(getTestDatabaseTargets())('the job scheduler on $name', (target) => {
  let database: Database & { drop(): Promise<void>; url?: string };
  /** A second connection pool on the same database: another replica (PGlite: the same instance). */
  let replicaDatabase: Database;
  const schedulers: JobScheduler[] = [];
  const scheduler = (
    options: Partial<JobSchedulerOptions> & { jobs: JobDefinition[] },
    db: Database = database,
  ) => {
    const s = new JobScheduler({ database: db, log, ...options });
    schedulers.push(s);
    return s;
  };
  const history = (job: string) =>
    database.query<{ slot: string; outcome: string; runner: string; error: string | null; summary: string }>(
      `SELECT to_char(slot AT TIME ZONE 'UTC', 'HH24:MI:SS') AS slot, outcome, runner, error, summary
       FROM job_runs WHERE job = $1 ORDER BY slot, id`,
      [job],
    );

  beforeAll(async () => {
    database = await target.open();
    replicaDatabase = database.url ? await openDatabase({ url: database.url, poolSize: 4 }) : database;
  });
  beforeEach(async () => {
    await Promise.all(schedulers.splice(0).map((s) => s.close()));
  });
  afterAll(async () => {
    await Promise.all(schedulers.splice(0).map((s) => s.close()));
    if (replicaDatabase !== database) await replicaDatabase.close();
    await database?.drop();
  });

  it('runs each slot exactly once when two replicas tick at the same moments', async () => {
    const { job, state } = testJob('two-replicas');
    const a = scheduler({ jobs: [job], runner: 'replica-a' });
    const b = scheduler({ jobs: [job], runner: 'replica-b' }, replicaDatabase);
    for (let s = 1; s <= 10; s++) {
      const [fromA, fromB] = await Promise.all([a.tick(at(s)), b.tick(at(s))]);
      // One of the two claimed the slot and ran it; the other saw it taken.
      expect([fromA[0]?.claim, fromB[0]?.claim].sort()).toEqual(['elsewhere', 'ran']);
    }
    expect(state.runs.map((d) => d.getTime())).toEqual(
      Array.from({ length: 10 }, (_, i) => at(i + 1).getTime()),
    );
    const rows = await history('two-replicas');
    expect(rows.map((r) => r.slot)).toEqual(
      Array.from({ length: 10 }, (_, i) => `10:00:${String(i + 1).padStart(2, '0')}`),
    );
    expect(rows.every((r) => r.outcome === 'ok')).toBe(true);
  });

  it('runs each slot once with two replicas on real timers, every second', async () => {
    const { job, state } = testJob('real-timers');
    const a = scheduler({ jobs: [job], runner: 'timer-a' });
    const b = scheduler({ jobs: [job], runner: 'timer-b' }, replicaDatabase);
    a.start();
    b.start();
    // Three slots take three seconds; the deadline only stops a test that would otherwise hang.
    const deadline = Date.now() + 240_000;
    while (
      (await history('real-timers')).filter((r) => r.outcome === 'ok').length < 3 &&
      Date.now() < deadline
    ) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await Promise.all([a.close(), b.close()]);
    const rows = await history('real-timers');
    expect(rows.filter((r) => r.outcome === 'ok').length).toBeGreaterThanOrEqual(3);
    // Exactly once: no slot twice, and a run for every row that ran.
    expect(new Set(rows.map((r) => r.slot)).size).toBe(rows.length);
    expect(state.runs).toHaveLength(rows.filter((r) => r.outcome !== 'skipped').length);
  });

  it('records a failing run as failed with its message, and still runs the next slot', async () => {
    const { job, state } = testJob('flaky');
    const s = scheduler({ jobs: [job] });
    state.fail = 'the warehouse API said 502';
    const [first] = await s.tick(at(1));
    expect(first?.run).toMatchObject({ outcome: 'failed', error: 'the warehouse API said 502' });
    state.fail = undefined;
    const [second] = await s.tick(at(2));
    expect(second?.run).toMatchObject({ outcome: 'ok', summary: 'run 2' });
    expect((await history('flaky')).map((r) => [r.slot, r.outcome, r.error])).toEqual([
      ['10:00:01', 'failed', 'the warehouse API said 502'],
      ['10:00:02', 'ok', null],
    ]);
  });

  it('skips a slot while the previous run is still going, recording it once', async () => {
    const { job, state } = testJob('slow');
    let release!: () => void;
    state.gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const a = scheduler({ jobs: [job], runner: 'slow-a' });
    const b = scheduler({ jobs: [job], runner: 'slow-b' }, replicaDatabase);
    const running = a.tick(at(1));
    while (state.runs.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const [skipped] = await b.tick(at(2));
    expect(skipped?.claim).toBe('skipped');
    release();
    expect((await running)[0]?.run?.outcome).toBe('ok');
    const rows = await history('slow');
    expect(rows.map((r) => [r.slot, r.outcome])).toEqual([
      ['10:00:01', 'ok'],
      ['10:00:02', 'skipped'],
    ]);
    expect(rows[1]?.summary).toMatch(
      /^skipped: run \d+ \(slot 2026-12-06T10:00:01\.000Z\) on slow-a is still going/,
    );
    // The slot after that runs again.
    state.gate = undefined;
    expect((await b.tick(at(3)))[0]?.claim).toBe('ran');
  });

  it('does not let a crashed run block later slots: once its heartbeat is stale it is marked abandoned', async () => {
    const { job, state } = testJob('crashed');
    // What a process that died mid-run leaves behind: a running row whose heartbeat stopped.
    await database.query(
      `INSERT INTO job_runs (job, slot, trigger, outcome, runner, started_at, heartbeat_at)
       VALUES ('crashed', $1, 'schedule', 'running', 'dead-host:1', $1, $2)`,
      [at(1).toISOString(), at(5).toISOString()],
    );
    const s = scheduler({ jobs: [job], staleAfterMs: 60_000 });
    // Within a minute of its last heartbeat it may still be alive: the slot is skipped.
    expect((await s.tick(at(30)))[0]?.claim).toBe('skipped');
    // After that it is abandoned, and the next slot runs.
    expect((await s.tick(at(70)))[0]?.claim).toBe('ran');
    expect(state.runs).toHaveLength(1);
    const rows = await history('crashed');
    expect(rows[0]).toMatchObject({ slot: '10:00:01', outcome: 'failed' });
    expect(rows[0]?.error).toMatch(
      /^abandoned: no heartbeat since 2026-12-06T10:00:05\.000Z \(the process dead-host:1 stopped/,
    );
    expect(rows.at(-1)).toMatchObject({ slot: '10:01:10', outcome: 'ok' });
  });

  it('runs only the latest missed slot after a pause, never a backlog', async () => {
    const { job, state } = testJob('catch-up');
    const s = scheduler({ jobs: [job] });
    await s.tick(at(1));
    await s.tick(at(1.5));
    await s.tick(at(600));
    expect(state.runs.map((d) => d.toISOString())).toEqual([at(1).toISOString(), at(600).toISOString()]);
  });

  it('on close, tells a running job to stop at its safe point, waits for it and records the interruption', async () => {
    const { job, state } = testJob('interrupted');
    state.gate = new Promise<void>(() => {});
    const s = scheduler({ jobs: [job] });
    const running = s.tick(at(1));
    while (state.runs.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    await s.close();
    expect((await running)[0]?.run).toMatchObject({
      outcome: 'failed',
      error: expect.stringMatching(/^interrupted: the server shut down/),
    });
    // Closed: later slots are not claimed.
    expect(await s.tick(at(2))).toEqual([]);
  });
});
