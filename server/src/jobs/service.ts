import type { Database } from '../db/client';
import { UserError } from '../errors';
import type { Logger } from '../obs/logger';
import { BUILT_IN_JOBS, type JobDefinition } from './definitions';
import {
  beginManualRun,
  DEFAULT_HEARTBEAT_MS,
  DEFAULT_STALE_AFTER_MS,
  defaultRunner,
  executeRun,
  type JobRun,
  listRuns,
  type RunQuery,
  type RunTimings,
} from './runs';
import { cronOf, type JobSchedules, resolveJobSchedules } from './schedules';

/** A job as `recsys jobs list` and `admin.jobs.list` show it. */
export interface JobListing {
  name: string;
  description: string;
  /** Its cron expression (UTC) in this process's configuration; null when off. */
  schedule: string | null;
  /** Its next slot (ISO-8601), null when off. */
  nextSlot: string | null;
  /** Its latest run (as the caller may see it), or null. */
  lastRun: JobRun | null;
}

/** Options of {@link createJobsService}. */
export interface JobsServiceOptions extends RunTimings {
  database: Database;
  log: Logger;
  /** @default BUILT_IN_JOBS */
  jobs?: readonly JobDefinition[];
  /** This process's schedules (shown by `list`). @default every job's default */
  schedules?: Partial<JobSchedules>;
  /** @default `<host>:<pid>` */
  runner?: string;
  /** See `JobContext.onExperimentPaused`. */
  onExperimentPaused?: (namespaceId: string, experimentId: string) => void;
  /** See `JobContext.onAllocationChanged`. */
  onAllocationChanged?: (namespaceId: string, experimentId: string) => void;
}

/**
 * List, run now and read the history of the jobs, over every namespace (`recsys jobs` on the
 * database) or limited to one (`namespaceId`: what `admin.jobs.*` pass for the caller's key).
 */
export function createJobsService(options: JobsServiceOptions) {
  const jobs = options.jobs ?? BUILT_IN_JOBS;
  const schedules = resolveJobSchedules(jobs, options.schedules);
  const runner = options.runner ?? defaultRunner();
  const find = (name: string) => {
    const job = jobs.find((j) => j.name === name);
    if (!job) {
      throw new UserError(
        'NOT_FOUND',
        `No job "${name}": the jobs are ${jobs.map((j) => j.name).join(', ')}.`,
      );
    }
    return job;
  };
  return {
    async list(scope: { namespaceId?: string | undefined } = {}): Promise<JobListing[]> {
      const now = new Date();
      return Promise.all(
        jobs.map(async (job) => {
          const schedule = schedules[job.name] ?? null;
          const [lastRun] = await listRuns(options.database, {
            job: job.name,
            limit: 1,
            namespaceId: scope.namespaceId,
          });
          return {
            name: job.name,
            description: job.description,
            schedule,
            nextSlot: schedule ? (cronOf(schedule).nextRun(now)?.toISOString() ?? null) : null,
            lastRun: lastRun ?? null,
          };
        }),
      );
    },

    /**
     * Runs a job now, in this process, and resolves with its recorded run (a failure is a `failed`
     * run, not a thrown error). Refused with 409 while a real run of it is going elsewhere.
     */
    async run(
      name: string,
      run: { namespaceId?: string | undefined; dryRun?: boolean | undefined; signal?: AbortSignal },
    ): Promise<JobRun> {
      const job = find(name);
      const now = new Date();
      const dryRun = run.dryRun ?? false;
      const begun = await beginManualRun(options.database, {
        job: job.name,
        namespaceId: run.namespaceId,
        dryRun,
        now,
        runner,
        staleAfterMs: options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS,
      });
      return executeRun(
        options.database,
        begun,
        job,
        {
          database: options.database,
          log: options.log,
          now,
          dryRun,
          namespaceId: run.namespaceId,
          signal: run.signal ?? new AbortController().signal,
          onExperimentPaused: options.onExperimentPaused,
          onAllocationChanged: options.onAllocationChanged,
        },
        { heartbeatMs: options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS, clock: () => new Date() },
      );
    },

    /** Runs, newest first. */
    history(query: RunQuery = {}): Promise<JobRun[]> {
      if (query.job !== undefined) find(query.job);
      return listRuns(options.database, query);
    },
  };
}

export type JobsService = ReturnType<typeof createJobsService>;
