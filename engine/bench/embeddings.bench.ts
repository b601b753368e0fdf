/**
 * Embeddings benchmark: built-in encoder throughput, IVF index build time at
 * 100k vectors, nearest() latency percentiles and recall@10 against an exact
 * scan. Run: `npx tsx engine/bench/embeddings.bench.ts` (add `--quick` for a
 * smaller run). Every figure printed is measured in this run.
 */
import { cpus, loadavg } from 'node:os';
import { createBuiltinEncoder, IvfIndex } from '../src/index';
import { mulberry32 as rng } from '../src/util/random';

const quick = process.argv.includes('--quick');
const N_TEXTS = quick ? 5_000 : 20_000;
const N_VECTORS = quick ? 20_000 : 100_000;
const DIM = 256;
const QUERIES = 200;
const CLUSTERS = Number(process.env['CLUSTERS'] ?? 1000);
const NOISE = Number(process.env['NOISE'] ?? 1.0);

function gaussian(r: () => number): number {
  return Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
}

function normalize(v: Float32Array): Float32Array {
  let s = 0;
  for (const x of v) s += x * x;
  const k = s > 0 ? 1 / Math.sqrt(s) : 0;
  for (let i = 0; i < v.length; i++) v[i]! *= k;
  return v;
}

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

function productTexts(n: number): string[] {
  const r = rng(7);
  const brands = [
    'Acme',
    'Northwind',
    'Contoso',
    'Globex',
    'Initech',
    'Umbrella',
    'Stark',
    'Wayne',
    'Tyrell',
    'Hooli',
  ];
  const cats = [
    'running shoes',
    'hiking boots',
    'rain jacket',
    'espresso machine',
    'chef knife',
    'yoga mat',
    'backpack',
    'desk lamp',
    'wireless headphones',
    'coffee grinder',
    'water bottle',
    'office chair',
  ];
  const adjs = [
    'lightweight',
    'waterproof',
    'ergonomic',
    'compact',
    'premium',
    'durable',
    'breathable',
    'classic',
  ];
  const colors = ['black', 'white', 'navy', 'red', 'olive', 'grey', 'sand'];
  const materials = [
    'leather',
    'mesh',
    'stainless steel',
    'cotton',
    'recycled polyester',
    'aluminium',
    'bamboo',
  ];
  return Array.from({ length: n }, (_, i) => {
    const cat = pick(r, cats);
    return (
      `${pick(r, brands)} ${pick(r, adjs)} ${cat} ${pick(r, colors)} #${i}. ` +
      `A ${pick(r, adjs)} ${cat} made of ${pick(r, materials)} for everyday use, ${pick(r, adjs)} and ${pick(r, adjs)}. ` +
      `${pick(r, brands)}. ${cat}`
    );
  });
}

/** Clustered unit vectors: what real embeddings look like (topics), unlike uniform noise. */
function clusteredVectors(
  n: number,
  dim: number,
  clusters: number,
  noise: number,
  seed: number,
): Float32Array[] {
  const r = rng(seed);
  const centers = Array.from({ length: clusters }, () =>
    normalize(Float32Array.from({ length: dim }, () => gaussian(r))),
  );
  return Array.from({ length: n }, () => {
    const c = pick(r, centers);
    return normalize(Float32Array.from(c, (x) => x + (noise / Math.sqrt(dim)) * gaussian(r)));
  });
}

function exactTopK(vectors: readonly Float32Array[], q: Float32Array, k: number): Set<number> {
  const scores = vectors.map((v, i) => {
    let s = 0;
    for (let d = 0; d < v.length; d++) s += v[d]! * q[d]!;
    return [s, i] as const;
  });
  scores.sort((a, b) => b[0] - a[0]);
  return new Set(scores.slice(0, k).map(([, i]) => i));
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function benchIndex(label: string, vectors: Float32Array[], queries: Float32Array[]): Promise<void> {
  const index = new IvfIndex({ dim: vectors[0]!.length, autoTrain: false });
  const t0 = performance.now();
  for (let i = 0; i < vectors.length; i++) index.add(String(i), vectors[i]!);
  const tAdd = performance.now();
  await index.train();
  const tTrain = performance.now();
  const latencies: number[] = [];
  let hits = 0;
  for (const q of queries) {
    const s = performance.now();
    const res = index.nearest(q, 10);
    latencies.push(performance.now() - s);
    const truth = exactTopK(vectors, q, 10);
    hits += res.filter((x) => truth.has(Number(x.itemId))).length;
  }
  latencies.sort((a, b) => a - b);
  console.log(
    `${label}: n=${vectors.length} dim=${vectors[0]!.length} nlist=${index.nlist} ` +
      `| build ${((tTrain - t0) / 1000).toFixed(2)} s (insert ${((tAdd - t0) / 1000).toFixed(2)} s + k-means ${((tTrain - tAdd) / 1000).toFixed(2)} s) ` +
      `| nearest p50 ${percentile(latencies, 50).toFixed(2)} ms p99 ${percentile(latencies, 99).toFixed(2)} ms ` +
      `| recall@10 ${(hits / (queries.length * 10)).toFixed(3)} (${queries.length} queries vs exact scan)`,
  );
}

async function main(): Promise<void> {
  // Load average is printed because figures on a shared machine depend on it.
  console.log(
    `node ${process.version}, ${cpus().length} cores, load average ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}, ${quick ? 'quick' : 'full'} run`,
  );

  const texts = productTexts(N_TEXTS);
  const tc = performance.now();
  const encoder = await createBuiltinEncoder({ kind: 'builtin' });
  const tCreate = performance.now() - tc;
  await encoder.encode(texts.slice(0, 64)); // warm-up
  // Three timed passes; the median is reported because a shared machine is noisy.
  const rates: number[] = [];
  let encoded: Float32Array[] = [];
  for (let pass = 0; pass < 3; pass++) {
    const te = performance.now();
    encoded = await encoder.encode(texts);
    rates.push(N_TEXTS / ((performance.now() - te) / 1000));
  }
  const sortedRates = [...rates].sort((a, b) => a - b);
  console.log(
    `builtin encoder (${encoder.modelId}): model generation + session ${tCreate.toFixed(0)} ms; ` +
      `${N_TEXTS} product texts: median ${Math.round(sortedRates[1]!)} items/s ` +
      `(passes: ${rates.map((x) => Math.round(x)).join(', ')})`,
  );
  await encoder.dispose();

  const r = rng(99);
  const textQueries = Array.from({ length: QUERIES }, () => encoded[Math.floor(r() * encoded.length)]!);
  await benchIndex('IVF on builtin-encoder product vectors', encoded, textQueries);

  const vectors = clusteredVectors(N_VECTORS, DIM, CLUSTERS, NOISE, 3);
  // Queries: stored points plus fresh noise, i.e. new items near existing ones.
  const qr = rng(11);
  const queries = Array.from({ length: QUERIES }, (_, i) => {
    const base = vectors[(i * 7919) % vectors.length]!;
    return normalize(Float32Array.from(base, (x) => x + (0.5 / Math.sqrt(DIM)) * gaussian(qr)));
  });
  await benchIndex('IVF on clustered synthetic vectors', vectors, queries);

  const uniform = clusteredVectors(quick ? 10_000 : 50_000, DIM, 1, 1e6, 5);
  const uniformQueries = clusteredVectors(QUERIES, DIM, 1, 1e6, 6);
  await benchIndex('IVF on uniform random vectors (worst case, no structure)', uniform, uniformQueries);
}

await main();
