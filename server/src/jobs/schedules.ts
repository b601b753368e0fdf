import { Cron } from 'croner';
import { UserError } from '../errors';
import { BUILT_IN_JOBS, type JobDefinition } from './definitions';
import type { RunTimings } from './runs';

/** Each job's cron expression, or null when it is off. */
export type JobSchedules = Record<string, string | null>;

/**
 * How schedules are read: 5 fields (minute hour day month weekday) or 6 with seconds first, in UTC,
 * so that every replica computes the same slots whatever its local time zone.
 */
export function cronOf(expression: string): Cron {
  return new Cron(expression, { timezone: 'UTC', mode: '5-or-6-parts', paused: true });
}

/**
 * `name=<cron>` or `name=off`, from `--job` flags or `RECSYS_JOBS` (entries separated by `;`), e.g.
 * `guardrails=*\/2 * * * *;trace-retention=off`. Unknown names and bad expressions are refused with
 * what to write instead.
 */
export function parseJobSchedules(
  entries: readonly string[],
  jobs: readonly JobDefinition[],
): Partial<JobSchedules> {
  const out: Partial<JobSchedules> = {};
  const names = jobs.map((j) => j.name);
  for (const raw of entries) {
    const entry = raw.trim();
    if (!entry) continue;
    const eq = entry.indexOf('=');
    const name = eq < 0 ? entry : entry.slice(0, eq).trim();
    const value = eq < 0 ? '' : entry.slice(eq + 1).trim();
    if (!names.includes(name)) {
      throw new UserError(
        'BAD_REQUEST',
        `Unknown job "${name}" in "${entry}": the jobs are ${names.join(', ')}.`,
      );
    }
    if (!value) {
      throw new UserError(
        'BAD_REQUEST',
        `"${entry}": write ${name}=<cron expression> (e.g. ${name}=*/5 * * * *) or ${name}=off.`,
      );
    }
    out[name] = value === 'off' ? null : checkedCron(name, value);
  }
  return out;
}

/** Splits `RECSYS_JOBS` into entries; `off` alone means no scheduler in this process. */
export function jobScheduleEntries(env: string | undefined): string[] | false {
  if (env === undefined || env.trim() === '') return [];
  if (env.trim() === 'off') return false;
  return env.split(';');
}

function checkedCron(name: string, expression: string): string {
  try {
    cronOf(expression);
  } catch (error) {
    throw new UserError(
      'BAD_REQUEST',
      `Schedule of ${name} "${expression}" is not a cron expression (${(error as Error).message}); use 5 fields "minute hour day month weekday" (e.g. "*/5 * * * *"), or 6 with seconds first.`,
    );
  }
  return expression;
}

/** Every job's schedule: the override when given, else its default. */
export function resolveJobSchedules(
  jobs: readonly JobDefinition[],
  overrides: Partial<JobSchedules> = {},
): JobSchedules {
  const out: JobSchedules = {};
  for (const job of jobs) {
    const override = overrides[job.name];
    out[job.name] = override === undefined ? job.defaultSchedule : override;
  }
  return out;
}

/** Which scheduled jobs a process runs, and when. */
export interface JobsSetting extends RunTimings {
  /**
   * Schedules replacing the defaults: a cron expression (UTC; 5 fields, or 6 with seconds first) or
   * `null` for off, per job name.
   * @default {} (guardrails every 5 minutes, trace-retention and rec-log-retention hourly, bandit-reallocate every 30 minutes, bundle-backfill at 00:20)
   * @example { guardrails: '*\/2 * * * *', 'rec-log-retention': null }
   */
  schedules?: Partial<JobSchedules>;
}

/** The jobs setting `RECSYS_JOBS` gives: `off`, or `name=<cron>|off` entries separated by `;`. */
export function jobsFromEnv(value: string | undefined): JobsSetting | false {
  const entries = jobScheduleEntries(value);
  return entries && { schedules: parseJobSchedules(entries, BUILT_IN_JOBS) };
}
