import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * Path of `@recsys/widgets`' all-in-one script (`dist/recsys-full.js`). The
 * widgets package exports only its source entry, so the dist folder is found
 * next to it.
 */
export function widgetBundlePath(): string {
  const entry = createRequire(import.meta.url).resolve('@recsys/widgets');
  return join(dirname(entry), '..', 'dist', 'recsys-full.js');
}

/**
 * Returns the bundle's path, building it first on a fresh clone (where `dist/`
 * is not checked in). Throws with the command to run when the build fails.
 */
export function ensureWidgetBundle(options: { build?: boolean; log?: (line: string) => void } = {}): string {
  const file = widgetBundlePath();
  if (existsSync(file)) return file;
  const command = 'pnpm --filter @recsys/widgets build';
  if (options.build === false) {
    throw new Error(`${file} is missing: run \`${command}\` first.`);
  }
  options.log?.(`Building the widget bundle (${command}) …`);
  const result = spawnSync('pnpm', ['--filter', '@recsys/widgets', 'build'], {
    cwd: dirname(dirname(file)),
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
  });
  if (result.status !== 0 || !existsSync(file)) {
    throw new Error(
      `Building the widget bundle failed (exit ${result.status ?? result.signal}); run \`${command}\` to see why.\n${result.stderr ?? ''}`,
    );
  }
  return file;
}
