/**
 * Recommendation serving on a generated catalog of 100,000 items and
 * ~2,000,000 events: index build time, embedding throughput, in-process
 * latency of each procedure, and HTTP throughput and latency at a fixed
 * 1,000 requests/s — next to a bare node:http server returning the same
 * response bytes, measured in the same run.
 *
 *   pnpm --filter @recsys/server bench:recs
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const RATE = Number(process.env.BENCH_RATE ?? 1_000);
const DURATION_S = Number(process.env.BENCH_DURATION ?? 15);
const CONNECTIONS = 32;

interface Ready {
  url: string;
  key: string;
  items: number;
  events: number;
  genMs: number;
  buildMs: number;
  embedMs: number;
  embedded: number;
  annMs: number;
  rssMb: number;
  inProcess: Record<string, { p50: number; p99: number }>;
  userIds: string[];
  itemIds: string[];
  categories: string[];
}

console.log(
  `Building the benchmark namespace (generation, engine, embeddings) in a server process on ${process.env.BENCH_DATABASE_URL ? 'PostgreSQL (BENCH_DATABASE_URL)' : 'in-process PGlite'}…`,
);
const child: ChildProcess = spawn(
  process.execPath,
  ['--expose-gc', '--import', 'tsx', fileURLToPath(new URL('./recs-server.ts', import.meta.url))],
  { stdio: ['ignore', 'pipe', 'inherit'], env: process.env },
);
const ready = JSON.parse(
  await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
  }),
) as Ready;

const pick = <T>(xs: T[], n: number) => xs[n % xs.length]!;
const paths: Array<(n: number) => string> = [
  (n) => `recs.forUser?input=${enc({ userId: pick(ready.userIds, n), k: 10 })}`,
  (n) => `recs.similar?input=${enc({ itemId: pick(ready.itemIds, n), k: 10 })}`,
  (n) => `recs.cart?input=${enc({ itemIds: [pick(ready.itemIds, n), pick(ready.itemIds, n + 7)], k: 10 })}`,
  (n) => `recs.buyAgain?input=${enc({ userId: pick(ready.userIds, n), k: 10 })}`,
  (n) => `recs.trending?input=${enc({ k: 10, category: pick(ready.categories, n) })}`,
  (n) => `recs.recentlyViewed?input=${enc({ userId: pick(ready.userIds, n), k: 10 })}`,
];
function enc(input: unknown) {
  return encodeURIComponent(JSON.stringify(input));
}

async function load(base: string, label: string) {
  let n = 0;
  const result = await autocannon({
    url: base,
    connections: CONNECTIONS,
    overallRate: RATE,
    duration: DURATION_S,
    headers: { authorization: `Bearer ${ready.key}` },
    requests: [{ setupRequest: (req) => ({ ...req, path: `/trpc/${paths[n % paths.length]!(n++ * 13)}` }) }],
  });
  return {
    label,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
    errors: result.errors + result.non2xx,
  };
}

// The bare server answers with the same bytes the real one sent for each procedure.
const samples = new Map<string, Buffer>();
for (let i = 0; i < paths.length; i++) {
  const path = paths[i]!(i);
  const res = await fetch(`${ready.url}/trpc/${path}`, { headers: { authorization: `Bearer ${ready.key}` } });
  samples.set(path.slice(0, path.indexOf('?')), Buffer.from(await res.arrayBuffer()));
}
const bare = createServer((req, res) => {
  const procedure = (req.url ?? '').slice('/trpc/'.length).split('?')[0] ?? '';
  const body = samples.get(procedure) ?? Buffer.from('{}');
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
  res.end(body);
});
await new Promise<void>((r) => bare.listen(0, '127.0.0.1', r));
const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}`;

// Warm-up at the target rate, then measure both servers back to back.
await load(ready.url, 'warm-up');
const real = await load(ready.url, 'recsys (tRPC + engine)');
const baseline = await load(bareUrl, 'bare node:http, same bytes');
bare.close();
const exited = new Promise((r) => child.once('exit', r));
child.kill('SIGTERM');
await exited;

const f = (n: number, d = 1) => n.toFixed(d);
console.log(
  `\ncatalog ${ready.items.toLocaleString()} items, ${ready.events.toLocaleString()} events requested (generated in ${f(ready.genMs / 1000)} s)`,
);
console.log(`index build from scratch (items + all events):  ${f(ready.buildMs / 1000)} s   (target < 60 s)`);
console.log(
  ready.embedded
    ? `embedding throughput (built-in ONNX encoder):   ${Math.round(ready.embedded / (ready.embedMs / 1000)).toLocaleString()} items/s; ANN training ${f(ready.annMs / 1000)} s`
    : 'text embeddings:                                off (BENCH_EMBEDDINGS=off)',
);
console.log(`resident memory after build:                    ${ready.rssMb} MB   (target < 1,536 MB)`);
console.log('\nin-process latency per procedure (tRPC caller, 2,000 calls each):');
console.log('procedure         p50 ms   p99 ms');
for (const [name, t] of Object.entries(ready.inProcess)) {
  console.log(`${name.padEnd(16)} ${f(t.p50, 3).padStart(7)} ${f(t.p99, 3).padStart(8)}`);
}
console.log(
  `\nHTTP at a fixed ${RATE} requests/s, ${CONNECTIONS} connections, ${DURATION_S} s, procedures mixed:`,
);
console.log('server                          req/s    p50 ms   p99 ms   max ms   errors');
for (const r of [real, baseline]) {
  console.log(
    `${r.label.padEnd(30)} ${f(r.rps, 0).padStart(6)} ${f(r.p50).padStart(8)} ${f(r.p99).padStart(8)} ${f(r.max).padStart(8)} ${String(r.errors).padStart(8)}`,
  );
}
console.log(
  `target p99 < 10 ms over HTTP at ${RATE} req/s: ${real.p99 < 10 && real.errors === 0 ? 'met' : 'NOT met'}`,
);
