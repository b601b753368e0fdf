/**
 * The new-experiment form's state: its fields, kept in the page's URL (so a half-filled form survives
 * a reload and can be shared), and the create request built from it. The page itself is in
 * `ExperimentNew.tsx`.
 */

/** The metrics an experiment is judged on, with their names on the page. */
export const METRICS = [
  ['conversionRate', 'conversion rate'],
  ['addToCartRate', 'add-to-cart rate'],
  ['ctr', 'click-through rate'],
  ['revenuePerVisitor', 'revenue per visitor'],
] as const;
export type Metric = (typeof METRICS)[number][0];
export const GUARDED = [
  'ctr',
  'addToCartRate',
  'conversionRate',
  'revenuePerVisitor',
  'emptyListRate',
  'fallbackRate',
  'p95LatencyMs',
  'errorRate',
];
/** What a variant other than the control serves; `value` is the version, rule set or profile. */
export const KINDS = [
  ['config', 'configuration version'],
  ['rules', 'rule set'],
  ['profile', 'built-in profile'],
  ['surface', 'no list at all'],
] as const;
export type Kind = (typeof KINDS)[number][0];
export const ALLOCATIONS = [
  ['fixed', 'fixed weights'],
  ['bandit', 'bandit (one surface)'],
] as const;

export interface VariantRow {
  key: string;
  kind: Kind | 'control';
  value: string;
  weight: string;
}
export interface GuardRow {
  metric: string;
  min: string;
  max: string;
}

/**
 * The form's fields as the URL keeps them, with the values of an untouched form (left out of the
 * URL). Lists are comma-separated; the rows are repeated parameters, one of each per row.
 */
export const FIELDS = {
  id: '',
  name: '',
  hypothesis: '',
  surfaces: '',
  segments: '',
  countries: '',
  allocation: 'fixed',
  traffic: '100',
  metric: 'conversionRate',
  mde: '5',
  baseRate: '',
  minSample: '1000',
  consecutive: '3',
  window: '60',
};
export type Form = typeof FIELDS & { variants: VariantRow[]; guards: GuardRow[] };
const VARIANT_PARAMS = ['key', 'serves', 'value', 'weight'] as const;
const GUARD_PARAMS = ['guard', 'min', 'max'] as const;
const DEFAULT_VARIANTS: VariantRow[] = [
  { key: 'control', kind: 'control', value: '', weight: '1' },
  { key: 'treatment', kind: 'config', value: '', weight: '1' },
];

/** The rows kept as repeated parameters `names` (the n-th of each is row n's). */
function rowsOf(q: URLSearchParams, names: readonly string[]): string[][] {
  const columns = names.map((n) => q.getAll(n));
  return (columns[0] ?? []).map((_, i) => columns.map((c) => c[i] ?? ''));
}

export function formOf(q: URLSearchParams): Form {
  const fields = { ...FIELDS };
  for (const k of Object.keys(FIELDS) as Array<keyof typeof FIELDS>) fields[k] = q.get(k) ?? FIELDS[k];
  const variants = rowsOf(q, VARIANT_PARAMS).map(([key = '', kind = '', value = '', weight = '']) => ({
    key,
    kind: kind as VariantRow['kind'],
    value,
    weight,
  }));
  return {
    ...fields,
    variants: variants.length ? variants : DEFAULT_VARIANTS,
    guards: rowsOf(q, GUARD_PARAMS).map(([metric = '', min = '', max = '']) => ({ metric, min, max })),
  };
}

export function queryOf(f: Form): string {
  const q = new URLSearchParams();
  for (const k of Object.keys(FIELDS) as Array<keyof typeof FIELDS>) if (f[k] !== FIELDS[k]) q.set(k, f[k]);
  const rows = (names: readonly string[], values: string[][]) => {
    for (const row of values) for (const [i, n] of names.entries()) q.append(n, row[i] ?? '');
  };
  if (JSON.stringify(f.variants) !== JSON.stringify(DEFAULT_VARIANTS))
    rows(
      VARIANT_PARAMS,
      f.variants.map((v) => [v.key, v.kind, v.value, v.weight]),
    );
  rows(
    GUARD_PARAMS,
    f.guards.map((g) => [g.metric, g.min, g.max]),
  );
  const text = q.toString();
  return text ? `?${text}` : '';
}

export const num = (text: string) => (text.trim() === '' ? undefined : Number(text));

export function variantOf(v: VariantRow) {
  const base = { key: v.key.trim(), weight: num(v.weight) ?? 1 };
  switch (v.kind) {
    case 'control':
      return { ...base, kind: 'control' as const };
    case 'config':
      return { ...base, kind: 'config' as const, version: Number(v.value) };
    case 'rules':
      return { ...base, kind: 'rules' as const, ruleSetId: v.value.trim() };
    case 'profile':
      return { ...base, kind: 'profile' as const, profile: v.value.trim() };
    case 'surface':
      return { ...base, kind: 'surface' as const, enabled: false };
  }
}
