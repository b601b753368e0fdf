/**
 * The API reference at `/docs` in a real Chromium: it renders every REST operation of
 * `/openapi.json` and loads nothing from outside the Recsys server.
 */
import type { Database } from '@recsys/server';
import { getTestDatabaseTargets, startTestServer } from '@recsys/server/testing';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailability, launchBrowser, watchContext } from './helpers/browser';

const { available, reason } = browserAvailability();
if (!available) console.warn(reason);

describe.skipIf(!available)('the API reference page in Chromium', () => {
  let database: Database & { drop(): Promise<void> };
  let stack: Awaited<ReturnType<typeof startTestServer>>;
  let browser: Browser;

  beforeAll(async () => {
    database = await getTestDatabaseTargets()[0]!.open();
    stack = await startTestServer(database);
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
    await database?.drop();
  });

  it('renders one entry per REST operation, from the server alone', async () => {
    const document = (await (await fetch(`${stack.url}/openapi.json`)).json()) as {
      paths: Record<string, unknown>;
    };
    const context = await browser.newContext();
    const watch = watchContext(context, stack.url);
    try {
      const page = await context.newPage();
      await page.goto(`${stack.url}/docs`);
      const operations = page.locator('.opblock-summary-path');
      await expect
        .poll(() => operations.count(), { timeout: 240_000 })
        .toBe(Object.keys(document.paths).length);
      const shown = await operations.evaluateAll((els) => els.map((el) => el.getAttribute('data-path')));
      expect(shown.sort()).toEqual(Object.keys(document.paths).sort());
      expect(watch.foreignRequests).toEqual([]);
      expect(watch.errors).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
