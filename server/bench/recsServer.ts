/**
 * The server side of the recommendation benchmark: builds a namespace of
 * 100,000 generated items and ~2,000,000 events in an engine host, measures
 * build, embedding and in-process procedure latency, then serves HTTP.
 * Prints progress on stderr and one JSON line on stdout when listening.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTextEncoder, type EngineEvent } from '@recsys/engine';
import { createGenerator } from '@recsys/fixtures';
import postgres from 'postgres';
import type { Context } from '../src/api/init';
import { appRouter } from '../src/api/router';
import { createApiKey, createNamespace } from '../src/auth/namespaces';
import { parseCacheTtl } from '../src/config/settings';
import { openDatabase } from '../src/db/client';
import { createRecsysServer } from '../src/http/server';
import { startHttpThread } from '../src/http/thread/startHttpThread';
import { fixtureEventToEngine, fixtureItemToEngine } from '../src/lab/eval/fixtureEvents';
import { compactHeap } from '../src/obs/compactHeap';
import { createLogger } from '../src/obs/logger';
import { EngineHost } from '../src/replicate/EngineHost';
import { snapshotPath } from '../src/replicate/snapshotFiles';
import { RecLogWriter } from '../src/serve/RecLogWriter';
import { createResponseCache, DEFAULT_CACHE_TTL_MS } from '../src/serve/ResponseCache';

const ITEMS = Number(process.env.BENCH_ITEMS ?? 100_000);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 2_000_000);
const CALLS = 2_000;
const say = (msg: string) => process.stderr.write(`  ${msg}\n`);
const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);

// BENCH_DATABASE_URL: serve from a scratch database on that PostgreSQL server
// (the production shape: the database work, served-list logging included,
// runs outside this process). Default: in-memory PGlite inside this process.
const pgUrl = process.env.BENCH_DATABASE_URL;
const scratchName = `recsys_bench_recs_${process.pid}`;
const admin = pgUrl ? postgres(pgUrl, { max: 1, onnotice: () => {} }) : undefined;
if (admin) await admin.unsafe(`CREATE DATABASE ${scratchName}`);
const scratchUrl = pgUrl
  ? Object.assign(new URL(pgUrl), { pathname: `/${scratchName}` }).toString()
  : undefined;
const database = await openDatabase(scratchUrl ? { url: scratchUrl } : { dataDir: 'memory://' });
await database.migrate();
await createNamespace(database, 'bench');
const { key } = await createApiKey(database, 'bench', { kind: 'secret' });
const log = createLogger({ level: 'warn' });
const withEmbeddings = process.env.BENCH_EMBEDDINGS !== 'off';
const encoder = withEmbeddings ? await createTextEncoder({ kind: 'builtin' }) : null;
// The response cache as `recsys serve` has it by default (in memory); BENCH_RECS_CACHE=off for none,
// or a TTL in seconds.
const cacheTtlMs = parseCacheTtl(process.env.BENCH_RECS_CACHE);
const cache =
  cacheTtlMs === 0 ? undefined : createResponseCache({ ttlMs: cacheTtlMs ?? DEFAULT_CACHE_TTL_MS }, log);
// Snapshots (BENCH_SNAPSHOT=off: none): written when the benchmark stops this process, for the
// restart measurement; never on a timer, so none is taken during the HTTP runs.
const snapshotDir =
  process.env.BENCH_SNAPSHOT === 'off' ? undefined : mkdtempSync(join(tmpdir(), 'recsys-bench-snapshots-'));
// HTTP from a thread of its own on PostgreSQL (see below); BENCH_HTTP_THREAD=off serves from one.
const threaded = scratchUrl !== undefined && process.env.BENCH_HTTP_THREAD !== 'off';
const engines = new EngineHost({
  database,
  log,
  encoder,
  cache,
  // Its HTTP thread (below) keeps the cache's lists near it, as `recsys serve` does.
  keepListsNear: threaded,
  snapshotDir,
  snapshotIntervalMs: 86_400_000,
});
await engines.start();
const rt = engines.get('bench');

const days = 90;
const t0 = performance.now();
let gen = createGenerator({
  template: 'retail',
  seed: 7,
  items: ITEMS,
  events: EVENTS,
  days,
  start: new Date(Date.now() - days * 86_400_000).toISOString(),
});
const events: EngineEvent[] = [];
for (const e of gen.generateEvents()) {
  const mapped = fixtureEventToEngine(e);
  if (mapped) events.push(mapped);
}
const genMs = performance.now() - t0;
say(
  `generated ${gen.items.length.toLocaleString()} items, ${events.length.toLocaleString()} events in ${(genMs / 1000).toFixed(1)} s`,
);

// Index build from scratch: catalog + every event through the incremental path.
const b0 = performance.now();
rt.engine.upsertItems(gen.items.map((i) => fixtureItemToEngine(i)));
for (let i = 0; i < events.length; i += 10_000) rt.engine.addEvents(events.slice(i, i + 10_000));
const buildMs = performance.now() - b0;
for (const item of gen.items) {
  rt.display.set(item.itemId, {
    title: item.title,
    price: item.price ?? null,
    currency: item.currency ?? null,
    url: item.props?.url ?? null,
    imageUrl: item.props?.imageUrl ?? null,
  });
}
say(`engine build ${(buildMs / 1000).toFixed(1)} s`);

// Embeddings: item text → built-in ONNX encoder → IVF index.
const { itemText } = await import('@recsys/engine');
const e0 = performance.now();
const texts = encoder ? gen.items.map((i) => itemText(fixtureItemToEngine(i))) : [];
for (let i = 0; encoder && i < texts.length; i += 512) {
  const vectors = await encoder.encode(texts.slice(i, i + 512));
  vectors.forEach((v, j) => {
    rt.vectors?.add(gen.items[i + j]!.itemId, v);
  });
}
const embedMs = performance.now() - e0;
const i0 = performance.now();
await rt.vectors?.train();
const annMs = performance.now() - i0;
// Every item's neighbour list, precomputed as the engine host does in the background after training.
// A build can resolve without installing a table (a training the bulk load chained started
// meanwhile, whose lists make it moot): measure until a table is in use, as serving needs.
const n0 = performance.now();
while (rt.vectors && !rt.vectors.hasNeighborTable) {
  if (performance.now() - n0 > 300_000) throw new Error('no neighbour table after 5 minutes');
  if (!(await rt.vectors.buildNeighborTable())) await new Promise((r) => setTimeout(r, 100));
}
const tableMs = performance.now() - n0;
events.length = 0; // the engine keeps its own log; drop the generator's copy
const userIds = gen.users.slice(0, 1_000).map((u) => u.userId);
const itemIds = gen.items
  .filter((_, i) => i % 97 === 0)
  .slice(0, 1_000)
  .map((i) => i.itemId);
const categories = [
  ...new Set(gen.items.flatMap((i) => i.tags.filter((t) => t.startsWith('category:')))),
].map((t) => t.slice('category:'.length));
const itemCount = gen.items.length;
const embedded = texts.length;
texts.length = 0;
// A serving process holds what the engine host holds, not the generator's
// objects: drop them before measuring.
gen = undefined as unknown as typeof gen;
// As EngineHost.start does after loading a large namespace.
rt.engine.trimMemory();
compactHeap();
// V8 hands the pages a compaction emptied back to the system from a background task: read the
// resident size once that is done (a second or two), as a server is seen from then on.
await new Promise((r) => setTimeout(r, 3_000));
const memory = process.memoryUsage();
const { rss } = memory;
// Where the resident memory goes: the V8 heap (JS objects), ArrayBuffers (typed-array indexes,
// vectors, the neighbour table), and the rest (code, the ONNX runtime, allocator, thread stacks).
const memoryParts = {
  heapUsedMb: mb(memory.heapUsed),
  heapTotalMb: mb(memory.heapTotal),
  arrayBuffersMb: mb(memory.arrayBuffers),
  vectorsMb: mb(rt.vectors?.vectorBytes ?? 0),
  neighborTableMb: mb(rt.vectors?.neighborTableBytes ?? 0),
  precision: rt.vectors?.precision ?? null,
};
say(
  `embedded ${embedded.toLocaleString()} items in ${(embedMs / 1000).toFixed(1)} s; ANN trained in ${(annMs / 1000).toFixed(1)} s; neighbour table in ${(tableMs / 1000).toFixed(1)} s; RSS ${mb(rss)} MB`,
);

// In-process latency of each procedure through the tRPC caller (validation,
// engine, display mapping, served-list logging).
const server = createRecsysServer({ database, log, engines, recLog: new RecLogWriter(database, log) });
const ctx: Context = {
  services: server.services,
  requestId: 'bench',
  log,
  origin: undefined,
  metrics: server.services.metrics,
  // BENCH_TRACE_RATE: the namespace's traceSampleRate (default: every list traced, as a new namespace).
  auth: {
    namespaceId: 'bench',
    kind: 'secret',
    keyId: 'bench',
    settings: process.env.BENCH_TRACE_RATE ? { traceSampleRate: Number(process.env.BENCH_TRACE_RATE) } : {},
  },
  userToken: undefined,
};
const caller = appRouter.createCaller(ctx);
const pick = <T>(xs: T[], n: number) => xs[n % xs.length]!;
const procedures: Record<string, (n: number) => Promise<unknown>> = {
  forUser: (n) => caller.recs.forUser({ userId: pick(userIds, n), k: 10 }),
  similar: (n) => caller.recs.similar({ itemId: pick(itemIds, n), k: 10 }),
  cart: (n) => caller.recs.cart({ itemIds: [pick(itemIds, n), pick(itemIds, n + 7)], k: 10 }),
  buyAgain: (n) => caller.recs.buyAgain({ userId: pick(userIds, n), k: 10 }),
  trending: (n) => caller.recs.trending({ k: 10, ...(n % 2 ? { category: pick(categories, n) } : {}) }),
  recentlyViewed: (n) => caller.recs.recentlyViewed({ userId: pick(userIds, n), k: 10 }),
};
const inProcess: Record<string, { p50: number; p99: number }> = {};
for (const [name, call] of Object.entries(procedures)) {
  for (let n = 0; n < 200; n++) await call(n); // warm-up
  const times: number[] = [];
  for (let n = 0; n < CALLS; n++) {
    const s = performance.now();
    await call(n + 200);
    times.push(performance.now() - s);
  }
  times.sort((a, b) => a - b);
  inProcess[name] = { p50: times[Math.floor(CALLS * 0.5)]!, p99: times[Math.floor(CALLS * 0.99)]! };
}
await server.services.recLog?.flush();

// On PostgreSQL, HTTP is served as `recsys serve` serves it: from a second thread, the engines
// ranking on this one (BENCH_HTTP_THREAD=off serves both from this thread). The embedded database
// cannot be shared between threads, so PGlite always serves from one.
const http = threaded
  ? await startHttpThread({ engines, databaseUrl: scratchUrl, port: 0, logLevel: 'warn' })
  : undefined;
const url = http ? http.url : await server.listen(0);
console.log(
  JSON.stringify({
    url,
    key,
    items: itemCount,
    events: EVENTS,
    genMs,
    buildMs,
    embedMs,
    embedded,
    annMs,
    tableMs,
    rssMb: mb(rss),
    memoryParts,
    httpThread: threaded,
    cacheTtlMs: cache?.ttlMs ?? 0,
    inProcess,
    userIds,
    itemIds,
    categories,
    // The restart measurement starts `recsys serve` on this database with these snapshots.
    scratchUrl: scratchUrl ?? null,
    snapshotDir: snapshotDir ?? null,
  }),
);
process.on('SIGTERM', async () => {
  // Where the memory is once serving is over (the benchmark reads the resident size at about this
  // point): this thread's V8 heap and ArrayBuffers; the rest is the HTTP thread's heap, code and the
  // allocator.
  const served = process.memoryUsage();
  console.log(
    JSON.stringify({
      servedMemory: {
        rssMb: mb(served.rss),
        heapUsedMb: mb(served.heapUsed),
        heapTotalMb: mb(served.heapTotal),
        arrayBuffersMb: mb(served.arrayBuffers),
      },
    }),
  );
  await (http ?? server).close();
  if (snapshotDir) {
    // As at a clean shutdown of `recsys serve`; timed here, with the file's size.
    const s0 = performance.now();
    await engines.writeSnapshots({ all: true });
    const writeMs = performance.now() - s0;
    const bytes = statSync(snapshotPath(snapshotDir, 'bench')).size;
    console.log(JSON.stringify({ snapshot: { writeMs, bytes } }));
  }
  await engines.stop();
  await database.close();
  // On PostgreSQL the benchmark restarts a server from the snapshot on this database, and drops
  // both afterwards; the embedded database ends with this process, so nothing can restart on it.
  if (snapshotDir && scratchUrl) {
    await admin?.end();
    process.exit(0);
  }
  if (snapshotDir) rmSync(snapshotDir, { recursive: true, force: true });
  if (admin) {
    await admin.unsafe(`DROP DATABASE IF EXISTS ${scratchName} WITH (FORCE)`);
    await admin.end();
  }
  process.exit(0);
});
