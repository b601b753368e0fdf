import { fileURLToPath } from 'node:url';
import { defineConfig, type UserConfig } from 'vite';

const src = (file: string) => fileURLToPath(new URL(`./src/${file}`, import.meta.url));

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
      build: {
        emptyOutDir: false,
        sourcemap: true,
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
