import { readFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { defineConfig, type Options } from 'tsup';

type EsbuildPlugin = NonNullable<Options['esbuildPlugins']>[number];

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
  esbuildPlugins: [externalsDeclared()],
});

/**
 * Fails the build when the output imports a package that the server does not declare. The bundled
 * workspace packages bring their own imports (onnxruntime-node from the engine, csv-parse from the
 * fixtures); from server/dist, Node resolves them in the server's node_modules only.
 */
function externalsDeclared(): EsbuildPlugin {
  const manifest = JSON.parse(readFileSync(new URL('package.json', import.meta.url), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  const declared = new Set(Object.keys(manifest.dependencies));
  const packageOf = (spec: string) => spec.split('/', spec.startsWith('@') ? 2 : 1).join('/');
  return {
    name: 'externals-declared',
    setup(build) {
      build.onEnd((result) => {
        const missing = new Set<string>();
        for (const output of Object.values(result.metafile?.outputs ?? {})) {
          for (const { path, external } of output.imports) {
            if (external && !isBuiltin(path) && !declared.has(packageOf(path))) missing.add(packageOf(path));
          }
        }
        if (missing.size > 0) {
          throw new Error(
            `server/dist imports ${[...missing].join(', ')}, which server/package.json does not list in "dependencies": add them (same version ranges as the workspace package that uses them).`,
          );
        }
      });
    },
  };
}
