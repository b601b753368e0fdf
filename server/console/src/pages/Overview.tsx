import { type Outputs, trpc } from '../api';
import { LineChart } from '../chart';
import { BASE, withQuery } from '../router';
import { DataTable, Empty, Page, Show, Tiles, useAsync } from '../ui';

type Overview = Outputs['admin']['overview'];
const RANGES = [
  ['1h', 'Last hour'],
  ['24h', 'Last 24 hours'],
  ['7d', 'Last 7 days'],
] as const;
type Range = (typeof RANGES)[number][0];

const sum = (values: readonly number[]) => values.reduce((a, v) => a + v, 0);
const ratio = (a: number, b: number) => (b > 0 ? a / b : null);
const percent = (v: number) => `${(v * 100).toFixed(v > 0 && v < 0.1 ? 2 : 1)}%`;
const count = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(v < 10 ? 2 : 1));
const ms = (v: number) => `${count(v)} ms`;
const share = (a: number, b: number) => {
  const r = ratio(a, b);
  return r === null ? '—' : percent(r);
};

function Charts(props: { o: Overview }) {
  const { o } = props;
  const withDay = o.range === '7d';
  const common = { buckets: o.buckets, withDay };
  const per = (values: readonly number[]) => values.map((v) => v / o.bucketMinutes);
  const rates = (numerators: readonly number[], denominators: readonly number[]) =>
    numerators.map((n, i) => ratio(n, denominators[i]!));
  const f = o.funnel;
  const m = o.bucketMinutes;
  const bucket = m === 1 ? 'minute' : m < 60 ? `${m} minutes` : `${m / 60} hours`;
  return (
    <div class="charts">
      <LineChart
        id="events"
        title="Events per minute, by type"
        {...common}
        series={o.events.map((e) => ({ name: e.type, values: per(e.counts) }))}
        format={count}
      />
      <LineChart
        id="lists"
        title={`Lists served per ${bucket}`}
        {...common}
        series={[
          { name: 'served', values: o.lists.served },
          { name: 'fallback filled', values: o.lists.fallback },
          { name: 'empty', values: o.lists.empty },
        ]}
        format={count}
      />
      <LineChart
        id="funnel"
        title={`Impressions and what followed, per ${bucket}`}
        {...common}
        series={[
          { name: 'impressions', values: f.impressions },
          { name: 'clicks', values: f.clicks },
          { name: 'adds to cart', values: f.adds },
          { name: 'purchases', values: f.purchases },
        ]}
        format={count}
      />
      <LineChart
        id="rates"
        title="CTR, add-to-cart and conversion (share of impressions)"
        {...common}
        series={[
          { name: 'CTR', values: rates(f.clicks, f.impressions) },
          { name: 'add-to-cart', values: rates(f.adds, f.impressions) },
          { name: 'conversion', values: rates(f.purchases, f.impressions) },
        ]}
        format={percent}
      />
      <LineChart
        id="shares"
        title="Fallback and empty-list share of served lists"
        {...common}
        series={[
          { name: 'fallback share', values: rates(o.lists.fallback, o.lists.served) },
          { name: 'empty share', values: rates(o.lists.empty, o.lists.served) },
        ]}
        format={percent}
      />
      <LineChart
        id="latency"
        title={`p95 serving time per ${bucket}, ms`}
        {...common}
        series={[{ name: 'p95 serving time', values: o.latencyP95MsByBucket }]}
        format={ms}
      />
      <LineChart
        id="freshness"
        title={`Freshness: longest event → index wait per ${bucket}, ms`}
        {...common}
        series={[{ name: 'longest wait', values: o.indexLagMaxMsByBucket }]}
        format={ms}
      />
    </div>
  );
}

function Totals(props: { o: Overview }) {
  const { o } = props;
  const f = o.funnel;
  const [impressions, clicks, adds, purchases] = [f.impressions, f.clicks, f.adds, f.purchases].map(sum) as [
    number,
    number,
    number,
    number,
  ];
  const lists = sum(o.lists.served);
  const events = sum(o.events.flatMap((e) => e.counts));
  const tiles: Array<[string, string]> = [
    ['Events', String(events)],
    ['Lists served', String(lists)],
    ['Impressions', String(impressions)],
    ['CTR', share(clicks, impressions)],
    ['Add-to-cart', share(adds, impressions)],
    ['Conversion', share(purchases, impressions)],
    ['Fallback share', share(sum(o.lists.fallback), lists)],
    ['Empty-list share', share(sum(o.lists.empty), lists)],
    ['Serving p95', o.latencyP95Ms === null ? '—' : ms(o.latencyP95Ms)],
    ['Longest index wait', o.indexLagMaxMs === null ? '—' : ms(o.indexLagMaxMs)],
  ];
  return <Tiles tiles={tiles} />;
}

/**
 * The landing page: what the shop's visitors did and what was served, over a range in the URL
 * (`?range=1h|24h|7d`), as charts with their numbers behind each.
 */
export function OverviewPage(props: { query: URLSearchParams }) {
  const asked = props.query.get('range');
  const range: Range = RANGES.some(([r]) => r === asked) ? (asked as Range) : '24h';
  const overview = useAsync(() => trpc.admin.overview.query({ range }), [range]);
  return (
    <Page title="Overview">
      <nav aria-label="Time range" class="ranges">
        {RANGES.map(([r, text]) => (
          <a
            key={r}
            class="button"
            href={withQuery(`${BASE}/overview`, { range: r })}
            aria-current={r === range ? 'page' : undefined}
          >
            {text}
          </a>
        ))}
      </nav>
      <Show value={overview} what="the overview">
        {(o) => {
          const quiet = o.events.length === 0 && sum(o.lists.served) === 0;
          return (
            <>
              <Totals o={o} />
              <p class="hint">
                Clicks, adds and purchases count when they name the served list they came from (
                <code>meta.requestId</code>); rates are shares of impressions. Serving time runs from the
                checked request to the finished list, as logged with each list; freshness is how long an event
                waited before an engine applied it (the slowest replica's, per minute); each server's HTTP
                latency is at <code>/metrics</code> (<code>recsys_request_duration_seconds</code>).
              </p>
              {quiet ? (
                <Empty>
                  <p>
                    No events and no served lists in this range.{' '}
                    {range !== '7d' && (
                      <a href={withQuery(`${BASE}/overview`, { range: '7d' })}>See the last 7 days.</a>
                    )}
                  </p>
                </Empty>
              ) : (
                <>
                  <Charts o={o} />
                  {o.surfaces.length > 0 && (
                    <DataTable
                      caption="By surface of the served list"
                      columns={[
                        'Surface',
                        'Lists',
                        'Fallback',
                        'Empty',
                        'Impressions',
                        'CTR',
                        'Add-to-cart',
                        'Conversion',
                      ]}
                    >
                      {o.surfaces.map((s) => (
                        <tr key={s.surface}>
                          <th scope="row">{s.surface}</th>
                          <td>{s.lists}</td>
                          <td>{share(s.fallback, s.lists)}</td>
                          <td>{share(s.empty, s.lists)}</td>
                          <td>{s.impressions}</td>
                          <td>{share(s.clicks, s.impressions)}</td>
                          <td>{share(s.adds, s.impressions)}</td>
                          <td>{share(s.purchases, s.impressions)}</td>
                        </tr>
                      ))}
                    </DataTable>
                  )}
                </>
              )}
            </>
          );
        }}
      </Show>
    </Page>
  );
}
