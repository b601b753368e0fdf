/**
 * The README's script-tag snippet, as written, in a real Chromium: the shop's page (its own origin)
 * loads `recsys-full.js` from the Recsys server's `/static/`, and the events it tracks arrive. The
 * pinned form `recsys serve` prints (versioned URL + integrity) works too, and a wrong integrity
 * is refused by the browser, so the hash is really checked.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApiKey, type Database } from '@recsys/server';
import { getTestDatabaseTargets, startTestServer } from '@recsys/server/testing';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { browserAvailability, launchBrowser } from './helpers/browser';

const { available, reason } = browserAvailability();
if (!available) console.warn(reason);

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const NAMESPACE = 'snippet';
/** The README's placeholders, replaced by this test's server and key. */
const README_ENDPOINT = 'https://recs.example.com';
const README_KEY = 'pk_…';

/** The stub and script tag from the README's "In the browser" block, exactly as printed there. */
function readmeSnippet(): string {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## In the browser'));
  const block = /```html\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error('README.md: no html block in "In the browser"');
  const lines = block.split('\n');
  const tag = lines.findIndex((l) => l.includes('/static/recsys-full.js'));
  if (tag < 0) throw new Error('README.md: the html block has no /static/recsys-full.js script tag');
  return lines.slice(0, tag + 1).join('\n');
}

function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

/** `pnpm build` of the SDK and the widgets when their bundles are missing or older than the source. */
function ensureBundlesBuilt(): void {
  for (const [pkg, file] of [
    ['sdk', 'recsys.js'],
    ['widgets', 'recsys-full.js'],
  ] as const) {
    const bundle = join(repoRoot, pkg, 'dist', file);
    const stale = !existsSync(bundle) || statSync(bundle).mtimeMs < newest(join(repoRoot, pkg, 'src'));
    if (stale)
      execFileSync('pnpm', ['--filter', `@recsys/${pkg}`, 'build'], { cwd: repoRoot, stdio: 'pipe' });
  }
}

describe.skipIf(!available)("the README's script tag, served by the Recsys server, in Chromium", () => {
  let database: Database & { drop(): Promise<void> };
  let stack: Awaited<ReturnType<typeof startTestServer>>;
  let browser: Browser;
  let shop: ReturnType<typeof createServer>;
  let shopUrl = '';
  let key = '';
  /** The head of the shop's page, per path. */
  const pages = new Map<string, string>();

  beforeAll(async () => {
    ensureBundlesBuilt();
    database = await getTestDatabaseTargets()[0]!.open();
    stack = await startTestServer(database);
    await stack.tenant(NAMESPACE);
    shop = createServer((req: IncomingMessage, res: ServerResponse) => {
      const head = pages.get(req.url ?? '');
      if (head === undefined) return res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title>
${head}
</head><body><h1>Shop</h1></body></html>`);
    });
    await new Promise<void>((resolve) => shop.listen(0, '127.0.0.1', resolve));
    // `localhost` vs the API's `127.0.0.1`: another origin, as on a customer's site.
    shopUrl = `http://localhost:${(shop.address() as AddressInfo).port}`;
    key = (await createApiKey(database, NAMESPACE, { kind: 'publishable', allowedOrigins: [shopUrl] })).key;
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => (shop ? shop.close(() => resolve()) : resolve()));
    await stack?.close();
    await database?.drop();
  });

  /** Opens `path` of the shop whose head is `head` and calls `recsys.view(itemId)` as the README does. */
  async function visit(path: string, head: string, itemId: string) {
    pages.set(path, `${head}\n<script>recsys.view(${JSON.stringify(itemId)});</script>`);
    const context = await browser.newContext();
    const page = await context.newPage();
    const consoleErrors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    await page.goto(`${shopUrl}${path}`);
    return { context, page, consoleErrors };
  }

  const viewsOf = (itemId: string) =>
    database.query<{ type: string }>(`SELECT type FROM events WHERE namespace_id = $1 AND item_id = $2`, [
      NAMESPACE,
      itemId,
    ]);

  it('loads /static/recsys-full.js from the snippet as written and delivers a view event', async () => {
    const snippet = readmeSnippet();
    expect(snippet).toContain(`${README_ENDPOINT}/static/recsys-full.js`);
    const head = snippet.replaceAll(README_ENDPOINT, stack.url).replaceAll(README_KEY, key);
    const { context, page } = await visit('/as-written', head, 'sku-readme');
    try {
      await page.waitForFunction(() => !Array.isArray((window as unknown as { recsys: unknown }).recsys));
      await vi.waitFor(async () => expect(await viewsOf('sku-readme')).toEqual([{ type: 'view' }]), {
        timeout: 240_000,
        interval: 200,
      });
    } finally {
      await context.close();
    }
  });

  it('loads the pinned tag (versioned URL and integrity from /static/manifest.json) and delivers an event', async () => {
    const manifest = (await (await fetch(`${stack.url}/static/manifest.json`)).json()) as Record<
      string,
      { versionedUrl: string; integrity: string }
    >;
    const full = manifest['recsys-full.js']!;
    const stub = readmeSnippet().split('\n')[0]!;
    const tag = `<script async src="${stack.url}${full.versionedUrl}" integrity="${full.integrity}" crossorigin="anonymous" data-key="${key}" data-endpoint="${stack.url}"></script>`;
    const { context, page } = await visit('/pinned', `${stub}\n${tag}`, 'sku-pinned');
    try {
      await page.waitForFunction(() => !Array.isArray((window as unknown as { recsys: unknown }).recsys));
      await vi.waitFor(async () => expect(await viewsOf('sku-pinned')).toEqual([{ type: 'view' }]), {
        timeout: 240_000,
        interval: 200,
      });
    } finally {
      await context.close();
    }
  });

  it('refuses the script when its integrity does not match, so the hash is really checked', async () => {
    const manifest = (await (await fetch(`${stack.url}/static/manifest.json`)).json()) as Record<
      string,
      { versionedUrl: string; integrity: string }
    >;
    const wrong = manifest['recsys.js']!.integrity; // another file's hash
    const tag = `<script src="${stack.url}${manifest['recsys-full.js']!.versionedUrl}" integrity="${wrong}" crossorigin="anonymous" data-key="${key}" data-endpoint="${stack.url}"></script>`;
    const stub = readmeSnippet().split('\n')[0]!;
    const { context, page, consoleErrors } = await visit('/tampered', `${stub}\n${tag}`, 'sku-tampered');
    try {
      await vi.waitFor(() => expect(consoleErrors.join('\n')).toMatch(/integrity/i), { timeout: 240_000 });
      // The stub stays a queue: the SDK never ran.
      expect(
        await page.evaluate(() => Array.isArray((window as unknown as { recsys: unknown }).recsys)),
      ).toBe(true);
    } finally {
      await context.close();
    }
  });
});
