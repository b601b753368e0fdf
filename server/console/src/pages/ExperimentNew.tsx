import type { Surface } from '@recsys/protocol';
import { useEffect, useRef, useState } from 'preact/hooks';
import { messageOf, type Outputs, trpc } from '../api';
import { BASE, navigate } from '../router';
import { commaList, ErrorBox, Notice, Page, Select, SurfaceChecks, useAction } from '../ui';
import {
  ALLOCATIONS,
  type FIELDS,
  type Form,
  formOf,
  GUARDED,
  type GuardRow,
  KINDS,
  type Kind,
  METRICS,
  type Metric,
  num,
  queryOf,
  type VariantRow,
  variantOf,
} from './experimentForm';

type Plan = Outputs['admin']['experiments']['plan'];
const count = (n: number) => n.toLocaleString();

/** A labelled number field (text kept as typed, so an empty field stays empty). */
function NumberField(props: {
  label: string;
  value: string;
  set(value: string): void;
  min?: number;
  max?: number;
  step?: number | 'any';
}) {
  return (
    <label>
      {props.label}
      <input
        type="number"
        min={props.min}
        max={props.max}
        step={props.step ?? 'any'}
        value={props.value}
        onInput={(e) => props.set(e.currentTarget.value)}
      />
    </label>
  );
}

/** The planner's answer in words: the size, the rate it rests on, and the days at recent traffic. */
function PlanView(props: { plan: Plan; weights: number }) {
  const p = props.plan;
  const unit = p.primaryMetric === 'ctr' ? 'lists' : 'visitors';
  return (
    <div class="plan">
      {p.perVariant !== null ? (
        <p class="big">
          <strong>{count(p.perVariant)}</strong> {unit} per variant
          {p.days !== null && (
            <>
              , about <strong>{p.days}</strong> day{p.days === 1 ? '' : 's'}
            </>
          )}
        </p>
      ) : (
        <p class="big">Cannot size this experiment yet.</p>
      )}
      <ul>
        {p.baseRate !== null && (
          <li>
            Control's {p.primaryMetric}: {(p.baseRate * 100).toFixed(2)} %{' '}
            {p.baseRateSource === 'given'
              ? '(the rate you gave)'
              : `(measured over ${count(p.baseSample)} ${unit} of the last ${p.observedDays} day${p.observedDays === 1 ? '' : 's'})`}
          </li>
        )}
        {p.fixedHorizonPerVariant !== null && (
          <li>
            Always-valid test, read daily, 80 % power for a {(p.minimumDetectableEffect * 100).toFixed(1)} %
            lift; a test read only once at the end would need {count(p.fixedHorizonPerVariant)}.
          </li>
        )}
        <li>
          Recent traffic {p.surfaces ? `on ${p.surfaces.join(', ')}` : 'on every surface'}:{' '}
          {count(p.traffic.visitorsPerDay)} visitors and {count(p.traffic.listsPerDay)} lists a day
          {p.smallestVariantPerDay !== null &&
            `; the smallest of the ${props.weights} variants gets ${count(p.smallestVariantPerDay)} ${unit} a day`}
          .
        </li>
        {p.notes.map((n) => (
          <li key={n}>{n}</li>
        ))}
      </ul>
    </div>
  );
}

/**
 * A new experiment: the definition, with the sample-size planner answering as the operator types
 * (on the server, so the page ships no statistics). Create saves a draft; Start is on its page.
 */
export function ExperimentNewPage(props: { query: URLSearchParams; canWrite: boolean }) {
  const form = formOf(props.query);
  const { variants, guards, metric } = form;
  const surfaces = commaList(form.surfaces) as Surface[];
  // Every change goes to the URL (replacing the entry), so a reload, Back or a link restores the form.
  const update = (change: Partial<Form>) =>
    navigate(`/experiments/new${queryOf({ ...form, ...change })}`, true);
  const field = (name: keyof typeof FIELDS) => ({
    value: form[name],
    set: (value: string) => update({ [name]: value }),
  });
  const textField = (name: keyof typeof FIELDS) => ({
    value: form[name],
    onInput: (e: Event) => update({ [name]: (e.currentTarget as HTMLInputElement).value }),
  });
  const [plan, setPlan] = useState<{ plan: Plan } | { error: string } | null>(null);
  const saving = useAction();
  const generation = useRef(0);

  const weights = variants.map((v) => num(v.weight) ?? 1);
  const planInput = {
    ...(surfaces.length ? { surfaces } : {}),
    primaryMetric: metric as Metric,
    minimumDetectableEffect: (num(form.mde) ?? 5) / 100,
    weights,
    traffic: (num(form.traffic) ?? 100) / 100,
    ...(num(form.baseRate) !== undefined ? { baseRate: (num(form.baseRate) as number) / 100 } : {}),
  };
  const planKey = JSON.stringify(planInput);
  useEffect(() => {
    if (!props.canWrite) return;
    const mine = ++generation.current;
    // Asked a moment after the last keystroke, and only the newest answer is shown.
    const timer = setTimeout(() => {
      trpc.admin.experiments.plan.query(JSON.parse(planKey)).then(
        (answer) => mine === generation.current && setPlan({ plan: answer }),
        (error: unknown) => mine === generation.current && setPlan({ error: messageOf(error) }),
      );
    }, 250);
    return () => clearTimeout(timer);
  }, [planKey]);

  if (!props.canWrite)
    return (
      <Page title="New experiment">
        <ErrorBox message="Viewers cannot create experiments; ask an operator or an admin." />
      </Page>
    );

  const setVariants = (next: VariantRow[]) => update({ variants: next });
  const setGuards = (next: GuardRow[]) => update({ guards: next });
  const setVariant = (i: number, change: Partial<VariantRow>) =>
    setVariants(variants.map((v, j) => (j === i ? { ...v, ...change } : v)));
  const setGuard = (i: number, change: Partial<GuardRow>) =>
    setGuards(guards.map((g, j) => (j === i ? { ...g, ...change } : g)));
  const segments = commaList(form.segments);
  const countries = commaList(form.countries);

  async function create(event: Event) {
    event.preventDefault();
    const created = await saving.run(() =>
      trpc.admin.experiments.create.mutate({
        id: form.id.trim(),
        name: form.name.trim(),
        ...(form.hypothesis.trim() ? { hypothesis: form.hypothesis.trim() } : {}),
        variants: variants.map(variantOf),
        traffic: (num(form.traffic) ?? 100) / 100,
        target: {
          ...(surfaces.length ? { surfaces } : {}),
          ...(segments.length ? { segments } : {}),
          ...(countries.length ? { countries } : {}),
        },
        primaryMetric: metric as Metric,
        minimumDetectableEffect: (num(form.mde) ?? 5) / 100,
        guardrails: {
          minSample: num(form.minSample) ?? 1000,
          consecutive: num(form.consecutive) ?? 3,
          windowMinutes: num(form.window) ?? 60,
          rules: guards.map((g) => ({
            metric: g.metric as 'ctr',
            ...(num(g.min) !== undefined ? { min: num(g.min) } : {}),
            ...(num(g.max) !== undefined ? { max: num(g.max) } : {}),
          })),
        },
        ...(form.allocation === 'bandit' ? { allocation: 'bandit' as const } : {}),
      }),
    );
    if (created) navigate(`/experiments/${encodeURIComponent(created.id)}`);
  }

  return (
    <Page title="New experiment">
      <p>
        <a href={`${BASE}/experiments`}>← All experiments</a>
      </p>
      <div class="split">
        <form class="card stack" onSubmit={create} aria-label="Experiment">
          <label>
            Experiment id
            <input
              {...textField('id')}
              required
              pattern="[a-z0-9][a-z0-9_\-]{0,63}"
              placeholder="e.g. blend-test"
            />
          </label>
          <label>
            Name
            <input {...textField('name')} required maxLength={200} />
          </label>
          <label>
            Hypothesis (optional)
            <textarea {...textField('hypothesis')} rows={2} />
          </label>
          <SurfaceChecks
            legend="Surfaces (none: all)"
            value={surfaces}
            onChange={(next) => update({ surfaces: next.join(',') })}
          />
          <label>
            Segments (comma-separated; none: all)
            <input {...textField('segments')} placeholder="runner, home-cook" />
          </label>
          <label>
            Countries (comma-separated; none: all)
            <input {...textField('countries')} placeholder="DE, AT" />
          </label>
          <Select
            label="Allocation"
            value={form.allocation}
            options={ALLOCATIONS}
            onChange={(value) => update({ allocation: value })}
          />

          <fieldset>
            <legend>Variants (the first is the control: the active configuration)</legend>
            {variants.map((v, i) => (
              <div class="variant" key={i}>
                <label>
                  Key<span class="sr-only"> of variant {i + 1}</span>
                  <input
                    value={v.key}
                    onInput={(e) => setVariant(i, { key: e.currentTarget.value })}
                    required
                    pattern="[a-z0-9][a-z0-9_\-]{0,63}"
                  />
                </label>
                {v.kind === 'control' ? (
                  <p class="sub">control</p>
                ) : (
                  <>
                    <label>
                      Serves<span class="sr-only"> (variant {i + 1})</span>
                      <select
                        value={v.kind}
                        onChange={(e) => setVariant(i, { kind: e.currentTarget.value as Kind, value: '' })}
                      >
                        {KINDS.map(([value, text]) => (
                          <option key={value} value={value}>
                            {text}
                          </option>
                        ))}
                      </select>
                    </label>
                    {v.kind !== 'surface' && (
                      <label>
                        {v.kind === 'config' ? 'Version' : v.kind === 'rules' ? 'Rule set id' : 'Profile'}
                        <span class="sr-only"> of variant {i + 1}</span>
                        <input
                          value={v.value}
                          onInput={(e) => setVariant(i, { value: e.currentTarget.value })}
                          required
                          {...(v.kind === 'config'
                            ? { type: 'number', min: 1, step: 1 }
                            : { placeholder: v.kind === 'rules' ? 'summer-sale' : 'online-retail' })}
                        />
                      </label>
                    )}
                  </>
                )}
                <label>
                  Weight<span class="sr-only"> of variant {i + 1}</span>
                  <input
                    type="number"
                    min={0.001}
                    step="any"
                    value={v.weight}
                    onInput={(e) => setVariant(i, { weight: e.currentTarget.value })}
                  />
                </label>
                {i > 1 && (
                  <button type="button" onClick={() => setVariants(variants.filter((_, j) => j !== i))}>
                    Remove<span class="sr-only"> variant {i + 1}</span>
                  </button>
                )}
              </div>
            ))}
            {variants.length < 10 && (
              <button
                type="button"
                onClick={() =>
                  setVariants([
                    ...variants,
                    { key: `variant-${variants.length}`, kind: 'config', value: '', weight: '1' },
                  ])
                }
              >
                Add variant
              </button>
            )}
          </fieldset>
          <NumberField
            label="Traffic in the experiment (% of visitors on these surfaces)"
            {...field('traffic')}
            min={0.01}
            max={100}
          />
          <Select
            label="Primary metric"
            value={metric}
            options={METRICS}
            onChange={(value) => update({ metric: value })}
          />
          <NumberField label="Minimum detectable effect (% lift)" {...field('mde')} min={0.1} max={1000} />
          <NumberField
            label="Control rate to plan with (%, empty: measured)"
            {...field('baseRate')}
            min={0.01}
            max={99.99}
          />
          <fieldset>
            <legend>Guardrails (enough breaches in a row pause the experiment)</legend>
            <NumberField
              label="Visitors per variant before any breach counts"
              {...field('minSample')}
              min={0}
              step={1}
            />
            <NumberField label="Breaches in a row that pause it" {...field('consecutive')} min={1} step={1} />
            <NumberField
              label="Minutes of recent service the service guardrails judge"
              {...field('window')}
              min={1}
              max={10080}
              step={1}
            />
            {guards.map((g, i) => (
              <div class="variant" key={i}>
                <label>
                  Metric<span class="sr-only"> of guardrail {i + 1}</span>
                  <select value={g.metric} onChange={(e) => setGuard(i, { metric: e.currentTarget.value })}>
                    {GUARDED.map((m) => (
                      <option key={m}>{m}</option>
                    ))}
                  </select>
                </label>
                <label>
                  At least<span class="sr-only"> (guardrail {i + 1})</span>
                  <input
                    type="number"
                    step="any"
                    value={g.min}
                    onInput={(e) => setGuard(i, { min: e.currentTarget.value })}
                  />
                </label>
                <label>
                  At most<span class="sr-only"> (guardrail {i + 1})</span>
                  <input
                    type="number"
                    step="any"
                    value={g.max}
                    onInput={(e) => setGuard(i, { max: e.currentTarget.value })}
                  />
                </label>
                <button type="button" onClick={() => setGuards(guards.filter((_, j) => j !== i))}>
                  Remove<span class="sr-only"> guardrail {i + 1}</span>
                </button>
              </div>
            ))}
            <button type="button" onClick={() => setGuards([...guards, { metric: 'ctr', min: '', max: '' }])}>
              Add guardrail
            </button>
          </fieldset>
          <div class="row">
            <button type="submit" class="primary" disabled={saving.busy}>
              {saving.busy ? 'Saving…' : 'Create draft'}
            </button>
          </div>
          <p class="hint">A draft serves nobody; start it from its page.</p>
          <Notice message={saving.message} />
        </form>
        <section aria-labelledby="plan-heading" aria-live="polite">
          <h2 id="plan-heading">Sample size</h2>
          {plan === null ? (
            <p>Planning…</p>
          ) : 'error' in plan ? (
            <p class="notice error">{plan.error}</p>
          ) : (
            <PlanView plan={plan.plan} weights={weights.length} />
          )}
        </section>
      </div>
    </Page>
  );
}
