import type { Catalog, ItemInfo } from '../indexes/Catalog';
import type { Surface } from '../protocol';
import { SURFACES } from '../protocol';
import { type CompiledWindow, compileWindow, insideWindow, localTime, parseInstant } from './schedule';
import type { ItemMatch, RuleDefinition, RuleKind } from './types';
import { assertRules } from './validateRule';

/** Kinds in order of precedence: a lower number wins. */
export const KIND_ORDER: Record<RuleKind, number> = {
  block: 0,
  filter: 1,
  pin: 2,
  inject: 3,
  boost: 4,
  bury: 4,
};

/** `*` is the only wildcard; everything else is literal. */
function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`);
}

/** Exact tags and wildcard patterns of one tag list. */
class TagMatcher {
  readonly exact: Set<string>;
  readonly patterns: RegExp[];
  constructor(tags: string[]) {
    this.exact = new Set(tags.filter((t) => !t.includes('*')));
    this.patterns = tags.filter((t) => t.includes('*')).map(globToRegExp);
  }
  matchesAny(tags: readonly string[]): boolean {
    for (const t of tags) {
      if (this.exact.has(t)) return true;
      for (const p of this.patterns) if (p.test(t)) return true;
    }
    return false;
  }
}

/** One rule, resolved to what the hot path compares. */
export interface CompiledRule {
  readonly index: number;
  readonly def: RuleDefinition;
  readonly id: string;
  readonly kind: RuleKind;
  readonly priority: number;
  readonly itemIds: ReadonlySet<string> | undefined;
  readonly tags: TagMatcher | undefined;
  readonly match: ItemMatch;
  readonly createdAfter: number;
  // Request conditions (undefined: any).
  readonly placements: ReadonlySet<string> | undefined;
  readonly anchorIds: ReadonlySet<string> | undefined;
  readonly anchorCategories: ReadonlySet<string> | undefined;
  readonly cartIds: ReadonlySet<string> | undefined;
  readonly cartTags: TagMatcher | undefined;
  readonly segments: ReadonlySet<string> | undefined;
  readonly traits: Array<[string, ReadonlySet<string>]> | undefined;
  readonly countries: ReadonlySet<string> | undefined;
  /** Whether any request condition besides the surface is set. */
  readonly conditional: boolean;
  // Schedule.
  readonly start: number;
  readonly end: number;
  readonly zone: string;
  readonly windows: CompiledWindow[] | undefined;
  // Action.
  readonly slot: number | undefined;
  readonly count: number;
  readonly multiplier: number;
  readonly add: number;
  readonly allowUnavailable: boolean;
}

const set = <T>(list: T[] | undefined, map: (v: T) => T = (v) => v) =>
  list === undefined ? undefined : new Set(list.map(map));

function compileRule(def: RuleDefinition, index: number): CompiledRule {
  const when = def.when ?? {};
  const zone = def.schedule?.timeZone ?? 'UTC';
  const match = def.items;
  let multiplier = 1;
  let add = 0;
  if (def.kind === 'boost') {
    multiplier = def.multiplier ?? 1;
    add = def.add ?? 0;
  } else if (def.kind === 'bury') {
    multiplier = def.multiplier ?? 1;
    add = -(def.subtract ?? 0);
  }
  const conditional =
    when.placements !== undefined ||
    when.anchorItemIds !== undefined ||
    when.anchorCategories !== undefined ||
    when.cartItemIds !== undefined ||
    when.cartTags !== undefined ||
    when.segments !== undefined ||
    when.traits !== undefined ||
    when.countries !== undefined;
  return {
    index,
    def,
    id: def.id,
    kind: def.kind,
    priority: def.priority ?? 0,
    itemIds: set(match.itemIds),
    tags: match.tags ? new TagMatcher(match.tags) : undefined,
    match,
    createdAfter: match.createdAfter ? parseInstant(match.createdAfter, 'UTC') : Number.NEGATIVE_INFINITY,
    placements: set(when.placements),
    anchorIds: set(when.anchorItemIds),
    anchorCategories: set(when.anchorCategories, (c) => `category:${c}`),
    cartIds: set(when.cartItemIds),
    cartTags: when.cartTags ? new TagMatcher(when.cartTags) : undefined,
    segments: set(when.segments),
    traits: when.traits ? Object.entries(when.traits).map(([k, v]) => [k, new Set(v)]) : undefined,
    countries: set(when.countries, (c) => c.toUpperCase()),
    conditional,
    start: def.schedule?.start ? parseInstant(def.schedule.start, zone) : Number.NEGATIVE_INFINITY,
    end: def.schedule?.end ? parseInstant(def.schedule.end, zone) : Number.POSITIVE_INFINITY,
    zone,
    windows: def.schedule?.recurring?.map(compileWindow),
    slot: def.kind === 'pin' || def.kind === 'inject' ? def.slot : undefined,
    count: def.kind === 'inject' ? (def.count ?? 1) : 1,
    multiplier,
    add,
    allowUnavailable: (def.kind === 'pin' || def.kind === 'inject') && def.allowUnavailable === true,
  };
}

/** Whether an item satisfies a rule's item matcher. */
export function itemMatches(rule: CompiledRule, item: ItemInfo['item']): boolean {
  const m = rule.match;
  if (rule.itemIds !== undefined && !rule.itemIds.has(item.itemId)) return false;
  if (rule.tags !== undefined && !rule.tags.matchesAny(item.tags)) return false;
  if (m.priceMin !== undefined && (item.price === undefined || item.price < m.priceMin)) return false;
  if (m.priceMax !== undefined && (item.price === undefined || item.price > m.priceMax)) return false;
  if (m.available !== undefined && item.available !== m.available) return false;
  if (item.createdAt < rule.createdAfter) return false;
  return true;
}

/** What a request offers the rule conditions. */
export interface RuleRequestContext {
  surface: Surface;
  placement: string | undefined;
  anchorItemId: string | undefined;
  cartItemIds: readonly string[] | undefined;
  traits: Readonly<Record<string, string>>;
  now: number;
}

/**
 * A compiled rule set: rules sorted by precedence, grouped by surface, with schedules resolved to
 * instants. Compiled once per change (`Engine.setRules`), never per request. Which items each rule
 * matches is kept per item by {@link RuleItemIndex}, bound to a catalog.
 */
export class RuleSet {
  /** Enabled rules in precedence order (kind, then priority high to low, then id). */
  readonly rules: CompiledRule[];
  /** Every definition as given, disabled ones included. */
  readonly definitions: readonly RuleDefinition[];
  private readonly bySurface: Map<Surface, CompiledRule[]>;
  private readonly zoneCache = new Map<string, { minute: number; weekday: number; minuteOfDay: number }>();

  constructor(defs: unknown) {
    assertRules(defs);
    this.definitions = defs.map((d) => structuredClone(d));
    const enabled = this.definitions
      .filter((d) => d.enabled !== false)
      .slice()
      .sort(
        (a, b) =>
          KIND_ORDER[a.kind] - KIND_ORDER[b.kind] ||
          (b.priority ?? 0) - (a.priority ?? 0) ||
          (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
      );
    this.rules = enabled.map((d, i) => compileRule(d, i));
    this.bySurface = new Map(
      SURFACES.map((s) => [
        s,
        this.rules.filter((r) => !r.def.when?.surfaces || r.def.when.surfaces.includes(s)),
      ]),
    );
  }

  get size(): number {
    return this.rules.length;
  }

  /** Rules of `surface` in force at `ctx.now` whose request conditions hold; writes 1 in `active`. */
  activate(ctx: RuleRequestContext, catalog: Catalog, active: Uint8Array): CompiledRule[] {
    const out: CompiledRule[] = [];
    const candidates = this.bySurface.get(ctx.surface) ?? [];
    for (const r of candidates) {
      if (ctx.now < r.start || ctx.now >= r.end) continue;
      if (r.windows !== undefined && !this.inWindows(r, ctx.now)) continue;
      if (r.conditional && !conditionsHold(r, ctx, catalog)) continue;
      active[r.index] = 1;
      out.push(r);
    }
    return out;
  }

  /** Whether a rule is in force at `now` by its schedule alone. */
  scheduled(r: CompiledRule, now: number): boolean {
    return now >= r.start && now < r.end && (r.windows === undefined || this.inWindows(r, now));
  }

  private inWindows(r: CompiledRule, now: number): boolean {
    // Local weekday and minute per zone, once per minute: Intl formatting costs microseconds.
    const minute = Math.floor(now / 60_000);
    let local = this.zoneCache.get(r.zone);
    if (local === undefined || local.minute !== minute) {
      const t = localTime(minute * 60_000, r.zone);
      local = { minute, weekday: t.weekday, minuteOfDay: t.minuteOfDay };
      this.zoneCache.set(r.zone, local);
    }
    for (const w of r.windows!) if (insideWindow(w, local.weekday, local.minuteOfDay)) return true;
    return false;
  }
}

function conditionsHold(r: CompiledRule, ctx: RuleRequestContext, catalog: Catalog): boolean {
  if (r.placements && (ctx.placement === undefined || !r.placements.has(ctx.placement))) return false;
  if (r.anchorIds && (ctx.anchorItemId === undefined || !r.anchorIds.has(ctx.anchorItemId))) return false;
  if (r.anchorCategories) {
    const anchor = ctx.anchorItemId === undefined ? undefined : catalog.ids.get(ctx.anchorItemId);
    const info = anchor === undefined ? undefined : catalog.info(anchor);
    if (!info?.item.tags.some((t) => r.anchorCategories!.has(t))) return false;
  }
  if (r.cartIds && !(ctx.cartItemIds ?? []).some((id) => r.cartIds!.has(id))) return false;
  if (r.cartTags) {
    const hit = (ctx.cartItemIds ?? []).some((itemId) => {
      const id = catalog.ids.get(itemId);
      const info = id === undefined ? undefined : catalog.info(id);
      return info !== undefined && r.cartTags!.matchesAny(info.item.tags);
    });
    if (!hit) return false;
  }
  if (r.segments && !r.segments.has(ctx.traits.segment ?? '')) return false;
  if (r.countries && !r.countries.has((ctx.traits.country ?? '').toUpperCase())) return false;
  if (r.traits) {
    for (const [key, values] of r.traits) if (!values.has(ctx.traits[key] ?? '')) return false;
  }
  return true;
}

/**
 * Which rules match each catalog item, kept up to date as items change, so a request looks up an
 * item's few rules instead of testing every rule. Rules naming item ids or exact tags are found
 * through maps; only the rest (price, dates, wildcards, match-all) are tested against every item.
 */
export class RuleItemIndex {
  private readonly byItem: Array<Int32Array | undefined> = [];
  private readonly byId = new Map<string, number[]>();
  private readonly byTag = new Map<string, number[]>();
  private readonly generic: number[] = [];
  /** Per pin/inject rule: its matching items (listed ids first, then newest); rebuilt lazily. */
  private readonly lists = new Map<number, number[]>();
  private listsVersion = -1;
  private version = 0;

  constructor(
    readonly set: RuleSet,
    private readonly catalog: Catalog,
  ) {
    for (const r of set.rules) {
      if (r.itemIds !== undefined) {
        for (const id of r.itemIds) push(this.byId, id, r.index);
      } else if (r.tags !== undefined && r.tags.patterns.length === 0) {
        for (const t of r.tags.exact) push(this.byTag, t, r.index);
      } else this.generic.push(r.index);
    }
    if (set.size > 0) {
      for (let id = 0; id < catalog.idCount; id++) this.refreshOne(id);
    }
  }

  /** Re-evaluates the given items (after `upsertItems`). */
  refresh(ids: Iterable<number>): void {
    if (this.set.size === 0) return;
    for (const id of ids) this.refreshOne(id);
    this.version++;
  }

  /** Rule indexes matching item `id` (ascending: precedence order), or undefined. */
  rulesOf(id: number): Int32Array | undefined {
    return this.byItem[id];
  }

  /** Items matching a pin/inject rule: its listed ids in their order, then the newest first. */
  itemsOf(rule: CompiledRule): number[] {
    if (this.listsVersion !== this.version) {
      this.lists.clear();
      this.listsVersion = this.version;
    }
    let list = this.lists.get(rule.index);
    if (list !== undefined) return list;
    list = [];
    if (rule.itemIds !== undefined) {
      for (const itemId of rule.def.items.itemIds ?? []) {
        const id = this.catalog.ids.get(itemId);
        if (id !== undefined && this.byItem[id]?.includes(rule.index)) list.push(id);
      }
    } else {
      for (let id = 0; id < this.byItem.length; id++)
        if (this.byItem[id]?.includes(rule.index)) list.push(id);
      list.sort(
        (a, b) => (this.catalog.info(b)?.item.createdAt ?? 0) - (this.catalog.info(a)?.item.createdAt ?? 0),
      );
    }
    this.lists.set(rule.index, list);
    return list;
  }

  private refreshOne(id: number): void {
    const info = this.catalog.info(id);
    if (info === undefined) return;
    const item = info.item;
    const found = new Set<number>();
    for (const r of this.byId.get(item.itemId) ?? []) found.add(r);
    for (const t of item.tags) for (const r of this.byTag.get(t) ?? []) found.add(r);
    for (const r of this.generic) found.add(r);
    const hits: number[] = [];
    for (const r of found) if (itemMatches(this.set.rules[r]!, item)) hits.push(r);
    while (this.byItem.length <= id) this.byItem.push(undefined);
    this.byItem[id] = hits.length > 0 ? Int32Array.from(hits).sort() : undefined;
  }
}

function push<K>(map: Map<K, number[]>, key: K, value: number): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
