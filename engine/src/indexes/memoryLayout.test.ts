import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * How V8 lays the biggest indexes out in memory, asked of V8 itself: the per-user and per-item
 * objects are multiplied by the number of users and items, so a layout V8 silently changes (boxed
 * numbers, one hidden class per object) costs tens of MB on a 100,000-item shop. The checks run in
 * a child process because V8's own predicates (`%HasDoubleElements`, `%HaveSameMap`) need
 * `--allow-natives-syntax`, which test workers do not have.
 */
const dir = mkdtempSync(join(tmpdir(), 'recsys-layout-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function inV8(name: string, body: string): unknown {
  const script = join(dir, `${name}.mts`);
  const url = (file: string) => new URL(file, import.meta.url).href;
  writeFileSync(
    script,
    `import { UserProfile } from ${JSON.stringify(url('./UserProfile.ts'))};
import { Catalog } from ${JSON.stringify(url('./Catalog.ts'))};
// Built at run time: the TypeScript compiler does not parse V8's %-syntax, V8 does.
const native = (name: string, args = ['a']) =>
  new Function(...args, \`return %\${name}(\${args.join(', ')});\`) as (...values: unknown[]) => boolean;
${body}`,
  );
  const out = execFileSync(process.execPath, ['--allow-natives-syntax', '--import', 'tsx', script], {
    encoding: 'utf8',
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
  });
  return JSON.parse(out);
}

describe('memory layout of the indexes', () => {
  it('keeps a profile in five arrays, its scores and timestamps as unboxed doubles while entries are evicted', () => {
    const kinds = inV8(
      'profile',
      `const limits = { maxItems: 3, maxTags: 2, maxPurchases: 2, maxRecentlyViewed: 2 };
const p = new UserProfile(14 * 86_400_000);
let ts = Date.UTC(2024, 0, 1) + 0.5;
// Sessions and no sessions, more items and tags than the bounds hold: every eviction path runs.
for (let i = 0; i < 500; i++) {
  p.record(i, 0.3 + (i % 7) / 10, (ts += 1_000), i % 2 ? 's' + i : undefined, [i % 11, i % 13],
    { viewed: true, purchased: i % 3 === 0 }, limits);
}
p.trim();
const q = p as unknown as Record<string, unknown[]>;
const doubles = native('HasDoubleElements');
const smis = native('HasSmiElements');
console.log(JSON.stringify({
  items: doubles(q.items!), tags: doubles(q.tags!), viewedTs: doubles(q.viewedTs!), viewedItems: smis(q.viewedItems!),
  arrays: Object.values(q).filter(Array.isArray).length,
}));`,
    );
    // Ids, scores, timestamps and visits side by side, unboxed; one array per field was 48 bytes
    // more per field and profile.
    expect(kinds).toEqual({ items: true, tags: true, viewedTs: true, viewedItems: true, arrays: 5 });
  });

  it('stores every catalog item with one hidden class, whichever optional fields it has', () => {
    const same = inV8(
      'catalog',
      `const c = new Catalog();
c.upsert([
  { itemId: 'a', title: 'A', description: 'long text', price: 3, currency: 'EUR', available: true, archived: false, tags: ['category:x'], createdAt: 1 },
  { itemId: 'b', available: false, archived: true, tags: [], parentId: 'a', createdAt: 2, markets: { DE: { available: true, price: 4 } } },
  { itemId: 'c', title: 'C', available: true, archived: false, tags: ['brand:y'], createdAt: 3 },
]);
const item = (id: string) => c.info(c.ids.get(id)!)!.item;
const sameMap = native('HaveSameMap', ['a', 'b']);
console.log(JSON.stringify([sameMap(item('a'), item('b')), sameMap(item('a'), item('c'))]));`,
    );
    expect(same).toEqual([true, true]);
  });
});
