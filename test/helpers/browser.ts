import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Where page screenshots go (gitignored `test-results/`), kept as test artifacts. */
export const SCREENSHOT_DIR = join(import.meta.dirname, '..', '..', 'test-results', 'screenshots');

/**
 * Whether browser tests can run here. Without Chromium they are skipped with
 * one line, except on CI (`CI=true`), where a missing browser is a failure.
 */
export function browserAvailability(): { available: boolean; reason?: string } {
  if (existsSync(CHROMIUM_PATH)) return { available: true };
  const missing = `Chromium not found at ${CHROMIUM_PATH} (set CHROMIUM_PATH)`;
  if (process.env.CI === 'true') throw new Error(`${missing}: browser tests are required on CI (CI=true).`);
  return { available: false, reason: `${missing}: browser tests skipped.` };
}

/** Headless Chromium that stays off the network except for what the page asks. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/** What a page did that a test should fail on. */
export interface PageWatch {
  /** Requests to anywhere but the allowed origin. */
  foreignRequests: string[];
  /** Uncaught exceptions and `console.error` lines (CSP violations show up here). */
  errors: string[];
}

/**
 * Records every request of the context that leaves `origin`, and every page
 * error, so a test can assert the shop loads nothing from elsewhere.
 */
export function watchContext(context: BrowserContext, origin: string): PageWatch {
  const watch: PageWatch = { foreignRequests: [], errors: [] };
  context.on('request', (request) => {
    const url = request.url();
    if (url.startsWith('data:') || url.startsWith('blob:')) return;
    if (new URL(url).origin !== origin) watch.foreignRequests.push(url);
  });
  context.on('page', (page) => {
    page.on('pageerror', (error) => watch.errors.push(`${page.url()}: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') watch.errors.push(`${page.url()}: ${message.text()}`);
    });
  });
  return watch;
}

let axeSource: string | undefined;

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: unknown[]; failureSummary?: string }>;
}

/**
 * Runs axe-core in the page (from the installed package, never fetched) and returns its violations.
 * Evaluated through the DevTools protocol rather than `addScriptTag`: the shop's Content-Security-Policy
 * rightly blocks injected inline scripts, and the tests keep that policy on to prove the pages work under it.
 */
export async function runAxe(page: Page): Promise<AxeViolation[]> {
  axeSource ??= await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  await page.evaluate(axeSource);
  return page.evaluate(async () => {
    const axe = (
      window as unknown as { axe: { run(ctx: Document): Promise<{ violations: AxeViolation[] }> } }
    ).axe;
    const result = await axe.run(document);
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => ({
        target: n.target,
        ...(n.failureSummary ? { failureSummary: n.failureSummary } : {}),
      })),
    }));
  });
}

/** Readable one-line-per-node summary for assertion messages. */
export function describeViolations(violations: AxeViolation[]): string {
  return violations
    .flatMap((v) => v.nodes.map((n) => `${v.id} (${v.impact}): ${v.help} at ${JSON.stringify(n.target)}`))
    .join('\n');
}

/** Full-page screenshot into {@link SCREENSHOT_DIR}; returns the file path. */
export async function saveScreenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const file = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Resolves when no `data-recsys-widget` element on the page is still loading. */
export async function widgetsSettled(page: Page, timeout = 15_000): Promise<void> {
  await page.waitForFunction(
    () =>
      [...document.querySelectorAll('[data-recsys-widget]')].every((el) => {
        const status = el.getAttribute('data-recsys-status');
        return status !== null && status !== 'loading';
      }),
    undefined,
    { timeout },
  );
}

/** Item ids currently shown by the first widget matching `selector`, once it is ready. */
export async function widgetItems(page: Page, selector: string, timeout = 15_000): Promise<string[]> {
  await page.waitForFunction(
    (sel) => document.querySelector(sel)?.getAttribute('data-recsys-status') === 'ready',
    selector,
    { timeout },
  );
  return page
    .locator(selector)
    .first()
    .locator('li.recsys-item')
    .evaluateAll((lis) => lis.map((li) => li.getAttribute('data-item-id') ?? ''));
}
