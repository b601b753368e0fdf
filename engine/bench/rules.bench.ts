/**
 * Merchandising rules benchmark: what 1,000 active rules add to a recommendation request, in
 * process. A deterministic synthetic shop (BENCH_RULE_ITEMS items, BENCH_RULE_EVENTS events, Zipf
 * popularity, category-focused sessions) answers the same requests twice, alternating: with no
 * rules, and with 1,000 rules that are all enabled and in force, their request conditions varied
 * (see `rules()`: every kind, every condition — surface, placement, anchor item and category, cart
 * items and tags, segment, traits, country, rule set — item matches by ids, exact and wildcard
 * tags, price, stock and age, start/end and recurring schedules in five zones). Every requesting
 * visitor has a segment and a country, one request in seven is on a placement a filter rule
 * narrows, one in five is served under a rule set. Each request is timed both ways back to back,
 * in alternating order, so drift, caches and garbage collection fall on both alike; 20,000 pairs,
 * so the p99 rests on 200 samples of each and the p999 on 20. Printed: p50, p99 and p999 of each,
 * their differences ("added by rules") in milliseconds, and the load average; the issue's budget is
 * 0.05 ms added at p99. Then, per distinct request, its fastest run with rules less its fastest run
 * without (each of the 500 runs 40 times each way): what the rules cost it with the other jobs of a
 * busy machine taken out, as mean, p50, p99 and max over the requests.
 *
 * Run: pnpm --filter @recsys/engine bench:rules
 * (env BENCH_RULE_ITEMS / BENCH_RULE_EVENTS / BENCH_RULE_CALLS / BENCH_RULES to resize;
 * BENCH_RULE_PROBE=1 also times each kind of rule alone)
 */
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import {
  createEngine,
  type EngineEvent,
  type EngineItem,
  type RecRequest,
  type RuleDefinition,
  SURFACES,
} from '../src/index';
import { mulberry32 as rng } from '../src/util/random';

const ITEMS = Number(process.env.BENCH_RULE_ITEMS ?? 20_000);
const EVENTS = Number(process.env.BENCH_RULE_EVENTS ?? 400_000);
const CALLS = Number(process.env.BENCH_RULE_CALLS ?? 20_000);
const RULES = Number(process.env.BENCH_RULES ?? 1_000);
const CATEGORIES = 120;
const BRANDS = 600;
const USERS = Math.round(EVENTS / 12);
const DAY = 86_400_000;
const START = Date.UTC(2026, 0, 5);
const NOW = START + 30 * DAY;
const ZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Tokyo', 'Australia/Sydney'];
const SEGMENTS = ['vip', 'new', 'returning', 'bargain'];
const COUNTRIES = ['DE', 'US', 'JP', 'FR'];
/** The surfaces requested (the two that list the visitor's own items are left out). */
const LISTED = SURFACES.filter((s) => s !== 'buyAgain' && s !== 'recentlyViewed');

function zipfPicker(n: number, s: number, random: () => number): () => number {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    sum += 1 / (i + 1) ** s;
    cdf[i] = sum;
  }
  return () => {
    const x = random() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

function shop(random: () => number) {
  const items: EngineItem[] = [];
  const byCategory: number[][] = Array.from({ length: CATEGORIES }, () => []);
  const pickCategory = zipfPicker(CATEGORIES, 0.8, random);
  for (let i = 0; i < ITEMS; i++) {
    const c = pickCategory();
    byCategory[c]!.push(i);
    items.push({
      itemId: `sku-${i}`,
      price: Math.round(random() * 20_000) / 100,
      available: random() > 0.03,
      archived: random() < 0.01,
      tags: [`category:c${c}`, `brand:b${Math.floor(random() * BRANDS)}`, `color:k${i % 12}`],
      createdAt: START - Math.floor(random() * 365) * DAY,
    });
  }
  const events: EngineEvent[] = [];
  const pickUser = zipfPicker(USERS, 0.6, random);
  const pickers = byCategory.map((m) => zipfPicker(Math.max(1, m.length), 1.05, random));
  let session = 0;
  while (events.length < EVENTS) {
    const c = pickCategory();
    const members = byCategory[c]!;
    if (members.length === 0) continue;
    const user = `u${pickUser()}`;
    const sessionId = `s${session}`;
    let ts = START + (session / (EVENTS / 8)) * 29 * DAY;
    session++;
    for (let e = 0; e < 2 + Math.floor(random() * 12) && events.length < EVENTS; e++) {
      ts += 5_000 + random() * 100_000;
      const item = members[pickers[c]!()]!;
      const type = random() < 0.8 ? 'view' : random() < 0.5 ? 'add' : 'purchase';
      events.push({ type, itemId: `sku-${item}`, userKey: user, sessionId, ts });
    }
  }
  return { items, events };
}

/**
 * 1,000 rules, every one enabled and in force at NOW; their request conditions vary. Per 20 rules:
 * five unconditional brand boosts, a wildcard brand boost on two surfaces, an unconditional
 * category bury, a segment's bury of expensive in-stock items, two blocks of listed items, a
 * country's block of a cheap brand, a pin per anchor item, a pin per surface and segment on the home
 * placement, an inject per anchor category, an inject of new (even out-of-stock) items per cart
 * category, a filter per placement, a country's boost in a recurring window, a trait's boost
 * between a local start and end, a rule set's boost (an experiment variant), a bury conditioned on
 * a cart item. Schedules are in five time zones.
 */
function rules(random: () => number, count: number): RuleDefinition[] {
  const out: RuleDefinition[] = [];
  // Anchors and carts lean to the low ids (below), so rules naming them do too.
  const sku = () => `sku-${Math.floor(random() * ITEMS)}`;
  const popularSku = () => `sku-${Math.floor(random() ** 2 * ITEMS)}`;
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  const category = () => `category:c${Math.floor(random() * CATEGORIES)}`;
  const brand = () => `brand:b${Math.floor(random() * BRANDS)}`;
  const allWeek = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
  for (let i = 0; out.length < count; i++) {
    const id = `r-${i}`;
    const priority = Math.floor(random() * 10);
    switch (i % 20) {
      case 0:
      case 1:
      case 2:
      case 3:
      case 4:
        out.push({ id, kind: 'boost', priority, items: { tags: [brand()] }, multiplier: 1 + random() * 2 });
        break;
      case 5:
        // b60* … b599*: a wildcard that names one brand (b600 and up do not exist).
        out.push({
          id,
          kind: 'boost',
          priority,
          items: { tags: [`brand:b${60 + Math.floor(random() * (BRANDS - 60))}*`] },
          multiplier: 1.5,
          when: { surfaces: ['forUser', 'trending'] },
        });
        break;
      case 6:
        out.push({ id, kind: 'bury', priority, items: { tags: [category()] }, multiplier: 0.5 });
        break;
      case 7:
        out.push({
          id,
          kind: 'bury',
          priority,
          items: { tags: [category()], available: true, priceMin: 150 },
          multiplier: 0.7,
          subtract: 0.01,
          when: { segments: ['bargain'] },
        });
        break;
      case 8:
      case 9:
        out.push({ id, kind: 'block', priority, items: { itemIds: [sku(), sku(), sku()] } });
        break;
      case 10:
        out.push({
          id,
          kind: 'block',
          priority,
          items: { tags: [brand()], priceMax: 20 },
          when: { countries: [pick(COUNTRIES)] },
        });
        break;
      case 11:
        out.push({
          id,
          kind: 'pin',
          priority,
          items: { itemIds: [sku()] },
          slot: Math.floor(random() * 4),
          when: { anchorItemIds: [popularSku(), popularSku(), popularSku(), popularSku(), popularSku()] },
        });
        break;
      case 12:
        out.push({
          id,
          kind: 'pin',
          priority,
          items: { itemIds: [sku(), sku()] },
          slot: Math.floor(random() * 4),
          when: { surfaces: [pick(LISTED)], segments: [pick(SEGMENTS)], placements: ['home'] },
        });
        break;
      case 13:
        out.push({
          id,
          kind: 'inject',
          priority,
          items: { tags: [category()], createdAfter: new Date(START - 30 * DAY).toISOString() },
          when: { anchorCategories: [`c${Math.floor(random() * CATEGORIES)}`] },
        });
        break;
      case 14:
        out.push({
          id,
          kind: 'inject',
          priority,
          items: { tags: [category()], createdAfter: new Date(START - 60 * DAY).toISOString() },
          count: 2,
          slot: 3,
          allowUnavailable: true,
          when: { cartTags: [category()] },
        });
        break;
      case 15:
        out.push({
          id,
          kind: 'filter',
          priority,
          items: { priceMax: 50 + random() * 100 },
          when: { placements: [`placement-${i}`] },
        });
        break;
      case 16:
        out.push({
          id,
          kind: 'boost',
          priority,
          items: { tags: [`color:k${Math.floor(random() * 12)}`] },
          add: 0.05,
          // Every day, all day, in some zone: in force, but evaluated through the zone's local time.
          schedule: {
            timeZone: pick(ZONES),
            recurring: [{ days: [...allWeek], from: '00:00', to: '24:00' }],
          },
          when: { countries: [pick(COUNTRIES)] },
        });
        break;
      case 17:
        out.push({
          id,
          kind: 'boost',
          priority,
          items: { tags: [category(), brand()] },
          multiplier: 1.2,
          // Local start and end in some zone, around NOW.
          schedule: { timeZone: pick(ZONES), start: '2026-01-20T09:00', end: '2026-03-01T00:00' },
          when: { traits: { tier: ['gold'] } },
        });
        break;
      case 18:
        out.push({
          id,
          kind: 'boost',
          priority,
          items: { tags: [brand()] },
          multiplier: 2,
          ruleSet: 'summer',
        });
        break;
      default:
        out.push({
          id,
          kind: 'bury',
          priority,
          items: { tags: [category()] },
          multiplier: 0.8,
          when: { cartItemIds: [popularSku(), popularSku(), popularSku()] },
        });
    }
  }
  return out;
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

function main(): void {
  const random = rng(7);
  let t = performance.now();
  const { items, events } = shop(random);
  const engine = createEngine({ now: () => NOW });
  engine.upsertItems(items);
  for (let i = 0; i < events.length; i += 20_000) engine.addEvents(events.slice(i, i + 20_000));
  // Every requesting visitor has a segment and a country, one in five the gold tier.
  for (let u = 1; u <= 50; u++) {
    const traits: Record<string, string> = { segment: SEGMENTS[u % 4]!, country: COUNTRIES[(u >> 2) % 4]! };
    if (u % 5 === 0) traits.tier = 'gold';
    engine.setUserTraits(`u${u}`, traits);
  }
  console.log(
    `shop: ${ITEMS.toLocaleString()} items, ${EVENTS.toLocaleString()} events in ${((performance.now() - t) / 1000).toFixed(1)} s`,
  );

  t = performance.now();
  const defs = rules(random, RULES);
  const summary = engine.setRules(defs, NOW);
  console.log(
    `setRules: ${summary.enabled} enabled, ${summary.inForce} in force, compiled in ${(performance.now() - t).toFixed(1)} ms`,
  );
  const none = engine.prepareRules([]);
  const all = engine.prepareRules(defs);

  const requests: RecRequest[] = [];
  for (let i = 0; i < 500; i++) {
    const surface = LISTED[i % LISTED.length]!;
    const req: RecRequest = { surface, k: 10, userKey: `u${1 + (i % 50)}` };
    if (surface === 'similar') req.itemId = `sku-${Math.floor(random() ** 2 * ITEMS)}`;
    if (surface === 'cart') {
      req.cartItemIds = Array.from({ length: 1 + (i % 3) }, () => `sku-${Math.floor(random() ** 2 * ITEMS)}`);
    }
    // One request in seven on a placement some filter rule narrows, two on home or pdp.
    if (i % 7 === 0) req.placement = `placement-${15 + 20 * Math.floor(random() * (RULES / 20))}`;
    else if (i % 7 === 1) req.placement = 'home';
    else if (i % 7 === 2) req.placement = 'pdp';
    // One in five served under an experiment variant's rule set.
    if (i % 5 === 0) req.ruleSet = 'summer';
    requests.push(req);
  }
  // Warm-up, both ways, so both run optimised code.
  for (let i = 0; i < 1_000; i++) {
    engine.recommend(requests[i % requests.length]!, { rules: none });
    engine.recommend(requests[i % requests.length]!, { rules: all });
  }
  const loadBefore = loadavg()[0]!.toFixed(2);
  const without: number[] = [];
  const withRules: number[] = [];
  let effects = 0;
  // Per distinct request, its fastest time each way: what it costs when nothing else got in its way.
  const fastestWithout = new Array<number>(requests.length).fill(Number.POSITIVE_INFINITY);
  const fastestWith = new Array<number>(requests.length).fill(Number.POSITIVE_INFINITY);
  for (let i = 0; i < CALLS; i++) {
    const at = i % requests.length;
    const req = requests[at]!;
    // Alternate which goes first so neither gets the warmer caches: from one call to the next, and
    // for each request from one pass over the list to the next (the list's length is even).
    const order = (i + Math.floor(i / requests.length)) % 2 === 0 ? [none, all] : [all, none];
    for (const rules of order) {
      const s = performance.now();
      engine.recommend(req, { rules });
      const ms = performance.now() - s;
      if (rules === all) {
        withRules.push(ms);
        fastestWith[at] = Math.min(fastestWith[at]!, ms);
      } else {
        without.push(ms);
        fastestWithout[at] = Math.min(fastestWithout[at]!, ms);
      }
    }
  }
  if (process.env.BENCH_RULE_PROBE) {
    const only = (pred: (d: RuleDefinition) => boolean) => engine.prepareRules(defs.filter(pred));
    const sets: Record<string, ReturnType<typeof engine.prepareRules>> = {
      none,
      boost: only((d) => d.kind === 'boost' && !d.schedule),
      bury: only((d) => d.kind === 'bury'),
      block: only((d) => d.kind === 'block'),
      pin: only((d) => d.kind === 'pin'),
      inject: only((d) => d.kind === 'inject'),
      filter: only((d) => d.kind === 'filter'),
      windowed: only((d) => d.schedule !== undefined),
      all,
    };
    for (const [name, set] of Object.entries(sets)) {
      const times: number[] = [];
      for (let i = 0; i < 3000; i++) {
        const s = performance.now();
        engine.recommend(requests[i % requests.length]!, { rules: set });
        times.push(performance.now() - s);
      }
      times.sort((a, b) => a - b);
      console.log(
        `${name.padEnd(10)} p50 ${percentile(times, 50).toFixed(3)} p90 ${percentile(times, 90).toFixed(3)}`,
      );
    }
  }
  // Rule effects are worded when read (traces, explain); counted apart from the timed calls.
  for (const req of requests) if (engine.recommend(req, { rules: all }).ruleEffects) effects++;
  without.sort((a, b) => a - b);
  withRules.sort((a, b) => a - b);
  const load = loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  console.log(
    `requests: ${CALLS} × 2 (${effects} of ${requests.length} distinct requests changed by a rule); load average ${loadBefore} before, ${load} after`,
  );
  const row = (times: number[]) =>
    [50, 99, 99.9].map((p) => `p${p} ${percentile(times, p).toFixed(3)} ms`).join('  ');
  console.log(`no rules:        ${row(without)}`);
  console.log(`${RULES} rules:     ${row(withRules)}`);
  const added = (p: number) => percentile(withRules, p) - percentile(without, p);
  console.log(
    `added by rules:  ${[50, 99, 99.9].map((p) => `p${p} ${added(p).toFixed(3)} ms`).join('  ')} (budget 0.050 ms at p99: ${added(99) <= 0.05 ? 'met' : 'NOT met'})`,
  );
  // On a busy machine the percentiles above carry the other jobs' pauses; this does not.
  const fastestAdded = fastestWith.map((ms, at) => ms - fastestWithout[at]!).sort((a, b) => a - b);
  const mean = fastestAdded.reduce((a, b) => a + b, 0) / fastestAdded.length;
  console.log(
    `added, fastest of ${Math.floor(CALLS / requests.length)} runs of each of the ${requests.length} requests: mean ${mean.toFixed(3)} ms  ${[50, 99].map((p) => `p${p} ${percentile(fastestAdded, p).toFixed(3)} ms`).join('  ')}  max ${fastestAdded.at(-1)!.toFixed(3)} ms`,
  );
}

main();
