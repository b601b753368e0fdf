import { trpc } from '../api';
import { BASE } from '../router';
import { DataTable, Empty, Page, Show, useAsync, When } from '../ui';

/** Every experiment, newest first, with its status. */
export function ExperimentsPage(props: { canWrite: boolean }) {
  const experiments = useAsync(() => trpc.admin.experiments.list.query(), []);
  return (
    <Page
      title="Experiments"
      actions={
        props.canWrite && (
          <a class="button primary" href={`${BASE}/experiments/new`}>
            New experiment
          </a>
        )
      }
    >
      <Show value={experiments} what="experiments">
        {(list) =>
          list.length === 0 ? (
            <Empty>
              <p>
                No experiments yet. Create one with <strong>New experiment</strong>,{' '}
                <code>recsys experiments create</code> or <code>admin.experiments.create</code>; its results
                and controls appear here.
              </p>
            </Empty>
          ) : (
            <DataTable
              caption="Experiments, newest first"
              hiddenCaption
              columns={['Experiment', 'Status', 'Variants', 'Primary metric', 'Started']}
            >
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
            </DataTable>
          )
        }
      </Show>
    </Page>
  );
}
