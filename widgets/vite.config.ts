import { fileURLToPath } from 'node:url';
import { defineConfig, type UserConfig } from 'vite';

const src = (file: string) => fileURLToPath(new URL(`./src/${file}`, import.meta.url));

/**
 * Library builds. A bundle can hold one IIFE, so the `build` script runs three modes:
 * - default: ESM `dist/index.js`, with preact and @recsys/sdk external (the app brings them);
 * - `iife`:  `dist/recsys-widgets.js`, widgets + Preact for a page that loads the SDK script separately;
 * - `full`:  `dist/recsys-full.js`, SDK + widgets + Preact in one script tag.
 */
export default defineConfig(({ mode }): UserConfig => {
  const shared: UserConfig = {
    oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
    define: { 'process.env.NODE_ENV': '"production"' },
  };
  if (mode === 'iife' || mode === 'full') {
    return {
      ...shared,
      build: {
        emptyOutDir: false,
        sourcemap: true,
        lib: {
          entry: src(mode === 'full' ? 'full.ts' : 'iife.ts'),
          formats: ['iife'],
          name: 'recsysWidgetsBundle',
          fileName: () => (mode === 'full' ? 'recsys-full.js' : 'recsys-widgets.js'),
        },
      },
    };
  }
  return {
    ...shared,
    build: {
      sourcemap: true,
      lib: { entry: { index: src('index.ts') }, formats: ['es'], fileName: (_format, name) => `${name}.js` },
      rolldownOptions: { external: [/^preact($|\/)/, /^@recsys\/sdk($|\/)/] },
    },
  };
});
