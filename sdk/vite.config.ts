import { fileURLToPath } from 'node:url';
import { minify } from 'terser';
import { defineConfig, type Plugin, type UserConfig } from 'vite';

const src = (file: string) => fileURLToPath(new URL(`./src/${file}`, import.meta.url));

/**
 * A second minification of the script-tag builds, after Vite's own: it shortens the tracker's internal
 * property names (`_…`, see src/trackerCore.ts), so its parts (identity, delivery, page lifecycle)
 * can be separate modules that share state without the size budgets paying for the names. Vite's
 * minifier does not rename properties; Terser does, and this order gave the smallest files.
 * `unsafe` here turns one-substitution template literals into `+` (all on strings and numbers).
 */
function mangleInternals(): Plugin {
  return {
    name: 'recsys-mangle-internals',
    apply: 'build',
    async generateBundle(_options, bundle) {
      for (const chunk of Object.values(bundle)) {
        if (chunk.type !== 'chunk') continue;
        const out = await minify(chunk.code, {
          ecma: 2020,
          compress: { passes: 2, unsafe: true },
          mangle: { properties: { regex: /^_[a-zA-Z]/ } },
          sourceMap: chunk.map ? { content: JSON.stringify(chunk.map) } : false,
        });
        if (out.code === undefined) throw new Error(`terser returned no code for ${chunk.fileName}`);
        chunk.code = out.code;
        // The map is an asset of its own by now: replace it, or it would describe the code before.
        const map = bundle[`${chunk.fileName}.map`];
        if (chunk.map && (map?.type !== 'asset' || typeof out.map !== 'string'))
          throw new Error(`no source map to update for ${chunk.fileName}`);
        if (map?.type === 'asset') map.source = out.map as string;
      }
    },
  };
}

/**
 * Library builds. One IIFE per build is all Rollup-style bundlers allow, so the
 * `build` script runs three modes:
 * - default: ESM `dist/index.js` (browser + Node) and `dist/node.js` (full @trpc/client), deps external;
 * - `full`:  `dist/recsys.js`, script-tag SDK with the recommendation client;
 * - `track`: `dist/recsys-track.js`, script-tag tracking only.
 */
export default defineConfig(({ mode }): UserConfig => {
  if (mode === 'full' || mode === 'track') {
    return {
      plugins: [mangleInternals()],
      build: {
        emptyOutDir: false,
        // Maps are written beside the files but not named in them: `recsys serve` serves the
        // script-tag files under /static without their maps, so the comment would only send
        // devtools to a 404 (and add bytes to every page).
        sourcemap: 'hidden',
        // Terser, for one thing the default minifier does not do: shorten the tracker's internal
        // properties (named `_…`, see src/trackerCore.ts), so its parts can be separate modules that
        // share state without the script-tag budgets paying for the names.

        lib: {
          entry: src(mode === 'full' ? 'auto.ts' : 'autoTrack.ts'),
          formats: ['iife'],
          name: 'recsysLoader',
          fileName: () => (mode === 'full' ? 'recsys.js' : 'recsys-track.js'),
        },
      },
    };
  }
  return {
    build: {
      sourcemap: true,
      lib: {
        entry: { index: src('index.ts'), node: src('node.ts') },
        formats: ['es'],
        fileName: (_format, name) => `${name}.js`,
      },
      // node:crypto signs user tokens in dist/node.js; a browser-external stub would fail there
      rolldownOptions: { external: [/^@trpc\//, /^node:/] },
    },
  };
});
