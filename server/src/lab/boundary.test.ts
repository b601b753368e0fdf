import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const lab = join(src, 'lab');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts'))
    .map((e) => join(e.parentPath, e.name));
}

/** Every relative module a file imports, resolved to a path without extension. */
function relativeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/from '(\.\.?\/[^']*)'/g)].map((m) => resolve(dirname(file), m[1]!));
}

describe('the boundary between the runtime and the lab', () => {
  it('lab code reaches the runtime only through its public index', () => {
    const escapes = sourceFiles(lab).flatMap((file) =>
      relativeImports(file)
        .filter((target) => !target.startsWith(`${lab}/`) && target !== join(src, 'index'))
        .map((target) => `${relative(src, file)} imports ${relative(src, target)}`),
    );
    expect(escapes).toEqual([]);
  });

  it('runtime code never imports the lab (only the CLI, which runs both, may)', () => {
    const runtime = sourceFiles(src).filter(
      (f) => !f.startsWith(`${lab}/`) && !f.startsWith(`${join(src, 'cli')}/`),
    );
    const intoLab = runtime.flatMap((file) =>
      relativeImports(file)
        .filter((target) => target === lab || target.startsWith(`${lab}/`))
        .map((target) => `${relative(src, file)} imports ${relative(src, target)}`),
    );
    expect(intoLab).toEqual([]);
  });
});
