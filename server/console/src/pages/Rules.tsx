import { SURFACES, type Surface } from '@recsys/protocol';
import { useEffect, useState } from 'preact/hooks';
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
      <Overrides canWrite={props.canWrite} />
    </Page>
  );
}

/** "2 d 3 h", "3 h 20 min", "45 min", "under a minute": how long an override has left. */
export function timeLeft(ms: number): string {
  if (ms < 60_000) return 'under a minute';
  const minutes = Math.floor(ms / 60_000);
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  if (days > 0) return `${days} d ${hours} h`;
  return hours > 0 ? `${hours} h ${minutes % 60} min` : `${minutes} min`;
}

/**
 * Manual overrides (made with `recsys overrides add` or `admin.overrides.add`): each active one
 * with the time it has left, counting down, and Cancel; expired and cancelled ones below.
 */
function Overrides(props: { canWrite: boolean }) {
  const overrides = useAsync(() => trpc.admin.overrides.list.query(), []);
  const action = useAction();
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const tick = setInterval(() => setNow(Date.now()), 30_000);
    return () => clearInterval(tick);
  }, []);
  async function cancel(ruleId: string) {
    const ok = await action.run(
      () => trpc.admin.overrides.cancel.mutate({ ruleId, note: 'from the console' }),
      () => `Override ${ruleId} cancelled.`,
    );
    if (ok) overrides.reload();
  }
  return (
    <section aria-labelledby="overrides-heading">
      <h2 id="overrides-heading">Overrides</h2>
      {props.canWrite && <AddOverride onAdded={overrides.reload} />}
      <Notice message={action.message} />
      <Show value={overrides} what="overrides">
        {(list) =>
          list.length === 0 ? (
            <Empty>
              <p>
                No overrides: quick actions with an expiry, e.g.{' '}
                <code>recsys overrides add -k boost -i sku-9 -m 3 --for 48h -r "weekend promo"</code>.
              </p>
            </Empty>
          ) : (
            <DataTable
              caption="Overrides, newest first"
              hiddenCaption
              columns={['Override', 'What it does', 'Why', 'Time left', props.canWrite && '']}
            >
              {list.map((o) => {
                const left = o.expiresAt ? Date.parse(o.expiresAt) - now : Number.POSITIVE_INFINITY;
                const active = o.state === 'active' && left > 0;
                return (
                  <tr key={o.ruleId} data-override={o.ruleId}>
                    <th scope="row">
                      <code>{o.ruleId}</code>
                    </th>
                    <td>{describeRule(o.definition)}</td>
                    <td>{o.reason}</td>
                    <td>
                      {active ? (
                        <span title={o.expiresAt ?? undefined}>{timeLeft(left)}</span>
                      ) : (
                        <span class="badge off">{o.state === 'active' ? 'expired' : o.state}</span>
                      )}
                    </td>
                    {props.canWrite && (
                      <td>
                        {active && (
                          <button type="button" disabled={action.busy} onClick={() => cancel(o.ruleId)}>
                            Cancel<span class="sr-only"> {o.ruleId}</span>
                          </button>
                        )}
                      </td>
                    )}
                  </tr>
                );
              })}
            </DataTable>
          )
        }
      </Show>
    </section>
  );
}

const OVERRIDE_KINDS = ['boost', 'pin', 'bury', 'block'] as const;

/**
 * A quick action with an expiry (`admin.overrides.add`): boost, pin, bury or block items, on one
 * surface or everywhere, for some hours or days, with the reason listed beside it.
 */
function AddOverride(props: { onAdded(): void }) {
  const [kind, setKind] = useState<(typeof OVERRIDE_KINDS)[number]>('boost');
  const [items, setItems] = useState('');
  const [slot, setSlot] = useState('1');
  const [multiplier, setMultiplier] = useState('3');
  const [surface, setSurface] = useState('');
  const [amount, setAmount] = useState('48');
  const [unit, setUnit] = useState('hours');
  const [reason, setReason] = useState('');
  const action = useAction();
  async function add(event: Event) {
    event.preventDefault();
    const hours = Number(amount) * (unit === 'days' ? 24 : 1);
    const added = await action.run(
      () =>
        trpc.admin.overrides.add.mutate({
          kind,
          itemIds: items
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean),
          ...(kind === 'pin' ? { slot: Math.max(1, Number(slot) || 1) - 1 } : {}),
          ...(kind === 'boost' || kind === 'bury' ? { multiplier: Number(multiplier) } : {}),
          ...(surface ? { surfaces: [surface as Surface] } : {}),
          hours,
          reason,
        }),
      (o) => `Override ${o.ruleId} added: ${describeRule(o.definition)}, for ${timeLeft(hours * 3_600_000)}.`,
    );
    if (added) {
      setItems('');
      setReason('');
      props.onAdded();
    }
  }
  return (
    <details class="card">
      <summary>Add an override</summary>
      <form class="stack" onSubmit={add} aria-label="Add an override">
        <div class="variant">
          <Select
            label="Action"
            value={kind}
            options={OVERRIDE_KINDS}
            onChange={(v) => setKind(v as (typeof OVERRIDE_KINDS)[number])}
          />
          <label>
            Item ids (comma-separated)
            <input value={items} onInput={(e) => setItems(e.currentTarget.value)} required />
          </label>
          {kind === 'pin' && (
            <label>
              Slot (1 = first)
              <input
                type="number"
                min={1}
                max={1000}
                value={slot}
                onInput={(e) => setSlot(e.currentTarget.value)}
              />
            </label>
          )}
          {(kind === 'boost' || kind === 'bury') && (
            <label>
              Multiplier ({kind === 'boost' ? 'above 1' : 'below 1'})
              <input
                type="number"
                min={0.01}
                max={1000}
                step="any"
                value={multiplier}
                onInput={(e) => setMultiplier(e.currentTarget.value)}
              />
            </label>
          )}
          <Select
            label="Surface"
            value={surface}
            options={[['', 'everywhere'], ...SURFACES]}
            onChange={setSurface}
          />
          <label>
            Lasts for
            <input
              type="number"
              min={1}
              step="any"
              value={amount}
              onInput={(e) => setAmount(e.currentTarget.value)}
              required
            />
          </label>
          <Select label="Unit" value={unit} options={['hours', 'days']} onChange={setUnit} />
        </div>
        <label>
          Why (listed with it)
          <input value={reason} onInput={(e) => setReason(e.currentTarget.value)} required minLength={3} />
        </label>
        <div class="row">
          <button type="submit" class="primary" disabled={action.busy}>
            Add override
          </button>
        </div>
        <Notice message={action.message} />
      </form>
    </details>
  );
}
