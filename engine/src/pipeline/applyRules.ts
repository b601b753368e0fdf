/**
 * Longer than the ~450-line guideline on purpose: one pipeline step — the per-request rule state,
 * placing pins and injections, and wording the effects — whose parts share that state.
 */
import type { RecResult } from '../api';
import type { Catalog } from '../indexes/Catalog';
import type { Surface } from '../protocol';
import {
  type ActiveRules,
  type CompiledRule,
  DYNAMIC_ROW,
  type RuleItemIndex,
  type RuleRequestContext,
} from '../rules/compileRules';
import type { RuleEffect } from '../rules/types';

/** At most this many item ids are named per effect (a block can remove thousands). */
const MAX_NAMED = 50;
/** Buried candidates remembered per request, to report those the bury pushed out of the list. */
const MAX_TRACKED = 1_000;

// Reused across requests (they are synchronous): 1 at a rule's index when it is active.
let activeFlags = new Uint8Array(0);

/**
 * The rules in force for one request, as the pipeline steps use them:
 *
 * - `allows` (inside eligibility, so candidates and the fallback fill alike obey it): **block**
 *   removes matching items; **filter** keeps only items matching every active filter.
 * - `adjust` (inside the blend, before ranking): **boost** and **bury** change scores
 *   (every matching multiplier multiplies the score, then every add is added, so their order never
 *   matters), so the candidates rank by the result.
 * - `place` (on the final list): **pin** puts an item at a slot, then **inject** adds items that
 *   were not candidates. Pins and injects never bring in blocked, filtered, archived or (unless the
 *   rule allows it) unavailable items, nor anything the request itself excludes.
 *
 * Precedence: block > filter > pin > inject > boost/bury > engine score; within a kind, higher
 * priority first, then rule id. Conflicts are resolved by that order and reported as effects.
 */
export class RequestRules {
  /** Items each block or filter removed (the first MAX_NAMED), and how many, by rule index. */
  private readonly removed = new Map<number, number[]>();
  private readonly removedCount = new Map<number, number>();
  /** The last rule that removed an item and its running count: removals come in runs of one rule. */
  private lastRemover = -1;
  private lastRemoved = 0;
  private readonly notes: RuleEffect[] = [];
  private readonly activeFilters: CompiledRule[];
  /** Each active filter's bitset of matching items (see `RuleItemIndex.filterBitsOf`), in the same order. */
  private readonly filterBits: Uint32Array[];
  readonly hasBlockOrFilter: boolean;
  /** An active filter narrows candidates the way a request's tag filter does. */
  readonly hasFilter: boolean;
  readonly hasScoring: boolean;
  /** Some active boost or bury is conditional or scheduled (else `adjust` reads only the per-item base). */
  private readonly hasDynamicScoring: boolean;
  private readonly placing: CompiledRule[];
  /** Per item, the combined multiplier and add of the surface's unconditional boosts and buries. */
  private readonly basePairs: Float64Array;

  constructor(
    private readonly index: RuleItemIndex,
    private readonly catalog: Catalog,
    active: ActiveRules,
    private flags: Uint8Array,
    surface: Surface,
  ) {
    this.activeFilters = active.filters;
    this.filterBits = active.filters.map((f) => index.filterBitsOf(f.index));
    this.hasBlockOrFilter = active.blockOrFilter > 0;
    this.hasFilter = active.filters.length > 0;
    this.hasScoring = active.scoring > 0;
    this.hasDynamicScoring = active.dynamicScoring > 0;
    this.placing = active.placing;
    this.basePairs = index.baseScoringOf(surface).pairs;
  }

  /**
   * Keeps this request's active-rule flags (the shared buffer is the next request's), so `effects`
   * can be computed after the request, when someone reads them.
   */
  detach(): void {
    this.flags = this.flags.slice(0, this.index.set.size);
  }

  /** The active block rule that removes `id`, else the active filter it fails, else undefined. */
  excluderOf(id: number): CompiledRule | undefined {
    const index = this.index;
    // Most items match no block: one byte says so.
    const blockFlags = index.blockFlags;
    if (id < blockFlags.length && blockFlags[id] === 1) {
      const hits = index.blocksOf(id)!;
      for (let i = 0; i < hits.length; i++) {
        if (this.flags[hits[i]!] === 1) return index.set.rules[hits[i]!];
      }
    }
    const bits = this.filterBits;
    for (let i = 0; i < bits.length; i++) {
      const words = bits[i]!;
      if (id >> 5 >= words.length || (words[id >> 5]! & (1 << (id & 31))) === 0) return this.activeFilters[i];
    }
    return undefined;
  }

  /** Eligibility: false when a block or filter excludes `id` (recorded for the effects). */
  allows(id: number): boolean {
    const by = this.excluderOf(id);
    if (by === undefined) return true;
    // An active filter can remove most of the catalog: count without a map operation per item.
    if (by.index !== this.lastRemover) {
      if (this.lastRemover >= 0) this.removedCount.set(this.lastRemover, this.lastRemoved);
      this.lastRemover = by.index;
      this.lastRemoved = this.removedCount.get(by.index) ?? 0;
    }
    this.lastRemoved++;
    if (this.lastRemoved <= MAX_NAMED) {
      const list = this.removed.get(by.index);
      if (list) list.push(id);
      else this.removed.set(by.index, [id]);
    }
    return false;
  }

  /** Buried candidates and their scores before the rules (what they may have been displaced from). */
  private readonly buriedIds: number[] = [];
  private readonly buriedRaw: number[] = [];

  /**
   * {@link adjust} over the blend's candidates in one call: `scores[i]` of `ids[i]`, for i < count,
   * rewritten in place. One tight loop instead of a call through a closure per candidate, which cost
   * several times the arithmetic.
   */
  adjustAll(ids: Int32Array, scores: Float64Array, count: number): void {
    for (let i = 0; i < count; i++) scores[i] = this.adjust(ids[i]!, scores[i]!);
  }

  /**
   * Score after boosts and buries: score × (product of multipliers) + (sum of adds). Applied by
   * the blend to every candidate, so the blend ranks by the final score and only its head is sorted.
   */
  adjust(id: number, score: number): number {
    // The rules every request of the surface has are combined per item in advance; only
    // conditional or scheduled ones are looked at here.
    const pairs = this.basePairs;
    let mult = 1;
    let add = 0;
    if (2 * id < pairs.length) {
      mult = pairs[2 * id]!;
      add = pairs[2 * id + 1]!;
    }
    if (this.hasDynamicScoring) {
      const rows = this.index.dynamicRows;
      const at = id * DYNAMIC_ROW;
      const { multipliers, adds } = this.index.set;
      if (at < rows.length && rows[at] === -2) {
        const hits = this.index.dynamicScoringOf(id)!;
        for (let i = 0; i < hits.length; i++) {
          const r = hits[i]!;
          if (this.flags[r] === 1) {
            mult *= multipliers[r]!;
            add += adds[r]!;
          }
        }
      } else if (at < rows.length) {
        for (let i = at; i < at + DYNAMIC_ROW; i++) {
          const r = rows[i]!;
          if (r < 0) break;
          if (this.flags[r] === 1) {
            mult *= multipliers[r]!;
            add += adds[r]!;
          }
        }
      }
    }
    if (mult === 1 && add === 0) return score;
    const s = score * mult + add;
    if (s < score && this.buriedIds.length < MAX_TRACKED) {
      this.buriedIds.push(id);
      this.buriedRaw.push(score);
    }
    return s;
  }

  /**
   * Pins and injects on the final list (item ids, best first). `eligible` is the request's full
   * predicate (availability, request filters, anchors, blocks, filters); `ignoringStock` makes the
   * same predicate without the stock check (for `allowUnavailable`; made only when needed). Returns
   * the new order, at most `k` long.
   */
  place(
    list: number[],
    k: number,
    eligible: (id: number) => boolean,
    ignoringStock: () => (id: number) => boolean,
  ): number[] {
    if (this.placing.length === 0) return list;
    // The stock-blind predicate is made once, on first need.
    let stockBlind: ((id: number) => boolean) | undefined;
    const fixed = new Map<number, { id: number; rule: CompiledRule }>();
    const placedIds = new Set<number>();
    const inList = new Set(list);
    const canShow = (r: CompiledRule, id: number): string | undefined => {
      const info = this.catalog.info(id);
      if (info === undefined) return 'is not in the catalog';
      if (info.item.archived) return 'is archived';
      const excluder = this.excluderOf(id);
      if (excluder !== undefined) {
        return excluder.kind === 'block'
          ? `is blocked by ${excluder.id} (block wins over ${r.kind})`
          : `fails filter ${excluder.id} (filter wins over ${r.kind})`;
      }
      if (eligible(id)) return undefined;
      if (!info.item.available) {
        if (r.allowUnavailable && !inList.has(id)) {
          if (stockBlind === undefined) stockBlind = ignoringStock();
          if (stockBlind(id)) return undefined;
        }
        return 'is out of stock (set allowUnavailable to show it anyway)';
      }
      return 'is excluded by the request (its filters, anchor or cart)';
    };
    const freeSlotFrom = (slot: number) => {
      let s = slot;
      while (fixed.has(s)) s++;
      return s < k ? s : -1;
    };

    for (const r of this.placing) {
      if (r.kind === 'pin') {
        const slot = r.slot!;
        if (slot >= k) {
          this.note(r, `not applied: slot ${slot} is beyond this list of ${k}`, []);
          continue;
        }
        // A query pin takes its best-scored matching item in the list, else the first listed/newest.
        let chosen: number | undefined;
        const refusals: string[] = [];
        const matching = (id: number) => this.index.matches(id, r.index);
        for (const id of list) {
          if (!placedIds.has(id) && matching(id)) {
            chosen = id;
            break;
          }
        }
        if (chosen === undefined) {
          for (const id of this.index.itemsOf(r)) {
            if (placedIds.has(id)) continue;
            const why = canShow(r, id);
            if (why === undefined) {
              chosen = id;
              break;
            }
            if (refusals.length < 3) refusals.push(`${this.catalog.ids.keyOf(id)} ${why}`);
          }
        }
        if (chosen === undefined) {
          this.note(
            r,
            refusals.length > 0
              ? `not applied: ${refusals.join('; ')}`
              : 'not applied: no item matches (all already placed or none in the catalog)',
            [],
            refusals.some((t) => t.includes(' wins over ')),
          );
          continue;
        }
        const at = freeSlotFrom(slot);
        const itemId = this.catalog.ids.keyOf(chosen);
        if (at < 0) {
          this.note(
            r,
            `not applied: every slot from ${slot} is pinned by higher-priority rules`,
            [itemId],
            true,
          );
          continue;
        }
        fixed.set(at, { id: chosen, rule: r });
        placedIds.add(chosen);
        if (at !== slot) {
          const holder = fixed.get(slot)!.rule;
          this.note(
            r,
            `slot ${slot} is pinned by ${holder.id} (higher priority); ${itemId} moved to slot ${at}`,
            [itemId],
            true,
          );
        }
      } else {
        const want = r.count;
        const picks: number[] = [];
        for (const id of this.index.itemsOf(r)) {
          if (picks.length >= want) break;
          if (placedIds.has(id) || inList.has(id)) continue;
          if (canShow(r, id) === undefined) picks.push(id);
        }
        if (picks.length === 0) {
          this.note(r, 'not applied: no matching item that is not already in the list can be shown', []);
          continue;
        }
        const start = r.slot ?? Math.max(0, Math.min(k, list.length + picks.length) - picks.length);
        const placed: string[] = [];
        let from = Math.min(start, k - 1);
        for (const id of picks) {
          const at = freeSlotFrom(from);
          if (at < 0) break;
          fixed.set(at, { id, rule: r });
          placedIds.add(id);
          placed.push(this.catalog.ids.keyOf(id));
          from = at + 1;
        }
        if (placed.length === 0) {
          this.note(r, 'not applied: every slot from its position on is pinned', [], true);
        }
      }
    }
    if (fixed.size === 0) return list;

    const rest = list.filter((id) => !placedIds.has(id));
    const out: number[] = [];
    let next = 0;
    const slots = [...fixed.keys()].sort((a, b) => a - b);
    let s = 0;
    while (out.length < k && (next < rest.length || s < slots.length)) {
      if (s < slots.length && slots[s]! <= out.length) {
        out.push(fixed.get(slots[s]!)!.id);
        s++;
      } else if (next < rest.length) out.push(rest[next++]!);
      else {
        // The list ran out before a pinned slot: the pinned items close the gap, in slot order.
        out.push(fixed.get(slots[s]!)!.id);
        s++;
      }
    }
    // What each pin and inject did, by where its items ended up.
    const byRule = new Map<CompiledRule, string[]>();
    out.forEach((id, pos) => {
      for (const [, f] of fixed) {
        if (f.id !== id) continue;
        const words = `${this.catalog.ids.keyOf(id)} at slot ${pos}`;
        const list = byRule.get(f.rule);
        if (list) list.push(words);
        else byRule.set(f.rule, [words]);
      }
    });
    for (const [r, placed] of byRule) {
      const ids = placed.map((p) => p.slice(0, p.lastIndexOf(' at slot ')));
      this.note(r, `${r.kind === 'pin' ? 'pinned' : 'injected'} ${placed.join(', ')}`, ids);
    }
    return out;
  }

  private scoreOf: (id: number) => number = () => 0;

  private note(r: CompiledRule, effect: string, itemIds: string[], conflict = false): void {
    this.notes.push({ ruleId: r.id, kind: conflict ? 'conflict' : r.kind, effect, itemIds });
  }

  /** What each active rule did to the list, in precedence order; rules that changed nothing are left out. */
  effects(final: readonly number[], scoreOf: (id: number) => number): RuleEffect[] {
    this.scoreOf = scoreOf;
    // Boosts and buries by item, not by rule: a list and its displaced head are a few dozen items
    // with a few rules each, while a namespace may have hundreds of scoring rules in force.
    const scored = new Map<CompiledRule, { ids: number[]; gone: number }>();
    if (this.hasScoring) {
      const shown = new Set(final);
      const visit = (id: number, inList: boolean) => {
        const hits = this.index.rulesOf(id);
        if (hits === undefined) return;
        for (let i = 0; i < hits.length; i++) {
          const r = this.index.set.rules[hits[i]!]!;
          if (this.flags[r.index] !== 1 || (r.kind !== 'boost' && r.kind !== 'bury')) continue;
          let entry = scored.get(r);
          if (entry === undefined) {
            entry = { ids: [], gone: 0 };
            scored.set(r, entry);
          }
          entry.ids.push(id);
          if (!inList) entry.gone++;
        }
      };
      for (const id of final) visit(id, true);
      // A buried item whose score before the bury beat the lowest listed score was pushed out by it.
      let lowest = Number.POSITIVE_INFINITY;
      for (const id of final) lowest = Math.min(lowest, this.scoreOf(id));
      // At most as many as the list holds: the best-scored of them would have been shown.
      const displaced: number[] = [];
      this.buriedIds.forEach((id, i) => {
        if (!shown.has(id) && this.buriedRaw[i]! > lowest) displaced.push(i);
      });
      displaced.sort((a, b) => this.buriedRaw[b]! - this.buriedRaw[a]!);
      displaced.length = Math.min(displaced.length, final.length);
      for (const i of displaced) visit(this.buriedIds[i]!, false);
    }
    if (this.lastRemover >= 0) this.removedCount.set(this.lastRemover, this.lastRemoved);
    // Only rules that did something, in precedence order (a rule's index is its place in it).
    const rules = this.index.set.rules;
    const acted = [...[...this.removedCount.keys()].map((i) => rules[i]!), ...scored.keys()].sort(
      (a, b) => a.index - b.index,
    );
    const out: RuleEffect[] = [];
    for (const r of acted) {
      if (r.kind === 'block' || r.kind === 'filter') {
        const n = this.removedCount.get(r.index) ?? 0;
        const ids = (this.removed.get(r.index) ?? []).map((id) => this.catalog.ids.keyOf(id));
        out.push({
          ruleId: r.id,
          kind: r.kind,
          effect: `${r.kind === 'block' ? 'blocked' : 'filtered out'} ${n} item${n === 1 ? '' : 's'}${n > ids.length ? ` (first ${ids.length} named)` : ''}`,
          itemIds: ids,
        });
      } else {
        const hit = scored.get(r)!;
        const how = [
          r.multiplier !== 1 ? `×${r.multiplier}` : '',
          r.add !== 0 ? `${r.add > 0 ? '+' : '−'}${Math.abs(r.add)}` : '',
        ]
          .filter(Boolean)
          .join(' ');
        const n = hit.ids.length;
        out.push({
          ruleId: r.id,
          kind: r.kind,
          effect: `${r.kind === 'boost' ? 'boosted' : 'buried'} ${how} ${n} item${n === 1 ? '' : 's'}${hit.gone > 0 ? ` (${hit.gone} no longer in the list)` : ''}`,
          itemIds: hit.ids.slice(0, MAX_NAMED).map((id) => this.catalog.ids.keyOf(id)),
        });
      }
    }
    out.push(...this.notes);
    return out;
  }
}

/**
 * The rules active for one request (in force by schedule, conditions met), or undefined when none
 * is: then the request pays for nothing but this check.
 */
export function beginRules(
  index: RuleItemIndex | undefined,
  ctx: RuleRequestContext,
  catalog: Catalog,
): RequestRules | undefined {
  if (index === undefined || index.set.size === 0) return undefined;
  if (activeFlags.length < index.set.size) activeFlags = new Uint8Array(index.set.size * 2);
  const active = index.set.activate(ctx, catalog, activeFlags);
  if (active.count === 0) return undefined;
  return new RequestRules(index, catalog, active, activeFlags, ctx.surface);
}

/**
 * A rule set applied to an already ranked list (ids best first, with their scores), as if those
 * were the only candidates: blocks and filters remove, boosts and buries re-sort, pins and injects
 * place. `eligible` is availability and the request's own exclusions.
 */
export function rerankWithRules(
  ruled: RequestRules | undefined,
  ids: number[],
  scores: number[],
  k: number,
  eligible: (id: number) => boolean,
  ignoringStock: () => (id: number) => boolean,
): number[] {
  if (ruled === undefined) return ids;
  const kept: Array<{ id: number; score: number; at: number }> = [];
  ids.forEach((id, at) => {
    if (!ruled.hasBlockOrFilter || ruled.allows(id)) kept.push({ id, score: scores[at]!, at });
  });
  if (ruled.hasScoring) {
    for (const c of kept) c.score = ruled.adjust(c.id, c.score);
    kept.sort((a, b) => b.score - a.score || a.at - b.at);
  }
  return ruled.place(
    kept.map((c) => c.id),
    k,
    (id) => eligible(id) && (!ruled.hasBlockOrFilter || ruled.excluderOf(id) === undefined),
    ignoringStock,
  );
}

/**
 * A list some rule applied to. Its `ruleEffects` are worded when first read: words cost more than
 * applying the rules, and most lists are never traced or explained. A class rather than a property
 * defined per result, which would turn every such result into a slow dictionary-mode object.
 */
export class RuledResult implements RecResult {
  #effects: (() => RuleEffect[]) | RuleEffect[] | undefined;
  /** The decision trace, when the request asked for one. */
  trace?: RecResult['trace'];

  constructor(
    public items: RecResult['items'],
    public fallback: RecResult['fallback'],
    effects: () => RuleEffect[],
  ) {
    this.#effects = effects;
  }

  get ruleEffects(): RuleEffect[] | undefined {
    if (typeof this.#effects === 'function') {
      const list = this.#effects();
      this.#effects = list.length > 0 ? list : undefined;
    }
    return this.#effects;
  }
}
