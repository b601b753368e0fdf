import { trpc } from '../api';
import { BASE, navigate, withQuery } from '../router';
import { DataTable, Empty, Page, Show, useAsync, When } from '../ui';

const FIELDS = [
  { name: 'requestId', label: 'Request id' },
  { name: 'userId', label: 'User id' },
  { name: 'itemId', label: 'Item id (shown or removed)' },
  { name: 'ruleId', label: 'Rule id' },
  { name: 'surface', label: 'Surface or placement' },
] as const;

/** Trace search: by request id, user, item and surface (all in the URL), newest first. */
export function TracesPage(props: { query: URLSearchParams }) {
  const q = props.query;
  const values = Object.fromEntries(FIELDS.map((f) => [f.name, q.get(f.name) ?? ''])) as Record<
    string,
    string
  >;
  const cursor = q.get('cursor') ?? '';
  const traces = useAsync(
    () =>
      trpc.admin.traces.search.query({
        ...Object.fromEntries(Object.entries(values).filter(([, v]) => v)),
        ...(cursor ? { cursor } : {}),
        limit: 20,
      }),
    [q.toString()],
  );

  function search(event: Event) {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const next = Object.fromEntries(FIELDS.map((f) => [f.name, String(form.get(f.name) ?? '').trim()]));
    navigate(withQuery('/traces', next));
  }

  return (
    <Page title="Traces">
      <search>
        <form class="filters search" onSubmit={search} aria-label="Find traces">
          {FIELDS.map((f) => (
            <label key={f.name}>
              {f.label}
              <input name={f.name} value={values[f.name]} />
            </label>
          ))}
          <button type="submit" class="primary">
            Search
          </button>
        </form>
      </search>
      <Show value={traces} what="traces">
        {({ traces: found, nextCursor }) =>
          found.length === 0 ? (
            <Empty>
              <p>
                {Object.values(values).some(Boolean)
                  ? 'No trace matches. Lists are traced when sampled (traceSampleRate), with explain, or with the x-recsys-trace: 1 header, and kept for traceRetentionDays.'
                  : 'No traces yet: they appear as lists are served.'}
              </p>
            </Empty>
          ) : (
            <>
              <DataTable
                caption="Traces, newest first"
                hiddenCaption
                columns={['Request', 'Served', 'Surface', 'Items', 'Rules']}
              >
                {found.map((t) => (
                  <tr key={t.requestId}>
                    <th scope="row">
                      <a href={`${BASE}/traces/${encodeURIComponent(t.requestId)}`}>
                        <code>{t.requestId}</code>
                      </a>
                    </th>
                    <td>
                      <When at={t.createdAt} />
                    </td>
                    <td>{t.surface}</td>
                    <td class="ids">
                      {(t.engine ?? t.bundle)?.items.map((i) => i.itemId).join(', ') || 'empty'}
                    </td>
                    <td>{t.rules.map((r) => r.ruleId).join(', ') || '—'}</td>
                  </tr>
                ))}
              </DataTable>
              {(nextCursor || cursor) && (
                <nav class="row" aria-label="Pages">
                  {cursor && <a href={`${BASE}${withQuery('/traces', values)}`}>Newest</a>}
                  {nextCursor && (
                    <a href={`${BASE}${withQuery('/traces', { ...values, cursor: nextCursor })}`}>
                      Older traces
                    </a>
                  )}
                </nav>
              )}
            </>
          )
        }
      </Show>
    </Page>
  );
}
