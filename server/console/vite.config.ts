import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The console as a static app under `/admin/`: `dist/index.html` plus content-hashed files in
 * `dist/assets/`, which `recsys serve` hands out (see server/src/console/consoleRoutes.ts). One
 * JavaScript file with no inline script, so the pages run under a strict Content-Security-Policy.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/admin/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  define: { 'process.env.NODE_ENV': '"production"' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: true,
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    rolldownOptions: {
      // @trpc/client's index re-exports every link (WebSocket included) without declaring itself
      // free of side effects; saying so lets the unused links drop out (~1.5 KiB gzipped).
      treeshake: { moduleSideEffects: (id: string) => !/[\\/]@trpc[\\/]/.test(id) },
    },
  },
});
