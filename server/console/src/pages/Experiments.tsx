import { trpc } from '../api';
import { BASE } from '../router';
import { Empty, Page, Show, TableWrap, useAsync, When } from '../ui';

/** Every experiment, newest first, with its status. */
export function ExperimentsPage() {
  const experiments = useAsync(() => trpc.admin.experiments.list.query(), []);
  return (
    <Page title="Experiments">
      <Show value={experiments} what="experiments">
        {(list) =>
          list.length === 0 ? (
            <Empty>
              <p>
                No experiments yet. Create one with <code>recsys experiments create</code> (or{' '}
                <code>admin.experiments.create</code>); its results and controls appear here.
              </p>
            </Empty>
          ) : (
            <TableWrap>
              <table>
                <caption class="sr-only">Experiments, newest first</caption>
                <thead>
                  <tr>
                    <th scope="col">Experiment</th>
                    <th scope="col">Status</th>
                    <th scope="col">Variants</th>
                    <th scope="col">Primary metric</th>
                    <th scope="col">Started</th>
                  </tr>
                </thead>
                <tbody>
                  {list.map((x) => (
                    <tr key={x.id}>
                      <th scope="row">
                        <a href={`${BASE}/experiments/${encodeURIComponent(x.id)}`}>{x.name}</a>
                        <div class="sub">
                          <code>{x.id}</code>
                        </div>
                      </th>
                      <td>
                        <span class={`badge status-${x.status}`}>{x.status}</span>
                      </td>
                      <td>{x.variants.map((v) => v.key).join(', ')}</td>
                      <td>{x.primaryMetric}</td>
                      <td>
                        <When at={x.startedAt} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableWrap>
          )
        }
      </Show>
    </Page>
  );
}
