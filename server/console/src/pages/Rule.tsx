import { trpc } from '../api';
import { describeRule } from '../describeRule';
import { BASE } from '../router';
import { Empty, ErrorBox, Loading, Page, useAsync, When } from '../ui';

/** One rule: what it does, its definition, and its trail — who changed what, when. */
export function RulePage(props: { ruleId: string }) {
  const rule = useAsync(() => trpc.admin.rules.get.query({ ruleId: props.ruleId }), [props.ruleId]);
  const back = (
    <p>
      <a href={`${BASE}/rules`}>← All rules</a>
    </p>
  );
  if (rule.status !== 'ready')
    return (
      <Page title={`Rule ${props.ruleId}`}>
        {back}
        {rule.status === 'loading' ? (
          <Loading what="the rule" />
        ) : rule.notFound ? (
          <Empty>{rule.message}</Empty>
        ) : (
          <ErrorBox message={rule.message} retry={rule.reload} />
        )}
      </Page>
    );
  const r = rule.data;
  return (
    <Page title={`Rule ${r.ruleId}`}>
      {back}
      <p class="summary">
        {describeRule(r.definition)}{' '}
        <span class={`badge ${r.enabled ? 'on' : 'off'}`}>{r.enabled ? 'enabled' : 'disabled'}</span>
      </p>
      {r.definition.name && <p>{r.definition.name}</p>}
      <p>
        <a href={`${BASE}/traces?ruleId=${encodeURIComponent(r.ruleId)}`}>Lists this rule acted on</a>
      </p>
      <h2>Definition (version {r.version})</h2>
      <pre class="card">{JSON.stringify(r.definition, null, 2)}</pre>
      <h2>Changes</h2>
      <ol class="trail">
        {r.history.map((h) => (
          <li key={h.version + h.action + h.at}>
            <When at={h.at} />: {h.action} (version {h.version}) by <strong>{h.actor}</strong>
            {h.note ? ` — ${h.note}` : ''}
          </li>
        ))}
      </ol>
    </Page>
  );
}
