import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliStorage, openCliStorage, runRecsys } from '../testing';
import { startServeProcess } from '../testing/serveProcess';

let storage: CliStorage;
beforeAll(async () => {
  storage = await openCliStorage('recsys-operators-');
});
afterAll(() => storage?.drop());
const recsys = (args: string[], stdin?: string) => runRecsys(args, { env: storage.env, stdin });

describe('recsys operators', () => {
  it('manages operators through a running embedded server with --url and --key, where the database is held', async () => {
    const held = mkdtempSync(join(tmpdir(), 'recsys-operators-held-'));
    // The server holds this embedded folder: the subject here is the CLI beside it.
    const env = { DATABASE_URL: '', RECSYS_DATA_DIR: held };
    const cli = (args: string[], stdin?: string) => runRecsys(args, { env, stdin });
    expect((await cli(['namespace', 'create', 'live-shop'])).code).toBe(0);
    const { key } = JSON.parse(
      (await cli(['keys', 'create', '-n', 'live-shop', '-k', 'secret', '--json'])).stdout,
    ) as {
      key: string;
    };
    const server = await startServeProcess({ DATABASE_URL: '', RECSYS_DATA_DIR: held });
    try {
      const remote = ['--url', server.url, '--key', key];
      // Without --url the CLI cannot open the database the server holds, and says what to do.
      const direct = await cli(['operators', 'list', '-n', 'live-shop']);
      expect(direct.code).not.toBe(0);
      expect(direct.stderr).toMatch(/--url/);

      const added = await cli(['operators', 'add', 'ana@shop.test', '--role', 'admin', ...remote]);
      expect(added.code).toBe(0);
      expect(added.stdout).toMatch(/Added admin "ana@shop\.test" for "live-shop"/);
      expect(added.stdout).toMatch(/Password \(shown once\): [A-Za-z0-9_-]{24}\n/);

      const piped = await cli(
        ['operators', 'add', 'bo', '--role', 'viewer', '--password-stdin', ...remote],
        'a long enough passphrase\n',
      );
      expect(piped.code).toBe(0);
      expect(piped.stdout).not.toMatch(/Password/);
      // The piped password is the one set: bo signs in with it.
      const signIn = await fetch(`${server.url}/admin/api/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: server.url },
        body: JSON.stringify({ namespace: 'live-shop', name: 'bo', password: 'a long enough passphrase' }),
      });
      expect(signIn.status).toBe(200);

      const short = await cli(
        ['operators', 'add', 'cy', '-r', 'viewer', '--password-stdin', ...remote],
        'short\n',
      );
      expect(short.code).toBe(2);
      expect(short.stderr).toMatch(/refused: .*at least 12/);

      const list = await cli(['operators', 'list', '--json', ...remote]);
      expect(
        (JSON.parse(list.stdout) as Array<{ name: string; role: string }>).map((r) => [r.name, r.role]),
      ).toEqual([
        ['ana@shop.test', 'admin'],
        ['bo', 'viewer'],
      ]);
      expect((await cli(['operators', 'remove', 'bo', ...remote])).code).toBe(0);
      const gone = await cli(['operators', 'remove', 'bo', ...remote]);
      expect(gone.code).toBe(2);
      expect(gone.stderr).toMatch(/No operator "bo" in "live-shop"/);
      const wrongShop = await cli(['operators', 'list', '-n', 'other-shop', ...remote]);
      expect(wrongShop.code).toBe(2);
      expect(wrongShop.stderr).toMatch(/belongs to namespace "live-shop", not "other-shop"/);
    } finally {
      server.launcher.kill('SIGTERM');
      await server.exited;
      rmSync(held, { recursive: true, force: true });
    }
  });

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

    const unknownRole = await recsys(['operators', 'add', 'dee', '-n', 'ops-shop', '--role', 'owner']);
    expect(unknownRole.code).not.toBe(0);
    expect(unknownRole.stderr).toMatch(/use viewer, operator, admin/);

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
