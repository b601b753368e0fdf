import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../db/client';
import { createLogger } from '../obs/logger';
import { createBundleHandler, STABLE_CACHE_CONTROL, VERSIONED_CACHE_CONTROL } from './bundles';
import { createRecsysServer, type RecsysServer } from './server';

describe('the browser bundles under /static/', () => {
  const sdkDir = mkdtempSync(join(tmpdir(), 'recsys-bundles-sdk-'));
  const widgetsDir = mkdtempSync(join(tmpdir(), 'recsys-bundles-widgets-'));
  const full = `window.recsysFull = ${JSON.stringify('x'.repeat(5_000))};\n`;
  writeFileSync(join(sdkDir, 'recsys.js'), 'window.recsysLoaded = true;\n');
  writeFileSync(join(widgetsDir, 'recsys-full.js'), full);
  let server: RecsysServer;
  let url: string;
  let database: Awaited<ReturnType<typeof openDatabase>>;

  beforeAll(async () => {
    database = await openDatabase({ dataDir: 'memory://' });
    await database.migrate();
    server = createRecsysServer({
      database,
      log: createLogger({ level: 'silent' }),
      rateLimits: false,
      bundleDirs: [sdkDir, widgetsDir],
      // The demo storefront's own files share the /static/ prefix.
      fallback: (req, res) => {
        if (req.url !== '/static/shop.css') return false;
        res.end('body{}');
        return true;
      },
    });
    url = await server.listen(0);
  });
  afterAll(async () => {
    await server?.close();
    await database?.close();
    rmSync(sdkDir, { recursive: true, force: true });
    rmSync(widgetsDir, { recursive: true, force: true });
  });

  it('lists each bundle with a versioned URL and the integrity of its bytes in /static/manifest.json', async () => {
    const res = await fetch(`${url}/static/manifest.json`);
    expect(res.status).toBe(200);
    const manifest = (await res.json()) as Record<
      string,
      { url: string; versionedUrl: string; integrity: string }
    >;
    expect(Object.keys(manifest).sort()).toEqual(['recsys-full.js', 'recsys.js']);
    const sha384 = `sha384-${createHash('sha384').update(full).digest('base64')}`;
    expect(manifest['recsys-full.js']).toMatchObject({
      url: '/static/recsys-full.js',
      versionedUrl: expect.stringMatching(/^\/static\/recsys-full\.[0-9a-f]{12}\.js$/),
      integrity: sha384,
    });
  });

  it('serves a stable name with a short cache lifetime and a versioned name as immutable, same bytes', async () => {
    const manifest = (await (await fetch(`${url}/static/manifest.json`)).json()) as Record<
      string,
      { versionedUrl: string }
    >;
    const stable = await fetch(`${url}/static/recsys-full.js`);
    expect(stable.status).toBe(200);
    expect(stable.headers.get('cache-control')).toBe(STABLE_CACHE_CONTROL);
    expect(stable.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(stable.headers.get('access-control-allow-origin')).toBe('*');
    expect(await stable.text()).toBe(full);
    const versioned = await fetch(`${url}${manifest['recsys-full.js']!.versionedUrl}`);
    expect(versioned.status).toBe(200);
    expect(versioned.headers.get('cache-control')).toBe(VERSIONED_CACHE_CONTROL);
    expect(await versioned.text()).toBe(full);
  });

  it('answers 304 to a matching If-None-Match and gzip to a client that accepts it', async () => {
    const first = await fetch(`${url}/static/recsys.js`);
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^"[0-9a-f]{12}"$/);
    const again = await fetch(`${url}/static/recsys.js`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    // fetch decodes gzip itself; a raw request sees the encoded bytes.
    const raw = await new Promise<{ encoding: string | undefined; body: Buffer }>((resolve, reject) => {
      const target = new URL(`${url}/static/recsys-full.js`);
      import('node:http').then(({ get }) =>
        get(target, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ encoding: res.headers['content-encoding'], body: Buffer.concat(chunks) }),
          );
        }).on('error', reject),
      );
    });
    expect(raw.encoding).toBe('gzip');
    expect(raw.body.length).toBeLessThan(full.length / 10);
    expect(gunzipSync(raw.body).toString()).toBe(full);
  });

  it('leaves other /static/ names to the extra routes, and explains a missing bundle', async () => {
    const css = await fetch(`${url}/static/shop.css`);
    expect(await css.text()).toBe('body{}');
    const missing = await fetch(`${url}/static/recsys-track.js`);
    expect(missing.status).toBe(404);
    const body = (await missing.json()) as { error: { message: string } };
    expect(body.error.message).toContain('pnpm build');
    expect(body.error.message).toContain(sdkDir);
  });

  it('finds nothing in a folder without builds and declines the request', () => {
    const handler = createBundleHandler([join(sdkDir, 'nothing-here')]);
    expect(handler.bundles()).toEqual([]);
    const probe = createServer((req, res) => {
      if (!handler.handle(req, res, '/static/recsys.js')) res.writeHead(404).end();
    });
    return new Promise<void>((resolve, reject) => {
      probe.listen(0, '127.0.0.1', async () => {
        try {
          const { port } = probe.address() as AddressInfo;
          expect((await fetch(`http://127.0.0.1:${port}/static/recsys.js`)).status).toBe(404);
          resolve();
        } catch (error) {
          reject(error);
        } finally {
          probe.close();
        }
      });
    });
  });
});
