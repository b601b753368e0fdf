/**
 * Times each part of a namespace snapshot's restore, without a database: read the file, decode the
 * engine state, the runtime part, the vector index. For profiling a restore (`node --cpu-prof`).
 *
 *   npx tsx bench/restoreParts.ts <snapshot dir> [namespace]
 */
import { createEngine, IvfIndex } from '@recsys/engine';
import { ChangeVersions } from '../src/replicate/changeVersions';
import { createNamespaceRuntime } from '../src/replicate/namespaceRuntime';
import { readSnapshotFile, restoreRuntimeState } from '../src/replicate/snapshotFiles';

const [dir, namespaceId = 'bench'] = process.argv.slice(2);
if (!dir) throw new Error('usage: restoreParts.ts <snapshot dir> [namespace]');
const mb = (n: number) => Math.round(n / 1_048_576);
// Wall time, and CPU time (every thread of the process: GC helpers included), which a loaded
// machine changes less.
const times: Record<string, number> = {};
const cpu: Record<string, number> = {};
let t = performance.now();
let c = process.cpuUsage();
const lap = (name: string) => {
  const now = performance.now();
  times[name] = Math.round(now - t);
  const used = process.cpuUsage(c);
  cpu[name] = Math.round((used.user + used.system) / 1000);
  t = now;
  c = process.cpuUsage();
};
const file = await readSnapshotFile(dir, namespaceId);
if (!file) throw new Error(`no snapshot of ${namespaceId} in ${dir}`);
lap('read');
const rt = createNamespaceRuntime(namespaceId, null, new ChangeVersions(60_000));
rt.engine = createEngine({ snapshot: file.engine });
lap('engine');
restoreRuntimeState(file, rt);
lap('runtime');
if (file.vectors && file.meta.vectors) {
  const vectors = new IvfIndex({ dim: file.meta.vectors.dim, precision: 'int8', neighborTable: 50 });
  vectors.restore(file.vectors);
  lap('vectors');
}
const m = process.memoryUsage();
console.log(
  JSON.stringify({
    ms: times,
    cpuMs: cpu,
    bytes: {
      engine: mb(file.engine.length),
      runtime: mb(file.runtime.length),
      vectors: mb(file.vectors?.length ?? 0),
    },
    memory: { rss: mb(m.rss), heapUsed: mb(m.heapUsed), arrayBuffers: mb(m.arrayBuffers) },
  }),
);
