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
      // `from`/`import` as keywords only: not inside a string ('from') or a name (q.from).
      return [...text.matchAll(/(?<![\w'"$.])(?:from|import)\s*\(?\s*'([^']+)'/g)].map((m) => ({
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

  it('keeps the admin console a browser app: server types only, and out of the storefront bundles', () => {
    const consoleImports = imports('server/console/src');
    expect(consoleImports.length).toBeGreaterThan(0);
    // Only relative imports, Preact, the tRPC client and the shared vocabulary are bundled.
    const allowed =
      /^(\.{1,2}\/(?!\.\.\/)|preact($|\/)|@trpc\/client$|@trpc\/server$|@recsys\/protocol$|@recsys\/server$)/;
    expect(consoleImports.filter(({ from }) => !allowed.test(from))).toEqual([]);
    // The server is reached over HTTP: its modules are imported for their types and never bundled.
    const valueImports = readdirSync(join(root, 'server/console/src'), {
      recursive: true,
      withFileTypes: true,
    })
      .filter((e) => e.isFile() && /\.tsx?$/.test(e.name))
      .flatMap((e) => readFileSync(join(e.parentPath, e.name), 'utf8').split('\n'))
      .filter(
        (line) => /from '@(recsys\/server|trpc\/server)'/.test(line) && !line.startsWith('import type'),
      );
    expect(valueImports).toEqual([]);
    for (const dir of ['sdk', 'widgets', 'examples/storefront']) {
      expect(imports(`${dir}/src`).filter(({ from }) => from.includes('console'))).toEqual([]);
    }
  });
});
