import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');
const manifest = (dir: string) =>
  JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
  };

/** Every module specifier imported by the non-test sources under `dir`. */
function imports(dir: string): Array<{ file: string; from: string }> {
  return readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.tsx?$/.test(e.name) && !/\.test\.tsx?$/.test(e.name))
    .flatMap((e) => {
      const file = join(e.parentPath, e.name);
      const text = readFileSync(file, 'utf8');
      return [...text.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)].map((m) => ({
        file: file.slice(root.length + 1),
        from: m[1]!,
      }));
    });
}

describe('package boundaries', () => {
  it('keeps the shared vocabulary free of dependencies and of imports from outside itself', () => {
    expect(manifest('engine/protocol').dependencies ?? {}).toEqual({});
    const outside = imports('engine/protocol/src').filter(({ from }) => !from.startsWith('./'));
    expect(outside).toEqual([]);
  });

  it('lets the browser SDK and widgets depend on the vocabulary, never on the engine', () => {
    for (const dir of ['sdk', 'widgets']) {
      expect(Object.keys(manifest(dir).dependencies ?? {}), dir).not.toContain('@recsys/engine');
      const engineImports = [...imports(`${dir}/src`)].filter(({ from }) =>
        from.startsWith('@recsys/engine'),
      );
      expect(engineImports).toEqual([]);
    }
  });
});
