/**
 * Longer than the ~450-line guideline on purpose: most of it is one table, a valid base input per
 * procedure, which the generators below mutate.
 */
import { EVENT_TYPES, SIGNALS, SURFACES } from '@recsys/engine/protocol';
import fc from 'fast-check';
import { BAD_TIMESTAMPS, EDGE_KEYS, EDGE_NUMBERS, POISON_STRINGS } from './corpus';

/**
 * Generators of hostile input for every procedure. The suite never sends
 * U+FFFD itself, so finding one in a table afterwards means a value was
 * mangled on its way in.
 */

const noReplacementChar = (s: string) => s.replaceAll('\ufffd', '?');

/** Any UTF-16 code units, NUL and lone surrogates included. */
const utf16Soup = fc
  .array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 12 })
  .map((units) => noReplacementChar(String.fromCharCode(...units)));

/** A timestamp made of parts that may each be out of range. */
const timestampParts = fc
  .record({
    year: fc.integer({ min: 0, max: 9999 }),
    month: fc.integer({ min: 0, max: 13 }),
    day: fc.integer({ min: 0, max: 32 }),
    hour: fc.integer({ min: 0, max: 25 }),
    minute: fc.integer({ min: 0, max: 61 }),
    second: fc.integer({ min: 0, max: 61 }),
    zone: fc.oneof(
      fc.constant('Z'),
      fc
        .tuple(fc.constantFrom('+', '-'), fc.integer({ min: 0, max: 25 }), fc.integer({ min: 0, max: 60 }))
        .map(([s, h, m]) => `${s}${pad(h)}:${pad(m)}`),
    ),
  })
  .map(
    (t) =>
      `${String(t.year).padStart(4, '0')}-${pad(t.month)}-${pad(t.day)}T${pad(t.hour)}:${pad(t.minute)}:${pad(t.second)}${t.zone}`,
  );
const pad = (n: number) => String(n).padStart(2, '0');

/** A timestamp that is valid: any instant between years 1 and 9999, as `toISOString()` writes it. */
export const validTimestamp = fc
  .date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true })
  .map((d) => d.toISOString());

export const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...POISON_STRINGS),
  fc.constantFrom(...BAD_TIMESTAMPS),
  utf16Soup,
  fc.string({ unit: 'binary', maxLength: 20 }).map(noReplacementChar),
  timestampParts,
  fc.constantFrom(
    '',
    ' ',
    ' x ',
    'x'.repeat(300),
    'sk_x',
    'pk_x',
    '%00',
    '\\u0000',
    "'; DROP TABLE events; --",
  ),
  fc.constantFrom(...EDGE_KEYS),
);

const hostileNumber = fc.oneof(
  fc.constantFrom(...EDGE_NUMBERS),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

const hostileKey = fc.oneof(fc.constantFrom(...EDGE_KEYS), fc.constantFrom(...POISON_STRINGS), utf16Soup);

/** Any JSON value, its strings, numbers and keys hostile, nested a few levels. */
export const hostileValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    hostileString,
    hostileNumber,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(hostileKey, tie('value'), { maxKeys: 4 }),
  ),
})).value;

const now = '2026-01-10T12:00:00Z';

/** Every filter of the lists, each set (shared safely: mutations work on a structuredClone of an input). */
const LIST_FILTERS = {
  priceBetween: [1, 100],
  includeTagsAny: ['color:black'],
  excludeTagsAny: ['sale'],
  excludeIds: ['h-other'],
};

/**
 * A valid input for every procedure, with every optional field filled, so
 * that replacing any one of its paths reaches every field of the contract.
 */
export const BASE_INPUTS: Record<string, unknown> = {
  'items.upsert': {
    items: [
      {
        itemId: 'h-item',
        title: 'Trail shoe',
        description: 'Light',
        price: 10,
        currency: 'EUR',
        available: true,
        tags: ['color:black'],
        brand: 'acme',
        category: ['shoes', 'running'],
        props: { url: '/p', nested: { list: ['a', 1] } },
        parentId: 'h-parent',
        createdAt: now,
        markets: { DE: { available: true, price: 12, currency: 'EUR' }, ch: { available: false } },
      },
    ],
  },
  'items.remove': { itemIds: ['h-item'] },
  'items.restore': { itemIds: ['h-item'] },
  'items.get': { itemIds: ['h-item'] },
  'items.list': { limit: 10, status: 'all', available: true, tag: 'color:black', cursor: 'WyJoLWl0ZW0iXQ' },
  'users.upsert': { users: [{ userId: 'h-user', traits: { tier: 'gold', visits: 3, vip: false } }] },
  'users.alias': { anonymousId: 'h-anon', userId: 'h-user' },
  'users.forget': { userId: 'h-gone' },
  'users.get': { userId: 'h-user' },
  'users.list': { limit: 10, trait: { key: 'tier', value: 'gold' }, cursor: 'WyJoLXVzZXIiXQ' },
  'events.batch': {
    events: [
      {
        eventId: 'h-event',
        type: 'purchase',
        itemId: 'h-item',
        userId: 'h-user',
        anonymousId: 'h-anon',
        sessionId: 'h-session',
        ts: now,
        value: 2,
        meta: {
          surface: 'pdp',
          widget: 'w',
          recommended: true,
          requestId: 'r',
          rank: 1,
          referrer: '/',
          url: '/p',
          experiment: 'e',
          variant: 'v',
          orderId: 'o-1',
          unitPrice: 5,
          currency: 'EUR',
          name: 'order',
          free: 'x',
        },
      },
    ],
  },
  'events.list': {
    limit: 10,
    userId: 'h-user',
    anonymousId: 'h-anon',
    itemId: 'h-item',
    type: 'view',
    since: '2026-01-01T00:00:00Z',
    until: '2026-12-01T00:00:00Z',
    cursor: 'WyIyMDI2LTAxLTEwVDEyOjAwOjAwLjAwMFoiLCJoLWV2ZW50Il0',
  },
  ...Object.fromEntries(
    SURFACES.map((surface) => [
      `recs.${surface}`,
      {
        userId: 'h-user',
        anonymousId: 'h-anon',
        sessionId: 'h-session',
        k: 5,
        filters: LIST_FILTERS,
        explain: true,
        seed: 7,
        placement: 'home',
        contextItemIds: ['h-item'],
        traits: { country: 'DE' },
        country: 'DE',
        overrides: {
          blend: { [SIGNALS[0]]: 1 },
          diversity: { lambda: 0.5, maxPerBrand: 2, maxPerCategory: 3 },
          excludePurchased: true,
          fallback: true,
        },
        ...(surface === 'similar' ? { itemId: 'h-item' } : {}),
        ...(surface === 'cart' ? { itemIds: ['h-item'] } : {}),
        ...(surface === 'trending' ? { category: 'shoes' } : {}),
      },
    ]),
  ),
  'admin.config.get': {},
  'admin.config.list': {},
  'admin.config.save': {
    config: { covisit: { topK: 40 }, diversity: { lambda: 0.7 }, blend: { forUser: { popular: 1 } } },
    name: 'hostile',
    note: 'generated',
    activate: false,
  },
  'admin.config.activate': { version: 1 },
  'admin.config.rollback': {},
  'admin.keys.list': {},
  'admin.operators.list': {},
  'admin.operators.add': { name: 'hostile-op', role: 'viewer', replace: true },
  'admin.operators.remove': { name: 'hostile-nobody' },
  'admin.keys.create': { kind: 'publishable', allowedOrigins: ['https://h.example'], label: 'hostile' },
  // Ids of no key: the suite's own keys must keep working.
  'admin.keys.setOrigins': { keyId: '0123456789abcdef', allowedOrigins: ['https://h.example'] },
  'admin.keys.revoke': { keyId: '0123456789abcdef' },
  'admin.experiments.create': {
    id: 'h-exp',
    name: 'hostile',
    hypothesis: 'generated',
    variants: [
      { key: 'control', kind: 'control', weight: 1 },
      { key: 'v1', kind: 'config', version: 1, weight: 2 },
      { key: 'retail', kind: 'profile', profile: 'online-retail' },
      { key: 'hidden', kind: 'surface', enabled: false },
      { key: 'rules', kind: 'rules', ruleSetId: 'h-rules' },
    ],
    traffic: 0.5,
    target: { surfaces: ['forUser'], placements: ['home'], segments: ['vip'], countries: ['DE'] },
    primaryMetric: 'conversionRate',
    minimumDetectableEffect: 0.05,
    // A closed local port: a generated guardrail breach must not reach out to the network.
    guardrails: {
      minSample: 10,
      consecutive: 2,
      rules: [{ metric: 'ctr', min: 0.01, max: 0.9 }],
      webhookUrl: 'http://127.0.0.1:9/hook',
    },
    // A bandit, so its settings are generated too (the weights above are then ignored).
    allocation: 'bandit',
    bandit: { metric: 'ctr', holdout: 0.1, floor: 0.05 },
  },
  'admin.experiments.list': {},
  'admin.experiments.plan': {
    surfaces: ['forUser'],
    primaryMetric: 'ctr',
    minimumDetectableEffect: 0.05,
    weights: [1, 2],
    traffic: 0.5,
    lookbackDays: 14,
    baseRate: 0.03,
  },
  'admin.experiments.get': { id: 'h-exp' },
  'admin.experiments.start': { id: 'h-exp', reason: 'generated' },
  'admin.experiments.pause': { id: 'h-exp', reason: 'generated' },
  'admin.experiments.resume': { id: 'h-exp', reason: 'generated' },
  'admin.experiments.complete': { id: 'h-exp', reason: 'generated' },
  'admin.experiments.results': {
    id: 'h-exp',
    cupedDays: 28,
    breakdown: 'surface',
    customEvents: ['newsletter-signup'],
  },
  'admin.experiments.checkGuardrails': { id: 'h-exp' },
  'admin.experiments.allocations': { id: 'h-exp' },
  'admin.experiments.reallocate': { id: 'h-exp', dryRun: false },
  'admin.traces.get': { requestId: '00000000-0000-4000-8000-000000000000' },
  'admin.traces.search': {
    requestId: 'h-request',
    userId: 'h-user',
    anonymousId: 'h-anon',
    itemId: 'h-item',
    ruleId: 'h-rule',
    surface: 'home',
    from: '2026-01-01T00:00:00Z',
    to: '2026-12-01T00:00:00Z',
    cursor: 'WyIyMDI2LTAxLTEwVDEyOjAwOjAwLjAwMDAwMFoiLCJoLXJlcXVlc3QiXQ',
    limit: 10,
  },
  'admin.traces.prune': {},
  'admin.jobs.list': {},
  'admin.jobs.run': { job: 'guardrails', dryRun: true },
  'admin.jobs.history': { job: 'guardrails', limit: 10 },
  'admin.overview': { range: '7d' },
  'admin.catalog.list': {
    limit: 10,
    status: 'archived',
    available: false,
    search: '50%_off',
    cursor: 'WyJoLWl0ZW0iXQ',
  },
  'admin.lookup.user': { userId: 'h-user' },
  'admin.lookup.item': { itemId: 'h-item' },
  'admin.catalog.archive': { itemIds: ['h-item'] },
  'admin.catalog.restore': { itemIds: ['h-item'] },
  // Rule ids of no rule the suite needs; a generated rule may block or pin items, never fail a request.
  'admin.rules.list': {},
  'admin.rules.get': { ruleId: 'h-rule' },
  'admin.rules.create': {
    rule: {
      id: 'h-rule',
      name: 'generated',
      kind: 'boost',
      items: { tags: ['brand:acme'], priceMin: 1, priceMax: 100, createdAfter: '2026-01-01T00:00:00Z' },
      multiplier: 2,
      priority: 3,
      when: { surfaces: ['forUser'], placements: ['home'], segments: ['vip'], traits: { country: ['DE'] } },
      schedule: { timeZone: 'Europe/Berlin', start: '2026-01-01T00:00', end: '2027-01-01T00:00' },
    },
  },
  'admin.rules.update': { rule: { id: 'h-rule', kind: 'block', items: { itemIds: ['h-item'] } } },
  'admin.rules.disable': { ruleId: 'h-rule' },
  'admin.rules.enable': { ruleId: 'h-rule' },
  'admin.rules.remove': { ruleId: 'h-rule' },
  'admin.rules.preview': {
    change: { upsert: [{ id: 'h-preview', kind: 'pin', items: { itemIds: ['h-item'] }, slot: 0 }] },
    requests: [{ surface: 'trending', k: 3 }],
  },
  'admin.rules.export': {},
  'admin.rules.import': {
    rules: [{ id: 'h-import', kind: 'bury', items: { tags: ['category:h'] }, factor: 0.5 }],
  },
  'admin.overrides.list': {},
  'admin.overrides.add': { kind: 'boost', itemIds: ['h-item'], hours: 1, reason: 'generated' },
  'admin.overrides.cancel': { ruleId: 'h-override' },
  'recs.bundle': {
    itemId: 'h-item',
    maxItems: 3,
    userId: 'h-user',
    anonymousId: 'h-anon',
    sessionId: 'h-session',
    filters: LIST_FILTERS,
    placement: 'pdp',
    traits: { country: 'DE' },
    country: 'de',
  },
  'recs.group': {
    members: [{ userId: 'h-user', anonymousId: 'h-anon' }, { anonymousId: 'h-anon-2' }],
    rule: 'avg',
    strongFit: { threshold: 0.5, maxLocked: 2 },
    k: 5,
    filters: LIST_FILTERS,
    country: 'DE',
    placement: 'home',
    seed: 7,
    explain: true,
  },
  'recs.rerank': {
    itemIds: ['h-item', 'h-unknown', 'h-other'],
    userId: 'h-user',
    anonymousId: 'h-anon',
    sessionId: 'h-session',
    filters: LIST_FILTERS,
    country: 'DE',
    placement: 'search',
    traits: { country: 'DE' },
    seed: 7,
    explain: true,
  },
  'admin.bundles.acceptance': { days: 30, purchaseWindowDays: 7, stored: false },
  'admin.bundles.backfill': { lookbackDays: 30, purchaseWindowDays: 7, dryRun: true },
};

/** Every path of a JSON value: each container and each leaf. */
export function pathsOf(value: unknown, prefix: PropertyKey[] = []): PropertyKey[][] {
  const paths: PropertyKey[][] = [prefix];
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value))
      paths.push(...pathsOf(v, [...prefix, Array.isArray(value) ? Number(k) : k]));
  }
  return paths;
}

/** A copy of `value` with the value at `path` replaced (or added, when `path` names a new key). */
export function withValueAt(value: unknown, path: PropertyKey[], replacement: unknown): unknown {
  if (path.length === 0) return replacement;
  const copy = structuredClone(value) as Record<PropertyKey, unknown>;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<PropertyKey, unknown>;
  Object.defineProperty(node, path.at(-1)!, {
    value: replacement,
    enumerable: true,
    writable: true,
    configurable: true,
  });
  return copy;
}

/** The base input of `procedure` with one path replaced by a hostile value, or a new key added. */
export function hostileInputFor(procedure: string): fc.Arbitrary<unknown> {
  const base = BASE_INPUTS[procedure];
  const paths = pathsOf(base);
  const containers = paths.filter((p) => {
    let node: unknown = base;
    for (const k of p) node = (node as Record<PropertyKey, unknown>)[k];
    return node !== null && typeof node === 'object' && !Array.isArray(node);
  });
  return fc.oneof(
    {
      weight: 6,
      arbitrary: fc.tuple(fc.constantFrom(...paths), hostileValue).map(([p, v]) => withValueAt(base, p, v)),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.constantFrom(...containers), hostileKey, hostileValue)
        .map(([p, k, v]) => withValueAt(base, [...p, k], v)),
    },
    { weight: 1, arbitrary: hostileValue },
    { weight: 1, arbitrary: fc.constant(base) },
  );
}

/** A word of plain letters: never PII, never anything PostgreSQL refuses. */
const word = fc.string({
  unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz'),
  minLength: 1,
  maxLength: 12,
});

/** One defect that certainly makes a row invalid, applied to a good row. */
type Row = Record<string, unknown>;
type Defect = (row: Row) => Row;

/** A valid event without its eventId. */
const goodEvent = fc
  .record({
    type: fc.constantFrom(...EVENT_TYPES),
    who: fc.constantFrom('userId', 'anonymousId'),
    person: word,
    item: word,
    ts: fc.oneof(validTimestamp, fc.constant(now)),
    // Free keys start with x, so they never meet a documented key's type (rank, currency, …).
    meta: fc.option(
      fc.dictionary(
        word.map((w) => `x${w}`),
        fc.oneof(word, fc.integer(), fc.boolean()),
        { maxKeys: 3 },
      ),
      {
        nil: undefined,
      },
    ),
  })
  .map(
    (e): Row => ({
      type: e.type,
      itemId: `item-${e.item}`,
      [e.who]: `${e.who}-${e.person}`,
      ts: e.ts,
      ...(e.type === 'rate' ? { value: 4 } : {}),
      ...(e.meta ? { meta: e.meta } : {}),
    }),
  );

const poisonString = fc.constantFrom(...POISON_STRINGS);

const eventDefects: fc.Arbitrary<Defect> = fc.oneof(
  poisonString.map(
    (p): Defect =>
      (r) => ({ ...r, meta: { free: `x${p}` } }),
  ),
  poisonString.map(
    (p): Defect =>
      (r) => ({ ...r, meta: { [`k${p}`]: 1 } }),
  ),
  poisonString.map(
    (p): Defect =>
      (r) => ({ ...r, eventId: `${r.eventId}${p}` }),
  ),
  poisonString.map(
    (p): Defect =>
      (r) => ({ ...r, itemId: `i${p}` }),
  ),
  poisonString.map(
    (p): Defect =>
      (r) => ({ ...r, sessionId: `s${p}` }),
  ),
  fc.constantFrom(...BAD_TIMESTAMPS).map(
    (ts): Defect =>
      (r) => ({ ...r, ts }),
  ),
  fc.constant<Defect>((r) => ({ ...r, type: 'teleport' })),
  fc.constant<Defect>((r) => ({ ...r, value: 'NaN' })),
);

/** A valid item without its itemId. */
const goodItem = fc
  .record({ title: word, price: fc.integer({ min: 0, max: 1_000 }), tag: word, brand: word })
  .map((i): Row => ({ title: i.title, price: i.price, tags: [i.tag], brand: i.brand }));

const itemDefects: fc.Arbitrary<Defect> = fc.oneof(
  poisonString.map(
    (p): Defect =>
      (r) => ({ ...r, title: p }),
  ),
  poisonString.map(
    (p): Defect =>
      (r) => ({ ...r, tags: ['ok', p] }),
  ),
  poisonString.map(
    (p): Defect =>
      (r) => ({ ...r, brand: p }),
  ),
  poisonString.map(
    (p): Defect =>
      (r) => ({ ...r, props: { deep: [{ [p]: 1 }] } }),
  ),
  poisonString.map(
    (p): Defect =>
      (r) => ({ ...r, props: { deep: [p] } }),
  ),
  poisonString.map(
    (p): Defect =>
      (r) => ({ ...r, itemId: `${r.itemId}${p}` }),
  ),
  fc.constantFrom(...BAD_TIMESTAMPS).map(
    (createdAt): Defect =>
      (r) => ({ ...r, createdAt }),
  ),
  fc.constant<Defect>((r) => ({ ...r, category: 'c'.repeat(200) })),
);

/** A valid user without its userId. */
const goodUser = fc
  .record({ tier: word, visits: fc.integer({ min: 0, max: 99 }) })
  .map((traits): Row => ({ traits }));

const userDefects: fc.Arbitrary<Defect> = fc.oneof(
  poisonString.map(
    (p): Defect =>
      (r) => ({ ...r, traits: { tier: p } }),
  ),
  poisonString.map(
    (p): Defect =>
      (r) => ({ ...r, traits: { [p]: 'x' } }),
  ),
  poisonString.map(
    (p): Defect =>
      (r) => ({ ...r, userId: `${r.userId}${p}` }),
  ),
);

/**
 * A batch of good rows and poison rows (a good row with one defect) in any
 * order. Ids are `r<index>` here: the suite prefixes them with a fresh run id
 * before sending, so every execution's rows are new.
 */
export interface MixedBatch {
  rows: Row[];
  /** Indexes of the rows that must be rejected. */
  poison: number[];
}

function mixedBatch(
  idKey: string,
  good: fc.Arbitrary<Row>,
  defects: fc.Arbitrary<Defect>,
  maxLength: number,
) {
  return fc
    .array(
      fc.tuple(
        good,
        fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 2, arbitrary: defects }),
      ),
      { minLength: 1, maxLength },
    )
    .map((entries): MixedBatch => {
      const poison: number[] = [];
      const rows = entries.map(([row, defect], i) => {
        const withId = { [idKey]: `r${i}`, ...row };
        if (!defect) return withId;
        poison.push(i);
        return defect(withId);
      });
      return { rows, poison };
    });
}

export const mixedEvents = mixedBatch('eventId', goodEvent, eventDefects, 60);
export const mixedItems = mixedBatch('itemId', goodItem, itemDefects, 40);
export const mixedUsers = mixedBatch('userId', goodUser, userDefects, 40);

/** Prefixes each row's id with `prefix` (defects appended to ids stay at the end). */
export const withIdPrefix = (batch: MixedBatch, idKey: string, prefix: string): Row[] =>
  batch.rows.map((row) => ({ ...row, [idKey]: `${prefix}${String(row[idKey])}` }));
