import type { Cron } from 'croner';
import type { Database } from '../db/client';
import type { Logger } from '../obs/logger';
import { BUILT_IN_JOBS, type JobDefinition } from './definitions';
import {
  claimSlot,
  DEFAULT_HEARTBEAT_MS,
  DEFAULT_STALE_AFTER_MS,
  defaultRunner,
  executeRun,
  type JobRun,
  type RunTimings,
} from './runs';
import { cronOf, type JobSchedules, resolveJobSchedules } from './schedules';

/** Options of {@link JobScheduler}. */
export interface JobSchedulerOptions extends RunTimings {
  database: Database;
  log: Logger;
  /** @default BUILT_IN_JOBS */
  jobs?: readonly JobDefinition[];
  /**
   * Schedules replacing the jobs' defaults (`null` = off), e.g. from `parseJobSchedules`.
   * @default {} (every job on its default schedule)
   */
  schedules?: Partial<JobSchedules>;
  /**
   * The time: tests drive the scheduler with their own clock and {@link JobScheduler.tick}.
   * @default () => new Date()
   */
  clock?: () => Date;
  /** Names this process in the history. @default `<host>:<pid>` */
  runner?: string;
  /** See `JobContext.onExperimentPaused`. */
  onExperimentPaused?: (namespaceId: string, experimentId: string) => void;
  /** See `JobContext.onAllocationChanged`. */
  onAllocationChanged?: (namespaceId: string, experimentId: string) => void;
}

/** What one tick did about one job's due slot. */
export interface SlotOutcome {
  job: string;
  slot: string;
  /** `elsewhere`: another replica claimed the slot first. */
  claim: 'ran' | 'skipped' | 'elsewhere';
  /** The finished run, when this process ran it. */
  run?: JobRun;
}

/** Longest sleep between two looks at the clock, so a wall-clock jump is noticed within a minute. */
const MAX_SLEEP_MS = 60_000;

/**
 * Runs recurring jobs on cron schedules, each scheduled occurrence ("slot") exactly once however many
 * `recsys serve` processes share the database: every process computes the same slots (UTC), and the
 * first to insert the `(job, slot)` row of `job_runs` runs it (see `claimSlot`). Only the latest
 * slot is caught up after a pause: a process that starts, or wakes, late runs a missed slot once, never
 * a backlog. On embedded PGlite the one process claims every slot the same way.
 */
export class JobScheduler {
  private readonly jobs: Array<{ job: JobDefinition; cron: Cron }> = [];
  private readonly lastSlot = new Map<string, number>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly abort = new AbortController();
  private readonly clock: () => Date;
  private readonly runner: string;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** The schedules in force (`null` = off). */
  readonly schedules: JobSchedules;

  constructor(private readonly options: JobSchedulerOptions) {
    const jobs = options.jobs ?? BUILT_IN_JOBS;
    this.schedules = resolveJobSchedules(jobs, options.schedules);
    for (const job of jobs) {
      const expression = this.schedules[job.name];
      if (expression) this.jobs.push({ job, cron: cronOf(expression) });
    }
    this.clock = options.clock ?? (() => new Date());
    this.runner = options.runner ?? defaultRunner();
  }

  /**
   * Claims and starts every job whose latest slot at `now` this process has not handled yet. Resolves
   * once the runs it started have finished (the timer loop does not wait for that).
   */
  async tick(now: Date = this.clock()): Promise<SlotOutcome[]> {
    const started: Array<Promise<SlotOutcome>> = [];
    for (const { job, cron } of this.jobs) {
      if (this.closed) break;
      // The latest occurrence at or before now (croner excludes one exactly at its reference).
      const slot = cron.previousRuns(1, new Date(now.getTime() + 1))[0];
      if (!slot || slot.getTime() <= (this.lastSlot.get(job.name) ?? Number.NEGATIVE_INFINITY)) continue;
      // Set before the claim's await: an overlapping tick never claims the same slot twice.
      this.lastSlot.set(job.name, slot.getTime());
      started.push(this.claimAndRun(job, slot, now));
    }
    return Promise.all(started);
  }

  private async claimAndRun(job: JobDefinition, slot: Date, now: Date): Promise<SlotOutcome> {
    const base = { job: job.name, slot: slot.toISOString() };
    const staleAfterMs = this.options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
    const claim = await claimSlot(this.options.database, {
      job: job.name,
      slot,
      now,
      runner: this.runner,
      staleAfterMs,
    });
    if (!claim) return { ...base, claim: 'elsewhere' };
    if (claim.outcome === 'skipped') {
      this.options.log.warn(
        { job: job.name, slot: base.slot },
        `job ${job.name} skipped: its last run is still going`,
      );
      return { ...base, claim: 'skipped' };
    }
    const run = executeRun(
      this.options.database,
      claim,
      job,
      {
        database: this.options.database,
        log: this.options.log,
        now: slot,
        dryRun: false,
        namespaceId: undefined,
        signal: this.abort.signal,
        onExperimentPaused: this.options.onExperimentPaused,
        onAllocationChanged: this.options.onAllocationChanged,
      },
      { heartbeatMs: this.options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS, clock: this.clock },
    );
    this.inFlight.add(run);
    try {
      const finished = await run;
      this.options.log.info(
        { job: job.name, slot: base.slot, outcome: finished.outcome, durationMs: finished.durationMs },
        `job ${job.name}: ${finished.outcome === 'ok' ? finished.summary : `failed: ${finished.error}`}`,
      );
      return { ...base, claim: 'ran', run: finished };
    } finally {
      this.inFlight.delete(run);
    }
  }

  /** The next slot of each scheduled job after `now`. */
  nextSlots(now: Date = this.clock()): Array<{ job: string; next: Date | null }> {
    return this.jobs.map(({ job, cron }) => ({ job: job.name, next: cron.nextRun(now) }));
  }

  /** Starts the timer loop: it sleeps until the next slot of any job, then ticks. */
  start(): void {
    if (this.timer || this.closed || this.jobs.length === 0) return;
    const loop = () => {
      if (this.closed) return;
      const now = this.clock();
      const tick = this.tick(now).catch((error: unknown) => {
        // A claim that failed (the database unreachable) is retried at the next slot.
        this.options.log.warn({ err: error }, 'job scheduler tick failed');
      });
      this.inFlight.add(tick);
      void tick.finally(() => this.inFlight.delete(tick));
      const next = Math.min(...this.nextSlots(now).map((s) => s.next?.getTime() ?? Number.POSITIVE_INFINITY));
      // A few ms past the slot, so that the tick sees it as due; never longer than MAX_SLEEP_MS.
      const delay = Math.min(MAX_SLEEP_MS, Math.max(0, next - this.clock().getTime() + 5));
      this.timer = setTimeout(loop, delay);
      this.timer.unref();
    };
    loop();
    this.options.log.info(
      { jobs: Object.fromEntries(this.jobs.map(({ job }) => [job.name, this.schedules[job.name]])) },
      'job scheduler started',
    );
  }

  /**
   * Stops scheduling, tells running jobs to stop at their next safe point (between batches or
   * namespaces; each records `failed` with "interrupted"), and waits for them, so the database they
   * use is closed only after. A run cut short by a crash instead is marked abandoned by the next
   * replica that claims the job, once its heartbeat is older than `staleAfterMs`.
   */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.abort.abort();
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }
}
