/**
 * Engine benchmark: builds the indexes from a deterministic synthetic shop (100k items, 2M events,
 * Zipf popularity, category-focused sessions, orders) and measures recommend() latency per surface,
 * first without a vector source, then with an IVF index of SYNTHETIC clustered unit vectors (one
 * cluster per category plus noise, 256 dims — not text embeddings: encoding 100k texts with the
 * built-in encoder would dominate the run; see embeddings.bench.ts for encoder throughput).
 *
 * Run: pnpm --filter @recsys/engine bench
 * (env BENCH_ITEMS / BENCH_EVENTS / BENCH_CALLS to resize, BENCH_DIM for the vector length)
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import vm from 'node:vm';
import {
  createEngine,
  defaultEngineConfig,
  type EngineEvent,
  type EngineItem,
  embeddingListLength,
  IvfIndex,
  type RecRequest,
  type Surface,
} from '../src/index';
import { mulberry32 as rng } from '../src/util/random';

const ITEMS = Number(process.env.BENCH_ITEMS ?? 100_000);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 2_000_000);
const CALLS = Number(process.env.BENCH_CALLS ?? 2_000);
const DIM = Number(process.env.BENCH_DIM ?? 256);
const USERS = Math.round(EVENTS / 12);
const CATEGORIES = 300;
const BRANDS = 2_000;
const DAY = 86_400_000;
const START = Date.UTC(2024, 0, 1);
const SPAN = 60 * DAY;

/** Samples index 0…n−1 with P(i) ∝ 1/(i+1)^s via a precomputed CDF. */
function zipf(n: number, s: number, random: () => number): () => number {
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

function generateCatalog(random: () => number): { items: EngineItem[]; byCategory: number[][] } {
  const items: EngineItem[] = [];
  const byCategory: number[][] = Array.from({ length: CATEGORIES }, () => []);
  const pickCategory = zipf(CATEGORIES, 0.8, random);
  for (let i = 0; i < ITEMS; i++) {
    const category = pickCategory();
    byCategory[category]!.push(i); // ascending i = descending global popularity
    items.push({
      itemId: `sku-${i}`,
      title: `Item ${i}`,
      price: Math.round(random() * 20_000) / 100,
      available: random() > 0.03,
      archived: random() < 0.01,
      tags: [`category:c${category}`, `brand:b${Math.floor(random() * BRANDS)}`, `color:k${i % 12}`],
      parentId: i % 10 === 1 ? `sku-${i - 1}` : undefined,
      createdAt: START - Math.floor(random() * 365) * DAY,
    });
  }
  return { items, byCategory };
}

/**
 * Yields the event stream in batches so the harness never holds all 2M event objects at once
 * (which would inflate RSS and GC time that are not the engine's).
 */
function* generateEvents(
  random: () => number,
  byCategory: number[][],
  batchSize: number,
  stream = { start: START, span: SPAN, events: EVENTS, prefix: '' },
): Generator<EngineEvent[]> {
  let events: EngineEvent[] = [];
  let total = 0;
  const pickCategory = zipf(CATEGORIES, 0.8, random);
  const pickUser = zipf(USERS, 0.6, random);
  const pickers = byCategory.map((members) => zipf(Math.max(1, members.length), 1.05, random));
  let session = 0;
  let order = 0;
  const sessions = Math.ceil(stream.events / 8);
  while (total < stream.events) {
    if (events.length >= batchSize) {
      yield events;
      events = [];
    }
    const user = `u${pickUser()}`;
    const sessionId = `${stream.prefix}s${session}`;
    let ts = stream.start + (session / sessions) * stream.span + random() * 60_000;
    session++;
    const category = pickCategory();
    const members = byCategory[category]!;
    if (members.length === 0) continue;
    const length = 2 + Math.floor(random() * 13);
    const cart: number[] = [];
    for (let e = 0; e < length && total < stream.events; e++) {
      // Mostly within the session's category, sometimes anywhere.
      const item =
        random() < 0.85 ? members[pickers[category]!()]! : Math.floor(random() ** 3 * ITEMS) % ITEMS;
      ts += 5_000 + random() * 120_000;
      const r = random();
      const type = r < 0.75 ? 'view' : r < 0.88 ? 'click' : 'add';
      events.push({ type, itemId: `sku-${item}`, userKey: user, sessionId, ts });
      total++;
      if (type === 'add') cart.push(item);
    }
    if (cart.length > 0 && random() < 0.45) {
      const orderId = `${stream.prefix}o${order++}`;
      ts += 60_000;
      for (const item of cart) {
        if (total >= stream.events) break;
        events.push({
          type: 'purchase',
          itemId: `sku-${item}`,
          userKey: user,
          sessionId,
          ts,
          orderId,
          value: 1,
        });
        total++;
      }
    }
  }
  if (events.length > 0) yield events;
}

/**
 * Synthetic unit vectors, clearly not embeddings of text: each category gets a random centre and
 * its items scatter around it (noise comparable to the centre), so nearest neighbours are mostly,
 * not only, items of the same category — the structure text embeddings of a catalog have.
 */
function syntheticVectors(items: EngineItem[], random: () => number): Float32Array[] {
  const gaussian = () => Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(2 * Math.PI * random());
  const centres = new Map<string, Float32Array>();
  const out: Float32Array[] = [];
  for (const it of items) {
    const category = it.tags[0]!;
    let c = centres.get(category);
    if (c === undefined) {
      c = new Float32Array(DIM);
      for (let d = 0; d < DIM; d++) c[d] = gaussian() / Math.sqrt(DIM);
      centres.set(category, c);
    }
    const v = new Float32Array(DIM);
    let norm = 0;
    for (let d = 0; d < DIM; d++) {
      const x = c[d]! + (0.8 * gaussian()) / Math.sqrt(DIM);
      v[d] = x;
      norm += x * x;
    }
    const inv = 1 / Math.sqrt(norm);
    for (let d = 0; d < DIM; d++) v[d] = v[d]! * inv;
    out.push(v);
  }
  return out;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function mb(bytes: number): string {
  return `${(bytes / 1_048_576).toFixed(0)} MB`;
}

async function main(): Promise<void> {
  const random = rng(42);
  let t = performance.now();
  const { items, byCategory } = generateCatalog(random);
  console.log(
    `generated ${items.length.toLocaleString()} items in ${((performance.now() - t) / 1000).toFixed(1)} s`,
  );
  const batch = 10_000;
  let lastTs = START;
  const sampledUsers = new Set<string>();
  let engineMs = 0;
  let engineCpuUs = 0;
  let generatorMs = 0;
  let count = 0;
  const engine = createEngine({ now: () => lastTs + 60_000 });
  t = performance.now();
  engine.upsertItems(items);
  engineMs += performance.now() - t;
  const stream = generateEvents(random, byCategory, batch);
  for (;;) {
    t = performance.now();
    const next = stream.next();
    generatorMs += performance.now() - t;
    if (next.done) break;
    const events = next.value;
    t = performance.now();
    const cpu = process.cpuUsage();
    engine.addEvents(events);
    engineMs += performance.now() - t;
    const used = process.cpuUsage(cpu);
    engineCpuUs += used.user + used.system;
    count += events.length;
    lastTs = events[events.length - 1]!.ts;
    for (let i = 0; i < events.length; i += 97) sampledUsers.add(events[i]!.userKey);
  }
  const stats = engine.stats();
  const mem = process.memoryUsage();
  // A full GC separates live memory from garbage not yet collected.
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
  const live = process.memoryUsage();
  console.log(
    `build: ${(engineMs / 1000).toFixed(1)} s in the engine (${Math.round(count / (engineMs / 1000)).toLocaleString()} events/s; ` +
      `upsertItems + addEvents in batches of ${batch.toLocaleString()}; event generation, ${(generatorMs / 1000).toFixed(1)} s, not counted)`,
  );
  // CPU time includes GC helper threads; wall time includes waiting for a busy machine.
  console.log(
    `addEvents CPU time (user+sys, all threads): ${(engineCpuUs / 1e6).toFixed(1)} s; load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} CPUs`,
  );
  console.log(
    `memory after build: rss ${mb(mem.rss)}, heapUsed ${mb(mem.heapUsed)}, external (incl. ArrayBuffers) ${mb(mem.external)}; ` +
      `after a full GC: rss ${mb(live.rss)}, heapUsed ${mb(live.heapUsed)}, external ${mb(live.external)} (includes the harness's 100k catalog objects)`,
  );
  console.log(`stats: ${JSON.stringify(stats)}`);
  console.log('vectors: none set (embedding signals off; MMR uses tag overlap)');

  const users = [...sampledUsers];
  const requestStream = (surface: Surface, seed: number): RecRequest[] => {
    const q = rng(seed);
    const pickItem = zipf(ITEMS, 0.9, q);
    return Array.from({ length: CALLS + 50 }, (_, i): RecRequest => {
      const user = i % 10 === 0 ? `new-user-${i}` : users[Math.floor(q() * users.length)]!;
      switch (surface) {
        case 'similar':
          return { surface, k: 10, itemId: `sku-${pickItem()}` };
        case 'cart':
          return { surface, k: 10, userKey: user, cartItemIds: [0, 1, 2].map(() => `sku-${pickItem()}`) };
        case 'trending':
          return i % 2 === 0 ? { surface, k: 10 } : { surface, k: 10, category: `c${Math.floor(q() * 50)}` };
        default:
          return { surface, k: 10, userKey: user };
      }
    });
  };
  const surfaces: Surface[] = ['forUser', 'similar', 'cart', 'buyAgain', 'trending', 'recentlyViewed'];
  const streams = new Map(surfaces.map((s, i) => [s, requestStream(s, 7 + i)]));
  const rows: string[] = [];
  function measureWith(label: string, make: (i: number) => RecRequest): void {
    for (let i = 0; i < 50; i++) engine.recommend(make(i));
    const times: number[] = [];
    const cpuTimes: number[] = [];
    let returned = 0;
    let fallbacks = 0;
    for (let i = 50; i < CALLS + 50; i++) {
      const req = make(i);
      const cpu = process.cpuUsage();
      const start = performance.now();
      const res = engine.recommend(req);
      times.push(performance.now() - start);
      const used = process.cpuUsage(cpu);
      cpuTimes.push((used.user + used.system) / 1000);
      returned += res.items.length;
      if (res.fallback.used) fallbacks++;
    }
    times.sort((a, b) => a - b);
    cpuTimes.sort((a, b) => a - b);
    rows.push(
      `${label.padEnd(40)} p50 ${percentile(times, 50).toFixed(3)} ms  p99 ${percentile(times, 99).toFixed(3)} ms  ` +
        `max ${times[times.length - 1]!.toFixed(2)} ms | cpu p50 ${percentile(cpuTimes, 50).toFixed(3)} p99 ${percentile(cpuTimes, 99).toFixed(3)} ms | avg items ${(returned / CALLS).toFixed(1)}  fallback ${((100 * fallbacks) / CALLS).toFixed(0)}%`,
    );
  }
  const measure = (label: string, surface: Surface, extra: Partial<RecRequest> = {}) => {
    const stream = streams.get(surface)!;
    measureWith(label, (i) => ({ ...stream[i]!, ...extra }));
  };
  // Feeds 100 new events before every call (one second of shop time per call), as a live shop
  // would, so cached popularity lists keep being invalidated; only recommend() is timed.
  let liveSeed = 99;
  const measureLive = (label: string) => {
    const liveStream = generateEvents(rng(liveSeed++), byCategory, 100, {
      start: lastTs,
      span: (CALLS + 50) * 1000,
      events: 100 * (CALLS + 50),
      prefix: `live${liveSeed}-`,
    });
    const forUser = streams.get('forUser')!;
    measureWith(label, (i) => {
      const next = liveStream.next();
      if (!next.done) {
        engine.addEvents(next.value);
        lastTs = next.value[next.value.length - 1]!.ts;
      }
      return forUser[i]!;
    });
  };

  for (const s of surfaces) measure(s, s);
  measureLive('forUser (live ingest)');
  measure('similar (explain)', 'similar', { explain: true });
  measure('forUser (explain, λ=.5)', 'forUser', { explain: true, overrides: { diversity: { lambda: 0.5 } } });
  // What a decision trace costs the engine (the server traces 100% of lists unless sampled down).
  measure('forUser (traced)', 'forUser', { trace: true });
  measure('similar (traced)', 'similar', { trace: true });
  const header = (what: string) =>
    `recommend() latency ${what}, ${CALLS.toLocaleString()} calls per row after 50 warm-up calls, k=10; wall time, then ` +
    `process CPU time per call (all threads, ~1 µs resolution; less sensitive to a busy machine). load average ${os.loadavg()[0]!.toFixed(1)}:`;
  console.log(header('WITHOUT vectors'));
  for (const r of rows) console.log(`  ${r}`);
  rows.length = 0;

  // --- With a vector source -------------------------------------------------------------------
  t = performance.now();
  const vectors = syntheticVectors(items, rng(5));
  const generatedMs = performance.now() - t;
  const index = new IvfIndex({ dim: DIM, autoTrain: false });
  t = performance.now();
  for (let i = 0; i < items.length; i++) index.add(items[i]!.itemId, vectors[i]!);
  const insertMs = performance.now() - t;
  t = performance.now();
  await index.train();
  const trainMs = performance.now() - t;
  vectors.length = 0;
  engine.setVectors(index);
  (vm.runInNewContext('gc') as () => void)();
  const withVectors = process.memoryUsage();
  console.log(
    `vectors: SYNTHETIC clustered unit vectors (one cluster per category + noise; not text embeddings), ` +
      `${items.length.toLocaleString()} × ${DIM} float32, generated in ${(generatedMs / 1000).toFixed(1)} s (not counted); ` +
      `IvfIndex build ${((insertMs + trainMs) / 1000).toFixed(1)} s (insert ${(insertMs / 1000).toFixed(1)} s + k-means ${(trainMs / 1000).toFixed(1)} s), nlist ${index.nlist}; ` +
      `after a full GC: rss ${mb(withVectors.rss)}, heapUsed ${mb(withVectors.heapUsed)}, external ${mb(withVectors.external)}`,
  );
  // Raw index cost, for reference: nearest() per request was the old request path; neighborsOf()
  // is what a cache miss costs now.
  const probe = streams.get('similar')!;
  const time = (run: (itemId: string) => void) => {
    const out: number[] = [];
    for (let i = 0; i < 300; i++) {
      const itemId = (probe[i] as { itemId: string }).itemId;
      const start = performance.now();
      run(itemId);
      out.push(performance.now() - start);
    }
    out.sort((a, b) => a - b);
    return `p50 ${percentile(out, 50).toFixed(2)} ms, p99 ${percentile(out, 99).toFixed(2)} ms`;
  };
  const nearestFigures = time((id) => index.nearest(index.get(id)!, 120));
  const neighborsFigures = time((id) => index.neighborsOf(id, 120));
  console.log(
    `index alone at this size (300 queries, k=120): nearest() ${nearestFigures}; neighborsOf() (a cache miss) ${neighborsFigures}`,
  );

  const cacheLine = (before: { hits: number; misses: number }) => {
    const now = engine.stats().embeddingCache;
    const hits = now.hits - before.hits;
    const misses = now.misses - before.misses;
    rows[rows.length - 1] +=
      `  | cache: ${hits + misses > 0 ? ((100 * hits) / (hits + misses)).toFixed(0) : '–'}% hits`;
  };
  for (const pass of ['1st pass, cold cache', '2nd pass, same requests'] as const) {
    for (const s of ['forUser', 'similar', 'cart'] as const) {
      const before = engine.stats().embeddingCache;
      measure(`${s} +vectors (${pass})`, s);
      cacheLine(before);
    }
  }
  // Steady state: requests not seen before, on a cache the two passes above warmed (a live shop's
  // cache holds its recent traffic; the first pass is the worst case right after setVectors).
  for (const [i, s] of (['forUser', 'similar', 'cart'] as const).entries()) {
    const fresh = requestStream(s, 1_000 + i);
    const before = engine.stats().embeddingCache;
    measureWith(`${s} +vectors (new requests, warm)`, (j) => fresh[j]!);
    cacheLine(before);
  }
  for (const s of ['buyAgain', 'trending', 'recentlyViewed'] as const)
    measure(`${s} +vectors (MMR on cosine)`, s);
  {
    const before = engine.stats().embeddingCache;
    measureLive('forUser +vectors (live ingest)');
    cacheLine(before);
  }
  measure('similar +vectors (explain)', 'similar', { explain: true });
  console.log(header('WITH vectors'));
  for (const r of rows) console.log(`  ${r}`);
  rows.length = 0;

  // --- With the neighbour table the server keeps: rows 1.25 × the list length the config asks for.
  const rowLength = Math.ceil(embeddingListLength(defaultEngineConfig.ranking.candidatesPerSignal) * 1.25);
  t = performance.now();
  await index.buildNeighborTable(rowLength);
  const tableMs = performance.now() - t;
  console.log(
    `neighbour table: ${items.length.toLocaleString()} rows × ${rowLength} built in ${(tableMs / 1000).toFixed(1)} s (onnxruntime); ` +
      `neighborsOf() from the table (300 queries, k=120): ${time((id) => index.neighborsOf(id, 120))}`,
  );
  // Requests not seen before: every cache miss is now a table read instead of a list scan.
  for (const [i, s] of (['forUser', 'similar', 'cart'] as const).entries()) {
    const fresh = requestStream(s, 2_000 + i);
    const before = engine.stats().embeddingCache;
    measureWith(`${s} +table (new requests)`, (j) => fresh[j]!);
    cacheLine(before);
  }
  console.log(header('WITH vectors and the neighbour table'));
  for (const r of rows) console.log(`  ${r}`);
  console.log(`embedding neighbour cache at end: ${JSON.stringify(engine.stats().embeddingCache)}`);
  const after = process.memoryUsage();
  console.log(`memory at end: rss ${mb(after.rss)}, heapUsed ${mb(after.heapUsed)}`);
}

await main();
