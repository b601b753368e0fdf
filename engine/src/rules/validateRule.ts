import { SURFACES } from '../protocol';
import { isTimeZone, parseClock, parseInstant } from './schedule';
import { RULE_KINDS, type RuleDefinition, WEEKDAYS } from './types';

/** One problem in a rule definition: where (field path) and what to do about it. */
export interface RuleIssue {
  path: Array<string | number>;
  message: string;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const MAX_LIST = 1_000;

const MATCH_FIELDS = ['itemIds', 'tags', 'priceMin', 'priceMax', 'available', 'createdAfter'];
const WHEN_FIELDS = [
  'surfaces',
  'placements',
  'anchorItemIds',
  'anchorCategories',
  'cartItemIds',
  'cartTags',
  'segments',
  'traits',
  'countries',
];
const BASE_FIELDS = ['id', 'kind', 'name', 'priority', 'enabled', 'ruleSet', 'when', 'schedule', 'items'];
const KIND_FIELDS: Record<string, string[]> = {
  block: [],
  filter: [],
  pin: ['slot', 'allowUnavailable'],
  inject: ['count', 'slot', 'allowUnavailable'],
  boost: ['multiplier', 'add'],
  bury: ['multiplier', 'subtract'],
};

/**
 * Checks one rule definition without any library, so the engine and every server contract share
 * one set of rules and messages. Each issue names the field and the fix; no issues means valid.
 *
 * @example validateRule({ id: 'x', kind: 'pin', items: { itemIds: ['a'] } })
 * // [{ path: ['slot'], message: 'a pin needs a slot: a whole number ≥ 0 (0 = first position)' }]
 */
export function validateRule(value: unknown): RuleIssue[] {
  const issues: RuleIssue[] = [];
  const add = (path: Array<string | number>, message: string) => issues.push({ path, message });
  if (!isObj(value)) {
    add([], 'a rule must be an object like {"id":"…","kind":"boost","items":{…}}');
    return issues;
  }
  const kind = value.kind;
  if (typeof value.id !== 'string' || !ID.test(value.id)) {
    add(['id'], 'use 1–128 letters, digits, ".", "_", ":" or "-", starting with a letter or digit');
  }
  if (typeof kind !== 'string' || !(RULE_KINDS as readonly string[]).includes(kind)) {
    add(['kind'], `must be one of ${RULE_KINDS.join(', ')}`);
    return issues;
  }
  const allowed = new Set([...BASE_FIELDS, ...KIND_FIELDS[kind]!]);
  for (const key of Object.keys(value)) {
    if (!allowed.has(key)) {
      add([key], `unknown field for a ${kind} rule; allowed: ${[...allowed].join(', ')}`);
    }
  }
  if (value.name !== undefined && (typeof value.name !== 'string' || value.name.length > 200)) {
    add(['name'], 'must be text of at most 200 characters');
  }
  if (value.priority !== undefined && !isInt(value.priority, -1_000_000, 1_000_000)) {
    add(['priority'], 'must be a whole number between -1000000 and 1000000 (higher wins within a kind)');
  }
  if (value.enabled !== undefined && typeof value.enabled !== 'boolean') {
    add(['enabled'], 'must be true or false');
  }
  if (value.ruleSet !== undefined && (typeof value.ruleSet !== 'string' || !ID.test(value.ruleSet))) {
    add(
      ['ruleSet'],
      'a rule set id: 1–128 letters, digits, ".", "_", ":" or "-", starting with a letter or digit (e.g. "summer-sale"); leave it out for the base set',
    );
  }
  checkMatch(value.items, ['items'], add);
  if (value.when !== undefined) checkWhen(value.when, add);
  if (value.schedule !== undefined) checkSchedule(value.schedule, add);
  switch (kind) {
    case 'pin':
      if (!isInt(value.slot, 0, 999))
        add(['slot'], 'a pin needs a slot: a whole number 0–999 (0 = first position)');
      break;
    case 'inject':
      if (value.slot !== undefined && !isInt(value.slot, 0, 999))
        add(
          ['slot'],
          'must be a whole number 0–999 (0 = first position); leave it out for the end of the list',
        );
      if (value.count !== undefined && !isInt(value.count, 1, 100))
        add(['count'], 'must be a whole number 1–100');
      break;
    case 'boost': {
      const { multiplier, add: plus } = value;
      if (multiplier !== undefined && !isNum(multiplier, 1, 1000))
        add(['multiplier'], 'a boost multiplies by 1–1000 (use a bury rule to lower items)');
      if (plus !== undefined && !isNum(plus, 0, 1000)) add(['add'], 'must be a number 0–1000 (score units)');
      if (multiplier === undefined && plus === undefined)
        add(['multiplier'], 'give a multiplier (e.g. 3) or an add (e.g. 0.4), or both');
      break;
    }
    case 'bury': {
      const { multiplier, subtract } = value;
      if (multiplier !== undefined && !isNum(multiplier, 0, 1))
        add(['multiplier'], 'a bury multiplies by 0–1 (use a boost rule to raise items)');
      if (subtract !== undefined && !isNum(subtract, 0, 1000))
        add(['subtract'], 'must be a number 0–1000 (score units)');
      if (multiplier === undefined && subtract === undefined)
        add(['multiplier'], 'give a multiplier (e.g. 0.5) or a subtract (e.g. 0.2), or both');
      break;
    }
  }
  for (const key of ['allowUnavailable']) {
    if (value[key] !== undefined && typeof value[key] !== 'boolean') add([key], 'must be true or false');
  }
  return issues;
}

function isInt(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}
function isNum(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max;
}

type Add = (path: Array<string | number>, message: string) => void;

function checkStrings(v: unknown, path: Array<string | number>, add: Add, what: string): void {
  if (!Array.isArray(v) || v.length === 0) {
    add(path, `must be a non-empty list of ${what}`);
    return;
  }
  if (v.length > MAX_LIST) add(path, `at most ${MAX_LIST} entries; split the rule`);
  v.forEach((s, i) => {
    if (typeof s !== 'string' || s.length === 0 || s.length > 512)
      add([...path, i], `must be one of ${what} (1–512 characters)`);
  });
}

function checkMatch(v: unknown, path: string[], add: Add): void {
  if (!isObj(v)) {
    add(
      path,
      'say which items: {"itemIds":[…]}, {"tags":["brand:acme"]}, a price range, … ({} = every item)',
    );
    return;
  }
  for (const key of Object.keys(v)) {
    if (!MATCH_FIELDS.includes(key))
      add([...path, key], `unknown item field; use ${MATCH_FIELDS.join(', ')}`);
  }
  if (v.itemIds !== undefined) checkStrings(v.itemIds, [...path, 'itemIds'], add, 'item ids');
  if (v.tags !== undefined)
    checkStrings(v.tags, [...path, 'tags'], add, 'tags like "brand:acme" or "brand:*"');
  for (const key of ['priceMin', 'priceMax']) {
    if (v[key] !== undefined && !isNum(v[key], 0, Number.MAX_VALUE))
      add([...path, key], 'must be a price ≥ 0');
  }
  if (typeof v.priceMin === 'number' && typeof v.priceMax === 'number' && v.priceMin > v.priceMax) {
    add([...path, 'priceMax'], `must be ≥ priceMin (${v.priceMin}); swap the bounds`);
  }
  if (v.available !== undefined && typeof v.available !== 'boolean')
    add([...path, 'available'], 'must be true or false');
  if (v.createdAfter !== undefined) {
    if (typeof v.createdAfter !== 'string' || !Number.isFinite(parseInstant(v.createdAfter, 'UTC'))) {
      add([...path, 'createdAfter'], 'must be an ISO-8601 date-time, e.g. "2026-11-01T00:00:00Z"');
    }
  }
}

function checkWhen(v: unknown, add: Add): void {
  if (!isObj(v)) {
    add(['when'], 'must be an object of conditions, e.g. {"surfaces":["forUser"],"countries":["DE"]}');
    return;
  }
  for (const key of Object.keys(v)) {
    if (!WHEN_FIELDS.includes(key)) add(['when', key], `unknown condition; use ${WHEN_FIELDS.join(', ')}`);
  }
  if (v.surfaces !== undefined) {
    checkStrings(v.surfaces, ['when', 'surfaces'], add, `surfaces (${SURFACES.join(', ')})`);
    if (Array.isArray(v.surfaces)) {
      v.surfaces.forEach((s, i) => {
        if (typeof s === 'string' && !(SURFACES as readonly string[]).includes(s))
          add(['when', 'surfaces', i], `unknown surface "${s}"; use ${SURFACES.join(', ')}`);
      });
    }
  }
  for (const key of [
    'placements',
    'anchorItemIds',
    'anchorCategories',
    'cartItemIds',
    'cartTags',
    'segments',
    'countries',
  ]) {
    if (v[key] !== undefined) checkStrings(v[key], ['when', key], add, 'text values');
  }
  if (v.traits !== undefined) {
    if (!isObj(v.traits) || Object.keys(v.traits).length === 0) {
      add(['when', 'traits'], 'must be an object of trait → allowed values, e.g. {"tier":["gold"]}');
    } else {
      for (const [k, list] of Object.entries(v.traits))
        checkStrings(list, ['when', 'traits', k], add, 'trait values');
    }
  }
}

function checkSchedule(v: unknown, add: Add): void {
  if (!isObj(v)) {
    add(
      ['schedule'],
      'must be an object, e.g. {"start":"2026-12-24T00:00","end":"2026-12-27T00:00","timeZone":"Europe/Berlin"}',
    );
    return;
  }
  for (const key of Object.keys(v)) {
    if (!['start', 'end', 'timeZone', 'recurring'].includes(key))
      add(['schedule', key], 'unknown schedule field; use start, end, timeZone, recurring');
  }
  let zone = 'UTC';
  if (v.timeZone !== undefined) {
    if (typeof v.timeZone !== 'string' || !isTimeZone(v.timeZone)) {
      add(
        ['schedule', 'timeZone'],
        'must be an IANA time zone such as "Europe/Berlin" or "America/New_York"',
      );
    } else zone = v.timeZone;
  }
  const instants: Record<string, number> = {};
  for (const key of ['start', 'end']) {
    if (v[key] === undefined) continue;
    const ms = typeof v[key] === 'string' ? parseInstant(v[key], zone) : Number.NaN;
    if (!Number.isFinite(ms)) {
      add(
        ['schedule', key],
        'must be a date-time like "2026-12-24T18:00" (local to timeZone) or "2026-12-24T17:00:00Z"',
      );
    } else instants[key] = ms;
  }
  if (instants.start !== undefined && instants.end !== undefined && instants.end <= instants.start) {
    add(['schedule', 'end'], 'must be after start');
  }
  if (v.recurring !== undefined) {
    if (!Array.isArray(v.recurring) || v.recurring.length === 0 || v.recurring.length > 50) {
      add(
        ['schedule', 'recurring'],
        'must be a list of 1–50 windows like {"days":["sat","sun"],"from":"09:00","to":"18:00"}',
      );
      return;
    }
    v.recurring.forEach((w, i) => {
      const at = ['schedule', 'recurring', i];
      if (!isObj(w)) {
        add(at, 'must be a window like {"days":["mon"],"from":"09:00","to":"17:00"}');
        return;
      }
      if (
        !Array.isArray(w.days) ||
        w.days.length === 0 ||
        w.days.some((d) => !(WEEKDAYS as readonly unknown[]).includes(d))
      ) {
        add([...at, 'days'], `must be a non-empty list of ${WEEKDAYS.join(', ')}`);
      }
      for (const key of ['from', 'to']) {
        if (typeof w[key] !== 'string' || !Number.isFinite(parseClock(w[key])))
          add([...at, key], 'must be a local time "HH:MM" (00:00–23:59; "24:00" for the end of the day)');
      }
      if (w.from === w.to && typeof w.from === 'string')
        add([...at, 'to'], 'must differ from from (an empty window)');
    });
  }
}

/** Thrown by `setRules` for an invalid definition; `issues` carry paths relative to the rule list. */
export class RuleValidationError extends Error {
  constructor(readonly issues: RuleIssue[]) {
    super(
      `Invalid rules: ${issues
        .slice(0, 5)
        .map((i) => `${i.path.join('.') || '(rule)'}: ${i.message}`)
        .join('; ')}${issues.length > 5 ? ` (and ${issues.length - 5} more)` : ''}`,
    );
    this.name = 'RuleValidationError';
  }
}

/** Validates a whole rule set (ids unique); throws {@link RuleValidationError}. */
export function assertRules(defs: unknown): asserts defs is RuleDefinition[] {
  if (!Array.isArray(defs)) throw new RuleValidationError([{ path: [], message: 'rules must be a list' }]);
  const issues: RuleIssue[] = [];
  const seen = new Set<string>();
  defs.forEach((d, i) => {
    for (const issue of validateRule(d)) issues.push({ path: [i, ...issue.path], message: issue.message });
    const id = isObj(d) ? d.id : undefined;
    if (typeof id === 'string') {
      if (seen.has(id))
        issues.push({ path: [i, 'id'], message: `"${id}" is used twice; rule ids are unique` });
      seen.add(id);
    }
  });
  if (issues.length > 0) throw new RuleValidationError(issues);
}
