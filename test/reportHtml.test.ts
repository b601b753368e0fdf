import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from './helpers/browser';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium && process.env.CI === 'true') {
  throw new Error(`Chromium not found at ${CHROMIUM}: the report rendering test is required on CI.`);
}
if (!hasChromium) console.log(`reportHtml.test.ts: Chromium not found at ${CHROMIUM}; skipped.`);

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../server/bin/recsys.js', import.meta.url));
const screenshots = fileURLToPath(new URL('../test-results/', import.meta.url));

describe.skipIf(!hasChromium)('simulation report in Chromium', () => {
  const dir = mkdtempSync(join(tmpdir(), 'recsys-report-'));
  let browser: Browser;
  let reportPath: string;

  beforeAll(async () => {
    // The report is produced the way an operator produces it: the recsys CLI on generated data.
    writeFileSync(
      join(dir, 'shop.yml'),
      'generate:\n  template: retail\n  seed: 4\n  items: 80\n  sessions: 400\n',
    );
    const { stdout } = await run(
      process.execPath,
      [
        bin,
        'simulate',
        'shop.yml',
        '-n',
        'report-html',
        '--reports-dir',
        join(dir, 'reports'),
        '--max-users',
        '100',
        '--scenarios',
        'filters.include-tags,determinism.seed',
      ],
      { cwd: dir, env: { ...process.env, DATABASE_URL: '', RECSYS_DATA_DIR: join(dir, 'db') } },
    );
    const bundle = stdout.match(/Report: (.*)\/report\.html/)?.[1];
    if (!bundle) throw new Error(`recsys simulate printed no report path:\n${stdout}`);
    reportPath = join(bundle, 'report.html');
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('renders every chart with visible marks and loads nothing from elsewhere', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1600 } });
    const requests: string[] = [];
    const errors: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(pathToFileURL(reportPath).href);

    for (const chart of ['metrics-by-k', 'lift-per-segment', 'coverage-vs-accuracy']) {
      const svg = page.locator(`svg.chart[data-chart="${chart}"]`);
      await expect(svg.count()).resolves.toBe(1);
      const box = await svg.boundingBox();
      expect(box?.width, chart).toBeGreaterThan(100);
      expect(box?.height, chart).toBeGreaterThan(100);
      // Marks are paths: lines per method, bars per segment, points per method.
      const marks = await svg.locator('path.series, path.bar, path.point').evaluateAll((paths) =>
        paths.map((p) => {
          const r = (p as SVGGraphicsElement).getBoundingClientRect();
          return { w: r.width, h: r.height };
        }),
      );
      expect(marks.length, chart).toBeGreaterThan(0);
      expect(
        marks.every((m) => m.w > 0 || m.h > 0),
        `${chart}: ${JSON.stringify(marks)}`,
      ).toBe(true);
    }
    // Line chart: one line per method, each spanning the evaluated Ks horizontally.
    const lineWidths = await page
      .locator('svg[data-chart="metrics-by-k"] path.series')
      .evaluateAll((paths) => paths.map((p) => (p as SVGGraphicsElement).getBoundingClientRect().width));
    expect(lineWidths.length).toBeGreaterThan(3);
    expect(Math.max(...lineWidths)).toBeGreaterThan(200);

    await expect(page.locator('h1').textContent()).resolves.toMatch(/Simulation report-html/);
    await expect(page.locator('table.scenarios tbody tr').count()).resolves.toBe(2);
    expect(requests.filter((u) => !u.startsWith('file:') && !u.startsWith('data:'))).toEqual([]);
    expect(errors).toEqual([]);

    mkdirSync(screenshots, { recursive: true });
    await page.screenshot({ path: join(screenshots, 'simulation-report.png'), fullPage: true });
    await page.close();
  });
});
