import { trpc } from '../api';
import { describeRule } from '../describeRule';
import { BASE } from '../router';
import { Empty, ErrorBox, Loading, Page, useAsync, When } from '../ui';
import { formOf } from './RuleNew';

/** A link to the form with this rule in it, or why the form cannot change it. */
function EditLink(props: { definition: Parameters<typeof formOf>[0] }) {
  const form = formOf(props.definition);
  if ('unsupported' in form)
    return (
      <p class="hint">
        The form cannot show {form.unsupported.join(', ')}: change this rule with <code>recsys rules</code> or{' '}
        <code>admin.rules.update</code>.
      </p>
    );
  return (
    <p>
      <a href={`${BASE}/rules/new?${form.params}`}>Edit (preview before saving)</a>
    </p>
  );
}

/** One rule: what it does, its definition, and its trail — who changed what, when. */
export function RulePage(props: { ruleId: string; canWrite: boolean }) {
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
      {props.canWrite && <EditLink definition={r.definition} />}
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
