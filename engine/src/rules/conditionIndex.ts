import type { Catalog } from '../indexes/Catalog';
import type { CompiledRule, RuleRequestContext, RuleSet } from './compileRules';

/** Whether a rule's request conditions hold; `country` is the request's, upper-cased. */
export function conditionsHold(
  r: CompiledRule,
  ctx: RuleRequestContext,
  catalog: Catalog,
  country: string,
): boolean {
  if (r.ruleSet !== undefined && ctx.ruleSet !== r.ruleSet) return false;
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
  if (r.countries && !r.countries.has(country)) return false;
  if (r.traits) {
    for (const [key, values] of r.traits) if (!values.has(ctx.traits[key] ?? '')) return false;
  }
  return true;
}

/**
 * Whether a rule's conditions read the request's items (anchor, cart): then whether it applies
 * depends on the catalog as it is now, and on item ids without bound, so it is checked on every
 * request rather than remembered per context (see {@link ContextKeys}).
 */
export function readsItems(r: CompiledRule): boolean {
  return (
    r.anchorIds !== undefined ||
    r.anchorCategories !== undefined ||
    r.cartIds !== undefined ||
    r.cartTags !== undefined
  );
}

/**
 * Conditional rules by one condition each (anchor item, anchor category, cart item, exact cart tag,
 * rule set, placement, segment, country, one trait, in that order of preference), so a request
 * looks up the few whose key it carries instead of testing every rule; rules with none of these (a
 * schedule alone, wildcard cart tags) are tested on every request of the surface.
 */
export class ConditionIndex {
  readonly scan: CompiledRule[] = [];
  readonly ruleSets = new Map<string, CompiledRule[]>();
  readonly placements = new Map<string, CompiledRule[]>();
  readonly anchors = new Map<string, CompiledRule[]>();
  readonly anchorCategories = new Map<string, CompiledRule[]>();
  readonly segments = new Map<string, CompiledRule[]>();
  readonly countries = new Map<string, CompiledRule[]>();
  readonly cartItems = new Map<string, CompiledRule[]>();
  readonly cartTags = new Map<string, CompiledRule[]>();
  /** Trait keys rules are filed under, and per key the rules by value. */
  readonly traitKeys: string[] = [];
  readonly traitValues: Array<Map<string, CompiledRule[]>> = [];
  /** No rule filed: `collect` finds nothing. */
  readonly empty: boolean;

  constructor(rules: CompiledRule[]) {
    this.empty = rules.length === 0;
    for (const r of rules) {
      const by: Array<[ReadonlySet<string> | undefined, Map<string, CompiledRule[]>]> = [
        [r.anchorIds, this.anchors],
        [r.anchorCategories, this.anchorCategories],
        [r.cartIds, this.cartItems],
        [
          r.cartTags !== undefined && r.cartTags.patterns.length === 0 ? r.cartTags.exact : undefined,
          this.cartTags,
        ],
        [r.ruleSet === undefined ? undefined : new Set([r.ruleSet]), this.ruleSets],
        [r.placements, this.placements],
        [r.segments, this.segments],
        [r.countries, this.countries],
      ];
      const key = by.find(([values]) => values !== undefined);
      if (key !== undefined) {
        for (const value of key[0]!) push(key[1], value, r);
      } else if (r.traits !== undefined && r.traits.length > 0) {
        const [trait, values] = r.traits[0]!;
        let at = this.traitKeys.indexOf(trait);
        if (at < 0) {
          at = this.traitKeys.push(trait) - 1;
          this.traitValues.push(new Map());
        }
        for (const value of values) push(this.traitValues[at]!, value, r);
      } else this.scan.push(r);
    }
  }

  /**
   * The rules a request could activate (by the one condition each is filed under), checked in full:
   * those that apply are set in `active` and returned; undefined when none is. A rule reached twice
   * (an anchor in two of its categories, two of its cart items) is already set the second time.
   */
  collect(
    ctx: RuleRequestContext,
    catalog: Catalog,
    set: RuleSet,
    active: Uint8Array,
  ): CompiledRule[] | undefined {
    let out = this.visit(this.scan, ctx, catalog, set, active, undefined);
    if (ctx.ruleSet !== undefined && this.ruleSets.size > 0) {
      out = this.visit(this.ruleSets.get(ctx.ruleSet), ctx, catalog, set, active, out);
    }
    if (ctx.placement !== undefined && this.placements.size > 0) {
      out = this.visit(this.placements.get(ctx.placement), ctx, catalog, set, active, out);
    }
    if (ctx.anchorItemId !== undefined && this.anchors.size > 0) {
      out = this.visit(this.anchors.get(ctx.anchorItemId), ctx, catalog, set, active, out);
    }
    if (ctx.anchorItemId !== undefined && this.anchorCategories.size > 0) {
      const id = catalog.ids.get(ctx.anchorItemId);
      const tags = id === undefined ? undefined : catalog.info(id)?.item.tags;
      if (tags !== undefined) {
        for (const t of tags) {
          if (t.startsWith('category:')) {
            out = this.visit(this.anchorCategories.get(t), ctx, catalog, set, active, out);
          }
        }
      }
    }
    const { segment } = ctx.traits;
    if (segment !== undefined && this.segments.size > 0) {
      out = this.visit(this.segments.get(segment), ctx, catalog, set, active, out);
    }
    if (ctx.traits.country !== undefined && this.countries.size > 0) {
      out = this.visit(this.countries.get(set.country), ctx, catalog, set, active, out);
    }
    if (ctx.cartItemIds !== undefined && this.cartItems.size > 0) {
      for (const itemId of ctx.cartItemIds) {
        out = this.visit(this.cartItems.get(itemId), ctx, catalog, set, active, out);
      }
    }
    if (ctx.cartItemIds !== undefined && this.cartTags.size > 0) {
      for (const itemId of ctx.cartItemIds) {
        const id = catalog.ids.get(itemId);
        const tags = id === undefined ? undefined : catalog.info(id)?.item.tags;
        if (tags === undefined) continue;
        for (const t of tags) out = this.visit(this.cartTags.get(t), ctx, catalog, set, active, out);
      }
    }
    for (let k = 0; k < this.traitKeys.length; k++) {
      const value = ctx.traits[this.traitKeys[k]!];
      if (value !== undefined)
        out = this.visit(this.traitValues[k]!.get(value), ctx, catalog, set, active, out);
    }
    return out;
  }

  private visit(
    rules: CompiledRule[] | undefined,
    ctx: RuleRequestContext,
    catalog: Catalog,
    set: RuleSet,
    active: Uint8Array,
    out: CompiledRule[] | undefined,
  ): CompiledRule[] | undefined {
    if (rules === undefined) return out;
    for (let i = 0; i < rules.length; i++) {
      const r = rules[i]!;
      if (active[r.index] === 1 || !set.applies(r, ctx, catalog)) continue;
      active[r.index] = 1;
      if (out === undefined) out = [r];
      else out.push(r);
    }
    return out;
  }
}

/**
 * Numbers the part of a request that rules without item conditions read — surface, rule set,
 * placement, segment, country and the traits such rules name — so that two requests with the same
 * number get the same answer from every such rule (their schedules aside). A value no rule names
 * counts as absent: every condition on it fails alike, so a placement or country seen once does not
 * make a number of its own.
 */
export class ContextKeys {
  private readonly ruleSets = new Map<string, number>();
  private readonly placements = new Map<string, number>();
  private readonly segments = new Map<string, number>();
  private readonly countries = new Map<string, number>();
  private readonly traitKeys: string[] = [];
  private readonly traitValues: Array<Map<string, number>> = [];
  /** Per dimension (rule set, placement, segment, country, then each trait) its place value. */
  private readonly scales: number[] = [];
  /** False when the combinations outgrow exact integers (never in practice): then nothing is numbered. */
  readonly usable: boolean;

  /** `rules`: the rules whose answers are remembered by number; `surfaces`: how many surfaces. */
  constructor(rules: CompiledRule[], surfaces: number) {
    for (const r of rules) {
      if (r.ruleSet !== undefined) code(this.ruleSets, r.ruleSet);
      for (const p of r.placements ?? []) code(this.placements, p);
      for (const s of r.segments ?? []) code(this.segments, s);
      for (const c of r.countries ?? []) code(this.countries, c);
      for (const [key, values] of r.traits ?? []) {
        let at = this.traitKeys.indexOf(key);
        if (at < 0) at = this.traitKeys.push(key) - 1;
        this.traitValues[at] ??= new Map();
        for (const v of values) code(this.traitValues[at]!, v);
      }
    }
    let scale = surfaces;
    for (const codes of [
      this.ruleSets,
      this.placements,
      this.segments,
      this.countries,
      ...this.traitValues,
    ]) {
      this.scales.push(scale);
      scale *= codes.size + 1;
    }
    this.usable = scale <= Number.MAX_SAFE_INTEGER;
  }

  /**
   * The request's number (`surface`: its surface's index; `country`: the `country` trait
   * upper-cased). Allocates nothing.
   */
  keyOf(surface: number, ctx: RuleRequestContext, country: string): number {
    const s = this.scales;
    let key = surface;
    if (ctx.ruleSet !== undefined) key += (this.ruleSets.get(ctx.ruleSet) ?? 0) * s[0]!;
    if (ctx.placement !== undefined) key += (this.placements.get(ctx.placement) ?? 0) * s[1]!;
    key += (this.segments.get(ctx.traits.segment ?? '') ?? 0) * s[2]!;
    key += (this.countries.get(country) ?? 0) * s[3]!;
    for (let k = 0; k < this.traitKeys.length; k++) {
      const value: unknown = ctx.traits[this.traitKeys[k]!] ?? '';
      // Anything but a string (a trait read from the prototype, `toString`) matches no rule: 0.
      if (typeof value === 'string') key += (this.traitValues[k]!.get(value) ?? 0) * s[4 + k]!;
    }
    return key;
  }
}

/** Numbers `value` from 1 on, in the order first seen (0 stands for every value no rule names). */
function code(codes: Map<string, number>, value: string): void {
  if (!codes.has(value)) codes.set(value, codes.size + 1);
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
