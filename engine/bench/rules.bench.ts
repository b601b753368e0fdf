/**
 * Merchandising rules benchmark: what 1,000 active rules add to a recommendation request, in
 * process. A deterministic synthetic shop (BENCH_RULE_ITEMS items, BENCH_RULE_EVENTS events, Zipf
 * popularity, category-focused sessions) answers the same requests twice, alternating: with no
 * rules, and with 1,000 rules that are all enabled and in force — a realistic mix of boosts and
 * buries on brands and categories, blocks of listed items, pins and injects for segments and
 * anchors, filters and rules on placements, rules on recurring windows in several time zones. The
 * figure is the difference of the p99 latencies (and of the medians), in milliseconds; the issue's
 * budget is 0.05 ms at p99.
 *
 * Run: pnpm --filter @recsys/engine bench:rules
 * (env BENCH_RULE_ITEMS / BENCH_RULE_EVENTS / BENCH_RULE_CALLS / BENCH_RULES to resize;
 * BENCH_RULE_PROBE=1 also times each kind of rule alone)
 */
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
const CALLS = Number(process.env.BENCH_RULE_CALLS ?? 4_000);
const RULES = Number(process.env.BENCH_RULES ?? 1_000);
const CATEGORIES = 120;
const BRANDS = 600;
const USERS = Math.round(EVENTS / 12);
const DAY = 86_400_000;
const START = Date.UTC(2026, 0, 5);
const NOW = START + 30 * DAY;
const ZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Tokyo', 'Australia/Sydney'];
const SEGMENTS = ['vip', 'new', 'returning', 'bargain'];

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

/** 1,000 rules, every one enabled and in force at NOW (their request conditions vary). */
function rules(random: () => number, count: number): RuleDefinition[] {
  const out: RuleDefinition[] = [];
  const sku = () => `sku-${Math.floor(random() * ITEMS)}`;
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  for (let i = 0; out.length < count; i++) {
    const id = `r-${i}`;
    const priority = Math.floor(random() * 10);
    switch (i % 10) {
      case 0:
      case 1:
      case 2:
        out.push({
          id,
          kind: 'boost',
          priority,
          items: { tags: [`brand:b${Math.floor(random() * BRANDS)}`] },
          multiplier: 1 + random() * 2,
        });
        break;
      case 3:
        out.push({
          id,
          kind: 'bury',
          priority,
          items: { tags: [`category:c${Math.floor(random() * CATEGORIES)}`] },
          multiplier: 0.5,
        });
        break;
      case 4:
      case 5:
        out.push({ id, kind: 'block', priority, items: { itemIds: [sku(), sku(), sku()] } });
        break;
      case 6:
        out.push({
          id,
          kind: 'pin',
          priority,
          items: { itemIds: [sku()] },
          slot: Math.floor(random() * 4),
          when: { segments: [pick(SEGMENTS)] },
        });
        break;
      case 7:
        out.push({
          id,
          kind: 'inject',
          priority,
          items: {
            tags: [`category:c${Math.floor(random() * CATEGORIES)}`],
            createdAfter: new Date(START - 30 * DAY).toISOString(),
          },
          when: { anchorCategories: [`c${Math.floor(random() * CATEGORIES)}`] },
        });
        break;
      case 8:
        out.push({
          id,
          kind: 'filter',
          priority,
          items: { priceMax: 50 + random() * 100 },
          when: { placements: [`placement-${i}`] },
        });
        break;
      default:
        out.push({
          id,
          kind: 'boost',
          priority,
          items: { tags: [`color:k${i % 12}`] },
          add: 0.05,
          // Every day, all day, in some zone: in force, but evaluated through the zone's local time.
          schedule: {
            timeZone: pick(ZONES),
            recurring: [
              { days: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'], from: '00:00', to: '24:00' },
            ],
          },
          when: { countries: [pick(['DE', 'US', 'JP'])] },
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
  engine.setUserTraits('u1', { segment: 'vip', country: 'DE' });
  engine.setUserTraits('u2', { segment: 'new', country: 'US' });
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
  const surfaces = SURFACES.filter((s) => s !== 'buyAgain' && s !== 'recentlyViewed');
  for (let i = 0; i < 500; i++) {
    const surface = surfaces[i % surfaces.length]!;
    const req: RecRequest = { surface, k: 10, userKey: `u${1 + (i % 50)}` };
    if (surface === 'similar') req.itemId = `sku-${Math.floor(random() ** 2 * ITEMS)}`;
    if (surface === 'cart') req.cartItemIds = [`sku-${Math.floor(random() ** 2 * ITEMS)}`];
    if (i % 7 === 0) req.placement = `placement-${8 + 10 * Math.floor(random() * (RULES / 10))}`;
    requests.push(req);
  }
  // Warm-up, both ways, so both run optimised code.
  for (let i = 0; i < 1_000; i++) {
    engine.recommend(requests[i % requests.length]!, { rules: none });
    engine.recommend(requests[i % requests.length]!, { rules: all });
  }
  const without: number[] = [];
  const withRules: number[] = [];
  let effects = 0;
  for (let i = 0; i < CALLS; i++) {
    const req = requests[i % requests.length]!;
    // Alternate which goes first so neither gets the warmer caches.
    const order = i % 2 === 0 ? [none, all] : [all, none];
    for (const rules of order) {
      const s = performance.now();
      engine.recommend(req, { rules });
      const ms = performance.now() - s;
      if (rules === all) withRules.push(ms);
      else without.push(ms);
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
  const p50 = percentile(withRules, 50) - percentile(without, 50);
  const p99 = percentile(withRules, 99) - percentile(without, 99);
  console.log(
    `requests: ${CALLS} × 2 (${effects} of ${requests.length} distinct requests changed by a rule)`,
  );
  console.log(
    `no rules:        p50 ${percentile(without, 50).toFixed(3)} ms  p99 ${percentile(without, 99).toFixed(3)} ms`,
  );
  console.log(
    `${RULES} rules:     p50 ${percentile(withRules, 50).toFixed(3)} ms  p99 ${percentile(withRules, 99).toFixed(3)} ms`,
  );
  console.log(
    `added by rules:  p50 ${p50.toFixed(3)} ms  p99 ${p99.toFixed(3)} ms (budget 0.050 ms at p99: ${p99 <= 0.05 ? 'met' : 'NOT met'})`,
  );
}

main();
