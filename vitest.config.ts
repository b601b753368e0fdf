import { defineConfig } from 'vitest/config';

/**
 * One root config; each package is a project so `pnpm test` runs everything
 * and `vitest --project engine` runs one package.
 */
export default defineConfig({
  test: {
    projects: [
      { extends: true, test: { name: 'engine', root: './engine', include: ['src/**/*.test.ts'] } },
      { extends: true, test: { name: 'fixtures', root: './fixtures', include: ['src/**/*.test.ts'] } },
      {
        extends: true,
        test: {
          name: 'server',
          root: './server',
          include: ['src/**/*.test.ts'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
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
          testTimeout: 120_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
