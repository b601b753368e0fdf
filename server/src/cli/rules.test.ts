import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../db/client';
import { type CliStorage, openCliStorage, runRecsys, startTestServer, type TestTenant } from '../testing';

/** The CLI as a separate process. */
const recsys = (args: string[], storage: CliStorage) => runRecsys(args, { env: storage.env });
/** Exported rule files. */
const scratch = mkdtempSync(join(tmpdir(), 'recsys-rules-cli-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('recsys rules and overrides through a running server', () => {
  let dataDir: CliStorage;
  let database: Database;
  let stack: Awaited<ReturnType<typeof startTestServer>>;
  let shop: TestTenant;
  let remote: string[];
  /** The list once this process has applied every change written so far (a write only nudges the poll). */
  const top = async () => {
    await stack.engines!.catchUp();
    return (
      await shop.admin.recs.trending.query({ k: 3, overrides: { diversity: { lambda: 1 } } })
    ).items.map((i) => i.itemId);
  };

  beforeAll(async () => {
    dataDir = await openCliStorage('recsys-rules-cli-');
    database = await dataDir.open();
    stack = await startTestServer(database, { engine: { encoder: null } });
    shop = await stack.tenant('cli-shop');
    remote = ['--url', stack.url, '--key', shop.secretKey];
    await shop.admin.items.upsert.mutate({
      items: ['a', 'b', 'c', 'd'].map((id) => ({
        itemId: id,
        title: id.toUpperCase(),
        brand: id < 'c' ? 'acme' : 'zen',
      })),
    });
    const ts = new Date(Date.now() - 3_600_000).toISOString();
    await shop.admin.events.batch.mutate({
      events: ['a', 'b', 'c', 'd'].flatMap((id, n) =>
        Array.from({ length: 8 - 2 * n }, (_, i) => ({
          eventId: `e-${id}-${i}`,
          type: 'purchase' as const,
          itemId: id,
          userId: `u-${id}-${i}`,
          ts,
        })),
      ),
    });
    await stack.engines!.catchUp();
  });
  afterAll(async () => {
    await stack?.close();
    await dataDir?.release(database);
    await dataDir?.drop();
  });

  it('adds, lists, shows, disables, enables, previews, exports, imports and removes rules', async () => {
    expect(await top()).toEqual(['a', 'b', 'c']);
    const added = await recsys(
      [
        'rules',
        'add',
        ...remote,
        '{"id":"hero","kind":"pin","items":{"itemIds":["d"]},"slot":0}',
        '--note',
        'launch',
      ],
      dataDir,
    );
    expect(added).toMatchObject({ code: 0, stdout: 'Added hero (pin, v1).\n' });
    expect(await top()).toEqual(['d', 'a', 'b']);

    const listed = await recsys(['rules', 'list', ...remote], dataDir);
    expect(listed.stdout).toBe('hero\tpin\tenabled\tpriority 0\tv1\tslot 0 {"itemIds":["d"]}\n');

    expect((await recsys(['rules', 'disable', 'hero', ...remote], dataDir)).stdout).toBe(
      'Disabled hero (v2).\n',
    );
    expect(await top()).toEqual(['a', 'b', 'c']);
    expect((await recsys(['rules', 'enable', 'hero', ...remote], dataDir)).stdout).toBe(
      'Enabled hero (v3).\n',
    );
    expect(await top()).toEqual(['d', 'a', 'b']);

    const shown = await recsys(['rules', 'show', 'hero', ...remote], dataDir);
    expect(shown.stdout).toMatch(/^v3\tenable\t.*\tkey:[0-9a-f]{16}$/m);
    expect(shown.stdout).toMatch(/^v1\tcreate\t.*\tkey:[0-9a-f]{16}\tlaunch$/m);

    const preview = await recsys(
      [
        'rules',
        'preview',
        ...remote,
        '{"id":"no-acme","kind":"block","items":{"tags":["brand:acme"]}}',
        '--request',
        '{"surface":"trending","k":3,"overrides":{"diversity":{"lambda":1}}}',
      ],
      dataDir,
    );
    expect(preview.code).toBe(0);
    expect(preview.stdout).toMatch(/^\* request \{.*"surface":"trending"/m);
    expect(preview.stdout).toMatch(/^ {7}0 {2}d +d$/m);
    // c was not in the list before (k = 3); only two zen items are left, so slot 2 empties.
    expect(preview.stdout).toMatch(/^ {7}1 {2}a +c {2}\[new\]$/m);
    expect(preview.stdout).toMatch(/^ {7}2 {2}b +- {2}\[gone\]$/m);
    expect(preview.stdout).toMatch(/removed: a, b/);
    expect(preview.stdout).toMatch(/no-acme \(block\): blocked 2 items/);
    expect(preview.stdout).toMatch(/Served lists of the last 24 h it would have changed: \d+ of \d+\./);
    // A preview installs nothing.
    expect(await top()).toEqual(['d', 'a', 'b']);

    const file = join(scratch, 'rules.json');
    expect((await recsys(['rules', 'export', ...remote, '-o', file], dataDir)).stderr).toContain(
      `Wrote 1 rules to ${file}.\n`,
    );
    const exported = JSON.parse(readFileSync(file, 'utf8')) as { rules: Array<{ id: string }> };
    expect(exported.rules.map((r) => r.id)).toEqual(['hero']);

    expect((await recsys(['rules', 'remove', 'hero', ...remote], dataDir)).stdout).toBe(
      'Removed hero (v4).\n',
    );
    expect(await top()).toEqual(['a', 'b', 'c']);
    const imported = await recsys(['rules', 'import', file, ...remote], dataDir);
    expect(imported.stdout).toBe('Created 1, updated 0, unchanged 0, removed 0.\n');
    expect(await top()).toEqual(['d', 'a', 'b']);

    writeFileSync(file, JSON.stringify({ rules: [] }));
    expect((await recsys(['rules', 'import', file, '--replace', ...remote], dataDir)).stdout).toBe(
      'Created 0, updated 0, unchanged 0, removed 1.\n',
    );
  });

  it('adds, lists and cancels an override', async () => {
    const added = await recsys(
      [
        'overrides',
        'add',
        ...remote,
        '-k',
        'boost',
        '-i',
        'c',
        '-m',
        '100',
        '--for',
        '2d',
        '-r',
        'clearance',
        '--id',
        'ovr-c',
      ],
      dataDir,
    );
    expect(added.stdout).toMatch(/^Added override ovr-c \(boost\) until \d{4}-/);
    expect(await top()).toEqual(['c', 'a', 'b']);
    const listed = await recsys(['overrides', 'list', ...remote], dataDir);
    expect(listed.stdout).toMatch(
      /^ovr-c\tactive\tboost\tuntil .*\t×100 \{"itemIds":\["c"\]\}\tclearance\tkey:/,
    );
    expect((await recsys(['overrides', 'cancel', 'ovr-c', ...remote], dataDir)).stdout).toBe(
      'Cancelled ovr-c.\n',
    );
    expect(await top()).toEqual(['a', 'b', 'c']);
    expect((await recsys(['overrides', 'list', ...remote], dataDir)).stdout).toMatch(/^ovr-c\tcancelled/);
  });

  it('explains bad definitions and missing expiries with the field and the fix', async () => {
    const bad = await recsys(['rules', 'add', ...remote, '{"id":"x","kind":"pin","items":{}}'], dataDir);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/refused: Invalid input: rule\.slot: a pin needs a slot/);
    const noExpiry = await recsys(
      ['overrides', 'add', ...remote, '-k', 'pin', '-i', 'a', '-r', 'why'],
      dataDir,
    );
    expect(noExpiry.code).toBe(2);
    expect(noExpiry.stderr).toMatch(/Give --for <duration> or --until <instant>/);
  });
});

describe('recsys rules on the database directly', () => {
  let dataDir: CliStorage;

  beforeAll(async () => {
    dataDir = await openCliStorage('recsys-rules-cli-');
    const database = await dataDir.open();
    const { createNamespace } = await import('../auth/namespaces');
    await createNamespace(database, 'direct-shop');
    await dataDir.release(database);
  });
  afterAll(() => dataDir?.drop());

  it('writes rules and overrides attributed to the CLI user, and sends previews to a server', async () => {
    const added = await recsys(
      ['rules', 'add', '-n', 'direct-shop', '[{"id":"r1","kind":"block","items":{"tags":["brand:*"]}}]'],
      dataDir,
    );
    expect(added).toMatchObject({ code: 0, stdout: 'Added r1 (block, v1).\n' });
    const json = JSON.parse(
      (await recsys(['rules', 'list', '-n', 'direct-shop', '--json'], dataDir)).stdout,
    ) as Array<{
      ruleId: string;
      createdBy: string;
    }>;
    expect(json).toEqual([
      expect.objectContaining({ ruleId: 'r1', createdBy: expect.stringMatching(/^cli:/) }),
    ]);
    const ovr = await recsys(
      [
        'overrides',
        'add',
        '-n',
        'direct-shop',
        '-k',
        'pin',
        '-i',
        'sku-1',
        '--slot',
        '0',
        '--until',
        '2099-01-01T00:00:00Z',
        '-r',
        'hero',
      ],
      dataDir,
    );
    expect(ovr.stdout).toMatch(/until 2099-01-01T00:00:00.000Z/);
    const preview = await recsys(['rules', 'preview', '-n', 'direct-shop', '--remove', 'r1'], dataDir);
    expect(preview.code).toBe(2);
    expect(preview.stderr).toMatch(/needs the engines of a running server: pass --url/);
  });

  it('adds rules to a named rule set with --rule-set and lists a set or the base rules alone', async () => {
    const added = await recsys(
      [
        'rules',
        'add',
        '-n',
        'direct-shop',
        '--rule-set',
        'summer',
        '{"id":"s1","kind":"pin","items":{"itemIds":["sku-2"]},"slot":0}',
      ],
      dataDir,
    );
    expect(added).toMatchObject({ code: 0, stdout: 'Added s1 (pin, v1).\n' });
    const summer = await recsys(['rules', 'list', '-n', 'direct-shop', '--rule-set', 'summer'], dataDir);
    expect(summer.stdout).toMatch(/^s1\tpin\tenabled\tpriority 0\tv1\tslot 0 .* in rule set summer\n$/);
    const base = await recsys(['rules', 'list', '-n', 'direct-shop', '--base', '--json'], dataDir);
    expect((JSON.parse(base.stdout) as Array<{ ruleId: string }>).map((r) => r.ruleId)).toEqual(['r1']);
    const bad = await recsys(
      [
        'rules',
        'add',
        '-n',
        'direct-shop',
        '--rule-set',
        'no spaces',
        '{"id":"s2","kind":"block","items":{}}',
      ],
      dataDir,
    );
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/ruleSet: a rule set id/);
  });
});
