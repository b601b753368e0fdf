import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../db/client';
import { startTestServer, type TestTenant } from '../testing';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../../bin/recsys.js', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'recsys-keys-'));

/** The CLI as a separate process, on the same embedded data folder as the running server. */
async function recsys(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], {
      env: {
        ...process.env,
        DATABASE_URL: '',
        RECSYS_DATA_DIR: dataDir,
        RECSYS_URL: '',
        RECSYS_KEY: '',
        ...env,
      },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('recsys keys against a running server on the embedded database', () => {
  let database: Database;
  let stack: Awaited<ReturnType<typeof startTestServer>>;
  let shop: TestTenant;
  /** Sends one event with a publishable key from `origin`; answers the HTTP status. */
  const collect = async (key: string, origin: string) =>
    (
      await fetch(`${stack.url}/v1/collect?key=${key}`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain', origin },
        body: JSON.stringify({
          events: [
            { eventId: crypto.randomUUID(), type: 'view', itemId: 'i-1', anonymousId: 'a-1', ts: new Date() },
          ],
        }),
      })
    ).status;

  beforeAll(async () => {
    database = await openDatabase({ dataDir });
    await database.migrate();
    stack = await startTestServer(database);
    shop = await stack.tenant('live-shop');
  });
  afterAll(async () => {
    await stack?.close();
    await database?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('refuses to open the folder the server holds, and says to use --url', async () => {
    const direct = await recsys(['keys', 'list', '-n', 'live-shop']);
    expect(direct.code).toBe(2);
    expect(direct.stderr).toMatch(
      new RegExp(`open in another process \\(pid ${process.pid}\\).*point the CLI at the server with --url`),
    );
  });

  it('creates a publishable key, changes its origins, lists and revokes it through the server', async () => {
    const remote = ['--url', stack.url, '--key', shop.secretKey];
    const created = await recsys([
      'keys',
      'create',
      ...remote,
      '-k',
      'publishable',
      '-o',
      'https://a.example',
      '--json',
    ]);
    expect(created.code).toBe(0);
    const pub = JSON.parse(created.stdout) as { key: string; keyId: string };
    expect(pub.key).toMatch(/^pk_live-shop_/);
    expect(await collect(pub.key, 'https://a.example')).toBe(200);

    const origins = await recsys(['keys', 'origins', pub.keyId, ...remote, '-o', 'https://b.example']);
    expect(origins.code).toBe(0);
    expect(origins.stdout).toMatch(/now allows https:\/\/b\.example/);
    expect(await collect(pub.key, 'https://a.example')).toBe(403);
    expect(await collect(pub.key, 'https://b.example')).toBe(200);

    // The server and key may also come from the environment.
    const listed = await recsys(['keys', 'list', '--json'], {
      RECSYS_URL: stack.url,
      RECSYS_KEY: shop.secretKey,
    });
    expect(listed.code).toBe(0);
    const rows = JSON.parse(listed.stdout) as Array<{
      keyId: string;
      allowedOrigins: string[];
      revokedAt: null;
    }>;
    expect(rows.find((r) => r.keyId === pub.keyId)).toMatchObject({
      allowedOrigins: ['https://b.example'],
      revokedAt: null,
    });
    expect(listed.stdout).not.toContain(pub.key);

    const revoked = await recsys(['keys', 'revoke', pub.keyId, ...remote]);
    expect(revoked.code).toBe(0);
    // Revoked through the server, the key's cache entry goes with it: refused on the next request.
    expect(await collect(pub.key, 'https://b.example')).toBe(401);
    const after = await recsys(['keys', 'list', ...remote]);
    expect(after.stdout).toMatch(new RegExp(`${pub.keyId}\\tpublishable\\trevoked `));
  });

  it('explains a missing or wrong key, a foreign namespace and revoking the key in use', async () => {
    const noKey = await recsys(['keys', 'list', '--url', stack.url]);
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toMatch(/--url needs --key with a secret key/);

    const publishable = await recsys(['keys', 'list', '--url', stack.url, '--key', shop.publishableKey]);
    expect(publishable.stderr).toMatch(/not a publishable key/);

    const other = await recsys(['keys', 'list', '-n', 'other', '--url', stack.url, '--key', shop.secretKey]);
    expect(other.stderr).toMatch(/belongs to namespace "live-shop", not "other"/);

    const self = await recsys([
      'keys',
      'revoke',
      shop.secretKey.split('_')[2]!,
      '--url',
      stack.url,
      '--key',
      shop.secretKey,
    ]);
    expect(self.code).toBe(2);
    expect(self.stderr).toMatch(/the key this request is signed with/);

    const unknown = await recsys([
      'keys',
      'list',
      '--url',
      stack.url,
      '--key',
      shop.secretKey.replace(/.{4}$/, '0000'),
    ]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/refused: The API key is unknown or revoked/);

    const down = await recsys(['keys', 'list', '--url', 'http://127.0.0.1:1', '--key', shop.secretKey]);
    expect(down.code).toBe(2);
    expect(down.stderr).toMatch(/Cannot reach the server at http:\/\/127\.0\.0\.1:1/);
  });
});
