import { TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { updateNamespaceSettings } from '../auth/namespaces';
import type { Database } from '../db/client';
import { pruneRecLogs } from '../db/retention';
import { createLogger } from '../obs/logger';
import { getTestDatabaseTargets, startTestServer, type TestTenant } from '../testing';
import { guardrailsJob, recLogRetentionJob, traceRetentionJob } from './definitions';
import { JobScheduler } from './scheduler';
import { createJobsService } from './service';

const log = createLogger({ level: 'silent' });
const DAY = 86_400_000;

describe.each(getTestDatabaseTargets())('the built-in jobs on $name', (target) => {
  let database: Database & { drop(): Promise<void> };
  let stack: Awaited<ReturnType<typeof startTestServer>>;
  let shop: TestTenant;
  let retA: TestTenant;
  let retB: TestTenant;
  const schedulers: JobScheduler[] = [];
  /** The next "10 past the hour" slot: the trace-retention default, and a whole minute for the rest. */
  const slot = new Date(Math.ceil(Date.now() / 3_600_000) * 3_600_000 + 10 * 60_000);

  const count = async (table: 'rec_logs' | 'rec_traces', namespaceId: string) =>
    (
      await database.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE namespace_id = $1`, [
        namespaceId,
      ])
    )[0]!.n;
  const ids = async (table: 'rec_logs' | 'rec_traces', namespaceId: string) =>
    (
      await database.query<{ id: string }>(
        `SELECT request_id AS id FROM ${table} WHERE namespace_id = $1 ORDER BY 1`,
        [namespaceId],
      )
    ).map((r) => r.id);
  /** A served list and its trace, `daysAgo` before the slot. */
  const served = async (namespaceId: string, id: string, daysAgo: number, experimentId?: string) => {
    const createdAt = new Date(slot.getTime() - daysAgo * DAY).toISOString();
    await database.query(
      `INSERT INTO rec_logs (namespace_id, request_id, surface, items, experiment_id, variant, created_at)
       VALUES ($1, $2, 'similar', '[]', $3, $4, $5)`,
      [namespaceId, id, experimentId ?? null, experimentId ? 'control' : null, createdAt],
    );
    await database.query(
      `INSERT INTO rec_traces (namespace_id, request_id, surface, trace, created_at) VALUES ($1, $2, 'similar', '{}', $3)`,
      [namespaceId, id, createdAt],
    );
  };

  beforeAll(async () => {
    database = await target.open();
    stack = await startTestServer(database, { engine: { encoder: null, pollIntervalMs: 100 } });
    shop = await stack.tenant('job-shop');
    retA = await stack.tenant('ret-a');
    retB = await stack.tenant('ret-b');
    await shop.admin.items.upsert.mutate({ items: [{ itemId: 'a' }, { itemId: 'b' }, { itemId: 'c' }] });
    // Bought lately, so trending lists are not empty under the control.
    await shop.admin.events.batch.mutate({
      events: ['a', 'b', 'c'].map((itemId, i) => ({
        eventId: `seed-${i}`,
        type: 'purchase',
        itemId,
        userId: `buyer-${i}`,
        ts: new Date(Date.now() - 60_000 * (i + 1)).toISOString(),
      })),
    });
    await stack.engines!.catchUp();
  });
  afterAll(async () => {
    await Promise.all(schedulers.map((s) => s.close()));
    await stack?.close();
    await database?.drop();
  });

  it('the guardrail job pauses an experiment whose breach persists, as the on-demand check does; its dry run changes nothing', async () => {
    await shop.admin.admin.experiments.create.mutate({
      id: 'hide-list',
      name: 'No list on the home page',
      variants: [
        { key: 'control', kind: 'control' },
        { key: 'hidden', kind: 'surface', enabled: false },
      ],
      guardrails: { minSample: 5, consecutive: 2, rules: [{ metric: 'emptyListRate', max: 0.5 }] },
    });
    await shop.admin.admin.experiments.start.mutate({ id: 'hide-list' });
    const variantOf: Record<string, string> = {};
    for (let i = 0; i < 30; i++) {
      const list = await shop.browser.recs.trending.query({ anonymousId: `g-${i}` });
      variantOf[`g-${i}`] = list.experiment!.variant;
    }
    await stack.recLog!.flush();
    const experiment = () => shop.admin.admin.experiments.get.query({ id: 'hide-list' });

    const scheduler = new JobScheduler({
      database,
      log,
      jobs: [guardrailsJob],
      onExperimentPaused: (namespaceId) => stack.server.services.experiments?.invalidate(namespaceId),
    });
    schedulers.push(scheduler);
    const [first] = await scheduler.tick(new Date(slot.getTime() - 5 * 60_000));
    expect(first?.run).toMatchObject({
      outcome: 'ok',
      summary: 'evaluated 1 running experiment, 1 breaching in 1 namespace',
    });
    expect(await experiment()).toMatchObject({ status: 'running', breachStreak: 1 });

    // A dry run says the next evaluation pauses it, and leaves the streak and the status alone.
    const dry = await shop.admin.admin.jobs.run.mutate({ job: 'guardrails', dryRun: true });
    expect(dry).toMatchObject({ outcome: 'ok', dryRun: true, namespaceId: 'job-shop', trigger: 'manual' });
    expect(dry.summary).toMatch(/would pause job-shop\/hide-list/);
    expect(await experiment()).toMatchObject({ status: 'running', breachStreak: 1 });

    const [second] = await scheduler.tick(slot);
    expect(second?.run?.summary).toBe(
      'evaluated 1 running experiment, 1 breaching, paused job-shop/hide-list in 1 namespace',
    );
    const paused = await experiment();
    expect(paused.status).toBe('paused');
    expect(paused.changes.at(-1)).toMatchObject({ action: 'pause', actor: 'guardrails' });
    // Traffic is back on the control at once in this process.
    const hiddenVisitor = Object.keys(variantOf).find((v) => variantOf[v] === 'hidden')!;
    const after = await shop.browser.recs.trending.query({ anonymousId: hiddenVisitor });
    expect(after.experiment).toBeUndefined();
    expect(after.items.length).toBeGreaterThan(0);
  });

  it('the retention jobs delete only rows past each namespace retention, keeping the served lists of unfinished experiments; a dry run deletes nothing', async () => {
    await updateNamespaceSettings(database, 'ret-a', { traceRetentionDays: 7, recLogRetentionDays: 7 });
    await retA.admin.admin.experiments.create.mutate({
      id: 'still-on',
      name: 'Still on',
      variants: [
        { key: 'control', kind: 'control' },
        { key: 'off', kind: 'surface', enabled: false },
      ],
    });
    await served('ret-a', 'a-old', 8);
    await served('ret-a', 'a-old-experiment', 8, 'still-on');
    await served('ret-a', 'a-new', 6);
    await served('ret-b', 'b-ancient', 120);
    await served('ret-b', 'b-old', 31);
    await served('ret-b', 'b-mid', 10);

    const service = createJobsService({ database, log });
    const dryTraces = await service.run('trace-retention', { dryRun: true });
    expect(dryTraces).toMatchObject({ outcome: 'ok', dryRun: true, summary: 'would delete 4 traces' });
    const dryLists = await service.run('rec-log-retention', { dryRun: true });
    expect(dryLists).toMatchObject({ outcome: 'ok', summary: 'would delete 2 served lists' });
    expect(await count('rec_traces', 'ret-a')).toBe(3);
    expect(await count('rec_logs', 'ret-b')).toBe(3);

    const scheduler = new JobScheduler({ database, log, jobs: [traceRetentionJob, recLogRetentionJob] });
    schedulers.push(scheduler);
    const runs = await scheduler.tick(new Date(slot.getTime() + 30 * 60_000));
    expect(runs.map((r) => [r.job, r.run?.outcome, r.run?.summary])).toEqual([
      ['trace-retention', 'ok', 'deleted 4 traces'],
      ['rec-log-retention', 'ok', 'deleted 2 served lists'],
    ]);
    // Traces: 7 days in ret-a, the default 30 in ret-b. Served lists: 7 days in ret-a (but the running
    // experiment's are kept), the default 90 in ret-b.
    expect(await ids('rec_traces', 'ret-a')).toEqual(['a-new']);
    expect(await ids('rec_traces', 'ret-b')).toEqual(['b-mid']);
    expect(await ids('rec_logs', 'ret-a')).toEqual(['a-new', 'a-old-experiment']);
    expect(await ids('rec_logs', 'ret-b')).toEqual(['b-mid', 'b-old']);

    // Once the experiment is completed, its old served lists age out like the rest.
    await retA.admin.admin.experiments.start.mutate({ id: 'still-on' });
    await retA.admin.admin.experiments.complete.mutate({ id: 'still-on' });
    expect(await pruneRecLogs(database, { now: slot, namespaceId: 'ret-a' })).toEqual({
      deleted: 1,
      byNamespace: { 'ret-a': 1 },
    });
  });

  it('deletes in bounded batches until nothing old is left', async () => {
    for (let i = 0; i < 5; i++) await served('ret-b', `batch-${i}`, 100);
    expect(await pruneRecLogs(database, { now: slot, namespaceId: 'ret-b', batchSize: 2 })).toEqual({
      deleted: 5,
      byNamespace: { 'ret-b': 5 },
    });
    expect(await ids('rec_logs', 'ret-b')).toEqual(['b-mid', 'b-old']);
  });

  it('admin.jobs shows a namespace only its own part of a run over every namespace, and runs only for that namespace', async () => {
    const list = await retB.admin.admin.jobs.list.query();
    expect(list.map((j) => [j.name, j.schedule])).toEqual([
      ['guardrails', '*/5 * * * *'],
      ['trace-retention', '10 * * * *'],
      ['rec-log-retention', '40 * * * *'],
      ['bandit-reallocate', '*/30 * * * *'],
      ['bundle-backfill', '20 0 * * *'],
    ]);
    expect(list[1]?.nextSlot).toMatch(/:10:00\.000Z$/);

    // The scheduled trace-retention run above deleted 2 traces of ret-a and 2 of ret-b, and none of
    // job-shop; each key sees its own count.
    const [scheduled] = await retB.admin.admin.jobs.history.query({ job: 'trace-retention', limit: 1 });
    expect(scheduled).toMatchObject({ trigger: 'schedule', namespaceId: null, summary: 'deleted 2 traces' });
    const [fromShop] = await shop.admin.admin.jobs.history.query({ job: 'trace-retention', limit: 1 });
    expect(fromShop?.summary).toBe('nothing to do in this namespace');
    // Without a scope (the CLI on the database), the whole summary.
    const [whole] = await createJobsService({ database, log }).history({ job: 'trace-retention', limit: 1 });
    expect(whole?.summary).toBe('deleted 4 traces');

    await served('ret-a', 'a-older', 40);
    await served('ret-b', 'b-older', 40);
    const run = await retA.admin.admin.jobs.run.mutate({ job: 'trace-retention' });
    expect(run).toMatchObject({ outcome: 'ok', namespaceId: 'ret-a', summary: 'deleted 1 trace' });
    expect(await ids('rec_traces', 'ret-b')).toContain('b-older');
    // ret-a's manual run is not in ret-b's history.
    const bHistory = await retB.admin.admin.jobs.history.query({ job: 'trace-retention' });
    expect(bHistory.some((r) => r.namespaceId === 'ret-a')).toBe(false);

    await expect(retA.admin.admin.jobs.run.mutate({ job: 'backfill' as never })).rejects.toThrow(
      /a job is one of guardrails, trace-retention, rec-log-retention/,
    );
  });

  it('refuses a manual run with 409 while a run of the job is alive elsewhere, but not a dry run', async () => {
    const now = new Date();
    await database.query(
      `INSERT INTO job_runs (job, slot, trigger, outcome, runner, started_at, heartbeat_at)
       VALUES ('rec-log-retention', $1, 'schedule', 'running', 'other-host:7', $1, $1)`,
      [now.toISOString()],
    );
    const refused = await retA.admin.admin.jobs.run.mutate({ job: 'rec-log-retention' }).catch((e) => e);
    expect(refused).toBeInstanceOf(TRPCClientError);
    expect(refused.data?.httpStatus).toBe(409);
    expect(refused.message).toMatch(
      /rec-log-retention is running: run \d+ .* on other-host:7 is still going/,
    );
    const dry = await retA.admin.admin.jobs.run.mutate({ job: 'rec-log-retention', dryRun: true });
    expect(dry.outcome).toBe('ok');
  });
});
