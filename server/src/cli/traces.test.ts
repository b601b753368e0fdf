import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../db/client';
import { type CliStorage, openCliStorage, runRecsys, startTestServer, type TestTenant } from '../testing';
import type { StoredTrace } from '../traces/storedTrace';

let storage: CliStorage;
const recsys = (args: string[]) => runRecsys(args, { env: storage.env });

const catalog = [
  { itemId: 'mug-1', title: 'Blue mug', price: 12, brand: 'acme', category: 'mugs' },
  { itemId: 'mug-2', title: 'Red mug', price: 14, brand: 'acme', category: 'mugs' },
  { itemId: 'tea-1', title: 'Green tea', price: 6, brand: 'leaf', category: 'tea' },
  { itemId: 'pot-1', title: 'Teapot', price: 30, brand: 'leaf', category: 'tea', available: false },
];

describe('recsys why and recsys traces', () => {
  let database: Database;
  let stack: Awaited<ReturnType<typeof startTestServer>> | undefined;
  let shop: TestTenant;
  let remote: string[];
  const served: string[] = [];

  beforeAll(async () => {
    storage = await openCliStorage('recsys-traces-');
    database = await storage.open();
    stack = await startTestServer(database, { engine: { encoder: null, pollIntervalMs: 100 } });
    shop = await stack.tenant('cli-traces');
    remote = ['--url', stack.url, '--key', shop.secretKey];
    await shop.admin.items.upsert.mutate({ items: catalog });
    const ts = new Date(Date.now() - 3_600_000).toISOString();
    await shop.admin.events.batch.mutate({
      events: ['u1', 'u2', 'u3'].flatMap((u, n) =>
        ['mug-1', 'tea-1', 'pot-1', 'mug-2'].map((itemId, i) => ({
          eventId: `e-${n}-${i}`,
          type: 'view',
          itemId,
          userId: u,
          sessionId: `${u}-s`,
          ts,
        })),
      ),
    });
    await stack.engines!.catchUp();
    for (const anonymousId of ['cli-a', 'cli-a', 'cli-b']) {
      served.push((await shop.browser.recs.similar.query({ itemId: 'mug-1', k: 3, anonymousId })).requestId);
    }
    await stack.recLog!.flush();
  });
  afterAll(async () => {
    await stack?.close();
    if (database) await storage.release(database);
    await storage?.drop();
  });

  it('why: prints the trace as a person reads it, through the server', async () => {
    const out = await recsys(['why', served[0]!, ...remote]);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toContain(`Request ${served[0]}`);
    expect(out.stdout).toMatch(/asked for: item mug-1, k=3/);
    expect(out.stdout).toMatch(/for: visitor #[0-9a-f]{12}… \(ids stored as salted hashes\)/);
    expect(out.stdout).not.toContain('cli-a');
    expect(out.stdout).toMatch(/Rules\n {2}none matched/);
    expect(out.stdout).toMatch(/covisit: weight 1, proposes, \d+ candidates/);
    expect(out.stdout).toMatch(/pot-1: not available \(out of stock\) \[eligibility: unavailable\]/);
    expect(out.stdout).toMatch(
      /Final list \(in the order variety chose: MMR with diversity.lambda 0.8, so a lower score may rank higher\)\n {2}1\. \S+ .+\n {5}score [\d.]+ = covisit [\d.]+/,
    );
    expect(out.stdout).toMatch(/why: often viewed with Blue mug/);
  });

  it('why --json prints the stored trace; an unknown request exits 2 naming why it may be missing', async () => {
    const json = await recsys(['why', served[1]!, ...remote, '--json']);
    expect(json.code, json.stderr).toBe(0);
    expect((JSON.parse(json.stdout) as StoredTrace).requestId).toBe(served[1]);
    const missing = await recsys(['why', 'no-such-request', ...remote]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/No trace of request no-such-request in "cli-traces": it was not sampled/);
  });

  it('traces search prints one line per list, and --jsonl exports whole traces page after page', async () => {
    const lines = await recsys(['traces', 'search', ...remote, '--anonymous-id', 'cli-a']);
    expect(lines.code, lines.stderr).toBe(0);
    const rows = lines.stdout.trim().split('\n');
    expect(rows.map((r) => r.split('\t')[0]).sort()).toEqual([served[0], served[1]].sort());
    // An export follows the cursor to the last page.
    const all = await recsys(['traces', 'search', ...remote, '--jsonl', '--item-id', 'pot-1']);
    expect(all.code, all.stderr).toBe(0);
    const exported = all.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as StoredTrace);
    expect(exported.map((t) => t.requestId).sort()).toEqual([...served].sort());
    expect(exported[0]!.engine!.removed.some((r) => r.itemId === 'pot-1')).toBe(true);
    const limited = await recsys(['traces', 'search', ...remote, '--jsonl', '--limit', '1']);
    expect(limited.stdout.trim().split('\n')).toHaveLength(1);
    const bad = await recsys(['traces', 'search', ...remote, '--from', 'last week']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--from "last week" is not a time; use ISO-8601/);
  });

  it('traces prune deletes only traces past retention, through the server and on the database', async () => {
    await database.query(
      `UPDATE rec_traces SET created_at = now() - interval '40 days' WHERE request_id = $1`,
      [served[2]],
    );
    const pruned = await recsys(['traces', 'prune', ...remote]);
    expect(pruned.code, pruned.stderr).toBe(0);
    expect(pruned.stdout).toContain('Pruned 1 traces of "cli-traces" past their retention.');
    await database.query(
      `UPDATE rec_traces SET created_at = now() - interval '40 days' WHERE request_id = $1`,
      [served[1]],
    );
    // With the server stopped, the CLI opens the database itself.
    await stack!.close();
    stack = undefined;
    await storage.release(database);
    const direct = await recsys(['traces', 'prune']);
    expect(direct.code, direct.stderr).toBe(0);
    expect(direct.stdout).toContain('Pruned 1 traces past their retention, in every namespace.');
    const why = await recsys(['why', served[0]!, '-n', 'cli-traces']);
    expect(why.code, why.stderr).toBe(0);
    expect(why.stdout).toContain(`Request ${served[0]}`);
    database = await storage.open();
  });
});
