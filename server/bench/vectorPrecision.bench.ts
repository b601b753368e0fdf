/**
 * What int8 vectors (`IvfIndexOptions.precision`, as the server keeps them) cost in neighbour
 * quality on the benchmark catalog's real embeddings: the generated retail catalog (seed 7, as
 * `recs.bench.ts`), embedded by the built-in encoder, in a float32 and an int8 index, each trained
 * and with a neighbour table as the server builds them. Prints recall@10 of each against the exact
 * float32 neighbours, and the memory of the vectors and of the table.
 *
 *   BENCH_ITEMS=20000 pnpm --filter @recsys/server exec tsx bench/vectorPrecision.bench.ts
 */
import { createEngine, createTextEncoder, IvfIndex, itemText } from '@recsys/engine';
import { createGenerator } from '@recsys/fixtures';
import { fixtureItemToEngine } from '../src/lab/eval/fixtureEvents';
import { neighborTableLength } from '../src/replicate/namespaceRuntime';

const ITEMS = Number(process.env.BENCH_ITEMS ?? 20_000);
const PROBES = Number(process.env.BENCH_PROBES ?? 1_000);
const K = 10;

const gen = createGenerator({ template: 'retail', seed: 7, items: ITEMS, events: 0, days: 90 });
const items = gen.items.map((i) => fixtureItemToEngine(i));
const encoder = await createTextEncoder({ kind: 'builtin' });
const vectors: Float32Array[] = [];
for (let i = 0; i < items.length; i += 512) {
  vectors.push(...(await encoder.encode(items.slice(i, i + 512).map((item) => itemText(item)))));
}
await encoder.dispose();

const tableLength = neighborTableLength(createEngine());
async function build(precision: 'float32' | 'int8', trained: boolean): Promise<IvfIndex> {
  const index = new IvfIndex({
    dim: vectors[0]!.length,
    precision,
    autoTrain: false,
    neighborTable: trained ? tableLength : false,
  });
  items.forEach((item, i) => {
    index.add(item.itemId, vectors[i]!);
  });
  if (trained) {
    await index.train();
    await index.buildNeighborTable();
  }
  return index;
}

// Untrained indexes scan everything: their neighbours are exact at their precision.
const exact32 = await build('float32', false);
const exact8 = await build('int8', false);
const served32 = await build('float32', true);
const served8 = await build('int8', true);
const probes = Array.from({ length: Math.min(PROBES, items.length) }, (_, i) => {
  return items[Math.floor((i * items.length) / Math.min(PROBES, items.length))]!.itemId;
});
const truth = probes.map((id) => new Set(exact32.neighborsOf(id, K).map((n) => n.itemId)));
const recall = (index: IvfIndex) => {
  let found = 0;
  probes.forEach((id, i) => {
    for (const n of index.neighborsOf(id, K)) if (truth[i]!.has(n.itemId)) found++;
  });
  return found / (probes.length * K);
};
const mb = (bytes: number) => (bytes / 1_048_576).toFixed(1);
console.log(
  `${items.length.toLocaleString()} items, built-in encoder (${vectors[0]!.length} dims), ${probes.length} items probed, recall@${K} against exact float32 neighbours:`,
);
console.log(`  int8, exact scan:                         ${recall(exact8).toFixed(4)}`);
console.log(`  float32, trained + neighbour table (${tableLength}):  ${recall(served32).toFixed(4)}`);
console.log(`  int8, trained + neighbour table (${tableLength}):     ${recall(served8).toFixed(4)}`);
console.log(
  `vectors: float32 ${mb(served32.vectorBytes)} MB, int8 ${mb(served8.vectorBytes)} MB; neighbour table ${mb(served8.neighborTableBytes)} MB`,
);
for (const index of [served32, served8]) index.dispose();
