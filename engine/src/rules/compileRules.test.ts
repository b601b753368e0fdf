import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createEngine } from '../createEngine';
import { Catalog } from '../indexes/Catalog';
import { beginRules } from '../pipeline/applyRules';
import type { Surface } from '../protocol';
import { DAY, ev, item, T0 } from '../testShop';
import type { EngineItem } from '../types';
import { KIND_ORDER, RuleItemIndex, type RuleRequestContext, RuleSet } from './compileRules';
import { insideWindow, localTime, parseClock, parseInstant } from './schedule';
import { type ItemMatch, type RuleConditions, type RuleDefinition, WEEKDAYS } from './types';

/**
 * The compiled rules (condition indexes, per-surface precomputation, per-item rule lists, cached
 * schedule windows) against a straightforward evaluation of the definitions as the README words
 * them, over random catalogs, rules and requests. The seed is fixed (RULES_SEED overrides it).
 */
const SEED = Number(process.env.RULES_SEED ?? 20261207);

const CATEGORIES = ['a', 'b', 'c'];
const BRANDS = ['x', 'y', 'xy'];
const TAGS = [...CATEGORIES.map((c) => `category:${c}`), ...BRANDS.map((b) => `brand:${b}`), 'color:blue'];
const TAG_PATTERNS = [...TAGS, 'brand:*', 'brand:x*', 'color:bl*', 'category:*', 'size:m'];
const SURFACES: Surface[] = ['forUser', 'similar', 'cart', 'trending', 'buyAgain', 'recentlyViewed'];
const ZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata'];
const ITEM_COUNT = 12;
const itemIdOf = (i: number) => `i${i}`;
/** Instants around the test's week: 2024-01-01 (a Monday) … a week later, every 5 hours 17 min. */
const NOWS = Array.from({ length: 33 }, (_, i) => T0 + i * 317 * 60_000);

const itemArb = (i: number): fc.Arbitrary<EngineItem> =>
  fc
    .record({
      tags: fc.subarray(TAGS),
      price: fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }),
      available: fc.boolean(),
      archived: fc.boolean().map((b) => b && i % 5 === 0),
      age: fc.integer({ min: 0, max: 10 }),
    })
    .map(({ tags, price, available, archived, age }) =>
      item(itemIdOf(i), { tags, price, available, archived, createdAt: T0 - age * DAY }),
    );

const catalogArb = fc.tuple(...Array.from({ length: ITEM_COUNT }, (_, i) => itemArb(i)));

const someIds = fc.subarray([...Array.from({ length: ITEM_COUNT }, (_, i) => itemIdOf(i)), 'unknown'], {
  minLength: 1,
  maxLength: 3,
});
const opt = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 2 });
/** Absent five times in six: a rule carries one or two request conditions, as most do. */
const rare = <T>(arb: fc.Arbitrary<T>) =>
  fc.oneof({ arbitrary: fc.constant(undefined), weight: 5 }, { arbitrary: arb, weight: 1 });

const matchArb: fc.Arbitrary<ItemMatch> = fc
  .record({
    itemIds: opt(someIds),
    tags: opt(fc.subarray(TAG_PATTERNS, { minLength: 1, maxLength: 2 })),
    priceMin: opt(fc.integer({ min: 0, max: 60 })),
    priceSpan: opt(fc.integer({ min: 0, max: 60 })),
    available: opt(fc.boolean()),
    createdAfter: opt(fc.integer({ min: 0, max: 10 }).map((d) => new Date(T0 - d * DAY).toISOString())),
  })
  .map(({ priceSpan, ...m }) => {
    const out: ItemMatch = {};
    for (const [k, v] of Object.entries(m)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
    if (priceSpan !== undefined) out.priceMax = (m.priceMin ?? 0) + priceSpan;
    return out;
  });

const whenArb = fc
  .record({
    surfaces: rare(fc.subarray(SURFACES, { minLength: 1, maxLength: 2 })),
    placements: rare(fc.subarray(['home', 'pdp'], { minLength: 1 })),
    anchorItemIds: rare(someIds),
    anchorCategories: rare(fc.subarray(CATEGORIES, { minLength: 1, maxLength: 2 })),
    cartItemIds: rare(someIds),
    cartTags: rare(fc.subarray(TAG_PATTERNS, { minLength: 1, maxLength: 2 })),
    segments: rare(fc.subarray(['vip', 'new'], { minLength: 1 })),
    traits: rare(fc.constantFrom({ tier: ['gold'] }, { tier: ['gold', 'silver'], club: ['yes'] })),
    countries: rare(fc.subarray(['de', 'US', 'fr'], { minLength: 1 })),
  })
  .map((w) => Object.fromEntries(Object.entries(w).filter(([, v]) => v !== undefined)) as RuleConditions);

const clockArb = fc.integer({ min: 0, max: 47 }).map((q) => {
  const m = q * 30;
  return `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
});
const windowArb = fc
  .record({
    days: fc.subarray([...WEEKDAYS], { minLength: 1 }),
    from: clockArb,
    to: fc.oneof(clockArb, fc.constant('24:00')),
  })
  .filter((w) => w.from !== w.to);

const scheduleArb = fc
  .record({
    timeZone: opt(fc.constantFrom(...ZONES)),
    // Local (read in the zone) or with a zone; start before end.
    start: opt(fc.integer({ min: 0, max: 6 * 24 })),
    length: opt(fc.integer({ min: 1, max: 4 * 24 })),
    local: fc.boolean(),
    recurring: opt(fc.array(windowArb, { minLength: 1, maxLength: 2 })),
  })
  .map(({ timeZone, start, length, local, recurring }) => {
    const text = (hours: number) => {
      const iso = new Date(T0 + hours * 3_600_000).toISOString();
      return local ? iso.slice(0, 16) : iso;
    };
    const out: NonNullable<RuleDefinition['schedule']> = {};
    if (timeZone !== undefined) out.timeZone = timeZone;
    if (start !== undefined) out.start = text(start);
    if (length !== undefined) out.end = text((start ?? 0) + length);
    if (recurring !== undefined) out.recurring = recurring;
    return out;
  });

const ruleArb = (n: number): fc.Arbitrary<RuleDefinition> =>
  fc
    .record({
      kind: fc.constantFrom('block', 'filter', 'pin', 'inject', 'boost', 'bury', 'boost', 'bury'),
      priority: fc.integer({ min: 0, max: 2 }),
      enabled: fc.boolean().map((b) => b || n % 7 !== 0),
      ruleSet: opt(fc.constantFrom('sale', 'winter')),
      items: matchArb,
      when: opt(whenArb),
      schedule: opt(scheduleArb),
      slot: fc.integer({ min: 0, max: 5 }),
      count: fc.integer({ min: 1, max: 3 }),
      allowUnavailable: fc.boolean(),
      multiplier: fc.double({ min: 1, max: 3, noNaN: true }),
      fraction: fc.double({ min: 0, max: 1, noNaN: true }),
      amount: fc.double({ min: 0, max: 0.5, noNaN: true }),
    })
    .map((r): RuleDefinition => {
      // Ids whose order differs from the generation order, so ties on priority are decided by id.
      const base = { id: `r${(n * 7) % 23}-${n}`, priority: r.priority, items: r.items } as const;
      const extra = {
        ...(r.enabled ? {} : { enabled: false }),
        ...(r.ruleSet !== undefined ? { ruleSet: r.ruleSet } : {}),
        ...(r.when !== undefined ? { when: r.when } : {}),
        ...(r.schedule !== undefined ? { schedule: r.schedule } : {}),
      };
      switch (r.kind) {
        case 'pin':
          return { ...base, ...extra, kind: 'pin', slot: r.slot, allowUnavailable: r.allowUnavailable };
        case 'inject':
          return {
            ...base,
            ...extra,
            kind: 'inject',
            count: r.count,
            slot: r.slot,
            allowUnavailable: r.allowUnavailable,
          };
        case 'boost':
          return { ...base, ...extra, kind: 'boost', multiplier: r.multiplier, add: r.amount };
        case 'bury':
          return { ...base, ...extra, kind: 'bury', multiplier: r.fraction, subtract: r.amount };
        default:
          return { ...base, ...extra, kind: r.kind as 'block' | 'filter' };
      }
    });

const rulesArb = fc
  .integer({ min: 1, max: 24 })
  .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => ruleArb(i))));

const requestArb = fc.record({
  surface: fc.constantFrom(...SURFACES),
  placement: opt(fc.constantFrom('home', 'pdp', 'other')),
  anchor: fc.integer({ min: 0, max: ITEM_COUNT }),
  cart: fc.subarray(
    Array.from({ length: ITEM_COUNT + 1 }, (_, i) => itemIdOf(i)),
    { maxLength: 3 },
  ),
  segment: opt(fc.constantFrom('vip', 'new', 'old')),
  country: opt(fc.constantFrom('DE', 'us', 'FR', 'JP')),
  tier: opt(fc.constantFrom('gold', 'silver')),
  club: opt(fc.constantFrom('yes', 'no')),
  ruleSet: opt(fc.constantFrom('sale', 'winter', 'spring')),
  now: fc.constantFrom(...NOWS),
});

type GeneratedRequest = typeof requestArb extends fc.Arbitrary<infer R> ? R : never;

function contextOf(r: GeneratedRequest): RuleRequestContext {
  const traits: Record<string, string> = {};
  if (r.segment !== undefined) traits.segment = r.segment;
  if (r.country !== undefined) traits.country = r.country;
  if (r.tier !== undefined) traits.tier = r.tier;
  if (r.club !== undefined) traits.club = r.club;
  return {
    surface: r.surface,
    placement: r.placement,
    anchorItemId: r.surface === 'similar' ? itemIdOf(r.anchor) : undefined,
    cartItemIds: r.cart,
    traits,
    now: r.now,
    ruleSet: r.ruleSet,
  };
}

// ——— The reference: each definition read as written, nothing precomputed ———

const glob = (pattern: string, tag: string) =>
  new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  ).test(tag);
const anyTag = (patterns: string[], tags: string[]) => tags.some((t) => patterns.some((p) => glob(p, t)));

function referenceMatches(m: ItemMatch, it: EngineItem): boolean {
  if (m.itemIds !== undefined && !m.itemIds.includes(it.itemId)) return false;
  if (m.tags !== undefined && !anyTag(m.tags, it.tags)) return false;
  if (m.priceMin !== undefined && (it.price === undefined || it.price < m.priceMin)) return false;
  if (m.priceMax !== undefined && (it.price === undefined || it.price > m.priceMax)) return false;
  if (m.available !== undefined && it.available !== m.available) return false;
  if (m.createdAfter !== undefined && it.createdAt < Date.parse(m.createdAfter)) return false;
  return true;
}

function referenceInForce(d: RuleDefinition, now: number): boolean {
  const s = d.schedule;
  if (s === undefined) return true;
  const zone = s.timeZone ?? 'UTC';
  if (s.start !== undefined && now < parseInstant(s.start, zone)) return false;
  if (s.end !== undefined && now >= parseInstant(s.end, zone)) return false;
  if (s.recurring === undefined) return true;
  const t = localTime(now, zone);
  return s.recurring.some((w) =>
    insideWindow(
      {
        days: w.days.reduce((bits, d) => bits | (1 << WEEKDAYS.indexOf(d)), 0),
        from: parseClock(w.from),
        to: parseClock(w.to),
      },
      t.weekday,
      t.minuteOfDay,
    ),
  );
}

function referenceApplies(
  d: RuleDefinition,
  ctx: RuleRequestContext,
  items: Map<string, EngineItem>,
): boolean {
  if (d.enabled === false || !referenceInForce(d, ctx.now)) return false;
  if (d.ruleSet !== undefined && d.ruleSet !== ctx.ruleSet) return false;
  const w = d.when ?? {};
  const anchor = ctx.anchorItemId === undefined ? undefined : items.get(ctx.anchorItemId);
  const cart = (ctx.cartItemIds ?? []).flatMap((id) => items.get(id) ?? []);
  if (w.surfaces !== undefined && !w.surfaces.includes(ctx.surface)) return false;
  if (w.placements !== undefined && !w.placements.includes(ctx.placement ?? '')) return false;
  if (w.anchorItemIds !== undefined && !w.anchorItemIds.includes(ctx.anchorItemId ?? '')) return false;
  if (
    w.anchorCategories !== undefined &&
    !w.anchorCategories.some((c) => anchor?.tags.includes(`category:${c}`))
  )
    return false;
  if (w.cartItemIds !== undefined && !(ctx.cartItemIds ?? []).some((id) => w.cartItemIds!.includes(id)))
    return false;
  if (w.cartTags !== undefined && !cart.some((it) => anyTag(w.cartTags!, it.tags))) return false;
  if (w.segments !== undefined && !w.segments.includes(ctx.traits.segment ?? '')) return false;
  const country = ctx.traits.country?.toUpperCase();
  if (w.countries !== undefined && !w.countries.some((c) => c.toUpperCase() === country)) return false;
  for (const [key, values] of Object.entries(w.traits ?? {}))
    if (!values.includes(ctx.traits[key] ?? '')) return false;
  return true;
}

/** Active rules in precedence order: kind, priority (high first), id. */
function referenceActive(defs: RuleDefinition[], ctx: RuleRequestContext, items: Map<string, EngineItem>) {
  return defs
    .filter((d) => referenceApplies(d, ctx, items))
    .sort(
      (a, b) =>
        KIND_ORDER[a.kind] - KIND_ORDER[b.kind] ||
        (b.priority ?? 0) - (a.priority ?? 0) ||
        (a.id < b.id ? -1 : 1),
    );
}

function referenceExcluder(active: RuleDefinition[], it: EngineItem): string | undefined {
  const block = active.find((d) => d.kind === 'block' && referenceMatches(d.items, it));
  if (block !== undefined) return block.id;
  return active.find((d) => d.kind === 'filter' && !referenceMatches(d.items, it))?.id;
}

function referenceAdjust(active: RuleDefinition[], it: EngineItem, score: number): number {
  let mult = 1;
  let add = 0;
  for (const d of active) {
    if (!referenceMatches(d.items, it)) continue;
    if (d.kind === 'boost') {
      mult *= d.multiplier ?? 1;
      add += d.add ?? 0;
    } else if (d.kind === 'bury') {
      mult *= d.multiplier ?? 1;
      add -= d.subtract ?? 0;
    }
  }
  return mult === 1 && add === 0 ? score : score * mult + add;
}

/** Newest first (ties: the older id), or the listed ids in their order. */
function referencePlacingItems(d: RuleDefinition, items: EngineItem[]): string[] {
  const matching = items.filter((it) => referenceMatches(d.items, it));
  if (d.items.itemIds !== undefined)
    return d.items.itemIds.filter((id) => matching.some((it) => it.itemId === id));
  return matching
    .map((it, at) => ({ it, at }))
    .sort(
      (a, b) =>
        b.it.createdAt - a.it.createdAt || Number(a.it.itemId.slice(1)) - Number(b.it.itemId.slice(1)),
    )
    .map(({ it }) => it.itemId);
}

/** A second version of some items: retagged, repriced, restocked, archived; and two new ones. */
const changesArb = fc.tuple(
  fc
    .subarray(
      Array.from({ length: ITEM_COUNT }, (_, i) => i),
      { maxLength: 5 },
    )
    .chain((ids) => fc.tuple(...ids.map((i) => itemArb(i)))),
  itemArb(ITEM_COUNT),
  itemArb(ITEM_COUNT + 1),
);

/** A catalog, rules, a catalog change and some requests. */
const scenarioArb = (minRequests: number, maxRequests: number) =>
  fc.tuple(
    catalogArb,
    rulesArb,
    changesArb,
    fc.array(requestArb, { minLength: minRequests, maxLength: maxRequests }),
  );

describe('compiled rules agree with a straightforward reading of the definitions', () => {
  it(`activate, exclusions, score adjustments and pin/inject candidates match the reference, before and after catalog changes (seed ${SEED})`, () => {
    fc.assert(
      fc.property(scenarioArb(4, 8), ([first, defs, [changed, newA, newB], requests]) => {
        const catalog = new Catalog();
        catalog.upsert(first);
        const index = new RuleItemIndex(new RuleSet(defs), catalog);
        const check = () => {
          const items = new Map<string, EngineItem>();
          for (let id = 0; id < catalog.idCount; id++) {
            const info = catalog.info(id);
            if (info !== undefined) items.set(info.item.itemId, info.item);
          }
          for (const rule of index.set.rules) {
            if (rule.kind !== 'pin' && rule.kind !== 'inject') continue;
            expect(
              index.itemsOf(rule).map((id) => catalog.ids.keyOf(id)),
              rule.id,
            ).toEqual(referencePlacingItems(rule.def, [...items.values()]));
          }
          // Then again all at one instant: answers kept per context are read back across requests.
          for (const r of [...requests, ...requests.map((q) => ({ ...q, now: requests[0]!.now }))]) {
            const ctx = contextOf(r);
            const active = referenceActive(defs, ctx, items);
            const act = index.set.activate(ctx, catalog);
            const ids = (list: Array<{ id: string }>) => list.map((d) => d.id);
            expect(ids(index.set.rules.filter((rule) => act.flags[rule.index] === 1))).toEqual(ids(active));
            expect(ids(act.filters)).toEqual(ids(active.filter((d) => d.kind === 'filter')));
            expect(ids(act.placing)).toEqual(
              ids(active.filter((d) => d.kind === 'pin' || d.kind === 'inject')),
            );
            const ruled = beginRules(index, ctx, catalog);
            if (active.length === 0) {
              expect(ruled).toBeUndefined();
              continue;
            }
            expect(ruled).toBeDefined();
            expect(ruled!.hasBlockOrFilter).toBe(
              active.some((d) => d.kind === 'block' || d.kind === 'filter'),
            );
            expect(ruled!.hasFilter).toBe(active.some((d) => d.kind === 'filter'));
            expect(ruled!.hasScoring).toBe(active.some((d) => d.kind === 'boost' || d.kind === 'bury'));
            for (const [itemId, it] of items) {
              const id = catalog.ids.get(itemId)!;
              expect(ruled!.excluderOf(id)?.id, `${itemId} excluded`).toBe(referenceExcluder(active, it));
              expect(
                index.set.rules.filter((rule) => index.matches(id, rule.index)).map((rule) => rule.id),
              ).toEqual(
                index.set.rules.filter((rule) => referenceMatches(rule.def.items, it)).map((rule) => rule.id),
              );
              if (ruled!.hasScoring) {
                // Equal up to rounding: the compiled rules multiply in another order.
                const want = referenceAdjust(active, it, 0.75);
                expect(Math.abs(ruled!.adjust(id, 0.75) - want), itemId).toBeLessThanOrEqual(
                  1e-12 * Math.max(1, Math.abs(want)),
                );
              }
            }
          }
        };
        check();
        const changes = [...changed, newA, newB];
        catalog.upsert(changes);
        index.refresh(changes.map((it) => catalog.ids.get(it.itemId)!));
        check();
      }),
      { seed: SEED, numRuns: 150 },
    );
  });

  it(`lists and effects from rules kept up to date through catalog changes equal those of the same rules compiled afresh, and never show a blocked or filtered item (seed ${SEED})`, () => {
    fc.assert(
      fc.property(scenarioArb(3, 6), ([first, defs, [changed, newA, newB], requests]) => {
        const engine = createEngine({ now: () => T0 });
        engine.upsertItems(first);
        engine.addEvents(
          first.flatMap((it, i) =>
            Array.from({ length: 1 + (i % 4) }, (_, u) =>
              ev(u % 2 ? 'purchase' : 'view', it.itemId, `u${(i + u) % 5}`, i + u),
            ),
          ),
        );
        engine.setRules(defs);
        engine.upsertItems([...changed, newA, newB]);
        const fresh = engine.prepareRules(defs);
        for (const r of requests) {
          const ctx = contextOf(r);
          const req = {
            surface: r.surface,
            k: 6,
            now: r.now,
            placement: r.placement,
            itemId: ctx.anchorItemId,
            cartItemIds: r.cart,
            traits: ctx.traits,
            ruleSet: r.ruleSet,
            overrides: { diversity: { lambda: 1, maxPerBrand: 0 } },
          };
          const kept = engine.recommend(req);
          const again = engine.recommend(req, { rules: fresh });
          // Item ids, not scores: the engine's decay clocks move with each request's time, so a
          // second request at the same time may score an ulp apart.
          expect(kept.items.map((i) => i.itemId)).toEqual(again.items.map((i) => i.itemId));
          expect(kept.ruleEffects).toEqual(again.ruleEffects);
          const items = new Map(
            [...first, ...changed, newA, newB].map((it) => [it.itemId, engine.getItem(it.itemId)!] as const),
          );
          const active = referenceActive(defs, ctx, items);
          for (const shown of kept.items)
            expect(referenceExcluder(active, items.get(shown.itemId)!), shown.itemId).toBeUndefined();
        }
      }),
      { seed: SEED, numRuns: 60 },
    );
  });
});
