/**
 * Longer than the ~450-line guideline on purpose: the compiler and the compiled rule set it returns
 * are one data structure (per-item and per-tag rule indexes written and read by the same code); split,
 * each half would need the other's internals.
 */
import type { Catalog, ItemInfo } from '../indexes/Catalog';
import type { Surface } from '../protocol';
import { SURFACES } from '../protocol';
import { ConditionIndex, ContextKeys, conditionsHold, readsItems } from './conditionIndex';
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
  /** The named rule set it belongs to; undefined: the base set. */
  readonly ruleSet: string | undefined;
  // Request conditions (undefined: any).
  readonly placements: ReadonlySet<string> | undefined;
  readonly anchorIds: ReadonlySet<string> | undefined;
  readonly anchorCategories: ReadonlySet<string> | undefined;
  readonly cartIds: ReadonlySet<string> | undefined;
  readonly cartTags: TagMatcher | undefined;
  readonly segments: ReadonlySet<string> | undefined;
  readonly traits: Array<[string, ReadonlySet<string>]> | undefined;
  readonly countries: ReadonlySet<string> | undefined;
  /** Whether any request condition besides the surface is set (a rule set counts as one). */
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
    def.ruleSet !== undefined ||
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
    ruleSet: def.ruleSet,
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
  /**
   * The named rule set the request is served under (an experiment's `rules:<set>` variant), whose
   * rules apply besides the base set's; undefined: the base set only.
   */
  ruleSet?: string | undefined;
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
  /**
   * Per surface: the rules in force on every request of it (no condition, no schedule) as flags
   * and as lists by kind, and the rest, which requests check: those reading only the request's
   * context (see {@link contextActive}) and those reading its items. Unconditional rules cost
   * nothing per request.
   */
  private readonly bySurface: Map<Surface, SurfaceRules>;
  /** The `country` trait of the request `activate` is working on, upper-cased once for every rule. */
  country = '';
  /** Numbers a request's context (see {@link ContextKeys}). */
  private readonly keys: ContextKeys;
  /**
   * Active rules by context number, for the schedule state `cachedState`, in two generations: a
   * number found in the old one moves to the young one, and when the young one is full the old one is
   * dropped. Recently used contexts stay however many the shop has, and the memory stays bounded.
   */
  private young = new Map<number, ActiveRules>();
  private old = new Map<number, ActiveRules>();
  private cachedState = '';
  /** What `activate` returns in when a request's item conditions add rules (see {@link ActiveRules.scratch}). */
  private readonly scratchFlags: Uint8Array;
  private readonly zoneCache = new Map<string, { minute: number; weekday: number; minuteOfDay: number }>();
  /**
   * Per rule with recurring windows: the minute (epoch minutes) its windows were last checked for,
   * and whether one was open then. Windows are whole local minutes, so a rule is checked at most
   * once a minute, whatever the request rate.
   */
  private readonly windowMinute: Float64Array;
  private readonly windowOpen: Uint8Array;
  /** The enabled rules with a schedule (see {@link scheduleState}). */
  private readonly timed: CompiledRule[];
  /** The last `scheduleState` answer and the instants between which it holds ([from, until)). */
  private stateCache = { from: 0, until: 0, state: '' };
  /**
   * Per surface: each rule's multiplier and add side by side (rule `r`'s at `2r` and `2r + 1`) as
   * one request sees them: its own for the surface's unconditional boosts and buries and for the
   * conditional ones active in the request the array is set for (see {@link effectiveFor}), 1 and
   * 0 for every other rule. The blend reads an entry per rule matching a candidate: one read, no
   * branch on whether the rule is active.
   */
  private readonly effective: Float64Array[];
  /** The request `effective` is set for, and the rules it made active there. */
  private effectiveOwner: object | undefined;
  private effectivePatch: { surface: number; rules: readonly CompiledRule[] } = { surface: 0, rules: [] };

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
    this.windowMinute = new Float64Array(this.rules.length).fill(Number.NaN);
    this.windowOpen = new Uint8Array(this.rules.length);
    this.timed = this.rules.filter(
      (r) =>
        r.windows !== undefined || r.start !== Number.NEGATIVE_INFINITY || r.end !== Number.POSITIVE_INFINITY,
    );
    this.scratchFlags = new Uint8Array(this.rules.length);
    this.keys = new ContextKeys(
      this.rules.filter((r) => !isStatic(r) && !readsItems(r)),
      SURFACES.length,
    );
    this.effective = SURFACES.map(() => {
      const pairs = new Float64Array(2 * this.rules.length);
      for (let r = 0; r < this.rules.length; r++) pairs[2 * r] = 1;
      return pairs;
    });
    this.bySurface = new Map(
      SURFACES.map((s, number) => {
        const applies = this.rules.filter((r) => !r.def.when?.surfaces || r.def.when.surfaces.includes(s));
        const flags = new Uint8Array(this.rules.length);
        const base: CompiledRule[] = [];
        const context: CompiledRule[] = [];
        const items: CompiledRule[] = [];
        for (const r of applies) {
          if (isStatic(r)) {
            flags[r.index] = 1;
            base.push(r);
            this.effective[number]![2 * r.index] = r.multiplier;
            this.effective[number]![2 * r.index + 1] = r.add;
          } else if (readsItems(r)) items.push(r);
          else context.push(r);
        }
        const surface: SurfaceRules = {
          number,
          base: { ...groupByKind(base), dynamicScoring: [], surface: number, flags, scratch: false },
          context: new ConditionIndex(context),
          items: new ConditionIndex(items),
        };
        return [s, surface];
      }),
    );
  }

  get size(): number {
    return this.rules.length;
  }

  /**
   * The rules of `ctx.surface` in force at `ctx.now` whose request conditions hold: flags (1 at
   * each one's index) and lists by kind. Those that read only the request's context come from a
   * cache (see {@link contextActive}); those that read its anchor or cart are looked up by them.
   * Read the answer before the next call: its flags may be a buffer that call reuses.
   */
  activate(ctx: RuleRequestContext, catalog: Catalog): ActiveRules {
    const surface = this.bySurface.get(ctx.surface)!;
    this.country = ctx.traits.country === undefined ? '' : ctx.traits.country.toUpperCase();
    const base = surface.context.empty ? surface.base : this.contextActive(surface, ctx, catalog);
    if (surface.items.empty) return base;
    const flags = this.scratchFlags;
    flags.set(base.flags);
    const extra = surface.items.collect(ctx, catalog, this, flags);
    return extra === undefined ? base : combine(base, extra, flags, true);
  }

  /**
   * The surface's unconditional rules and those of its rules without item conditions that apply to
   * the request. Which of these apply depends only on the context's number and on which scheduled
   * rules are in force, so the answer is kept per number and dropped when a schedule opens or closes.
   */
  private contextActive(surface: SurfaceRules, ctx: RuleRequestContext, catalog: Catalog): ActiveRules {
    const state = this.scheduleState(ctx.now);
    if (state !== this.cachedState) {
      this.young.clear();
      this.old.clear();
      this.cachedState = state;
    }
    if (!this.keys.usable) return this.contextRules(surface, ctx, catalog);
    const key = this.keys.keyOf(surface.number, ctx, this.country);
    let active = this.young.get(key);
    if (active !== undefined) return active;
    active = this.old.get(key) ?? this.contextRules(surface, ctx, catalog);
    if (this.young.size >= CONTEXT_CACHE_SIZE) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(key, active);
    return active;
  }

  /**
   * The multipliers and adds of `active`'s surface with its conditional boosts and buries in force
   * (see {@link effective}), set for `owner` — one request's rules — until another asks.
   */
  effectiveFor(owner: object, active: ActiveRules): Float64Array {
    const pairs = this.effective[active.surface]!;
    if (this.effectiveOwner === owner) return pairs;
    const before = this.effectivePatch;
    const undo = this.effective[before.surface]!;
    for (const r of before.rules) {
      undo[2 * r.index] = 1;
      undo[2 * r.index + 1] = 0;
    }
    for (const r of active.dynamicScoring) {
      pairs[2 * r.index] = r.multiplier;
      pairs[2 * r.index + 1] = r.add;
    }
    this.effectiveOwner = owner;
    this.effectivePatch = { surface: active.surface, rules: active.dynamicScoring };
    return pairs;
  }

  private contextRules(surface: SurfaceRules, ctx: RuleRequestContext, catalog: Catalog): ActiveRules {
    const flags = surface.base.flags.slice();
    const found = surface.context.collect(ctx, catalog, this, flags);
    return found === undefined ? surface.base : combine(surface.base, found, flags, false);
  }

  /**
   * Whether a conditional or scheduled rule applies to a request (its surface aside): in force at
   * `ctx.now` and its conditions met. Only while `activate` runs.
   */
  applies(r: CompiledRule, ctx: RuleRequestContext, catalog: Catalog): boolean {
    if (ctx.now < r.start || ctx.now >= r.end) return false;
    if (r.windows !== undefined && !this.inWindows(r, ctx.now)) return false;
    return !r.conditional || conditionsHold(r, ctx, catalog, this.country);
  }

  /**
   * Which rules with a schedule are in force at `now`, one character each ('' when no enabled rule
   * has a schedule): equal strings, same scheduled rules in force. What a cache of answers keys on,
   * so a rule whose window opens or closes is in the next answer rather than after the cache's TTL.
   */
  scheduleState(now: number): string {
    if (this.timed.length === 0) return '';
    const cached = this.stateCache;
    if (now >= cached.from && now < cached.until) return cached.state;
    // The answer holds from the latest start or end at or before `now` (and the minute's start,
    // when windows count) until the next one after it (and the next minute).
    let from = Number.NEGATIVE_INFINITY;
    let until = Number.POSITIVE_INFINITY;
    let state = '';
    for (const r of this.timed) {
      state += this.scheduled(r, now) ? '1' : '0';
      for (const edge of [r.start, r.end]) {
        if (edge <= now) from = Math.max(from, edge);
        else until = Math.min(until, edge);
      }
      if (r.windows !== undefined) {
        const minute = Math.floor(now / 60_000) * 60_000;
        from = Math.max(from, minute);
        until = Math.min(until, minute + 60_000);
      }
    }
    this.stateCache = { from, until, state };
    return state;
  }

  /**
   * The first instant after `now` at which {@link scheduleState} may answer otherwise (a scheduled
   * rule starts or stops, or a recurring window's minute ends); Infinity without scheduled rules.
   */
  scheduleUntil(now: number): number {
    this.scheduleState(now);
    return this.timed.length === 0 ? Number.POSITIVE_INFINITY : this.stateCache.until;
  }

  /** Whether a rule is in force at `now` by its schedule alone. */
  scheduled(r: CompiledRule, now: number): boolean {
    return now >= r.start && now < r.end && (r.windows === undefined || this.inWindows(r, now));
  }

  private inWindows(r: CompiledRule, now: number): boolean {
    const minute = Math.floor(now / 60_000);
    if (this.windowMinute[r.index] === minute) return this.windowOpen[r.index] === 1;
    // Local weekday and minute per zone, once per minute: Intl formatting costs microseconds.
    let local = this.zoneCache.get(r.zone);
    if (local === undefined || local.minute !== minute) {
      const t = localTime(minute * 60_000, r.zone);
      local = { minute, weekday: t.weekday, minuteOfDay: t.minuteOfDay };
      this.zoneCache.set(r.zone, local);
    }
    let open = false;
    for (const w of r.windows!) if (insideWindow(w, local.weekday, local.minuteOfDay)) open = true;
    this.windowMinute[r.index] = minute;
    this.windowOpen[r.index] = open ? 1 : 0;
    return open;
  }
}

/** Two lists of rules in precedence order, as one (either returned as is when the other is empty). */
function merge(a: CompiledRule[], b: CompiledRule[]): CompiledRule[] {
  return b.length === 0 ? a : a.length === 0 ? b : [...a, ...b].sort((x, y) => x.index - y.index);
}

/** Rules by what the pipeline does with them. */
interface RuleLists {
  count: number;
  /** Active filters (an item must match every one). */
  filters: CompiledRule[];
  /** Active pins and injects, in precedence order. */
  placing: CompiledRule[];
  blockOrFilter: number;
  scoring: number;
  /** The boosts and buries among them. */
  scoringRules: CompiledRule[];
}

/** The active rules of one request, by what the pipeline does with them. Never changed once made. */
export interface ActiveRules extends Omit<RuleLists, 'scoringRules'> {
  /** Active boosts and buries beyond the surface's unconditional ones (conditional or scheduled). */
  dynamicScoring: CompiledRule[];
  /** The surface's place in {@link SURFACES}. */
  surface: number;
  /** 1 at the index of each active rule. */
  flags: Uint8Array;
  /**
   * `flags` is the rule set's buffer, which the next `activate` call overwrites: copy it to keep
   * it. Otherwise it is as unchanging as the rest and may be kept as is.
   */
  scratch: boolean;
}

/** Active rules made of `base` and more rules (their flags already set in `flags`). */
function combine(base: ActiveRules, more: CompiledRule[], flags: Uint8Array, scratch: boolean): ActiveRules {
  // Found by condition, not in precedence order: a pin found by its rule set must still go before
  // an inject found by its schedule.
  const added = groupByKind(more.sort((a, b) => a.index - b.index));
  return {
    count: base.count + added.count,
    filters: merge(base.filters, added.filters),
    placing: merge(base.placing, added.placing),
    blockOrFilter: base.blockOrFilter + added.blockOrFilter,
    scoring: base.scoring + added.scoring,
    dynamicScoring: merge(base.dynamicScoring, added.scoringRules),
    surface: base.surface,

    flags,
    scratch,
  };
}

/** Contexts whose active rules are kept, per generation (see `RuleSet.young`). */
const CONTEXT_CACHE_SIZE = 512;

interface SurfaceRules {
  /** The surface's place in {@link SURFACES}, its part of a context's number. */
  number: number;
  /** Its unconditional rules (`flags`: every other rule 0). */
  base: ActiveRules;
  /** Conditional or scheduled rules reading only the context, by one of their conditions. */
  context: ConditionIndex;
  /** Rules reading the anchor or cart, by one of their conditions. */
  items: ConditionIndex;
}

/** No request condition and no schedule: in force on every request of its surfaces. */
export function isStatic(r: CompiledRule): boolean {
  return (
    !r.conditional &&
    r.windows === undefined &&
    r.start === Number.NEGATIVE_INFINITY &&
    r.end === Number.POSITIVE_INFINITY
  );
}

function groupByKind(rules: CompiledRule[]): RuleLists {
  const out: RuleLists = {
    count: rules.length,
    filters: [],
    placing: [],
    blockOrFilter: 0,
    scoring: 0,
    scoringRules: [],
  };
  for (const r of rules) {
    if (r.kind === 'filter') out.filters.push(r);
    if (r.kind === 'pin' || r.kind === 'inject') out.placing.push(r);
    if (r.kind === 'block' || r.kind === 'filter') out.blockOrFilter++;
    if (r.kind === 'boost' || r.kind === 'bury') out.scoringRules.push(r);
  }
  out.scoring = out.scoringRules.length;
  return out;
}

/**
 * Which rules match each catalog item, kept up to date as items change, so a request looks up an
 * item's few rules instead of testing every rule. Rules naming item ids or exact tags are found
 * through maps; only the rest (price, dates, wildcards, match-all) are tested against every item.
 */
export class RuleItemIndex {
  private readonly byItem: Array<Int32Array | undefined> = [];
  /** The block rules among `byItem` (most items have none: eligibility reads `blockFlags` first). */
  private readonly blocksByItem: Array<Int32Array | undefined> = [];
  /** The boosts and buries among `byItem`. */
  private readonly scoringByItem: Array<Int32Array | undefined> = [];
  /**
   * The same, inline: item `id`'s boosts and buries from `id × SCORING_ROW` on, {@link ROW_END}
   * after the last; {@link ROW_OVERFLOW} first when it has more than fit (then read `scoringOf`) or
   * the rule set is too large for 16-bit indexes. The blend reads a row for every candidate: 32
   * bytes, one cache line where separate per-surface products, a row of conditional rules and a
   * list object per item cost three or more memory reads, most of them misses (a request's
   * candidates are scattered over the catalog and the rest of the request evicts these arrays).
   * The request's flags say which rules are active, for its surface and conditions alike.
   */
  scoringRows = new Uint16Array(0);
  private readonly byId = new Map<string, number[]>();
  private readonly byTag = new Map<string, number[]>();
  private readonly generic: number[] = [];
  /** Per pin/inject rule: its matching items (listed ids first, then newest); rebuilt lazily. */
  private readonly lists = new Map<number, number[]>();
  /** Per pin/inject rule: its matching items, kept as items change (`lists` is made from it). */
  private readonly members = new Map<number, Set<number>>();
  /** Per rule, the last `refreshOne` call that looked at it (see there). */
  private readonly seen: Uint32Array;
  private stamp = 0;

  constructor(
    readonly set: RuleSet,
    private readonly catalog: Catalog,
  ) {
    this.seen = new Uint32Array(set.rules.length);
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
  }

  /** Rule indexes matching item `id` (ascending: precedence order), or undefined. */
  rulesOf(id: number): Int32Array | undefined {
    return this.byItem[id];
  }

  /** Whether rule `rule` (an index) matches item `id`: a binary search of the item's few rules. */
  matches(id: number, rule: number): boolean {
    const hits = this.byItem[id];
    if (hits === undefined) return false;
    let lo = 0;
    let hi = hits.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const at = hits[mid]!;
      if (at === rule) return true;
      if (at < rule) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  }

  /**
   * Per filter rule (by index): a bit per item, set where the rule matches. An active filter is
   * checked for every candidate; a bitset of the catalog stays in cache where the item's rule list
   * would be a few dependent memory reads.
   */
  private readonly filterBits = new Map<number, Uint32Array>();

  /** The bitset of filter rule `rule` (bit `id` set: matches item `id`); read it again after catalog changes. */
  filterBitsOf(rule: number): Uint32Array {
    return this.filterBits.get(rule) ?? EMPTY_BITS;
  }

  private setFilterBit(rule: number, id: number, on: boolean): void {
    let bits = this.filterBits.get(rule) ?? EMPTY_BITS;
    if (id >> 5 >= bits.length) {
      if (!on) return;
      const grown = new Uint32Array(
        Math.max((id >> 5) + 1, (this.catalog.idCount + 31) >> 5, bits.length * 2),
      );
      grown.set(bits);
      bits = grown;
      this.filterBits.set(rule, bits);
    }
    if (on) bits[id >> 5] = bits[id >> 5]! | (1 << (id & 31));
    else bits[id >> 5] = bits[id >> 5]! & ~(1 << (id & 31));
  }

  private writeScoringRow(id: number, scoring: Int32Array | undefined): void {
    if (scoring === undefined && this.scoringRows.length <= id * SCORING_ROW) return;
    if (this.scoringRows.length < (id + 1) * SCORING_ROW) {
      const rows = Math.max(id + 1, this.catalog.idCount, (2 * this.scoringRows.length) / SCORING_ROW);
      const grown = new Uint16Array(rows * SCORING_ROW).fill(ROW_END);
      grown.set(this.scoringRows);
      this.scoringRows = grown;
    }
    const at = id * SCORING_ROW;
    this.scoringRows.fill(ROW_END, at, at + SCORING_ROW);
    if (scoring === undefined) return;
    if (scoring.length > SCORING_ROW || this.set.size >= ROW_OVERFLOW) this.scoringRows[at] = ROW_OVERFLOW;
    else this.scoringRows.set(scoring, at);
  }

  /** The boosts and buries matching item `id` (precedence order), or undefined. */
  scoringOf(id: number): Int32Array | undefined {
    return this.scoringByItem[id];
  }

  /**
   * 1 where an item matches some block rule: the one read most candidates need. (Filters are not
   * here: a price filter can match most of the catalog, and a request checks only its active filters.)
   */
  blockFlags = new Uint8Array(0);

  /** The block rules matching item `id` (precedence order), or undefined. */
  blocksOf(id: number): Int32Array | undefined {
    return this.blocksByItem[id];
  }

  /** Items matching a pin/inject rule: its listed ids in their order, then the newest first. */
  itemsOf(rule: CompiledRule): number[] {
    let list = this.lists.get(rule.index);
    if (list !== undefined) return list;
    const members = this.members.get(rule.index) ?? new Set<number>();
    if (rule.itemIds !== undefined) {
      list = [];
      for (const itemId of rule.def.items.itemIds ?? []) {
        const id = this.catalog.ids.get(itemId);
        if (id !== undefined && members.has(id)) list.push(id);
      }
    } else {
      list = [...members].sort(
        (a, b) =>
          (this.catalog.info(b)?.item.createdAt ?? 0) - (this.catalog.info(a)?.item.createdAt ?? 0) || a - b,
      );
    }
    this.lists.set(rule.index, list);
    return list;
  }

  private refreshOne(id: number): void {
    const info = this.catalog.info(id);
    if (info === undefined) return;
    const item = info.item;
    // Each rule sits in exactly one of byId, byTag (possibly under several tags) or generic; a stamp
    // per rule drops the repeats an item with two of a rule's tags would bring.
    const stamp = ++this.stamp;
    const rules = this.set.rules;
    const hits: number[] = [];
    const consider = (r: number) => {
      if (this.seen[r] === stamp) return;
      this.seen[r] = stamp;
      if (itemMatches(rules[r]!, item)) hits.push(r);
    };
    for (const r of this.byId.get(item.itemId) ?? []) consider(r);
    for (const t of item.tags) for (const r of this.byTag.get(t) ?? []) consider(r);
    for (const r of this.generic) if (itemMatches(rules[r]!, item)) hits.push(r);
    while (this.byItem.length <= id) this.byItem.push(undefined);
    while (this.blocksByItem.length <= id) this.blocksByItem.push(undefined);
    const sorted = hits.length > 0 ? Int32Array.from(hits).sort() : undefined;
    // Pin and inject rules keep their member sets; a changed membership drops the rule's sorted list.
    const before = this.byItem[id];
    const placing = (r: number) => {
      const kind = this.set.rules[r]!.kind;
      return kind === 'pin' || kind === 'inject';
    };
    for (const r of before ?? []) {
      if (placing(r) && !sorted?.includes(r)) {
        this.members.get(r)?.delete(id);
        this.lists.delete(r);
      }
    }
    for (const r of sorted ?? []) {
      if (!placing(r)) continue;
      let set = this.members.get(r);
      if (set === undefined) {
        set = new Set();
        this.members.set(r, set);
      }
      if (!set.has(id)) {
        set.add(id);
        this.lists.delete(r);
      } else if (!before?.includes(r)) this.lists.delete(r);
    }
    // An item's creation time orders inject lists: a re-upserted member may move.
    if (before !== undefined) for (const r of sorted ?? []) if (placing(r)) this.lists.delete(r);
    this.byItem[id] = sorted;
    for (const r of before ?? []) if (this.set.rules[r]!.kind === 'filter') this.setFilterBit(r, id, false);
    for (const r of sorted ?? []) if (this.set.rules[r]!.kind === 'filter') this.setFilterBit(r, id, true);
    const blocks = sorted?.filter((r) => this.set.rules[r]!.kind === 'block');
    this.blocksByItem[id] = blocks !== undefined && blocks.length > 0 ? blocks : undefined;
    if (id >= this.blockFlags.length) {
      const grown = new Uint8Array(Math.max(id + 1, this.blockFlags.length * 2, 1024));
      grown.set(this.blockFlags);
      this.blockFlags = grown;
    }
    this.blockFlags[id] = this.blocksByItem[id] === undefined ? 0 : 1;
    while (this.scoringByItem.length <= id) this.scoringByItem.push(undefined);
    const scoring = sorted?.filter((r) => {
      const kind = this.set.rules[r]!.kind;
      return kind === 'boost' || kind === 'bury';
    });
    this.scoringByItem[id] = scoring !== undefined && scoring.length > 0 ? scoring : undefined;
    this.writeScoringRow(id, this.scoringByItem[id]);
  }
}

const EMPTY_BITS = new Uint32Array(0);

/** Boosts and buries kept inline per item (see `RuleItemIndex.scoringRows`): 16 × 2 bytes. */
export const SCORING_ROW = 16;
/** After an item's last rule in its row. */
export const ROW_END = 0xffff;
/** First in a row whose rules do not fit (read `RuleItemIndex.scoringOf`). */
export const ROW_OVERFLOW = 0xfffe;

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
