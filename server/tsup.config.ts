import { defineConfig } from 'tsup';

/**
 * The `recsys` CLI, compiled so that it starts without compiling TypeScript at run time (see
 * bin/recsys.js). Entries: the CLI, and the HTTP thread's worker, which `worker_threads` loads by
 * file (see http/thread/startHttpThread.ts). Subcommands are imported lazily, so each lives in a
 * chunk of its own and `recsys --help` loads none of the database, ONNX or lab code.
 *
 * The workspace packages (`@recsys/*`) export TypeScript, which Node cannot run: they are bundled.
 * Every other dependency stays external and is loaded from node_modules, native addons and
 * WebAssembly (onnxruntime-node, PGlite) included.
 */
export default defineConfig({
  entry: { cli: 'src/cli/main.ts', threadMain: 'src/http/thread/threadMain.ts' },
  outDir: 'dist',
  format: 'esm',
  platform: 'node',
  target: 'node20',
  splitting: true,
  sourcemap: true,
  clean: true,
  skipNodeModulesBundle: true,
  noExternal: [/^@recsys\//],
  // The inputs, so that bin/recsys.js can tell a build older than its sources.
  metafile: true,
});
