import { SURFACES, type Surface } from '@recsys/protocol';
import { useState } from 'preact/hooks';
import { type Outputs, trpc } from '../api';
import { describeRule, type StoredRule } from '../describeRule';
import { BASE, navigate } from '../router';
import { commaList, DataTable, Empty, ErrorBox, Notice, Page, Select, SurfaceChecks, useAction } from '../ui';

type Definition = StoredRule['definition'];
type Preview = Outputs['admin']['rules']['preview'];
const KINDS = ['pin', 'boost', 'bury', 'block', 'inject', 'filter'] as const;
const FIELDS = [
  'id',
  'name',
  'kind',
  'items',
  'tags',
  'slot',
  'multiplier',
  'surfaces',
  'on',
  'item',
  'category',
  'from',
  'until',
  'tz',
  'note',
  'edit',
];

/** The browser's time zone: what a merchandiser means by "9:00" unless they pick another. */
const LOCAL_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone;
/** Every IANA zone the browser knows (the server checks the one chosen). */
const ZONES: readonly string[] = Intl.supportedValuesOf?.('timeZone') ?? [LOCAL_ZONE, 'UTC'];

/** The rule the form describes, or why it is not one yet. */
function ruleOf(q: URLSearchParams): { rule: Definition } | { problem: string } {
  const id = q.get('id')?.trim() ?? '';
  if (!id) return { problem: 'Give the rule an id.' };
  const kind = (q.get('kind') ?? 'pin') as (typeof KINDS)[number];
  const itemIds = commaList(q.get('items') ?? '');
  const tags = commaList(q.get('tags') ?? '');
  if (!itemIds.length && !tags.length && kind !== 'filter')
    return { problem: 'Name the items: ids or tags.' };
  const items = { ...(itemIds.length ? { itemIds } : {}), ...(tags.length ? { tags } : {}) };
  const surfaces = commaList(q.get('surfaces') ?? '') as Surface[];
  const base = {
    id,
    ...(q.get('name') ? { name: q.get('name')! } : {}),
    ...(surfaces.length ? { when: { surfaces } } : {}),
    items,
  };
  const from = q.get('from') ?? '';
  const until = q.get('until') ?? '';
  // datetime-local values are local wall times ("2026-12-24T09:00") read in the chosen zone.
  if (from && until && until <= from) return { problem: 'The end must come after the start.' };
  if (from || until) {
    Object.assign(base, {
      schedule: {
        timeZone: q.get('tz') || LOCAL_ZONE,
        ...(from ? { start: from } : {}),
        ...(until ? { end: until } : {}),
      },
    });
  }
  const slot = Math.max(1, Number(q.get('slot') ?? 1) || 1) - 1;
  const multiplier = Number(q.get('multiplier') ?? (kind === 'bury' ? 0.5 : 2));
  switch (kind) {
    case 'pin':
      return { rule: { ...base, kind, slot } };
    case 'inject':
      return { rule: { ...base, kind, slot } };
    case 'boost':
    case 'bury':
      return { rule: { ...base, kind, multiplier } };
    default:
      return { rule: { ...base, kind } };
  }
}

/**
 * The form's fields for a stored rule, or what the form cannot show (then it is changed with
 * `recsys rules` or `admin.rules.update`, so nothing the form does not know is dropped silently).
 */
export function formOf(d: Definition): { params: URLSearchParams } | { unsupported: string[] } {
  const unsupported: string[] = [];
  const { itemIds, tags, ...otherItems } = d.items;
  if (Object.keys(otherItems).length) unsupported.push(`items.${Object.keys(otherItems).join(', items.')}`);
  const { surfaces, ...otherWhen } = d.when ?? {};
  if (Object.keys(otherWhen).length) unsupported.push(`when.${Object.keys(otherWhen).join(', when.')}`);
  if (d.schedule?.recurring) unsupported.push('schedule.recurring');
  if ('add' in d && d.add) unsupported.push('add');
  if ('subtract' in d && d.subtract) unsupported.push('subtract');
  if ('count' in d && d.count !== undefined) unsupported.push('count');
  if ('allowUnavailable' in d && d.allowUnavailable) unsupported.push('allowUnavailable');
  if (d.kind === 'inject' && d.slot === undefined) unsupported.push('slot (at the end)');
  if ('ruleSet' in d && d.ruleSet) unsupported.push('ruleSet');
  if ('priority' in d && d.priority) unsupported.push('priority');
  if (unsupported.length) return { unsupported };
  const params = new URLSearchParams({ edit: d.id, id: d.id, kind: d.kind });
  if (d.name) params.set('name', d.name);
  if (itemIds?.length) params.set('items', itemIds.join(', '));
  if (tags?.length) params.set('tags', tags.join(', '));
  if ((d.kind === 'pin' || d.kind === 'inject') && d.slot !== undefined)
    params.set('slot', String(d.slot + 1));
  if ((d.kind === 'boost' || d.kind === 'bury') && d.multiplier !== undefined)
    params.set('multiplier', String(d.multiplier));
  if (surfaces?.length) params.set('surfaces', surfaces.join(','));
  if (d.schedule?.start) params.set('from', d.schedule.start.slice(0, 16));
  if (d.schedule?.end) params.set('until', d.schedule.end.slice(0, 16));
  if (d.schedule?.timeZone) params.set('tz', d.schedule.timeZone);
  return { params };
}

/** Lists ranked with and without the rule, side by side, differences marked. */
function SideBySide(props: { preview: Preview }) {
  const { lists, servedLastDay } = props.preview;
  return (
    <section aria-labelledby="preview-heading" class="preview">
      <h2 id="preview-heading">Preview: with and without the rule</h2>
      <p>
        Of the {servedLastDay.lists} list{servedLastDay.lists === 1 ? '' : 's'} served in the last 24 hours
        {servedLastDay.capped ? ' (the newest 5,000)' : ''}, this rule would have changed{' '}
        <strong>{servedLastDay.touched}</strong>.
      </p>
      {lists.length === 0 && (
        <Empty>No list to compare: ask for a surface below, or wait for lists to be served.</Empty>
      )}
      {lists.map((l, i) => {
        const title =
          'request' in l.source
            ? `recs.${l.source.request.surface}${l.source.request.itemId ? ` for ${l.source.request.itemId}` : ''}${l.source.request.category ? ` in ${l.source.request.category}` : ''}`
            : // Numbered: two lists of one surface served in the same second would read the same.
              `${l.source.surface} list served ${new Date(l.source.servedAt).toLocaleString()} (${i + 1} of ${lists.length})`;
        return (
          <div class="compare" key={i}>
            <h3>
              {title}{' '}
              <span class={`badge ${l.changed ? 'on' : 'off'}`}>{l.changed ? 'changed' : 'unchanged'}</span>
            </h3>
            <DataTable
              caption={`${title}: each slot without and with the rule`}
              hiddenCaption
              columns={['Slot', 'Without the rule', 'With the rule', 'Change']}
            >
              {l.rows.map((row) => (
                <tr key={row.slot} class={row.mark === 'same' ? '' : 'diff'}>
                  <td>{row.slot + 1}</td>
                  <td>{row.before ?? '—'}</td>
                  <td>{row.after ?? '—'}</td>
                  <td>{row.mark}</td>
                </tr>
              ))}
            </DataTable>
            {l.removed.length > 0 && <p>Gone from the list: {l.removed.join(', ')}</p>}
            {l.effects.length > 0 && (
              <ul class="effects">
                {l.effects.map((e) => (
                  <li key={e.ruleId + e.effect}>
                    {e.ruleId}: {e.effect}
                  </li>
                ))}
              </ul>
            )}
          </div>
        );
      })}
    </section>
  );
}

/**
 * A new rule: the form (kept in the URL, so a prepared rule can be linked), a dry-run preview
 * beside it, and Save once the preview shown is of the rule as it stands.
 */
export function RuleNewPage(props: { query: URLSearchParams; canWrite: boolean }) {
  const q = props.query;
  const editing = q.get('edit');
  const title = editing ? `Edit rule ${editing}` : 'New rule';
  const [preview, setPreview] = useState<{ of: string; report: Preview } | null>(null);
  const previewing = useAction();
  const saving = useAction();
  if (!props.canWrite)
    return (
      <Page title={title}>
        <ErrorBox message="Viewers cannot create rules, nor change them; ask an operator or an admin." />
      </Page>
    );
  const built = ruleOf(q);
  const kind = q.get('kind') ?? 'pin';
  const key =
    'rule' in built ? JSON.stringify([built.rule, q.get('on'), q.get('item'), q.get('category')]) : '';
  const previewIsCurrent = preview !== null && preview.of === key;

  const set = (name: string, value: string) => {
    const next = new URLSearchParams();
    for (const f of FIELDS) {
      const v = f === name ? value : q.get(f);
      if (v) next.set(f, v);
    }
    navigate(`/rules/new?${next}`, true);
  };
  const input = (name: string) => ({
    name,
    value: q.get(name) ?? '',
    onInput: (e: Event) => set(name, (e.currentTarget as HTMLInputElement).value),
  });
  const surfaces = commaList(q.get('surfaces') ?? '');

  async function runPreview(event: Event) {
    event.preventDefault();
    if (!('rule' in built)) return;
    const on = q.get('on') as Surface | null;
    const report = await previewing.run(() =>
      trpc.admin.rules.preview.mutate({
        change: { upsert: [built.rule] },
        ...(on
          ? {
              requests: [
                {
                  surface: on,
                  k: 10,
                  ...(q.get('item') ? { itemId: q.get('item')! } : {}),
                  ...(q.get('category') ? { category: q.get('category')! } : {}),
                },
              ],
            }
          : { sample: 5 }),
      }),
    );
    if (report) setPreview({ of: key, report });
  }

  async function save() {
    if (!('rule' in built)) return;
    const rule = built.rule;
    const note = q.get('note') ? { note: q.get('note')! } : {};
    const saved = await saving.run(() =>
      editing
        ? trpc.admin.rules.update.mutate({ rule, ...note })
        : trpc.admin.rules.create.mutate({ rule, ...note }),
    );
    if (saved && editing) navigate(`/rules/${encodeURIComponent(saved.ruleId)}`);
    else if (saved) navigate(`/rules?created=${encodeURIComponent(saved.ruleId)}`);
  }

  return (
    <Page title={title}>
      <p>
        {editing ? (
          <a href={`${BASE}/rules/${encodeURIComponent(editing)}`}>← Rule {editing}</a>
        ) : (
          <a href={`${BASE}/rules`}>← All rules</a>
        )}
      </p>
      <div class="split">
        <form class="card stack" onSubmit={runPreview} aria-label="Rule">
          <label>
            Rule id
            <input
              {...input('id')}
              readOnly={editing !== null}
              required
              pattern="[A-Za-z0-9_.:\-]{1,128}"
              placeholder="e.g. winter-boots-pin"
            />
          </label>
          <label>
            Name (what it is for)
            <input {...input('name')} />
          </label>
          <Select
            label="Kind"
            name="kind"
            value={kind}
            options={KINDS}
            onChange={(value) => set('kind', value)}
          />
          <label>
            Item ids (comma-separated)
            <input {...input('items')} placeholder="sku-1, sku-2" />
          </label>
          <label>
            Tags (comma-separated, * wildcards)
            <input {...input('tags')} placeholder="brand:acme, category:shoes" />
          </label>
          {(kind === 'pin' || kind === 'inject') && (
            <label>
              Slot (1 = first)
              <input {...input('slot')} type="number" min={1} max={100} placeholder="1" />
            </label>
          )}
          {(kind === 'boost' || kind === 'bury') && (
            <label>
              Multiplier ({kind === 'boost' ? '≥ 1' : '0 to 1'})
              <input
                {...input('multiplier')}
                type="number"
                step="0.1"
                min={kind === 'boost' ? 1 : 0}
                max={kind === 'boost' ? 1000 : 1}
                placeholder={kind === 'boost' ? '2' : '0.5'}
              />
            </label>
          )}
          <SurfaceChecks
            legend="Only on these surfaces (none: everywhere)"
            value={surfaces}
            onChange={(next) => set('surfaces', next.join(','))}
          />
          <fieldset>
            <legend>In force (empty: always)</legend>
            <label>
              From
              <input {...input('from')} type="datetime-local" />
            </label>
            <label>
              Until
              <input {...input('until')} type="datetime-local" />
            </label>
            <Select
              label="Time zone of these times"
              name="tz"
              value={q.get('tz') || LOCAL_ZONE}
              options={ZONES}
              onChange={(value) => set('tz', value)}
            />
          </fieldset>
          <fieldset>
            <legend>Preview on</legend>
            <Select
              label="Surface"
              name="on"
              value={q.get('on') ?? ''}
              options={[['', 'recently served lists'], ...SURFACES.map((s) => [s, `recs.${s}`] as const)]}
              onChange={(value) => set('on', value)}
            />
            {q.get('on') === 'similar' && (
              <label>
                Anchor item id
                <input {...input('item')} required />
              </label>
            )}
            {q.get('on') === 'trending' && (
              <label>
                Category (optional)
                <input {...input('category')} />
              </label>
            )}
          </fieldset>
          <label>
            Note for the audit trail
            <input {...input('note')} />
          </label>
          <p class="summary" aria-live="polite">
            {'rule' in built ? describeRule(built.rule) : built.problem}
          </p>
          <div class="row">
            <button type="submit" disabled={!('rule' in built) || previewing.busy}>
              {previewing.busy ? 'Previewing…' : 'Preview'}
            </button>
            <button type="button" class="primary" disabled={!previewIsCurrent || saving.busy} onClick={save}>
              {saving.busy ? 'Saving…' : editing ? 'Save changes' : 'Save rule'}
            </button>
          </div>
          {!previewIsCurrent && 'rule' in built && (
            <p class="hint">Preview the rule as it stands to save it.</p>
          )}
          <Notice message={previewing.message ?? saving.message} />
        </form>
        <div>
          {preview ? (
            <>
              {!previewIsCurrent && <p class="notice">The form changed since this preview; preview again.</p>}
              <SideBySide preview={preview.report} />
            </>
          ) : (
            <Empty>
              <p>
                The preview shows the lists with and without the rule, side by side, before anything is saved.
              </p>
            </Empty>
          )}
        </div>
      </div>
    </Page>
  );
}
