import { trpc } from '../api';
import { describeRule, type StoredRule } from '../describeRule';
import { BASE, navigate, withQuery } from '../router';
import { DataTable, Empty, Notice, Page, Select, Show, useAction, useAsync, When } from '../ui';

const KINDS = ['block', 'filter', 'pin', 'inject', 'boost', 'bury'] as const;
type Kind = (typeof KINDS)[number];

/** The rules, filtered by kind and state (both in the URL), with enable and disable. */
export function RulesPage(props: { query: URLSearchParams; canWrite: boolean }) {
  const kind = props.query.get('kind') ?? '';
  const state = props.query.get('state') ?? '';
  const created = props.query.get('created');
  const rules = useAsync(
    () =>
      trpc.admin.rules.list.query({
        ...(KINDS.includes(kind as Kind) ? { kind: kind as Kind } : {}),
        ...(state === 'enabled' ? { enabled: true } : state === 'disabled' ? { enabled: false } : {}),
      }),
    [kind, state],
  );
  const action = useAction();

  const setFilter = (values: Record<string, string>) =>
    navigate(withQuery('/rules', { kind, state, ...values }), true);

  async function toggle(rule: StoredRule) {
    const ok = await action.run(
      () =>
        rule.enabled
          ? trpc.admin.rules.disable.mutate({ ruleId: rule.ruleId, note: 'from the console' })
          : trpc.admin.rules.enable.mutate({ ruleId: rule.ruleId, note: 'from the console' }),
      () => `Rule ${rule.ruleId} ${rule.enabled ? 'disabled' : 'enabled'}.`,
    );
    if (ok) rules.reload();
  }

  return (
    <Page
      title="Rules"
      actions={
        props.canWrite && (
          <a class="button primary" href={`${BASE}/rules/new`}>
            New rule
          </a>
        )
      }
    >
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <Select
          label="Kind"
          value={kind}
          options={[['', 'any'], ...KINDS]}
          onChange={(value) => setFilter({ kind: value })}
        />
        <Select
          label="State"
          value={state}
          options={[['', 'any'], 'enabled', 'disabled']}
          onChange={(value) => setFilter({ state: value })}
        />
      </form>
      {created && (
        <p class="notice ok" role="status">
          Rule {created} saved; it applies to the next lists served.
        </p>
      )}
      <Notice message={action.message} />
      <Show value={rules} what="rules">
        {(list) =>
          list.length === 0 ? (
            <Empty>
              <p>{kind || state ? 'No rule matches these filters.' : 'No rules yet.'}</p>
              {props.canWrite && !kind && !state && (
                <p>
                  <a href={`${BASE}/rules/new`}>Create the first rule</a> — pin, boost, bury or block items on
                  any surface.
                </p>
              )}
            </Empty>
          ) : (
            <DataTable
              caption="Rules, by id"
              hiddenCaption
              columns={['Rule', 'What it does', 'State', 'Last change', props.canWrite && '']}
            >
              {list.map((rule) => (
                <tr key={rule.ruleId} data-rule={rule.ruleId}>
                  <th scope="row">
                    <a href={`${BASE}/rules/${encodeURIComponent(rule.ruleId)}`}>
                      <code>{rule.ruleId}</code>
                    </a>
                    {rule.definition.name && <div class="sub">{rule.definition.name}</div>}
                  </th>
                  <td>{describeRule(rule.definition)}</td>
                  <td>
                    <span class={`badge ${rule.enabled ? 'on' : 'off'}`}>
                      {rule.enabled ? 'enabled' : 'disabled'}
                    </span>
                  </td>
                  <td>
                    v{rule.version} by {rule.updatedBy}, <When at={rule.updatedAt} />
                  </td>
                  {props.canWrite && (
                    <td>
                      <button type="button" disabled={action.busy} onClick={() => toggle(rule)}>
                        {rule.enabled ? 'Disable' : 'Enable'}
                        <span class="sr-only"> {rule.ruleId}</span>
                      </button>
                    </td>
                  )}
                </tr>
              ))}
            </DataTable>
          )
        }
      </Show>
    </Page>
  );
}
