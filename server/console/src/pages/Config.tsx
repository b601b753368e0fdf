import { type Outputs, trpc } from '../api';
import { BASE, withQuery } from '../router';
import { DataTable, Empty, Notice, Page, Show, useAction, useAsync, When } from '../ui';

type Version = Outputs['admin']['config']['list'][number];

/** `{ a: { b: 1 } }` → `{ 'a.b': '1' }`: every leaf by its dotted path, as JSON text. */
function flatten(value: unknown, prefix = '', into = new Map<string, string>()): Map<string, string> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [key, child] of Object.entries(value)) flatten(child, prefix ? `${prefix}.${key}` : key, into);
  } else if (prefix) {
    into.set(prefix, JSON.stringify(value));
  }
  return into;
}

/** The settings two stored versions set differently (an unset setting is the engine default). */
function diff(from: unknown, to: unknown): Array<{ path: string; from: string; to: string }> {
  const a = flatten(from);
  const b = flatten(to);
  const paths = [...new Set([...a.keys(), ...b.keys()])].sort();
  return paths
    .filter((p) => a.get(p) !== b.get(p))
    .map((p) => ({ path: p, from: a.get(p) ?? 'default', to: b.get(p) ?? 'default' }));
}

function Diff(props: { active: Version | undefined; selected: Version }) {
  const rows = diff(props.active?.config ?? {}, props.selected.config);
  const activeName = props.active ? `version ${props.active.version}` : 'engine defaults';
  if (rows.length === 0)
    return (
      <p>
        Version {props.selected.version} sets the same as the active configuration ({activeName}).
      </p>
    );
  return (
    <DataTable
      caption={`What version ${props.selected.version} changes against the active configuration (${activeName})`}
      columns={['Setting', 'Active now', `Version ${props.selected.version}`]}
    >
      {rows.map((r) => (
        <tr key={r.path} class="diff">
          <th scope="row">
            <code>{r.path}</code>
          </th>
          <td>
            <code>{r.from}</code>
          </td>
          <td>
            <code>{r.to}</code>
          </td>
        </tr>
      ))}
    </DataTable>
  );
}

/**
 * Configuration versions: the list with the active one marked, a version's differences from the
 * active one (`?version=N`), activate and roll back. Saving versions stays with the CLI and API.
 */
export function ConfigPage(props: { query: URLSearchParams; canWrite: boolean }) {
  const versions = useAsync(() => trpc.admin.config.list.query(), []);
  const action = useAction();
  const selectedVersion = Number(props.query.get('version') ?? Number.NaN);

  async function change(kind: 'activate' | 'rollback', version?: number) {
    const done = await action.run(
      () =>
        kind === 'activate'
          ? trpc.admin.config.activate.mutate({ version: version! })
          : trpc.admin.config.rollback.mutate(),
      (r) => (r.version === null ? 'Back to the engine defaults.' : `Version ${r.version} is active.`),
    );
    if (done) versions.reload();
  }

  return (
    <Page
      title="Configuration"
      actions={
        props.canWrite && (
          <button type="button" disabled={action.busy} onClick={() => change('rollback')}>
            Roll back
          </button>
        )
      }
    >
      <Notice message={action.message} />
      <Show value={versions} what="configuration versions">
        {(list) => {
          const active = list.find((v) => v.active);
          const selected = list.find((v) => v.version === selectedVersion);
          return list.length === 0 ? (
            <Empty>
              <p>
                No stored versions: the engine runs with its defaults. Save one with{' '}
                <code>recsys config set</code>.
              </p>
            </Empty>
          ) : (
            <>
              <p>
                Active:{' '}
                <strong>
                  {active
                    ? `version ${active.version}${active.name ? ` (${active.name})` : ''}`
                    : 'engine defaults'}
                </strong>
                .
              </p>
              {selected && (
                <section aria-labelledby="selected-heading" class="card">
                  <h2 id="selected-heading">
                    Version {selected.version}
                    {selected.name ? ` — ${selected.name}` : ''}
                  </h2>
                  {selected.note && <p>{selected.note}</p>}
                  <Diff active={active} selected={selected} />
                  {props.canWrite && !selected.active && (
                    <button
                      type="button"
                      class="primary"
                      disabled={action.busy}
                      onClick={() => change('activate', selected.version)}
                    >
                      Activate version {selected.version}
                    </button>
                  )}
                </section>
              )}
              <DataTable
                caption="Configuration versions, newest first"
                columns={['Version', 'Name and note', 'Saved', 'Hash', 'State']}
              >
                {list.map((v) => (
                  <tr key={v.version} data-version={v.version}>
                    <th scope="row">
                      <a href={`${BASE}${withQuery('/config', { version: String(v.version) })}`}>
                        Version {v.version}
                      </a>
                    </th>
                    <td>
                      {v.name ?? ''}
                      {v.note && <div class="sub">{v.note}</div>}
                    </td>
                    <td>
                      <When at={v.createdAt} />
                    </td>
                    <td>
                      <code>{v.hash}</code>
                    </td>
                    <td>{v.active ? <span class="badge on">active</span> : ''}</td>
                  </tr>
                ))}
              </DataTable>
            </>
          );
        }}
      </Show>
    </Page>
  );
}
