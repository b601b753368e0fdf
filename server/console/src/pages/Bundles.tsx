import { type Outputs, trpc } from '../api';
import { LineChart } from '../chart';
import { BASE, withQuery } from '../router';
import { Empty, Page, Show, Tiles, useAsync, When } from '../ui';

type Acceptance = Outputs['admin']['bundles']['acceptance'];
type Counts = Acceptance['totals'];
const PERIODS = ['7', '30', '90'] as const;
/** Cards drawn; the rest are counted in the totals (the API and CLI list every bundle). */
const SHOWN_BUNDLES = 12;
const percent = (v: number | null) => (v === null ? '—' : `${(v * 100).toFixed(1)}%`);

/** Every UTC day from `from` to `to` (`YYYY-MM-DD`), so a chart has a point for days with nothing served. */
function daysOf(from: string, to: string): string[] {
  const out: string[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += 86_400_000)
    out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}

function Funnel(props: { c: Counts }) {
  const { c } = props;
  return (
    <Tiles
      tiles={[
        ['Shown', String(c.shown)],
        ['All added', String(c.allAdded)],
        ['Purchased', String(c.purchased)],
        ['Acceptance', percent(c.acceptance)],
      ]}
    />
  );
}

/**
 * Bundle acceptance (`admin.bundles.acceptance`): for the period in the URL (`?days=7|30|90`), the
 * funnel shown → every item added → purchased, over all bundles and per bundle, each with its days
 * drawn.
 */
export function BundlesPage(props: { query: URLSearchParams }) {
  const asked = props.query.get('days') ?? '30';
  const days = (PERIODS as readonly string[]).includes(asked) ? asked : '30';
  const acceptance = useAsync(() => trpc.admin.bundles.acceptance.query({ days: Number(days) }), [days]);
  return (
    <Page title="Bundles">
      <nav aria-label="Period" class="ranges">
        {PERIODS.map((d) => (
          <a
            key={d}
            class="button"
            href={withQuery(`${BASE}/bundles`, { days: d })}
            aria-current={d === days ? 'page' : undefined}
          >
            Last {d} days
          </a>
        ))}
      </nav>
      <Show value={acceptance} what="bundle acceptance">
        {(a) => {
          const axis = daysOf(a.from, a.to);
          return a.bundles.length === 0 ? (
            <Empty>
              <p>
                No bundle was served from {a.from} to {a.to}. Bundles are <code>recs.bundle</code> answers
                (the bundle widget on product pages).
              </p>
            </Empty>
          ) : (
            <>
              <p class="hint">
                A bundle counts as all added when each of its items was added to a cart with the bundle's{' '}
                <code>meta.requestId</code>, as purchased when each was then bought. UTC days {a.from} to{' '}
                {a.to}; computed <When at={a.computedAt} />.
              </p>
              <Funnel c={a.totals} />
              {a.bundles.length > SHOWN_BUNDLES && (
                <p>
                  The {SHOWN_BUNDLES} bundles shown most of {a.bundles.length}; every one is in{' '}
                  <code>recsys bundles acceptance</code>.
                </p>
              )}
              <div class="charts">
                {a.bundles.slice(0, SHOWN_BUNDLES).map((b, i) => {
                  const byDay = new Map(b.days.map((d) => [d.day, d]));
                  const series = (pick: (c: Counts) => number) =>
                    axis.map((day) => {
                      const c = byDay.get(day);
                      return c ? pick(c) : 0;
                    });
                  return (
                    <section key={b.bundleKey} class="bundle" data-bundle={b.bundleKey}>
                      <LineChart
                        id={`bundle-${i}`}
                        title={b.bundleKey}
                        buckets={axis}
                        withDay
                        labelOf={(day) => day}
                        series={[
                          { name: 'shown', values: series((c) => c.shown) },
                          { name: 'all added', values: series((c) => c.allAdded) },
                          { name: 'purchased', values: series((c) => c.purchased) },
                        ]}
                        format={String}
                      />
                      <p>
                        Shown {b.shown}, all added {b.allAdded} ({percent(b.addAllRate)}), purchased{' '}
                        {b.purchased}: acceptance <strong>{percent(b.acceptance)}</strong>.
                      </p>
                    </section>
                  );
                })}
              </div>
            </>
          );
        }}
      </Show>
    </Page>
  );
}
