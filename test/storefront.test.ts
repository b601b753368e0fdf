import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningStorefront, startStorefront } from '@recsys/storefront';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  browserAvailability,
  describeViolations,
  launchBrowser,
  type PageWatch,
  runAxe,
  saveScreenshot,
  watchContext,
  widgetItems,
  widgetsSettled,
} from './helpers/browser';

const browserCheck = browserAvailability();
if (!browserCheck.available) console.log(browserCheck.reason);

type EventMeta = Record<string, unknown>;

describe.skipIf(!browserCheck.available)('demo storefront in a real browser', () => {
  let dataDir: string;
  let shop: RunningStorefront;
  let browser: Browser;
  let context: BrowserContext;
  let watch: PageWatch;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'recsys-storefront-'));
    [shop, browser] = await Promise.all([
      startStorefront({ port: 0, dataDir, databaseUrl: null }),
      launchBrowser(),
    ]);
  });

  afterAll(async () => {
    await browser?.close();
    await shop?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  /** A fresh visitor: new cookies and storage, every request and error recorded. */
  async function visitor(): Promise<Page> {
    context = await browser.newContext({ baseURL: shop.url, viewport: { width: 1280, height: 900 } });
    watch = watchContext(context, new URL(shop.url).origin);
    return context.newPage();
  }

  afterEach(async () => {
    await context?.close();
    expect(watch.foreignRequests, 'requests that left the local server').toEqual([]);
    expect(watch.errors, 'page errors and console errors').toEqual([]);
  });

  /** Waits for the widgets, checks accessibility and keeps a screenshot. */
  async function checkPage(page: Page, name: string) {
    await widgetsSettled(page);
    const violations = await runAxe(page);
    expect(violations, describeViolations(violations)).toEqual([]);
    await saveScreenshot(page, name);
  }

  /**
   * Reloads the page until its buy-again shelf lists `itemIds`: the order has then reached the engine,
   * which applies new events within about a second.
   */
  async function untilBuyAgainShows(page: Page, itemIds: string[]) {
    await expect
      .poll(
        async () => {
          await page.reload();
          return widgetItems(page, '[data-recsys-widget="buy-again"]').catch(() => []);
        },
        { timeout: 60_000, interval: 500 },
      )
      .toEqual(expect.arrayContaining(itemIds));
  }

  /** The largest number of items of one brand in a list. */
  function mostOfOneBrand(ids: string[]): number {
    const counts = new Map<string, number>();
    for (const id of ids) {
      const brand = shop.catalog.products.get(id)?.brand;
      if (brand) counts.set(brand, (counts.get(brand) ?? 0) + 1);
    }
    return Math.max(0, ...counts.values());
  }

  function firstAvailable(category: string) {
    const product = shop.catalog.byCategory.get(category)?.find((p) => p.available);
    if (!product) throw new Error(`The demo catalog has no available product in ${category}.`);
    return product;
  }

  it('shows top picks, trending items and categories on the home page', async () => {
    const page = await visitor();
    await page.goto('/');
    const picks = await widgetItems(page, '[data-recsys-widget="for-user"]');
    expect(picks.length).toBeGreaterThanOrEqual(4);
    for (const id of picks) expect(shop.catalog.products.has(id)).toBe(true);
    const trending = await widgetItems(page, '[data-recsys-widget="trending"]');
    expect(trending.length).toBeGreaterThanOrEqual(4);
    // No shelf is a wall of one brand.
    expect(mostOfOneBrand(picks)).toBeLessThanOrEqual(3);
    expect(mostOfOneBrand(trending)).toBeLessThanOrEqual(3);
    await expect
      .poll(() =>
        page
          .locator('.recsys-item img')
          .first()
          .evaluate((img: HTMLImageElement) => img.naturalWidth),
      )
      .toBeGreaterThan(0);
    await checkPage(page, 'home');
  });

  it('lists a category with its trending items', async () => {
    const page = await visitor();
    await page.goto('/c/shoes');
    const trending = await widgetItems(page, '[data-recsys-widget="trending"]');
    expect(trending.length).toBeGreaterThan(0);
    for (const id of trending) expect(shop.catalog.products.get(id)?.category).toBe('shoes');
    expect(await page.locator('.grid .card').count()).toBe(24);
    await checkPage(page, 'category');
    // A shop that writes the category as it is displayed gets the same shelf.
    await page.evaluate(() => {
      const el = document.createElement('div');
      el.id = 'cased';
      el.dataset.recsysWidget = 'trending';
      el.dataset.category = 'Shoes';
      el.dataset.title = 'Trending in Shoes';
      document.querySelector('main')?.append(el);
    });
    const cased = await widgetItems(page, '#cased');
    expect(cased.length).toBeGreaterThan(0);
    for (const id of cased) expect(shop.catalog.products.get(id)?.category).toBe('shoes');
  });

  it('shows similar items on a product page, never the product itself, and records the view', async () => {
    const product = firstAvailable('coffee');
    const page = await visitor();
    const viewSent = page.waitForRequest(
      (r) => r.url().includes('/v1/collect') && (r.postData() ?? '').includes(`"itemId":"${product.itemId}"`),
    );
    await page.goto(`/p/${product.itemId}`);
    await expect.poll(() => page.locator('h1').textContent()).toBe(product.title);
    const similar = await widgetItems(page, '[data-recsys-widget="similar"]');
    expect(similar.length).toBeGreaterThanOrEqual(4);
    expect(similar).not.toContain(product.itemId);
    // Text and behaviour both point inside the category for most neighbours.
    const sameCategory = similar.filter((id) => shop.catalog.products.get(id)?.category === 'coffee');
    expect(sameCategory.length).toBeGreaterThanOrEqual(Math.ceil(similar.length / 2));
    await viewSent;
    await checkPage(page, 'product');
  });

  it('turns browsing into recently viewed items and top picks from the browsed category', async () => {
    const page = await visitor();
    await page.goto('/');
    const coldPicks = await widgetItems(page, '[data-recsys-widget="for-user"]');
    const toys = (shop.catalog.byCategory.get('toys') ?? []).filter((p) => p.available).slice(0, 3);
    for (const product of toys) {
      await page.goto(`/p/${product.itemId}`);
      await widgetsSettled(page);
    }
    const viewed = toys.map((p) => p.itemId);
    const isToy = (id: string) => shop.catalog.products.get(id)?.category === 'toys';
    // Views leave with the page (keepalive); the engine applies them within about a second.
    await expect
      .poll(
        async () => {
          await page.goto('/');
          return widgetItems(page, '[data-recsys-widget="recently-viewed"]').catch(() => []);
        },
        { timeout: 60_000, interval: 500 },
      )
      .toEqual(expect.arrayContaining(viewed));
    const picks = await widgetItems(page, '[data-recsys-widget="for-user"]');
    expect(picks).not.toEqual(coldPicks);
    expect(picks.filter(isToy).length).toBeGreaterThan(coldPicks.filter(isToy).length);
    // Back on a browsed product, "recently viewed" shows the others, not the product itself.
    await page.goto(`/p/${viewed[1]}`);
    const onProduct = await widgetItems(page, '[data-recsys-widget="recently-viewed"]');
    expect(onProduct).not.toContain(viewed[1]);
    expect(onProduct).toEqual(expect.arrayContaining([viewed[0], viewed[2]]));
  });

  it('records a click on a recommendation with its requestId and rank', async () => {
    const product = firstAvailable('audio');
    const page = await visitor();
    const served = page.waitForResponse((r) => r.url().includes('/trpc/recs.similar'));
    await page.goto(`/p/${product.itemId}`);
    const body = (await (await served).json()) as { result: { data: { requestId: string } } };
    const requestId = body.result.data.requestId;
    const similar = await widgetItems(page, '[data-recsys-widget="similar"]');
    const clicked = similar[1];
    if (!clicked) throw new Error('The similar widget showed fewer than two items.');

    const clickSent = page.waitForRequest(
      (r) => r.url().includes('/v1/collect') && (r.postData() ?? '').includes('"type":"click"'),
    );
    await page.locator('[data-recsys-widget="similar"] li.recsys-item a').nth(1).click();
    await page.waitForURL(`**/p/${clicked}`);
    await clickSent;

    let meta: EventMeta | undefined;
    await expect
      .poll(
        async () => {
          const { events } = await shop.api.events.list.query({ type: 'click', itemId: clicked, limit: 20 });
          meta = events.map((e) => e.meta as EventMeta).find((m) => m.requestId === requestId);
          return meta !== undefined;
        },
        { timeout: 60_000 },
      )
      .toBe(true);
    expect(meta).toMatchObject({ requestId, rank: 2, recommended: true, widget: 'pdp-similar' });
  });

  it('offers a bundle on a product page; "Add all to cart" fills the cart with adds attributed to the bundle', async () => {
    // A product the demo history gives a bundle (bought with other items often enough).
    let product: { itemId: string; title: string } | undefined;
    for (const p of [...shop.catalog.products.values()].filter((p) => p.available).slice(0, 300)) {
      if ((await shop.api.recs.bundle.query({ itemId: p.itemId })).items.length >= 2) {
        product = p;
        break;
      }
    }
    if (!product) throw new Error('No product of the demo catalog has a bundle.');
    const page = await visitor();
    await page.goto(`/p/${product.itemId}`);
    const bundle = '[data-recsys-widget="bundle"]';
    await page.waitForFunction(
      (sel) => document.querySelector(sel)?.getAttribute('data-recsys-status') === 'ready',
      bundle,
    );
    const items = await page
      .locator(`${bundle} li.recsys-bundle-item`)
      .evaluateAll((lis) => lis.map((li) => li.getAttribute('data-item-id') ?? ''));
    expect(items[0]).toBe(product.itemId);
    expect(items.length).toBeGreaterThanOrEqual(2);
    expect(items.length).toBeLessThanOrEqual(4);
    const requestId = await page.locator(`${bundle} section`).getAttribute('data-request-id');
    expect(await page.locator(`${bundle} h2`).textContent()).toBe('Frequently bought together');
    await checkPage(page, 'product-bundle');

    await page.getByRole('button', { name: `Add all ${items.length} to cart` }).click();
    await expect.poll(() => page.locator('[data-cart-count]').textContent()).toBe(String(items.length));
    await page.goto('/cart');
    await expect.poll(() => page.locator('[data-cart-line]').count()).toBe(items.length);

    await expect
      .poll(
        async () => {
          const { events } = await shop.api.events.list.query({ type: 'add', limit: 100 });
          return events
            .filter((e) => (e.meta as EventMeta).requestId === requestId)
            .map((e) => [e.itemId, (e.meta as EventMeta).widget])
            .sort();
        },
        { timeout: 60_000 },
      )
      .toEqual(items.map((id) => [id, 'pdp-bundle']).sort());
  });

  it('adds to the cart and the cart widget follows the cart contents', async () => {
    const first = firstAvailable('shoes');
    const second = firstAvailable('kitchen');
    const page = await visitor();
    const cartWidget = '[data-cart-recs] [data-recsys-widget="cart"]';

    await page.goto(`/p/${first.itemId}`);
    await widgetsSettled(page);
    expect(await page.locator(cartWidget).count()).toBe(0);
    const addSent = page.waitForRequest(
      (r) => r.url().includes('/v1/collect') && (r.postData() ?? '').includes('"type":"add"'),
    );
    await page.getByRole('button', { name: 'Add to cart' }).click();
    await expect.poll(() => page.locator('[data-cart-count]').textContent()).toBe('1');
    const withFirst = await widgetItems(page, cartWidget);
    expect(withFirst.length).toBeGreaterThan(0);
    expect(withFirst).not.toContain(first.itemId);
    await addSent;

    await page.goto(`/p/${second.itemId}`);
    await page.getByRole('button', { name: 'Add to cart' }).click();
    await expect.poll(() => page.locator('[data-cart-count]').textContent()).toBe('2');

    await page.goto('/cart');
    await expect.poll(() => page.locator('[data-cart-line]').count()).toBe(2);
    await expect
      .poll(() => page.locator(cartWidget).getAttribute('data-item-ids'))
      .toBe(`${first.itemId},${second.itemId}`);
    const withBoth = await widgetItems(page, cartWidget);
    expect(withBoth.length).toBeGreaterThan(0);
    expect(withBoth).not.toContain(first.itemId);
    expect(withBoth).not.toContain(second.itemId);
    expect(withBoth).not.toEqual(withFirst);
    await checkPage(page, 'cart');

    // Removing a line re-renders the widget for what is left.
    await page.getByRole('button', { name: 'Remove' }).first().click();
    await expect.poll(() => page.locator(cartWidget).getAttribute('data-item-ids')).toBe(second.itemId);
    const withSecond = await widgetItems(page, cartWidget);
    expect(withSecond).not.toContain(second.itemId);
  });

  it('places an order that appears in the order history and in buy again', async () => {
    const product = firstAvailable('pets');
    const page = await visitor();
    await page.goto(`/p/${product.itemId}`);
    await page.getByRole('button', { name: 'Add to cart' }).click();
    await expect.poll(() => page.locator('[data-cart-count]').textContent()).toBe('1');
    await page.goto('/checkout');
    await expect.poll(() => page.locator('[data-checkout-summary] li').count()).toBe(1);
    await checkPage(page, 'checkout');

    await page.getByRole('button', { name: 'Place order' }).click();
    await page.waitForURL(/\/orders\?placed=/);
    const orderId = new URL(page.url()).searchParams.get('placed');
    await expect
      .poll(() => page.locator(`[data-order-id="${orderId}"]`).textContent())
      .toContain(product.title);
    await expect.poll(() => page.locator('[data-cart-count]').textContent()).toBe('0');

    const { events } = await shop.api.events.list.query({ type: 'custom', limit: 50 });
    const order = events.find((e) => (e.meta as EventMeta).orderId === orderId);
    expect(order?.meta).toMatchObject({ name: 'order', orderId, total: product.price });

    await untilBuyAgainShows(page, [product.itemId]);
    await checkPage(page, 'orders');
  });

  it('keeps one order out of Trending now, and what was just bought out of top picks', async () => {
    const page = await visitor();
    await page.goto('/');
    const trendingBefore = await widgetItems(page, '[data-recsys-widget="trending"]');
    const pick = (category: string) => {
      const product = shop.catalog.byCategory
        .get(category)
        ?.find((p) => p.available && !trendingBefore.includes(p.itemId));
      if (!product) throw new Error(`No available, non-trending product in ${category}.`);
      return product;
    };
    const bought = [pick('outdoor'), pick('kitchen')];
    for (const [n, product] of bought.entries()) {
      await page.goto(`/p/${product.itemId}`);
      await page.getByRole('button', { name: 'Add to cart' }).click();
      await expect.poll(() => page.locator('[data-cart-count]').textContent()).toBe(String(n + 1));
    }
    await page.goto('/checkout');
    await page.getByRole('button', { name: 'Place order' }).click();
    await page.waitForURL(/\/orders\?placed=/);
    await untilBuyAgainShows(
      page,
      bought.map((p) => p.itemId),
    );
    await page.goto('/');
    const trending = await widgetItems(page, '[data-recsys-widget="trending"]');
    const picks = await widgetItems(page, '[data-recsys-widget="for-user"]');
    for (const product of bought) {
      expect(trending, 'one order does not make an item trend').not.toContain(product.itemId);
      expect(picks, 'just-bought items stay out of top picks').not.toContain(product.itemId);
    }
  });

  it('signs in as a demo customer, links the visitor and shows their history', async () => {
    const page = await visitor();
    await page.goto('/signin');
    await checkPage(page, 'signin');
    const button = page.locator('button.user-button').first();
    const userId = (await button.getAttribute('value')) ?? '';
    const aliased = page.waitForRequest((r) => r.url().includes('/trpc/users.alias'));
    await button.click();
    await page.waitForURL(shop.url + '/');
    await expect.poll(() => page.locator('[data-signed-in]').textContent()).toBe(userId);
    expect(JSON.parse((await aliased).postData() ?? '{}')).toMatchObject({ userId });
    // linked with the user token the shop's server signed for the page
    expect((await (await aliased).response())?.status()).toBe(200);
    expect((await aliased).headers()['x-recsys-user-token']).toMatch(/^ut1\./);
    expect((await widgetItems(page, '[data-recsys-widget="buy-again"]')).length).toBeGreaterThan(0);
    await checkPage(page, 'home-signed-in');

    await page.goto('/orders');
    expect(await page.locator('.order').count()).toBeGreaterThan(0);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('link', { name: 'Sign in' }).waitFor();
    expect(await page.evaluate(() => document.cookie.includes('rsys_uid'))).toBe(false);
  });
});
