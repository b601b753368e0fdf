/**
 * The script-tag SDK in a real Chromium against a real Recsys server and database.
 *
 * The shop (pages + the SDK file) and the API run on different origins, so every
 * event crosses origins exactly as on a customer's site: CORS, `text/plain`
 * collection without preflight, keepalive/beacon on page hide, a preflighted
 * `users.alias`. Nothing in the page is stubbed; outages are real closed ports.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LOADER_SNIPPET, type Tracker, type TrackerOptions } from '@recsys/sdk';
import { signUserToken } from '@recsys/sdk/node';
import { createApiKey, createLogger, createRecsysServer, type Database } from '@recsys/server';
import { getTestDatabaseTargets, startTestServer, type TestTenant } from '@recsys/server/testing';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { launchBrowser } from './helpers/browser';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium && process.env.CI === 'true') {
  throw new Error(`${CHROMIUM} is missing: the real-browser SDK tests must run in CI (install chromium).`);
}
if (!hasChromium) console.warn(`sdkBrowser.test.ts skipped: no Chromium at ${CHROMIUM}`);

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const fixtures = fileURLToPath(new URL('./sdk-fixtures/', import.meta.url));
const sdkDir = dirname(createRequire(import.meta.url).resolve('@recsys/sdk/package.json'));
const sdkScript = join(sdkDir, 'dist', 'recsys.js');
const NAMESPACE = 'sdk-browser';
/** The namespace's keys; its secret key signs user tokens as a shop's backend would. */
let tenant: TestTenant;
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** Deadline for anything the browser sends in the background. */
const DELIVERY = { timeout: 60_000, interval: 100 };

/** Options the shop pages pass with `recsys.push(['init', …])`; plain JSON only. */
type PageOptions = Pick<TrackerOptions, 'flushInterval' | 'retry'>;

interface StoredEvent extends Record<string, unknown> {
  event_id: string;
  type: string;
  item_id: string | null;
  user_id: string | null;
  anonymous_id: string | null;
  session_id: string | null;
  value: number | null;
  meta: Record<string, unknown>;
}

/** The newest mtime of the shipped source under `dir`: the script must be rebuilt when it changed. */
function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'testing') newest = Math.max(newest, newestSource(path));
    } else if (!entry.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function ensureSdkBuilt(): void {
  if (existsSync(sdkScript) && statSync(sdkScript).mtimeMs >= newestSource(join(sdkDir, 'src'))) return;
  execFileSync('pnpm', ['--filter', '@recsys/sdk', 'build'], { cwd: repoRoot, stdio: 'pipe' });
}

/**
 * The shop: a separate origin serving its pages and the SDK file, like a storefront
 * that self-hosts `recsys.js` and points `data-endpoint` at the Recsys API.
 */
async function startShop(config: { key: string; endpoint: string; options: PageOptions }) {
  const page = (name: string) => {
    const html = readFileSync(join(fixtures, name), 'utf8');
    // The options land inside a <script>: never let them close it.
    const options = JSON.stringify(config.options).replace(/</g, '\\u003c');
    const stub = `<script>${LOADER_SNIPPET}</script>\n    <script>recsys.push(['init', ${options}]);</script>`;
    return html
      .replace('<!-- recsys:stub -->', stub)
      .replaceAll('{{RECSYS_KEY}}', config.key)
      .replaceAll('{{RECSYS_ENDPOINT}}', config.endpoint);
  };
  const send = (res: ServerResponse, status: number, type: string, body: string) => {
    res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
    res.end(body);
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://shop').pathname;
    if (path === '/') return send(res, 200, 'text/html; charset=utf-8', page('index.html'));
    if (/^\/p\/[\w-]+$/.test(path)) return send(res, 200, 'text/html; charset=utf-8', page('product.html'));
    if (path === '/assets/recsys.js') {
      return send(res, 200, 'text/javascript; charset=utf-8', readFileSync(sdkScript, 'utf8'));
    }
    send(res, 404, 'text/plain', 'not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    // `localhost` vs the API's `127.0.0.1`: a different origin, still a secure context.
    url: `http://localhost:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

describe.skipIf(!hasChromium)('the script-tag SDK in Chromium against a real Recsys server', () => {
  let database: Database & { drop(): Promise<void> };
  /** The running API; `undefined` while a test has taken it down. */
  let api: { close(): Promise<void> } | undefined;
  let apiUrl = '';
  let apiPort = 0;
  let browser: Browser;
  let shop: Awaited<ReturnType<typeof startShop>>;
  const shopConfig = { key: '', endpoint: '', options: {} as PageOptions };
  let context: BrowserContext | undefined;
  let pageErrors: string[] = [];

  beforeAll(async () => {
    ensureSdkBuilt();
    database = await getTestDatabaseTargets()[0]!.open();
    const started = await startTestServer(database, { engine: { encoder: null } });
    api = started;
    apiUrl = started.url;
    apiPort = Number(new URL(started.url).port);
    tenant = await started.tenant(NAMESPACE);
    shop = await startShop(shopConfig);
    const key = await createApiKey(database, NAMESPACE, { kind: 'publishable', allowedOrigins: [shop.url] });
    shopConfig.key = key.key;
    shopConfig.endpoint = apiUrl;
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await shop?.close();
    await api?.close();
    await database?.drop();
  });

  afterEach(async () => {
    await context?.close();
    context = undefined;
    if (!api) await restartApi(); // a failed outage test must not leave the next test without an API
    expect(pageErrors, 'uncaught errors in the page').toEqual([]);
  });

  /** A fresh visitor: new browser profile state (cookies, storage), one tab. */
  async function newVisitor(options: PageOptions): Promise<Page> {
    shopConfig.options = options;
    pageErrors = [];
    context = await browser.newContext();
    const page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    return page;
  }

  /** Resolves once the SDK replaced the stub (the async script ran and replayed the queue). */
  async function sdkLoaded(page: Page): Promise<void> {
    await page.waitForFunction(() => !Array.isArray((window as unknown as { recsys: unknown }).recsys));
  }

  function getIds(page: Page) {
    return page.evaluate(() => (window as unknown as { recsys: Tracker }).recsys.getIds());
  }

  /**
   * Event ids in every persisted queue of this profile (`rsys_q_<tabId>` in localStorage, see the
   * SDK README). A fresh context has one tab, so these are the events its pages still have to send.
   */
  function storedQueue(page: Page): Promise<string[]> {
    return page.evaluate(() =>
      Object.keys(localStorage)
        .filter((k) => k.startsWith('rsys_q_'))
        .flatMap(
          (k) => (JSON.parse(localStorage.getItem(k) ?? '{"e":[]}') as { e: Array<{ eventId: string }> }).e,
        )
        .map((e) => e.eventId),
    );
  }

  function eventsOf(anonymousId: string): Promise<StoredEvent[]> {
    return database.query<StoredEvent>(
      `SELECT event_id, type, item_id, user_id, anonymous_id, session_id, value, meta
         FROM events WHERE namespace_id = $1 AND anonymous_id = $2 ORDER BY ts, event_id`,
      [NAMESPACE, anonymousId],
    );
  }

  /** `type:itemId` of each stored event, sorted: order within one millisecond is not meaningful. */
  const kinds = (rows: StoredEvent[]) => rows.map((r) => `${r.type}:${r.item_id ?? ''}`).sort();

  /** Brings a server up again on the same port over the same database (the page keeps its endpoint). */
  async function restartApi(): Promise<void> {
    const server = createRecsysServer({ database, log: createLogger({ level: 'silent' }) });
    await server.listen(apiPort);
    api = server;
  }

  async function takeApiDown(): Promise<void> {
    await api?.close();
    api = undefined;
  }

  it('stores events with the ids the page reports, across pages, and links the user on identify', async () => {
    const page = await newVisitor({ flushInterval: 100 });
    await page.goto(`${shop.url}/`);
    await sdkLoaded(page);
    const home = await getIds(page);
    expect(home.anonymousId).toMatch(UUID_V4);
    expect(home.sessionId).toMatch(UUID_V4);

    await page.click('#sku-1');
    await page.waitForURL('**/p/sku-1');
    await sdkLoaded(page);
    expect(
      await page.evaluate(() => (window as unknown as { viewQueuedByStub: boolean }).viewQueuedByStub),
    ).toBe(true);
    const ids = await getIds(page);
    expect(ids).toEqual({ anonymousId: home.anonymousId, sessionId: home.sessionId });
    const anonymousId = ids.anonymousId ?? '';
    await page.click('#add-to-cart');

    const rows = await vi.waitFor(async () => {
      const stored = await eventsOf(anonymousId);
      expect(kinds(stored)).toEqual(['add:sku-1', 'view:sku-1']);
      return stored;
    }, DELIVERY);
    for (const row of rows) {
      expect(row.event_id).toMatch(UUID_V4);
      expect(row).toMatchObject({ anonymous_id: anonymousId, session_id: ids.sessionId, user_id: null });
      expect(row.meta).toMatchObject({ url: `${shop.url}/p/sku-1`, referrer: `${shop.url}/` });
    }
    expect(new Set(rows.map((r) => r.event_id)).size).toBe(rows.length);
    const add = rows.find((r) => r.type === 'add');
    expect(add).toMatchObject({ value: 2, meta: { unitPrice: 19.9, currency: 'EUR' } });

    // the token the shop's backend signs at sign-in and hands to the page
    const token = signUserToken({ secretKey: tenant.secretKey, userId: 'user-42' });
    await page.evaluate((t) => {
      const recsys = (window as unknown as { recsys: Tracker }).recsys;
      recsys.identify('user-42', { tier: 'gold' }, { token: t });
      recsys.click('sku-2');
    }, token);
    expect(await getIds(page)).toEqual({ ...ids, userId: 'user-42' });
    await vi.waitFor(async () => {
      const aliases = await database.query<{ user_id: string }>(
        'SELECT user_id FROM aliases WHERE namespace_id = $1 AND anonymous_id = $2',
        [NAMESPACE, anonymousId],
      );
      expect(aliases).toEqual([{ user_id: 'user-42' }]);
    }, DELIVERY);
    const all = await vi.waitFor(async () => {
      const stored = await eventsOf(anonymousId);
      expect(kinds(stored)).toEqual(['add:sku-1', 'click:sku-2', 'custom:', 'view:sku-1']);
      return stored;
    }, DELIVERY);
    const later = all.filter((r) => !rows.some((r0) => r0.event_id === r.event_id));
    for (const row of later) {
      expect(row).toMatchObject({ user_id: 'user-42', anonymous_id: anonymousId, session_id: ids.sessionId });
    }
    expect(later.find((r) => r.type === 'custom')?.meta).toMatchObject({ name: 'identify', tier: 'gold' });
    expect(new Set(all.map((r) => r.event_id)).size).toBe(4);
  });

  it('delivers an add-to-cart made right before the tab is closed', async () => {
    // No timer flush for a minute: only the page going away can send these events.
    const page = await newVisitor({ flushInterval: 60_000 });
    await page.goto(`${shop.url}/p/sku-2`);
    await sdkLoaded(page);
    const { anonymousId = '' } = await getIds(page);
    expect(await eventsOf(anonymousId)).toEqual([]);

    await page.click('#add-to-cart');
    await page.close({ runBeforeUnload: true });

    await vi.waitFor(async () => {
      const stored = await eventsOf(anonymousId);
      expect(kinds(stored)).toEqual(['add:sku-2', 'view:sku-2']);
      expect(stored.find((r) => r.type === 'add')?.value).toBe(2);
    }, DELIVERY);
  });

  it('delivers an add-to-cart made right before navigating to another site', async () => {
    const page = await newVisitor({ flushInterval: 60_000 });
    await page.goto(`${shop.url}/p/sku-3`);
    await sdkLoaded(page);
    const { anonymousId = '' } = await getIds(page);
    expect(await eventsOf(anonymousId)).toEqual([]);

    await page.click('#add-to-cart');
    await page.goto(`${apiUrl}/healthz`);

    await vi.waitFor(async () => {
      expect(kinds(await eventsOf(anonymousId))).toEqual(['add:sku-3', 'view:sku-3']);
    }, DELIVERY);
  });

  it('refuses events from a page on an origin the publishable key does not allow', async () => {
    const page = await newVisitor({ flushInterval: 100 });
    const warnings: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'warning') warnings.push(message.text());
    });
    // Same shop server, reached as 127.0.0.1: another origin than the `localhost` one the key allows.
    await page.goto(`${shop.url.replace('localhost', '127.0.0.1')}/p/sku-9`);
    await sdkLoaded(page);
    const { anonymousId = '' } = await getIds(page);
    // The SDK drops a batch the server refused with 403 (never retried) and says so once.
    await vi.waitFor(async () => {
      expect(warnings.join('\n')).toContain('HTTP 403');
      expect(await storedQueue(page)).toEqual([]);
    }, DELIVERY);
    expect(await eventsOf(anonymousId)).toEqual([]);
  });

  /**
   * Takes the API down after the page's first event arrived, makes three more
   * events fail (retried with a short backoff), optionally reloads the page
   * while the API is still down, then brings the API back on the same port.
   */
  async function outage(reloadWhileDown: boolean): Promise<void> {
    const page = await newVisitor({ flushInterval: 100, retry: { baseDelay: 100, maxDelay: 400 } });
    let failedPosts = 0;
    page.on('requestfailed', (request) => {
      if (request.url().startsWith(`${apiUrl}/v1/collect`)) failedPosts++;
    });
    await page.goto(`${shop.url}/p/sku-4`);
    await sdkLoaded(page);
    const { anonymousId = '' } = await getIds(page);
    const [first] = await vi.waitFor(async () => {
      const stored = await eventsOf(anonymousId);
      expect(kinds(stored)).toEqual(['view:sku-4']);
      return stored;
    }, DELIVERY);
    // Also wait for the page to have seen the acknowledgement, or closing the API could cut it off.
    await vi.waitFor(async () => expect(await storedQueue(page)).toEqual([]), DELIVERY);

    await takeApiDown();
    await page.click('#add-to-cart');
    await page.evaluate(() => {
      const recsys = (window as unknown as { recsys: Tracker }).recsys;
      recsys.custom('wishlist', { itemId: 'sku-4' });
      recsys.view('sku-5');
    });
    // Several failed attempts: the batch is being retried, not given up on.
    await vi.waitFor(() => expect(failedPosts).toBeGreaterThanOrEqual(3), DELIVERY);
    const generated = await storedQueue(page);
    expect(generated).toHaveLength(3);

    if (reloadWhileDown) {
      await page.reload();
      await sdkLoaded(page);
      // The reloaded page replayed its own view from the stub; what the old page queued must still be stored.
      const queued = await storedQueue(page);
      expect(queued, 'events queued before the reload are still stored for delivery').toEqual(
        expect.arrayContaining(generated),
      );
      expect(queued).toHaveLength(4);
      generated.splice(0, generated.length, ...queued);
      expect((await getIds(page)).anonymousId).toBe(anonymousId);
    }
    expect(await eventsOf(anonymousId)).toHaveLength(1);

    await restartApi();
    const expected = reloadWhileDown
      ? ['add:sku-4', 'custom:sku-4', 'view:sku-4', 'view:sku-4', 'view:sku-5']
      : ['add:sku-4', 'custom:sku-4', 'view:sku-4', 'view:sku-5'];
    await vi.waitFor(async () => {
      expect(kinds(await eventsOf(anonymousId))).toEqual(expected);
      expect(await storedQueue(page)).toEqual([]);
    }, DELIVERY);
    // Once the page saw every acknowledgement, nothing else may arrive: each event exactly once.
    const stored = await eventsOf(anonymousId);
    expect(stored.map((r) => r.event_id).sort()).toEqual([first?.event_id, ...generated].sort());
  }

  it('delivers events made while the API was down once it is back, each exactly once', async () => {
    await outage(false);
  });

  it('keeps events made while the API was down across a reload and delivers them once it is back', async () => {
    await outage(true);
  });
});
