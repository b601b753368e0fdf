import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { createKeyResolver } from '../auth/keyResolver';
import { openDatabase } from '../db/client';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../../bin/recsys.js', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'recsys-cli-'));

async function recsys(...args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], {
      env: { ...process.env, DATABASE_URL: '', RECSYS_DATA_DIR: dataDir },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('recsys CLI on the embedded database', () => {
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('migrates, creates a namespace and keys that the server accepts, lists and revokes them', async () => {
    expect((await recsys('migrate')).stdout).toMatch(/Migrations applied on PGlite/);
    expect((await recsys('namespace', 'create', 'cli-shop', '--name', 'CLI Shop')).code).toBe(0);
    expect((await recsys('namespace', 'list')).stdout).toMatch(/cli-shop\tCLI Shop/);

    const secret = JSON.parse(
      (await recsys('keys', 'create', '-n', 'cli-shop', '-k', 'secret', '--json')).stdout,
    );
    const pub = JSON.parse(
      (
        await recsys(
          'keys',
          'create',
          '-n',
          'cli-shop',
          '-k',
          'publishable',
          '-o',
          'https://shop.example',
          '--json',
        )
      ).stdout,
    );
    expect(secret.key).toMatch(/^sk_cli-shop_/);
    expect(pub.key).toMatch(/^pk_cli-shop_/);

    const listed = (await recsys('keys', 'list', '-n', 'cli-shop')).stdout;
    expect(listed).toContain(secret.keyId);
    expect(listed).toContain('https://shop.example');
    expect(listed).not.toContain(secret.key);

    const revoked = await recsys('keys', 'revoke', secret.keyId, '-n', 'cli-shop');
    expect(revoked.code).toBe(0);

    // The stored state is what the server reads: the publishable key resolves, the revoked one does not.
    const database = await openDatabase({ dataDir });
    try {
      const resolver = createKeyResolver(database);
      expect(await resolver.resolve(pub.key, 'https://shop.example')).toMatchObject({
        namespaceId: 'cli-shop',
      });
      expect(await resolver.resolve(secret.key, undefined)).toMatchObject({ code: 'UNAUTHORIZED' });
    } finally {
      await database.close();
    }
  });

  it('sets, keeps and resets per-namespace rate limits per key kind', async () => {
    expect((await recsys('namespace', 'create', 'cli-limits')).code).toBe(0);
    const settings = async (...args: string[]) => {
      const run = await recsys('namespace', 'settings', 'cli-limits', ...args);
      expect(run.code).toBe(0);
      return JSON.parse(run.stdout) as { pii?: string; rateLimits?: Record<string, unknown> };
    };
    expect((await settings('--publishable-limit', '600/m', '--publishable-burst', '900')).rateLimits).toEqual(
      {
        publishable: { points: 600, duration: 60, burst: 900, burstDuration: 10 },
      },
    );
    // Changing the other kind, or another setting, keeps this one.
    const both = await settings('--secret-limit', '1000/10s', '--pii', 'scrub');
    expect(both.pii).toBe('scrub');
    expect(both.rateLimits).toEqual({
      publishable: { points: 600, duration: 60, burst: 900, burstDuration: 10 },
      secret: { points: 1000, duration: 10, burst: 1000, burstDuration: 10 },
    });
    expect((await settings('--publishable-limit', 'default')).rateLimits).toEqual({
      secret: { points: 1000, duration: 10, burst: 1000, burstDuration: 10 },
    });

    const badRate = await recsys('namespace', 'settings', 'cli-limits', '--secret-limit', '50 per second');
    expect(badRate.code).toBe(2);
    expect(badRate.stderr).toMatch(/Rate "50 per second" is not understood: write <requests>\/<duration>/);
    const badBurst = await recsys(
      'namespace',
      'settings',
      'cli-limits',
      '--secret-limit',
      '50/s',
      '--secret-burst',
      '10',
    );
    expect(badBurst.code).toBe(2);
    expect(badBurst.stderr).toMatch(/burst: burst must be at least points/);
  });

  it('turns the trust of browser user ids on and off per namespace, leaving other settings alone', async () => {
    expect((await recsys('namespace', 'create', 'trust-shop')).code).toBe(0);
    const on = await recsys(
      'namespace',
      'settings',
      'trust-shop',
      '--pii',
      'scrub',
      '--trust-browser-user-ids',
      'on',
    );
    expect(JSON.parse(on.stdout)).toEqual({ pii: 'scrub', trustBrowserUserIds: true });
    const off = await recsys('namespace', 'settings', 'trust-shop', '--trust-browser-user-ids', 'off');
    expect(JSON.parse(off.stdout)).toEqual({ pii: 'scrub', trustBrowserUserIds: false });
    const bad = await recsys('namespace', 'settings', 'trust-shop', '--trust-browser-user-ids', 'yes');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/use "on" or "off"/);
  });

  it('explains bad input and exits non-zero instead of crashing', async () => {
    const badNs = await recsys('namespace', 'create', 'Bad Name!');
    expect(badNs.code).toBe(2);
    expect(badNs.stderr).toMatch(/Namespace id "Bad Name!" is invalid: use 1-63 lowercase letters/);
    const noOrigin = await recsys('keys', 'create', '-n', 'cli-shop', '-k', 'publishable');
    expect(noOrigin.code).toBe(2);
    expect(noOrigin.stderr).toMatch(/needs at least one allowed origin/);
    const badKind = await recsys('keys', 'create', '-n', 'cli-shop', '-k', 'admin');
    expect(badKind.code).not.toBe(0);
    expect(badKind.stderr).toMatch(/use "secret" or "publishable"/);
    const missing = await recsys('keys', 'create', '-n', 'nope', '-k', 'secret');
    expect(missing.stderr).toMatch(/Namespace "nope" does not exist/);
  });
});
