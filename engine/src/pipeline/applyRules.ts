/**
 * Longer than the ~450-line guideline on purpose: one pipeline step — the per-request rule state,
 * placing pins and injections, and wording the effects — whose parts share that state.
 */
import type { RecResult } from '../api';
import type { Catalog } from '../indexes/Catalog';
import {
  type ActiveRules,
  type CompiledRule,
  ROW_END,
  ROW_OVERFLOW,
  type RuleItemIndex,
  type RuleRequestContext,
  SCORING_ROW,
} from '../rules/compileRules';
import type { RuleEffect } from '../rules/types';

/** No active filter: no bitsets (one shared empty list rather than one per request). */
const NO_BITS: readonly Uint32Array[] = [];

/** At most this many item ids are named per effect (a block can remove thousands). */
const MAX_NAMED = 50;
/** Buried candidates remembered per request, to report those the bury pushed out of the list. */
const MAX_TRACKED = 1_000;

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
  private readonly filterBits: readonly Uint32Array[];
  readonly hasBlockOrFilter: boolean;
  /** An active filter narrows candidates the way a request's tag filter does. */
  readonly hasFilter: boolean;
  readonly hasScoring: boolean;
  private readonly placing: CompiledRule[];
  /** 1 at the index of each active rule. */
  private flags: Uint8Array;
  /** `flags` is the rule set's buffer, which the next request overwrites (see `detach`). */
  private scratch: boolean;

  constructor(
    private readonly index: RuleItemIndex,
    private readonly catalog: Catalog,
    private readonly active: ActiveRules,
  ) {
    this.flags = active.flags;
    this.scratch = active.scratch;
    this.activeFilters = active.filters;
    this.filterBits =
      active.filters.length === 0 ? NO_BITS : active.filters.map((f) => index.filterBitsOf(f.index));
    this.hasBlockOrFilter = active.blockOrFilter > 0;
    this.hasFilter = active.filters.length > 0;
    this.hasScoring = active.scoring > 0;
    this.placing = active.placing;
  }

  /**
   * Keeps this request's active-rule flags (the shared buffer is the next request's), so `effects`
   * can be computed after the request, when someone reads them.
   */
  detach(): void {
    if (!this.scratch) return;
    this.flags = this.flags.slice();
    this.scratch = false;
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
    const rows = this.index.scoringRows;
    // First read each candidate's row and nothing else: the reads do not depend on each other, so
    // the processor has many cache misses in flight at once, where the loop below, branching on
    // each row's contents, would mostly wait for them one by one (a request has hundreds of
    // candidates scattered over the catalog, and the rest of the request evicts the rows).
    let touched = 0;
    for (let i = 0; i < count; i++) {
      const at = ids[i]! * SCORING_ROW;
      if (at < rows.length) touched += rows[at]!;
    }
    this.touched = touched;
    const pairs = this.index.set.effectiveFor(this, this.active);
    for (let i = 0; i < count; i++) scores[i] = this.scored(pairs, rows, ids[i]!, scores[i]!);
  }

  /** What the first loop of `adjustAll` read, kept so that the reads are not optimised away. */
  touched = 0;

  /**
   * Score after boosts and buries: score × (product of multipliers) + (sum of adds). Applied by
   * the blend to every candidate, so the blend ranks by the final score and only its head is sorted.
   */
  adjust(id: number, score: number): number {
    return this.scored(this.index.set.effectiveFor(this, this.active), this.index.scoringRows, id, score);
  }

  /** {@link adjust}, given the rule set's multipliers and adds for this request and the rows. */
  private scored(pairs: Float64Array, rows: Uint16Array, id: number, score: number): number {
    // One 32-byte row per item lists its boosts and buries; `pairs` holds 1 and 0 for those not
    // active in this request (a rule limited to other surfaces or conditions), so no branch on it.
    const at = id * SCORING_ROW;
    let mult = 1;
    let add = 0;
    if (at < rows.length && rows[at] === ROW_OVERFLOW) {
      const hits = this.index.scoringOf(id)!;
      for (let i = 0; i < hits.length; i++) {
        mult *= pairs[2 * hits[i]!]!;
        add += pairs[2 * hits[i]! + 1]!;
      }
    } else if (at < rows.length) {
      for (let i = at; i < at + SCORING_ROW; i++) {
        const r = rows[i]!;
        if (r === ROW_END) break;
        mult *= pairs[2 * r]!;
        add += pairs[2 * r + 1]!;
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
   * the new order, at most `k` long. What each rule placed is worded later, in `effects`.
   */
  place(
    list: number[],
    k: number,
    eligible: (id: number) => boolean,
    ignoringStock: () => (id: number) => boolean,
  ): number[] {
    if (this.placing.length === 0) return list;
    // Per slot the item placed there (−1: none) and its rule; a list is a few dozen slots at most.
    const slotItem: number[] = new Array(k).fill(-1);
    const slotRule: CompiledRule[] = new Array(k);
    const placedIds: number[] = [];
    const request: Placing = { list, eligible, ignoringStock, stockBlind: undefined };
    for (const r of this.placing) {
      if (r.kind === 'pin') {
        const slot = r.slot!;
        if (slot >= k) {
          this.note(r, `not applied: slot ${slot} is beyond this list of ${k}`, []);
          continue;
        }
        // A query pin takes its best-scored matching item in the list, else the first listed/newest.
        let chosen = -1;
        let refusals: string[] | undefined;
        for (const id of list) {
          if (!placedIds.includes(id) && this.index.matches(id, r.index)) {
            chosen = id;
            break;
          }
        }
        if (chosen < 0) {
          for (const id of this.index.itemsOf(r)) {
            if (placedIds.includes(id)) continue;
            const why = this.refusal(r, id, request);
            if (why === undefined) {
              chosen = id;
              break;
            }
            refusals ??= [];
            if (refusals.length < 3) refusals.push(`${this.catalog.ids.keyOf(id)} ${why}`);
          }
        }
        if (chosen < 0) {
          this.note(
            r,
            refusals !== undefined
              ? `not applied: ${refusals.join('; ')}`
              : 'not applied: no item matches (all already placed or none in the catalog)',
            [],
            refusals?.some((t) => t.includes(' wins over ')) === true,
          );
          continue;
        }
        const at = freeSlot(slotItem, slot);
        if (at < 0) {
          const itemId = this.catalog.ids.keyOf(chosen);
          this.note(
            r,
            `not applied: every slot from ${slot} is pinned by higher-priority rules`,
            [itemId],
            true,
          );
          continue;
        }
        slotItem[at] = chosen;
        slotRule[at] = r;
        placedIds.push(chosen);
        if (at !== slot) {
          const itemId = this.catalog.ids.keyOf(chosen);
          this.note(
            r,
            `slot ${slot} is pinned by ${slotRule[slot]!.id} (higher priority); ${itemId} moved to slot ${at}`,
            [itemId],
            true,
          );
        }
      } else {
        const want = r.count;
        const picks: number[] = [];
        for (const id of this.index.itemsOf(r)) {
          if (picks.length >= want) break;
          if (placedIds.includes(id) || list.includes(id)) continue;
          if (this.refusal(r, id, request) === undefined) picks.push(id);
        }
        if (picks.length === 0) {
          this.note(r, 'not applied: no matching item that is not already in the list can be shown', []);
          continue;
        }
        const start = r.slot ?? Math.max(0, Math.min(k, list.length + picks.length) - picks.length);
        let placed = 0;
        let from = Math.min(start, k - 1);
        for (const id of picks) {
          const at = freeSlot(slotItem, from);
          if (at < 0) break;
          slotItem[at] = id;
          slotRule[at] = r;
          placedIds.push(id);
          placed++;
          from = at + 1;
        }
        if (placed === 0) {
          this.note(r, 'not applied: every slot from its position on is pinned', [], true);
        }
      }
    }
    if (placedIds.length === 0) return list;

    const out: number[] = [];
    let next = 0;
    for (let slot = 0; out.length < k && slot < k; slot++) {
      if (slotItem[slot]! >= 0) {
        out.push(slotItem[slot]!);
        continue;
      }
      while (next < list.length && placedIds.includes(list[next]!)) next++;
      if (next < list.length) out.push(list[next++]!);
    }
    // The list ran out before a pinned slot: the pinned items close the gap, in slot order (above).
    this.placedBy = new Map();
    for (let slot = 0; slot < k; slot++) {
      if (slotItem[slot]! >= 0) this.placedBy.set(slotItem[slot]!, slotRule[slot]!);
    }
    this.placedList = out;
    return out;
  }

  /** Why item `id` cannot be placed by rule `r` in this request, or undefined when it can. */
  private refusal(r: CompiledRule, id: number, request: Placing): string | undefined {
    const info = this.catalog.info(id);
    if (info === undefined) return 'is not in the catalog';
    if (info.item.archived) return 'is archived';
    const excluder = this.excluderOf(id);
    if (excluder !== undefined) {
      return excluder.kind === 'block'
        ? `is blocked by ${excluder.id} (block wins over ${r.kind})`
        : `fails filter ${excluder.id} (filter wins over ${r.kind})`;
    }
    if (request.eligible(id)) return undefined;
    if (!info.item.available) {
      if (r.allowUnavailable && !request.list.includes(id)) {
        // The stock-blind predicate is made once, on first need.
        request.stockBlind ??= request.ignoringStock();
        if (request.stockBlind(id)) return undefined;
      }
      return 'is out of stock (set allowUnavailable to show it anyway)';
    }
    return 'is excluded by the request (its filters, anchor or cart)';
  }

  /** Items pins and injects placed, by rule, and the list they were placed in (see `placementNotes`). */
  private placedBy: Map<number, CompiledRule> | undefined;
  private placedList: readonly number[] = [];

  /** What each pin and inject placed, by where its items ended up. */
  private placementNotes(): RuleEffect[] {
    const placedBy = this.placedBy;
    if (placedBy === undefined) return [];
    const byRule = new Map<CompiledRule, Array<{ itemId: string; pos: number }>>();
    this.placedList.forEach((id, pos) => {
      const rule = placedBy.get(id);
      if (rule === undefined) return;
      const entry = { itemId: this.catalog.ids.keyOf(id), pos };
      const list = byRule.get(rule);
      if (list) list.push(entry);
      else byRule.set(rule, [entry]);
    });
    return [...byRule].map(([r, placed]) => ({
      ruleId: r.id,
      kind: r.kind,
      effect: `${r.kind === 'pin' ? 'pinned' : 'injected'} ${placed.map((p) => `${p.itemId} at slot ${p.pos}`).join(', ')}`,
      itemIds: placed.map((p) => p.itemId),
    }));
  }

  private note(r: CompiledRule, effect: string, itemIds: string[], conflict = false): void {
    this.notes.push({ ruleId: r.id, kind: conflict ? 'conflict' : r.kind, effect, itemIds });
  }

  /** What each active rule did to the list, in precedence order; rules that changed nothing are left out. */
  effects(final: readonly number[], scoreOf: (id: number) => number): RuleEffect[] {
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
      for (const id of final) lowest = Math.min(lowest, scoreOf(id));
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
    out.push(...this.notes, ...this.placementNotes());
    return out;
  }
}

/** The request's predicates, as `place` got them, for `refusal`. */
interface Placing {
  list: readonly number[];
  eligible: (id: number) => boolean;
  ignoringStock: () => (id: number) => boolean;
  stockBlind: ((id: number) => boolean) | undefined;
}

/** The first slot from `slot` on with no item placed, or −1. */
function freeSlot(slotItem: readonly number[], slot: number): number {
  for (let s = slot; s < slotItem.length; s++) if (slotItem[s]! < 0) return s;
  return -1;
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
  const active = index.set.activate(ctx, catalog);
  if (active.count === 0) return undefined;
  return new RequestRules(index, catalog, active);
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
