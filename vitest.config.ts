import { defineConfig } from 'vitest/config';

/**
 * One root config; each package is a project so `pnpm test` runs everything
 * and `vitest --project engine` runs one package.
 */
export default defineConfig({
  test: {
    // Timeouts only stop a test that hangs; they are not speed limits. They sit far above what a
    // loaded 2-core machine needs, so no test's outcome depends on the machine's speed (speed is
    // measured by `pnpm bench`). No test sets its own.
    testTimeout: 300_000,
    hookTimeout: 300_000,
    // The same for `expect.poll` without a timeout of its own (Vitest's default is 1 s): it waits for a
    // state, and returns as soon as the state is reached.
    expect: { poll: { timeout: 240_000 } },
    // Vitest's default is one worker per core but one (2 − 1 on the 2-core CI machine). Most test files
    // spend their time waiting on PostgreSQL, a server or a browser, so three files at once keep
    // both cores busy; each file has its own ports (0), scratch databases and folders.
    maxWorkers: 3,
    // PGlite is PostgreSQL compiled to WebAssembly. V8 first compiles it with its baseline compiler
    // (Liftoff) and then recompiles the hot functions with TurboFan on background threads; in a
    // test file, which opens a database for seconds, that recompilation costs more CPU than it saves
    // (a hostile-input and ingestion subset: 88 → 45 s, 82 → 64 s of CPU). The code run is the same. The
    // `recsys` CLI makes the same choice for every command but `serve` (server/bin/recsys.js).
    execArgv: ['--liftoff-only'],
    projects: [
      // The engine and the fixtures are pure code without globals (no DOM, no servers, no module-level
      // state a test changes): their files share one module graph per worker instead of importing it
      // again for each file, which cuts their run by a third (43 → 28 s on the 2-core machine, December 2026).
      // The DOM packages keep isolation: happy-dom's storage would carry over from one file to the next.
      {
        extends: true,
        test: { name: 'engine', root: './engine', include: ['src/**/*.test.ts'], isolate: false },
      },
      {
        extends: true,
        test: { name: 'fixtures', root: './fixtures', include: ['src/**/*.test.ts'], isolate: false },
      },
      {
        extends: true,
        test: {
          name: 'server',
          root: './server',
          include: ['src/**/*.test.ts'],
        },
      },
      {
        extends: true,
        test: { name: 'sdk', root: './sdk', include: ['src/**/*.test.ts'], environment: 'happy-dom' },
      },
      {
        extends: true,
        test: {
          name: 'widgets',
          root: './widgets',
          include: ['src/**/*.test.{ts,tsx}'],
          environment: 'happy-dom',
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          root: './test',
          include: ['**/*.test.ts'],
          exclude: ['**/node_modules/**'],
        },
      },
    ],
  },
});
