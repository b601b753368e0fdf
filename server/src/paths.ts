import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The `@recsys/server` package folder, found by walking up from this module. Files shipped beside
 * the code (migrations, profiles) are located from here rather than relative to the module, because
 * the same module runs from `src/` (tests, tsx) and bundled into `dist/` (the CLI).
 */
export const packageRoot: string = findPackageRoot(dirname(fileURLToPath(import.meta.url)));

/** A path inside the server package, e.g. `packagePath('drizzle')`. */
export function packagePath(...parts: string[]): string {
  return resolve(packageRoot, ...parts);
}

function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = resolve(dir, 'package.json');
    if (existsSync(manifest)) {
      const { name } = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string };
      if (name === '@recsys/server') return dir;
    }
    if (dirname(dir) === dir) throw new Error(`@recsys/server's package.json not found above ${from}.`);
  }
}
