import { type Outputs, trpc } from '../api';
import { BASE, navigate, withQuery } from '../router';
import {
  ConfirmButton,
  DataTable,
  Empty,
  ErrorBox,
  Loading,
  Notice,
  Page,
  Select,
  Show,
  useAction,
  useAsync,
  When,
} from '../ui';
import { METRICS, type Metric } from './experimentForm';

type Results = Outputs['admin']['experiments']['results'];
const pct = (x: number | null) => (x === null ? '—' : `${(x * 100).toFixed(2)} %`);
const signedPct = (x: number | null) => (x === null ? '…' : `${x > 0 ? '+' : ''}${(x * 100).toFixed(1)} %`);

/**
 * A lift and its always-valid interval as a horizontal bar around zero, with the numbers in text
 * beside it (the drawing is decoration for sighted readers; the text is what is read out).
 */
function IntervalBar(props: {
  estimate: number | null;
  ci: [number | null, number | null];
  significant: boolean;
}) {
  const [lo, hi] = props.ci;
  const span = Math.max(0.05, Math.abs(lo ?? 0), Math.abs(hi ?? 0), Math.abs(props.estimate ?? 0));
  const x = (v: number) => 100 + (v / span) * 95;
  return (
    <span class="interval">
      <svg viewBox="0 0 200 16" width="160" height="16" aria-hidden="true" focusable="false">
        <line x1="100" y1="0" x2="100" y2="16" class="zero" />
        {lo !== null && hi !== null && (
          <rect
            x={x(lo)}
            y="5"
            width={Math.max(1, x(hi) - x(lo))}
            height="6"
            class={props.significant ? 'ci sig' : 'ci'}
          />
        )}
        {props.estimate !== null && <circle cx={x(props.estimate)} cy="8" r="3.5" class="est" />}
      </svg>
      <span>
        {signedPct(props.estimate)} ({signedPct(lo)} to {signedPct(hi)})
        {props.significant ? ', significant' : ''}
      </span>
    </span>
  );
}

/** How each variant was served: failed requests, error rate, p95 serving time, empty and fallback lists. */
function ServiceTable(props: {
  caption: string;
  rows: ReadonlyArray<{
    key: string;
    failed: number;
    metrics: Results['service']['variants'][number]['metrics'];
  }>;
}) {
  return (
    <DataTable
      caption={props.caption}
      columns={[
        'Variant',
        'Failed requests',
        'Error rate',
        'p95 serving time',
        'Empty lists',
        'Fallback lists',
      ]}
    >
      {props.rows.map((v) => (
        <tr key={v.key}>
          <th scope="row">{v.key}</th>
          <td>{v.failed.toLocaleString()}</td>
          <td>{pct(v.metrics.errorRate)}</td>
          <td>{v.metrics.p95LatencyMs === null ? '—' : `${Number(v.metrics.p95LatencyMs.toFixed(1))} ms`}</td>
          <td>{pct(v.metrics.emptyListRate)}</td>
          <td>{pct(v.metrics.fallbackRate)}</td>
        </tr>
      ))}
    </DataTable>
  );
}

const BREAKDOWNS = [
  ['', 'variant only'],
  ['segment', 'segment'],
  ['surface', 'surface'],
  ['day', 'day (UTC)'],
] as const;

/**
 * Per slice (segment, surface or UTC day), each variant's lists, visitors and rate of one metric,
 * and its lift against the control in the slice with the always-valid interval the server computed.
 */
function BreakdownView(props: {
  breakdown: NonNullable<Results['breakdown']>;
  metric: Metric;
  control: string;
}) {
  const { by, slices, comparisons } = props.breakdown;
  const m = props.metric;
  const label = METRICS.find(([k]) => k === m)?.[1] ?? m;
  const rate = (x: number | null) => (m === 'revenuePerVisitor' ? (x === null ? '—' : x.toFixed(2)) : pct(x));
  return slices.length === 0 ? (
    <Empty>No list of this experiment has been served yet.</Empty>
  ) : (
    <DataTable
      caption={`By ${by}: ${label} per variant, and lift against the control (always-valid 95 % intervals)`}
      columns={[
        by[0]!.toUpperCase() + by.slice(1),
        'Variant',
        'Lists',
        'Visitors',
        label,
        'Lift against the control',
      ]}
    >
      {slices.map((s) => {
        const c = comparisons.find((x) => x.slice === s.slice && x.variant === s.variant && x.metric === m);
        return (
          <tr key={s.slice + s.variant}>
            <th scope="row">{by === 'segment' && s.slice === '' ? '(none)' : s.slice}</th>
            <td>
              {s.variant}
              {s.variant === props.control ? ' (control)' : ''}
            </td>
            <td>{s.lists.toLocaleString()}</td>
            <td>{s.visitors.toLocaleString()}</td>
            <td>{rate(s.metrics[m])}</td>
            <td>
              {c?.lift ? (
                <IntervalBar estimate={c.lift.estimate} ci={c.lift.ci} significant={c.lift.significant} />
              ) : (
                '—'
              )}
            </td>
          </tr>
        );
      })}
    </DataTable>
  );
}

/** Each variant against the guardrails, as the next evaluation will judge it. */
function GuardrailTable(props: { results: Results }) {
  const { guardrails: g, variants } = props.results;
  if (g.rules.length === 0) return null;
  return (
    <DataTable
      caption={`Guardrails now (${g.streak} of ${g.consecutive} breaching evaluations in a row pause it)`}
      columns={['Variant', 'Status']}
    >
      {variants.map(({ key }) => {
        const found = g.breaches.filter((b) => b.variant === key);
        return (
          <tr key={key}>
            <th scope="row">{key}</th>
            <td class={found.length ? 'bad' : undefined}>
              {g.undecided.includes(key)
                ? `undecided: fewer than ${g.minSample.toLocaleString()} visitors`
                : found.length
                  ? found
                      .map(
                        (b) =>
                          `${b.metric} ${Number(b.value.toFixed(4))} ${b.min !== undefined && b.value < b.min ? `< min ${b.min}` : `> max ${b.max}`}`,
                      )
                      .join('; ')
                  : 'within every bound'}
            </td>
          </tr>
        );
      })}
    </DataTable>
  );
}

function ResultsView(props: { results: Results }) {
  const r = props.results;
  return (
    <>
      <p>
        Sample ratio:{' '}
        {r.srm.mismatch ? (
          <strong class="bad">
            mismatch (p = {r.srm.pValue.toFixed(4)}): assignment or logging is broken; do not trust the
            results
          </strong>
        ) : (
          <>as configured (p = {r.srm.pValue.toFixed(3)})</>
        )}
        .
        {r.plannedVisitorsPerVariant !== null && (
          <> Planned: {r.plannedVisitorsPerVariant.toLocaleString()} visitors per variant.</>
        )}
      </p>
      <GuardrailTable results={r} />
      <DataTable
        caption="Exposures and rates per variant; seen: lists with an impression event (— when impressions were not sent)"
        columns={[
          'Variant',
          'Lists',
          'Visitors',
          'CTR',
          'Add to cart',
          'Conversion',
          'Seen lists',
          'Seen visitors',
          'Seen CTR',
          'Seen conversion',
        ]}
      >
        {r.variants.map((v) => (
          <tr key={v.key}>
            <th scope="row">
              {v.key}
              {v.key === r.control ? ' (control)' : ''}
            </th>
            <td>{v.lists.toLocaleString()}</td>
            <td>{v.visitors.toLocaleString()}</td>
            <td>{pct(v.metrics.ctr)}</td>
            <td>{pct(v.metrics.addToCartRate)}</td>
            <td>{pct(v.metrics.conversionRate)}</td>
            <td>{v.seen === null ? '—' : v.seen.toLocaleString()}</td>
            <td>{v.seenVisitors === null ? '—' : v.seenVisitors.toLocaleString()}</td>
            <td>{pct(v.seenMetrics?.ctr ?? null)}</td>
            <td>{pct(v.seenMetrics?.conversionRate ?? null)}</td>
          </tr>
        ))}
      </DataTable>
      <ServiceTable
        caption={`Recent service, the last ${r.service.windowMinutes} minutes (since ${new Date(r.service.since).toLocaleTimeString()}): what the service guardrails judge`}
        rows={r.service.variants}
      />
      <ServiceTable caption="Service per variant, over the whole experiment" rows={r.variants} />
      {r.comparisons.length > 0 && (
        <DataTable
          caption="Lift against the control, with always-valid 95 % intervals"
          columns={['Variant', 'Metric', 'Control', 'Variant', 'Relative lift']}
        >
          {r.comparisons.map((c) => (
            <tr key={c.variant + c.metric}>
              <th scope="row">{c.variant}</th>
              <td>
                {c.metric}
                {c.metric === r.experiment.primaryMetric ? ' (primary)' : ''}
              </td>
              <td>{c.control === null ? '—' : Number(c.control.toFixed(4))}</td>
              <td>{c.treatment === null ? '—' : Number(c.treatment.toFixed(4))}</td>
              <td>
                {c.lift ? (
                  <IntervalBar estimate={c.lift.estimate} ci={c.lift.ci} significant={c.lift.significant} />
                ) : (
                  (c.note ?? '—')
                )}
              </td>
            </tr>
          ))}
        </DataTable>
      )}
      {r.notes.length > 0 && (
        <ul class="notes">
          {r.notes.map((n) => (
            <li key={n}>{n}</li>
          ))}
        </ul>
      )}
      <p class="sub">
        Computed <When at={r.computedAt} />.
      </p>
    </>
  );
}

/** One experiment: status with pause/resume, results, and who changed what. */
export function ExperimentPage(props: { id: string; query: URLSearchParams; canWrite: boolean }) {
  const asked = props.query.get('by') ?? '';
  const by = BREAKDOWNS.some(([k]) => k === asked) ? asked : '';
  const metricAsked = props.query.get('metric') ?? '';
  const experiment = useAsync(() => trpc.admin.experiments.get.query({ id: props.id }), [props.id]);
  const results = useAsync(
    () =>
      trpc.admin.experiments.results.query({
        id: props.id,
        ...(by ? { breakdown: by as 'day' | 'surface' | 'segment' } : {}),
      }),
    [props.id, by],
  );
  const go = (values: Record<string, string>) =>
    navigate(
      withQuery(`/experiments/${encodeURIComponent(props.id)}`, { by, metric: metricAsked, ...values }),
      true,
    );
  const action = useAction();
  const back = (
    <p>
      <a href={`${BASE}/experiments`}>← All experiments</a>
    </p>
  );

  async function step(kind: 'start' | 'pause' | 'resume' | 'complete') {
    const done = await action.run(
      () =>
        trpc.admin.experiments[kind].mutate({
          id: props.id,
          reason: `${kind === 'start' ? 'started' : kind === 'complete' ? 'completed' : `${kind}d`} from the console`,
        }),
      (x) => `Experiment ${x.id} is now ${x.status}.`,
    );
    if (done) {
      experiment.reload();
      results.reload();
    }
  }

  if (experiment.status === 'loading')
    return (
      <Page title={`Experiment ${props.id}`}>
        {back}
        <Loading what="the experiment" />
      </Page>
    );
  if (experiment.status === 'error')
    return (
      <Page title={`Experiment ${props.id}`}>
        {back}
        {experiment.notFound ? (
          <Empty>{experiment.message}</Empty>
        ) : (
          <ErrorBox message={experiment.message} retry={experiment.reload} />
        )}
      </Page>
    );
  const x = experiment.data;
  const metric = (METRICS.some(([k]) => k === metricAsked) ? metricAsked : x.primaryMetric) as Metric;
  return (
    <Page
      title={x.name}
      actions={
        props.canWrite && (
          <>
            {x.status === 'draft' && (
              <button type="button" class="primary" disabled={action.busy} onClick={() => step('start')}>
                Start
              </button>
            )}
            {x.status === 'running' && (
              <button type="button" disabled={action.busy} onClick={() => step('pause')}>
                Pause
              </button>
            )}
            {x.status === 'paused' && (
              <button type="button" class="primary" disabled={action.busy} onClick={() => step('resume')}>
                Resume
              </button>
            )}
            {(x.status === 'running' || x.status === 'paused') && (
              <ConfirmButton
                verb="Complete"
                what={x.id}
                disabled={action.busy}
                onConfirm={() => step('complete')}
              />
            )}
          </>
        )
      }
    >
      {back}
      <p>
        <span class={`badge status-${x.status}`}>{x.status}</span> <code>{x.id}</code> ·{' '}
        {Math.round(x.traffic * 100)} % of traffic · primary metric {x.primaryMetric}
        {x.status === 'paused' ? ' · paused: every visitor sees the control' : ''}
        {x.status === 'draft' ? ' · a draft: nobody is in it until it is started' : ''}
      </p>
      {x.hypothesis && <p>{x.hypothesis}</p>}
      <Notice message={action.message} />
      <h2>Results</h2>
      <form class="filters" onSubmit={(e) => e.preventDefault()} aria-label="Break the results down">
        <Select label="Results by" value={by} options={BREAKDOWNS} onChange={(value) => go({ by: value })} />
        {by && (
          <Select
            label="Metric of the slices"
            value={metric}
            options={METRICS}
            onChange={(value) => go({ metric: value === x.primaryMetric ? '' : value })}
          />
        )}
      </form>
      <Show value={results} what="results">
        {(r) => (
          <>
            {r.breakdown && <BreakdownView breakdown={r.breakdown} metric={metric} control={r.control} />}
            <ResultsView results={r} />
          </>
        )}
      </Show>
      <h2>Changes</h2>
      {x.changes.length === 0 ? (
        <p>No changes recorded.</p>
      ) : (
        <ul>
          {x.changes.map((c) => (
            <li key={c.at + c.action}>
              <When at={c.at} />: {c.action}
              {c.fromStatus ? ` (${c.fromStatus} → ${c.toStatus})` : ''} by {c.actor}
              {typeof c.detail.reason === 'string' ? ` — ${c.detail.reason}` : ''}
              {c.action === 'notify' &&
                ` — webhook ${c.detail.host}: ${c.detail.delivered ? 'delivered' : `not delivered (${c.detail.status ?? c.detail.error})`}`}
            </li>
          ))}
        </ul>
      )}
    </Page>
  );
}
