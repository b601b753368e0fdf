import { type Outputs, trpc } from '../api';
import { BASE, navigate, withQuery } from '../router';
import { DataTable, Empty, Notice, Page, Show, useAction, useAsync, When } from '../ui';

type JobRun = Outputs['admin']['jobs']['history'][number];
type JobName = Parameters<typeof trpc.admin.jobs.run.mutate>[0]['job'];

/** A run's duration: ms below a second, else seconds; "running" while it has none. */
function duration(run: JobRun): string {
  if (run.durationMs === null) return run.outcome === 'running' ? 'running' : '—';
  return run.durationMs < 1_000 ? `${run.durationMs} ms` : `${(run.durationMs / 1_000).toFixed(1)} s`;
}

function Outcome(props: { run: JobRun | null }) {
  const run = props.run;
  if (!run) return <span class="sub">never run</span>;
  return (
    <span class={`badge outcome-${run.outcome}`}>
      {run.outcome}
      {run.dryRun ? ' (dry run)' : ''}
    </span>
  );
}

/**
 * The scheduled jobs with their schedule, next slot and latest run; `?job=` shows that job's
 * runs. Operators and admins run a job now or as a dry run (the server refuses a viewer).
 */
export function JobsPage(props: { query: URLSearchParams; canWrite: boolean }) {
  const selected = props.query.get('job') ?? '';
  const jobs = useAsync(() => trpc.admin.jobs.list.query(), []);
  const known = jobs.status === 'ready' && jobs.data.some((j) => j.name === selected);
  const history = useAsync(
    () =>
      known ? trpc.admin.jobs.history.query({ job: selected as JobName, limit: 50 }) : Promise.resolve(null),
    [selected, known],
  );
  const action = useAction();

  async function run(job: JobName, dryRun: boolean) {
    const done = await action.run(
      () => trpc.admin.jobs.run.mutate({ job, dryRun }),
      (r) =>
        `${dryRun ? 'Dry run' : 'Run'} of ${job}: ${r.outcome} in ${duration(r)}${
          r.summary ? ` — ${r.summary}` : ''
        }${r.error ? ` — ${r.error}` : ''}`,
    );
    if (done) {
      jobs.reload();
      if (selected === job) history.reload();
      else navigate(withQuery('/jobs', { job }), true);
    }
  }

  return (
    <Page title="Jobs">
      <p class="hint">
        Schedules are cron expressions in UTC, set in the server's configuration. A dry run reports what the
        job would do and changes nothing.
      </p>
      <Notice message={action.message} />
      <Show value={jobs} what="jobs">
        {(list) =>
          list.length === 0 ? (
            <Empty>
              <p>This server has no scheduled jobs.</p>
            </Empty>
          ) : (
            <DataTable
              caption="Scheduled jobs"
              hiddenCaption
              columns={[
                'Job',
                'Schedule (UTC)',
                'Next run',
                'Last run',
                'Outcome',
                'Duration',
                props.canWrite && '',
              ]}
            >
              {list.map((job) => (
                <tr key={job.name} data-job={job.name}>
                  <th scope="row">
                    <a
                      href={withQuery(`${BASE}/jobs`, { job: job.name })}
                      aria-current={selected === job.name ? 'true' : undefined}
                    >
                      <code>{job.name}</code>
                    </a>
                    <div class="sub">{job.description}</div>
                  </th>
                  <td>{job.schedule ? <code>{job.schedule}</code> : 'off'}</td>
                  <td>
                    <When at={job.nextSlot} />
                  </td>
                  <td>
                    <When at={job.lastRun?.startedAt} />
                    {job.lastRun && <div class="sub">{job.lastRun.trigger}</div>}
                  </td>
                  <td>
                    <Outcome run={job.lastRun} />
                  </td>
                  <td>{job.lastRun ? duration(job.lastRun) : '—'}</td>
                  {props.canWrite && (
                    <td>
                      <span class="row">
                        <button
                          type="button"
                          disabled={action.busy}
                          onClick={() => run(job.name as JobName, false)}
                        >
                          Run now<span class="sr-only"> {job.name}</span>
                        </button>
                        <button
                          type="button"
                          disabled={action.busy}
                          onClick={() => run(job.name as JobName, true)}
                        >
                          Dry run<span class="sr-only"> {job.name}</span>
                        </button>
                      </span>
                    </td>
                  )}
                </tr>
              ))}
            </DataTable>
          )
        }
      </Show>
      {selected && jobs.status === 'ready' && !known && (
        <Empty>
          <p>
            No job <code>{selected}</code>; pick one of the jobs above.
          </p>
        </Empty>
      )}
      {known && (
        <section aria-labelledby="runs-heading">
          <h2 id="runs-heading">Runs of {selected}</h2>
          <Show value={history} what="runs">
            {(runs) =>
              !runs || runs.length === 0 ? (
                <Empty>
                  <p>
                    {selected} has not run yet{props.canWrite ? '; run it now or as a dry run above.' : '.'}
                  </p>
                </Empty>
              ) : (
                <DataTable
                  caption={`Runs of ${selected}, newest first`}
                  hiddenCaption
                  columns={['Started', 'Trigger', 'Outcome', 'Duration', 'Summary']}
                >
                  {runs.map((r) => (
                    <tr key={r.id}>
                      <td>
                        <When at={r.startedAt} />
                      </td>
                      <td>
                        {r.trigger}
                        {r.namespaceId ? '' : <div class="sub">every shop</div>}
                      </td>
                      <td>
                        <Outcome run={r} />
                      </td>
                      <td>{duration(r)}</td>
                      <td class="ids">
                        {r.summary ?? ''}
                        {r.error && <div class="bad">{r.error}</div>}
                      </td>
                    </tr>
                  ))}
                </DataTable>
              )
            }
          </Show>
        </section>
      )}
    </Page>
  );
}
