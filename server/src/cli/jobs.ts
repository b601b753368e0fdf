import { type Command, InvalidArgumentError, Option } from 'commander';
import { UserError } from '../errors';
import type { JobRun } from '../jobs/runs';
import type { JobListing } from '../jobs/service';
import { type GlobalOptions, withDatabase } from './context';

interface Target {
  namespace?: string;
  url?: string;
  key?: string;
}

/** The job operations, on the database here or on a running server (`admin.jobs.*`). */
interface JobsApi {
  list(): Promise<JobListing[]>;
  run(job: string, dryRun: boolean): Promise<JobRun>;
  history(job: string | undefined, limit: number): Promise<JobRun[]>;
}

const limitArg = (value: string) => {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 200)
    throw new InvalidArgumentError('use a whole number from 1 to 200.');
  return Number(value);
};

function withTarget(command: Command): Command {
  return command
    .option('-n, --namespace <id>', 'only this namespace (default: every namespace; with --url: the key’s)')
    .addOption(
      new Option('--url <url>', 'a running server to go through, instead of opening the database').env(
        'RECSYS_URL',
      ),
    )
    .addOption(new Option('--key <secretKey>', 'a secret key of the namespace, for --url').env('RECSYS_KEY'))
    .option('--json', 'print JSON');
}

const duration = (ms: number | null) =>
  ms === null ? '—' : ms < 1_000 ? `${ms} ms` : `${(ms / 1_000).toFixed(1)} s`;

/** One history line: when, which slot, how long, how it ended and what it did. */
export function formatRun(r: JobRun): string {
  const slot = r.slot ?? (r.dryRun ? 'manual, dry run' : 'manual');
  const scope = r.namespaceId ? ` [${r.namespaceId}]` : '';
  const what = r.outcome === 'failed' ? (r.error ?? '') : (r.summary ?? '');
  return `${r.id}\t${r.job}${scope}\t${slot}\t${r.startedAt}\t${duration(r.durationMs)}\t${r.outcome}\t${what}`;
}

/** `recsys jobs list | run <job> [--dry-run] | history [--job] [--limit]`. */
export function registerJobsCommand(program: Command, globals: () => GlobalOptions) {
  const jobs = program
    .command('jobs')
    .description(
      'scheduled jobs (guardrail evaluation, trace and served-list retention, bandit reallocation, bundle backfill): list, run now, history',
    );

  withTarget(jobs.command('list'))
    .description('every job with its schedule (UTC), next slot and latest run')
    .action((opts: Target & { json?: boolean }) =>
      withJobsApi(globals(), opts, async (api) => {
        const list = await api.list();
        if (opts.json) return console.log(JSON.stringify(list, null, 2));
        for (const j of list) {
          const last = j.lastRun ? `last: ${j.lastRun.outcome} at ${j.lastRun.startedAt}` : 'never ran';
          console.log(
            `${j.name}\t${j.schedule ?? 'off'}\t${j.nextSlot ? `next ${j.nextSlot}` : '—'}\t${last}\t${j.description}`,
          );
        }
      }),
    );

  withTarget(jobs.command('run <job>'))
    .description('run a job now (recorded in the history); exit 1 when it fails')
    .option('--dry-run', 'report what it would do and change nothing')
    .action((job: string, opts: Target & { json?: boolean; dryRun?: boolean }) =>
      withJobsApi(globals(), opts, async (api) => {
        const run = await api.run(job, opts.dryRun ?? false);
        if (run.outcome === 'failed') process.exitCode = 1;
        if (opts.json) return console.log(JSON.stringify(run, null, 2));
        const what = run.outcome === 'failed' ? `failed: ${run.error}` : run.summary;
        console.log(`${run.job}${run.dryRun ? ' (dry run)' : ''}: ${what} (${duration(run.durationMs)})`);
      }),
    );

  withTarget(jobs.command('history'))
    .description('job runs, newest first: slot, start, duration, outcome, what it did')
    .option('--job <job>', 'only this job')
    .option('--limit <n>', 'most runs to print', limitArg, 20)
    .action((opts: Target & { json?: boolean; job?: string; limit: number }) =>
      withJobsApi(globals(), opts, async (api) => {
        const runs = await api.history(opts.job, opts.limit);
        if (opts.json) return console.log(JSON.stringify(runs, null, 2));
        if (!runs.length) return console.log('No job has run yet.');
        for (const r of runs) console.log(formatRun(r));
      }),
    );
}

async function withJobsApi(
  globals: GlobalOptions,
  opts: Target,
  fn: (api: JobsApi) => Promise<void>,
): Promise<void> {
  if (opts.url) {
    const { openRemoteClient } = await import('./remote');
    const { client, call } = await openRemoteClient(opts.url, opts.key, opts.namespace);
    const j = client.admin.jobs;
    // The server checks the job name (and lists the jobs when it is wrong).
    type Name = Parameters<typeof j.run.mutate>[0]['job'];
    return fn({
      list: () => call(() => j.list.query()),
      run: (job, dryRun) => call(() => j.run.mutate({ job: job as Name, dryRun })),
      history: (job, limit) => call(() => j.history.query({ ...(job ? { job: job as Name } : {}), limit })),
    });
  }
  if (opts.key) {
    throw new UserError(
      'BAD_REQUEST',
      '--key is for --url (a running server); without --url the CLI opens the database directly.',
    );
  }
  return withDatabase(globals, async (database) => {
    const { createJobsService } = await import('../jobs/service');
    const { jobsFromEnv } = await import('../jobs/schedules');
    const { createLogger } = await import('../obs/logger');
    const setting = jobsFromEnv(process.env.RECSYS_JOBS);
    const service = createJobsService({
      database,
      log: createLogger({ level: process.env.LOG_LEVEL ?? 'warn' }),
      ...(setting === false ? {} : { schedules: setting.schedules ?? {} }),
    });
    const namespaceId = opts.namespace;
    await fn({
      list: () => service.list(namespaceId ? { namespaceId } : {}),
      run: (job, dryRun) => service.run(job, { namespaceId, dryRun }),
      history: (job, limit) => service.history({ job, limit, namespaceId }),
    });
  });
}
