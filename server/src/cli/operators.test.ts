import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../../bin/recsys.js', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'recsys-operators-'));

async function recsys(args: string[], stdin?: string) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(
      process.execPath,
      [bin, ...args],
      { env: { ...process.env, DATABASE_URL: '', RECSYS_DATA_DIR: dataDir } },
      (error, stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin?.end(stdin ?? '');
  });
}

describe('recsys operators', () => {
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('adds operators with a generated or piped password, lists them without secrets and removes them', async () => {
    expect((await recsys(['namespace', 'create', 'ops-shop'])).code).toBe(0);
    const added = await recsys(['operators', 'add', 'ana@shop.test', '-n', 'ops-shop', '--role', 'admin']);
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(/Added admin "ana@shop\.test" for "ops-shop"/);
    expect(added.stdout).toMatch(/Password \(shown once\): [A-Za-z0-9_-]{24}\n/);

    const piped = await recsys(
      ['operators', 'add', 'bo', '-n', 'ops-shop', '--role', 'viewer', '--password-stdin'],
      'a long enough passphrase\n',
    );
    expect(piped.code).toBe(0);
    expect(piped.stdout).not.toMatch(/Password/);

    const short = await recsys(
      ['operators', 'add', 'cy', '-n', 'ops-shop', '-r', 'viewer', '--password-stdin'],
      'short\n',
    );
    expect(short.code).toBe(2);
    expect(short.stderr).toMatch(/at least 12/);
    const again = await recsys(['operators', 'add', 'bo', '-n', 'ops-shop', '-r', 'admin']);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/--replace/);
    const badRole = await recsys(['operators', 'add', 'dee', '-n', 'ops-shop', '-r', 'root']);
    expect(badRole.code).not.toBe(0);
    expect(badRole.stderr).toMatch(/viewer, operator, admin/);

    const list = await recsys(['operators', 'list', '-n', 'ops-shop', '--json']);
    const rows = JSON.parse(list.stdout) as Array<Record<string, unknown>>;
    expect(rows.map((r) => [r.name, r.role])).toEqual([
      ['ana@shop.test', 'admin'],
      ['bo', 'viewer'],
    ]);
    expect(list.stdout).not.toMatch(/scrypt|password/i);

    expect((await recsys(['operators', 'remove', 'bo', '-n', 'ops-shop'])).code).toBe(0);
    const gone = await recsys(['operators', 'remove', 'bo', '-n', 'ops-shop']);
    expect(gone.code).toBe(2);
    expect((await recsys(['operators', 'audit', '-n', 'ops-shop', '--json'])).stdout.trim()).toBe('[]');
  });
});
