import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { addOperator } from '@recsys/server';
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
} from './helpers/browser';

const browserCheck = browserAvailability();
if (!browserCheck.available) console.log(browserCheck.reason);

const run = promisify(execFile);
const CONSOLE_DIR = fileURLToPath(new URL('../server/console', import.meta.url));
const PASSWORD = 'console test passphrase';
type Role = 'viewer' | 'operator' | 'admin';
const EXPERIMENT = 'console-exp';

describe.skipIf(!browserCheck.available)('admin console in a real browser', () => {
  let dataDir: string;
  let shop: RunningStorefront;
  let browser: Browser;
  let contexts: BrowserContext[] = [];
  let watches: PageWatch[] = [];
  /** HTTP statuses of failed loads the current test causes on purpose (the browser logs each). */
  let allowedLoadFailures: number[] = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'recsys-console-'));
    // The app as `pnpm build` makes it (a second or two), so the test never runs a stale bundle. It goes
    // to this test's own folder: `server/console/dist` is read by the server suites running beside it.
    const built = join(dataDir, 'console');
    await run(
      join(CONSOLE_DIR, 'node_modules', '.bin', 'vite'),
      ['build', '--logLevel', 'warn', '--outDir', built, '--emptyOutDir'],
      { cwd: CONSOLE_DIR },
    );
    // Read when the server starts (each test file runs in its own process).
    process.env.RECSYS_CONSOLE_DIR = built;
    [shop, browser] = await Promise.all([
      startStorefront({ port: 0, dataDir, databaseUrl: null, seed: { items: 300, events: 6000 } }),
      launchBrowser(),
    ]);
    for (const role of ['viewer', 'operator', 'admin'] as const) {
      await addOperator(shop.recsys.database, shop.namespaceId, {
        name: `${role}@demo`,
        role,
        password: PASSWORD,
      });
    }
    // A running experiment on the trending shelf, for the pause test.
    await shop.api.admin.experiments.create.mutate({
      id: EXPERIMENT,
      name: 'Trending blend',
      variants: [
        { key: 'control', kind: 'control' },
        { key: 'retail', kind: 'profile', profile: 'online-retail' },
      ],
      target: { surfaces: ['trending'] },
      // A bound no list can break, and a sample no test reaches: the page shows both variants undecided.
      guardrails: { minSample: 1000, consecutive: 3, rules: [{ metric: 'emptyListRate', max: 1 }] },
    });
    await shop.api.admin.experiments.start.mutate({ id: EXPERIMENT });
  });

  afterAll(async () => {
    await browser?.close();
    await shop?.close();
    delete process.env.RECSYS_CONSOLE_DIR;
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  afterEach(async () => {
    for (const context of contexts) await context.close();
    // Sign-in probes (401) and refused writes (403) are expected; a test names other failures it causes.
    const allowed = new RegExp(`status of (401|403${allowedLoadFailures.map((s) => `|${s}`).join('')})`);
    const errors = watches.flatMap((w) => w.errors).filter((e) => !allowed.test(e));
    allowedLoadFailures = [];
    const foreign = watches.flatMap((w) => w.foreignRequests);
    contexts = [];
    watches = [];
    expect(foreign, 'requests that left the local server').toEqual([]);
    expect(errors, 'page errors and console errors').toEqual([]);
  });

  /**
   * Makes the rule `ruleId` (a boost) unless an earlier test made it: the tests that only show a rule
   * must pass when run alone too.
   */
  async function ensureRule(ruleId: string): Promise<void> {
    const existing = await shop.api.admin.rules.get.query({ ruleId }).catch(() => null);
    if (existing) return;
    const [product] = shop.catalog.products.values();
    await shop.api.admin.rules.create.mutate({
      rule: { id: ruleId, kind: 'boost', items: { itemIds: [product!.itemId] }, multiplier: 1.5 },
    });
  }

  async function newPage(width = 1280): Promise<Page> {
    const context = await browser.newContext({ baseURL: shop.url, viewport: { width, height: 900 } });
    contexts.push(context);
    watches.push(watchContext(context, new URL(shop.url).origin));
    return context.newPage();
  }

  async function signIn(page: Page, role: Role, path = '/admin/') {
    await page.goto(path);
    await page.getByLabel('Shop (namespace)').fill(shop.namespaceId);
    await page.getByLabel('Operator name').fill(`${role}@demo`);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('.who').getByText(role, { exact: true }).waitFor();
  }

  /** No axe violations, nothing wider than the window, and a screenshot in test-results/. */
  async function checkPage(page: Page, name: string) {
    await page.waitForFunction(() => !document.querySelector('.loading'));
    const violations = await runAxe(page);
    expect(violations, describeViolations(violations)).toEqual([]);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow, `${name} is wider than the window`).toBeLessThanOrEqual(0);
    await saveScreenshot(page, `console-${name}`);
  }

  it('signs each role in, shows its role and only the pages it may use', async () => {
    const page = await newPage();
    await page.goto('/admin/rules');
    await page.getByRole('heading', { name: 'Sign in to the Recsys console' }).waitFor();
    await checkPage(page, 'sign-in');
    await page.getByLabel('Shop (namespace)').fill(shop.namespaceId);
    await page.getByLabel('Operator name').fill('admin@demo');
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect
      .poll(() => page.getByRole('alert').textContent())
      .toMatch(/Wrong shop, operator name or password/);

    for (const role of ['viewer', 'operator', 'admin'] as const) {
      const p = await newPage();
      await signIn(p, role, '/admin/rules');
      // The deep link survived the sign-in.
      expect(new URL(p.url()).pathname).toBe('/admin/rules');
      const nav = await p.getByRole('navigation', { name: 'Console' }).getByRole('link').allTextContents();
      const everyone = [
        'Overview',
        'Catalog',
        'Users',
        'Rules',
        'Traces',
        'Experiments',
        'Bundles',
        'Configuration',
        'Jobs',
      ];
      expect(nav).toEqual(role === 'admin' ? [...everyone, 'Keys', 'Operators'] : everyone);
      // The session is an HTTP-only cookie: script cannot read it, and no key is in the page's storage.
      expect(await p.evaluate(() => document.cookie)).toBe('');
      const stored = await p.evaluate(
        () => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }),
      );
      expect(stored).not.toMatch(/sk_|pk_/);
      await checkPage(p, `rules-${role}`);
    }
  });

  it('signs in and moves around with the keyboard alone', async () => {
    const page = await newPage();
    await page.goto('/admin/');
    await page.getByLabel('Shop (namespace)').focus();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.type(shop.namespaceId);
    await page.keyboard.press('Tab');
    await page.keyboard.type('operator@demo');
    await page.keyboard.press('Tab');
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press('Enter');
    // The overview is the page after sign-in.
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/admin/overview');
    // The skip link is the first stop from the top of the page; following it puts focus in the content.
    await page.keyboard.press('Shift+Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Sign out');
    const first = await page.evaluate(
      () =>
        [...document.querySelectorAll<HTMLElement>('a[href], button, input, select, [tabindex="0"]')][0]
          ?.textContent,
    );
    expect(first).toBe('Skip to content');
    await page.locator('a.skip').focus();
    expect(await page.locator('a.skip').isVisible()).toBe(true);
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('main');
    // Tab through the header to the Traces link and follow it.
    await page.getByRole('link', { name: 'Rules', exact: true }).focus();
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Traces');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Traces' }).waitFor();
    // Focus moved to the new page's heading, so a screen reader announces it.
    expect(await page.evaluate(() => document.activeElement?.tagName)).toBe('H1');
  });

  it('shows a viewer no write action, and refuses a write forced from the page', async () => {
    const page = await newPage();
    await signIn(page, 'viewer', '/admin/rules');
    await page.getByRole('heading', { name: 'Rules' }).waitFor();
    await page.waitForFunction(() => !document.querySelector('.loading'));
    expect(await page.getByRole('link', { name: 'New rule' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: /Disable|Enable/ }).count()).toBe(0);
    await page.goto(`/admin/experiments/${EXPERIMENT}`);
    await page.getByRole('heading', { name: 'Results' }).waitFor();
    expect(await page.getByRole('button', { name: /Pause|Resume/ }).count()).toBe(0);
    await page.goto('/admin/config');
    await page.getByRole('heading', { name: 'Configuration' }).waitFor();
    await page.waitForFunction(() => !document.querySelector('.loading'));
    expect(await page.getByRole('button', { name: /Roll back|Activate/ }).count()).toBe(0);
    await page.goto('/admin/catalog');
    await page.getByRole('table', { name: 'Items, by id' }).waitFor();
    expect(await page.getByRole('button', { name: /Archive|Restore/ }).count()).toBe(0);
    await page.goto('/admin/jobs?job=guardrails');
    await page.getByRole('heading', { name: 'Runs of guardrails' }).waitFor();
    await page.waitForFunction(() => !document.querySelector('.loading'));
    expect(await page.getByRole('button', { name: /Run now|Dry run/ }).count()).toBe(0);
    await page.goto('/admin/keys');
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/admin role/);
    await page.goto('/admin/rules/new');
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/Viewers cannot create rules/);

    // What a viewer could try by hand: the real session, CSRF token and Origin, and still no.
    const forced = await page.evaluate(async () => {
      const session = (await (await fetch('/admin/api/session')).json()) as { csrfToken: string };
      const res = await fetch('/trpc/admin.rules.create', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-recsys-csrf': session.csrfToken },
        body: JSON.stringify({ rule: { id: 'viewer-was-here', kind: 'block', items: { itemIds: ['x'] } } }),
      });
      return { status: res.status, body: await res.text() };
    });
    expect(forced.status).toBe(403);
    expect(forced.body).toMatch(/needs the operator role/);
    expect((await shop.api.admin.rules.list.query()).map((r) => r.ruleId)).not.toContain('viewer-was-here');
    const forcedRun = await page.evaluate(async () => {
      const session = (await (await fetch('/admin/api/session')).json()) as { csrfToken: string };
      const res = await fetch('/trpc/admin.jobs.run', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-recsys-csrf': session.csrfToken },
        body: JSON.stringify({ job: 'guardrails', dryRun: true }),
      });
      return { status: res.status, body: await res.text() };
    });
    expect(forcedRun.status).toBe(403);
    expect(forcedRun.body).toMatch(/needs the operator role/);
    const item = [...shop.catalog.products.keys()][0]!;
    const forcedArchive = await page.evaluate(async (itemId) => {
      const session = (await (await fetch('/admin/api/session')).json()) as { csrfToken: string };
      const res = await fetch('/trpc/admin.catalog.archive', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-recsys-csrf': session.csrfToken },
        body: JSON.stringify({ itemIds: [itemId] }),
      });
      return { status: res.status, body: await res.text() };
    }, item);
    expect(forcedArchive.status).toBe(403);
    expect(forcedArchive.body).toMatch(/needs the operator role/);
    expect((await shop.api.items.get.query({ itemIds: [item] }))[0]?.archivedAt).toBeNull();
    const guardrailRuns = await shop.api.admin.jobs.history.query({ job: 'guardrails' });
    expect(guardrailRuns.filter((r) => r.trigger === 'manual')).toEqual([]);
  });

  it('creates a rule only after its preview, and the storefront list changes', async () => {
    const before = await shop.api.recs.trending.query({ k: 8 });
    const pinned = [...shop.catalog.products.values()].find(
      (p) => p.available && !before.items.some((i) => i.itemId === p.itemId),
    )!;
    const page = await newPage();
    await signIn(page, 'operator', '/admin/rules');
    await page.getByRole('link', { name: 'New rule' }).click();
    await page.getByRole('heading', { name: 'New rule' }).waitFor();
    await page.getByLabel('Rule id').fill('console-pin');
    await page.getByLabel('Kind').selectOption('pin');
    await page.getByLabel('Item ids (comma-separated)').fill(pinned.itemId);
    await page.getByLabel('trending', { exact: true }).check();
    await page.getByLabel(/^Surface/).selectOption('trending');
    const save = page.getByRole('button', { name: 'Save rule' });
    expect(await save.isDisabled()).toBe(true);
    await page.getByRole('button', { name: 'Preview' }).click();
    const table = page.getByRole('table', { name: /recs\.trending/ });
    await table.waitFor();
    // Side by side: slot 1 holds the pinned item with the rule, not without it.
    const firstRow = await table.locator('tbody tr').first().locator('td').allTextContents();
    expect(firstRow[0]).toBe('1');
    expect(firstRow[1]).not.toBe(pinned.itemId);
    expect(firstRow[2]).toBe(pinned.itemId);
    expect(firstRow[3]).not.toBe('same');
    expect(await save.isDisabled()).toBe(false);
    // The form is the URL: the prepared rule is a link.
    expect(new URL(page.url()).searchParams.get('items')).toBe(pinned.itemId);
    await checkPage(page, 'rule-preview');
    await save.click();
    await page.getByText('Rule console-pin saved').waitFor();
    await page.locator('tr[data-rule="console-pin"]').getByText('enabled').waitFor();
    await checkPage(page, 'rules-after-save');

    // The shop's trending shelf (the widget, in the shop's own page) now starts with the pinned item.
    const shopPage = await newPage();
    await shopPage.goto('/');
    await expect
      .poll(async () => {
        await shopPage.reload();
        return (await widgetItems(shopPage, '[data-recsys-widget="trending"]'))[0];
      })
      .toBe(pinned.itemId);

    // The rule's trail names the operator, in the API and on the rule's page.
    const rule = await shop.api.admin.rules.get.query({ ruleId: 'console-pin' });
    expect(rule.history[0]?.actor).toBe('operator:operator@demo');
    await page.getByRole('link', { name: 'console-pin' }).click();
    await page.getByRole('heading', { name: 'Rule console-pin' }).waitFor();
    await page.getByText(/create \(version 1\) by operator:operator@demo/).waitFor();
    await checkPage(page, 'rule');
    await page.goBack();

    // Disable from the list: the shelf no longer pins it.
    await page.getByRole('button', { name: 'Disable console-pin' }).click();
    await page.locator('tr[data-rule="console-pin"]').getByText('disabled').waitFor();
    const after = await shop.api.recs.trending.query({ k: 8 });
    expect(after.items[0]?.itemId).not.toBe(pinned.itemId);
  });

  it('edits a rule with an end in a chosen time zone, previewed before it is saved', async () => {
    const [product] = shop.catalog.products.values();
    await shop.api.admin.rules.create.mutate({
      rule: {
        id: 'console-edit',
        kind: 'boost',
        items: { itemIds: [product!.itemId] },
        multiplier: 3,
        when: { surfaces: ['trending'] },
      },
    });
    const viewer = await newPage();
    await signIn(viewer, 'viewer', '/admin/rules/console-edit');
    await viewer.getByRole('heading', { name: 'Rule console-edit' }).waitFor();
    expect(await viewer.getByRole('link', { name: /^Edit/ }).count()).toBe(0);

    const page = await newPage();
    await signIn(page, 'operator', '/admin/rules/console-edit');
    await page.getByRole('link', { name: 'Edit (preview before saving)' }).click();
    await page.getByRole('heading', { name: 'Edit rule console-edit' }).waitFor();
    // The form holds the stored rule; its id cannot change.
    expect(await page.getByLabel('Rule id').inputValue()).toBe('console-edit');
    expect(await page.getByLabel('Rule id').getAttribute('readonly')).not.toBeNull();
    expect(await page.getByLabel('trending', { exact: true }).isChecked()).toBe(true);
    await page.getByLabel('Until').fill('2099-12-24T18:00');
    await page.getByLabel('Time zone of these times').selectOption('Asia/Tokyo');
    await page.getByText('until 2099-12-24T18:00 Asia/Tokyo').waitFor();
    const save = page.getByRole('button', { name: 'Save changes' });
    expect(await save.isDisabled()).toBe(true);
    await page.getByRole('button', { name: 'Preview' }).click();
    await page.getByRole('heading', { name: 'Preview: with and without the rule' }).waitFor();
    await checkPage(page, 'rule-edit');
    await save.click();
    await page.getByRole('heading', { name: 'Rule console-edit' }).waitFor();
    await page.getByText(/update \(version 2\) by operator:operator@demo/).waitFor();
    const rule = await shop.api.admin.rules.get.query({ ruleId: 'console-edit' });
    expect(rule.definition).toMatchObject({ kind: 'boost', multiplier: 3 });
    expect(rule.definition.schedule).toEqual({ timeZone: 'Asia/Tokyo', end: '2099-12-24T18:00' });
    await shop.api.admin.rules.remove.mutate({ ruleId: 'console-edit' });
  });

  it('lists overrides with the time each has left, and cancels one', async () => {
    const [, product] = shop.catalog.products.values();
    const added = await shop.api.admin.overrides.add.mutate({
      kind: 'boost',
      itemIds: [product!.itemId],
      multiplier: 3,
      hours: 49,
      reason: 'weekend promo',
    });
    const row = (page: Page) => page.locator(`tr[data-override="${added.ruleId}"]`);
    const viewer = await newPage();
    await signIn(viewer, 'viewer', '/admin/rules');
    await row(viewer).getByText('weekend promo').waitFor();
    // 49 hours from now, read a moment later.
    expect(await row(viewer).locator('td').nth(2).textContent()).toBe('2 d 0 h');
    expect(await row(viewer).getByRole('button').count()).toBe(0);

    const page = await newPage();
    await signIn(page, 'operator', '/admin/rules');
    await page.getByRole('button', { name: `Cancel ${added.ruleId}` }).click();
    await page.getByText(`Override ${added.ruleId} cancelled.`).waitFor();
    await row(page).getByText('cancelled').waitFor();
    await checkPage(page, 'rules-overrides');
    const [listed] = (await shop.api.admin.overrides.list.query()).filter((o) => o.ruleId === added.ruleId);
    expect(listed?.state).toBe('cancelled');
  });

  it('adds an override from the Rules page, lists its countdown, and the shelf obeys it', async () => {
    const before = await shop.api.recs.trending.query({ k: 8 });
    const pinned = [...shop.catalog.products.values()].find(
      (p) => p.available && !before.items.some((i) => i.itemId === p.itemId),
    )!;
    const viewer = await newPage();
    await signIn(viewer, 'viewer', '/admin/rules');
    await viewer.getByRole('heading', { name: 'Overrides' }).waitFor();
    expect(await viewer.getByText('Add an override').count()).toBe(0);

    const page = await newPage();
    await signIn(page, 'operator', '/admin/rules');
    await page.getByText('Add an override').click();
    const form = page.getByRole('form', { name: 'Add an override' });
    await form.getByLabel('Action').selectOption('pin');
    await form.getByLabel('Item ids (comma-separated)').fill(pinned.itemId);
    await form.getByLabel('Slot (1 = first)').fill('1');
    await form.getByLabel('Surface').selectOption('trending');
    await form.getByLabel('Why (listed with it)').fill('launch day');
    // Longer than a year is refused by the server, with what to do instead.
    allowedLoadFailures = [400];
    await form.getByLabel('Lasts for', { exact: true }).fill('400');
    await form.getByLabel('Unit').selectOption('days');
    await form.getByRole('button', { name: 'Add override' }).click();
    await form
      .getByRole('alert')
      .getByText(/at most a year; use a rule for standing decisions/)
      .waitFor();
    await form.getByLabel('Lasts for', { exact: true }).fill('2');
    await checkPage(page, 'override-add');
    await form.getByRole('button', { name: 'Add override' }).click();
    await form.getByText(/^Override .* added: .*, for 2 d 0 h\.$/).waitFor();
    const [added] = (await shop.api.admin.overrides.list.query()).filter((o) => o.reason === 'launch day');
    expect(added?.state).toBe('active');
    expect(added?.definition).toMatchObject({ kind: 'pin', items: { itemIds: [pinned.itemId] }, slot: 0 });
    // The list shows it with its countdown (two days, read a moment later).
    const row = page.locator(`tr[data-override="${added!.ruleId}"]`);
    await row.getByText('launch day').waitFor();
    expect(await row.locator('td').nth(2).textContent()).toMatch(/^(1 d 23 h|2 d 0 h)$/);
    // The shelf starts with the pinned item.
    await expect
      .poll(async () => (await shop.api.recs.trending.query({ k: 8 })).items[0]?.itemId)
      .toBe(pinned.itemId);
    await shop.api.admin.overrides.cancel.mutate({ ruleId: added!.ruleId });
  });

  it('pauses an experiment from the console, and its variant is no longer served', async () => {
    const served = async () => {
      const variants = new Set<string>();
      for (let i = 0; i < 24; i++) {
        const list = await shop.api.recs.trending.query({ k: 4, anonymousId: `visitor-${i}` });
        if (list.experiment?.id === EXPERIMENT) variants.add(list.experiment.variant);
      }
      return variants;
    };
    expect([...(await served())].sort()).toEqual(['control', 'retail']);

    const page = await newPage();
    await signIn(page, 'operator', '/admin/experiments');
    await page.getByRole('link', { name: 'Trending blend' }).click();
    await page.getByRole('heading', { name: 'Trending blend' }).waitFor();
    await page.getByRole('table', { name: /Exposures and rates per variant/ }).waitFor();
    // What the service guardrails read, one row per variant.
    const service = page.getByRole('table', { name: /Service per variant/ });
    for (const key of ['control', 'retail']) {
      const cells = service.getByRole('row', { name: new RegExp(`^${key}\\b`) }).locator('td');
      expect(await cells.nth(0).textContent()).toMatch(/^\d[\d,]*$/);
      expect(await cells.nth(2).textContent()).toMatch(/^(—|\d+(\.\d)? ms)$/);
    }
    // Where each variant stands against the guardrails.
    const guard = page.getByRole('table', { name: /Guardrails now \(0 of 3 breaching evaluations/ });
    for (const key of ['control', 'retail']) {
      expect(
        await guard
          .getByRole('row', { name: new RegExp(`^${key}\\b`) })
          .locator('td')
          .textContent(),
      ).toBe('undecided: fewer than 1,000 visitors');
    }
    await checkPage(page, 'experiment-running');
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.getByText(`Experiment ${EXPERIMENT} is now paused.`).waitFor();
    await page.getByRole('button', { name: 'Resume' }).waitFor();
    expect(await served()).toEqual(new Set());
    const experiment = await shop.api.admin.experiments.get.query({ id: EXPERIMENT });
    expect(experiment.status).toBe('paused');
    expect(experiment.changes.at(-1)?.actor ?? experiment.changes[0]?.actor).toMatch(
      /operator:operator@demo/,
    );
    // A guardrail pause's notification, as the guardrail job records it, reads as one line of the log.
    await shop.recsys.database.query(
      `INSERT INTO experiment_changes (namespace_id, experiment_id, action, actor, detail)
       VALUES ($1, $2, 'notify', 'guardrails', $3)`,
      [
        shop.namespaceId,
        EXPERIMENT,
        JSON.stringify({ channel: 'webhook', host: 'hooks.example', delivered: false, status: 503 }),
      ],
    );
    await page.reload();
    await page.getByText('notify by guardrails — webhook hooks.example: not delivered (503)').waitFor();
    await page.goto('/admin/experiments');
    await page.getByText('paused', { exact: true }).waitFor();
    await checkPage(page, 'experiments');
  });

  it('plans an experiment as the operator types, creates it as a draft and starts it as a separate step', async () => {
    // The planner measures the control's rate over the trending lists served lately: serve some here,
    // so this test does not lean on the lists earlier tests happened to serve.
    for (let i = 0; i < 6; i++) await shop.api.recs.trending.query({ k: 4, anonymousId: `planner-${i}` });
    // What the variants serve: a stored configuration version and a rule set.
    const config = await shop.api.admin.config.save.mutate({
      config: { diversity: { lambda: 0.6 } },
      name: 'experiment variant',
    });
    const [product] = shop.catalog.products.values();
    await shop.api.admin.rules.create.mutate({
      rule: {
        id: 'console-set-boost',
        kind: 'boost',
        items: { itemIds: [product!.itemId] },
        multiplier: 2,
        ruleSet: 'console-set',
      },
    });

    const viewer = await newPage();
    await signIn(viewer, 'viewer', '/admin/experiments');
    await viewer.getByRole('heading', { name: 'Experiments' }).waitFor();
    await viewer.waitForFunction(() => !document.querySelector('.loading'));
    expect(await viewer.getByRole('link', { name: 'New experiment' }).count()).toBe(0);
    await viewer.goto('/admin/experiments/new');
    await expect
      .poll(() => viewer.getByRole('alert').textContent())
      .toMatch(/Viewers cannot create experiments/);

    const page = await newPage();
    await signIn(page, 'operator', '/admin/experiments');
    await page.getByRole('link', { name: 'New experiment' }).click();
    await page.getByRole('heading', { name: 'New experiment' }).waitFor();
    await page.getByLabel('Experiment id').fill('console-new');
    await page.getByLabel('Name', { exact: true }).fill('Planned on trending');
    await page.getByLabel('trending', { exact: true }).check();
    await page.getByLabel('Version of variant 2').fill(String(config.version));
    await page.getByRole('button', { name: 'Add variant' }).click();
    await page.getByLabel('Key of variant 3').fill('rule-set');
    await page.getByLabel('Serves (variant 3)').selectOption('rules');
    await page.getByLabel('Rule set id of variant 3').fill('no-such-set');
    await page.getByLabel('Weight of variant 3').fill('2');
    await page.getByLabel('Primary metric').selectOption('ctr');
    await page.getByLabel('Minimum detectable effect (% lift)').fill('20');

    // The planner answers from the server: the control's measured CTR on trending, the size, the days.
    const plan = page.getByRole('region', { name: 'Sample size' });
    const input = {
      surfaces: ['trending' as const],
      primaryMetric: 'ctr' as const,
      minimumDetectableEffect: 0.2,
      weights: [1, 1, 2],
      traffic: 1,
    };
    await plan.getByText(/measured over/).waitFor();
    await expect
      .poll(async () => {
        const expected = await shop.api.admin.experiments.plan.query(input);
        const text = (await plan.textContent()) ?? '';
        return expected.perVariant === null
          ? text.includes('Cannot size this experiment yet')
          : text.includes(`${expected.perVariant.toLocaleString('en-US')} lists per variant`);
      })
      .toBe(true);
    // A rate given by hand: the exact size for 5 % and a 20 % lift, and the days at trending's traffic.
    await page.getByLabel('Control rate to plan with (%, empty: measured)').fill('5');
    await plan.getByText('(the rate you gave)').waitFor();
    const given = await shop.api.admin.experiments.plan.query({ ...input, baseRate: 0.05 });
    expect(given.perVariant).toBeGreaterThan(0);
    await plan.getByText(`${given.perVariant!.toLocaleString('en-US')} lists per variant`).waitFor();
    expect(await plan.textContent()).toContain(`about ${given.days} day`);
    expect(await plan.textContent()).toMatch(/a test read only once at the end would need [\d,]+/);

    // A guardrail beside the defaults, then Create: the unknown rule set is refused with what to do.
    await page.getByRole('button', { name: 'Add guardrail' }).click();
    await page.getByLabel('Metric of guardrail 1').selectOption('emptyListRate');
    await page.getByLabel('At most (guardrail 1)').fill('0.5');
    await checkPage(page, 'experiment-new');
    allowedLoadFailures = [400];
    await page.getByRole('button', { name: 'Create draft' }).click();
    await page
      .getByRole('alert')
      .getByText(/no rule in .* belongs to rule set "no-such-set"/)
      .waitFor();
    await page.getByLabel('Rule set id of variant 3').fill('console-set');
    await page.getByRole('button', { name: 'Create draft' }).click();

    // Saved as a draft, serving nobody; Start is its own step, recorded with the operator.
    await page.getByRole('heading', { name: 'Planned on trending' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/admin/experiments/console-new');
    await page.getByText('a draft: nobody is in it until it is started').waitFor();
    const draft = await shop.api.admin.experiments.get.query({ id: 'console-new' });
    expect(draft).toMatchObject({
      status: 'draft',
      primaryMetric: 'ctr',
      minimumDetectableEffect: 0.2,
      target: { surfaces: ['trending'] },
      guardrails: { minSample: 1000, consecutive: 3, rules: [{ metric: 'emptyListRate', max: 0.5 }] },
    });
    expect(draft.variants.map((v) => [v.key, v.kind, v.weight])).toEqual([
      ['control', 'control', 1],
      ['treatment', 'config', 1],
      ['rule-set', 'rules', 2],
    ]);
    await checkPage(page, 'experiment-draft');
    await page.getByRole('button', { name: 'Start' }).click();
    await page.getByText('Experiment console-new is now running.').waitFor();
    await page.getByRole('button', { name: 'Pause' }).waitFor();
    const started = await shop.api.admin.experiments.get.query({ id: 'console-new' });
    expect(started.status).toBe('running');
    expect(started.changes.map((c) => [c.action, c.actor])).toEqual(
      expect.arrayContaining([
        ['create', 'operator:operator@demo'],
        ['start', 'operator:operator@demo'],
      ]),
    );
    // Complete asks first, then ends it for good.
    await page.getByRole('button', { name: 'Complete console-new' }).click();
    await page.getByRole('button', { name: 'Complete console-new now' }).click();
    await page.getByText('Experiment console-new is now completed.').waitFor();
    expect((await shop.api.admin.experiments.get.query({ id: 'console-new' })).status).toBe('completed');
  });

  it('keeps the new-experiment form in the URL: a reload, Back and a shared link restore every field', async () => {
    const page = await newPage();
    await signIn(page, 'operator', '/admin/experiments/new');
    await page.getByRole('heading', { name: 'New experiment' }).waitFor();
    await page.getByLabel('Experiment id').fill('kept-in-url');
    await page.getByLabel('Name', { exact: true }).fill('Kept in the URL: & ? # and 🙂');
    await page.getByLabel('Hypothesis (optional)').fill('Line one\nline two, with a comma');
    await page.getByLabel('cart', { exact: true }).check();
    await page.getByLabel('trending', { exact: true }).check();
    await page.getByLabel(/^Segments/).fill('runner, home-cook');
    await page.getByLabel(/^Countries/).fill('DE');
    await page.getByLabel('Version of variant 2').fill('3');
    await page.getByLabel('Weight of variant 2').fill('');
    await page.getByRole('button', { name: 'Add variant' }).click();
    await page.getByLabel('Key of variant 3').fill('rule-set');
    await page.getByLabel('Serves (variant 3)').selectOption('rules');
    await page.getByLabel('Rule set id of variant 3').fill('console-set');
    await page.getByLabel('Weight of variant 3').fill('2');
    await page.getByLabel('Traffic in the experiment (% of visitors on these surfaces)').fill('50');
    await page.getByLabel('Primary metric').selectOption('ctr');
    await page.getByLabel('Minimum detectable effect (% lift)').fill('12');
    await page.getByLabel('Control rate to plan with (%, empty: measured)').fill('4');
    await page.getByLabel('Visitors per variant before any breach counts').fill('200');
    await page.getByLabel('Breaches in a row that pause it').fill('2');
    await page.getByLabel(/^Minutes of recent service/).fill('15');
    await page.getByRole('button', { name: 'Add guardrail' }).click();
    await page.getByLabel('Metric of guardrail 1').selectOption('p95LatencyMs');
    await page.getByLabel('At most (guardrail 1)').fill('300');
    await page.getByRole('button', { name: 'Add guardrail' }).click();
    await page.getByLabel('Metric of guardrail 2').selectOption('conversionRate');
    await page.getByLabel('At least (guardrail 2)').fill('0.01');
    await page.getByLabel('Allocation').selectOption('bandit');
    const plan = page.getByRole('region', { name: 'Sample size' });
    await plan.getByText('(the rate you gave)').waitFor();

    /** Every field of the form as the page shows it (checkboxes as true/false). */
    const fields = (on = page) =>
      on.evaluate(() =>
        [...document.querySelectorAll('form[aria-label="Experiment"] :is(input, select, textarea)')].map(
          (e) =>
            e instanceof HTMLInputElement && e.type === 'checkbox'
              ? e.checked
              : (e as HTMLInputElement).value,
        ),
      );
    const filled = await fields();
    expect(filled).toContain('Kept in the URL: & ? # and 🙂');
    expect(filled).toContain('Line one\nline two, with a comma');
    const url = new URL(page.url());
    expect(url.searchParams.getAll('key')).toEqual(['control', 'treatment', 'rule-set']);
    expect(url.searchParams.getAll('weight')).toEqual(['1', '', '2']);
    expect(url.searchParams.getAll('guard')).toEqual(['p95LatencyMs', 'conversionRate']);
    const planText = await plan.textContent();

    await page.reload();
    await page.getByRole('heading', { name: 'New experiment' }).waitFor();
    expect(await fields()).toEqual(filled);
    await expect.poll(() => plan.textContent()).toBe(planText);

    await page.getByRole('link', { name: '← All experiments' }).click();
    await page.getByRole('heading', { name: 'Experiments' }).waitFor();
    await page.goBack();
    await page.getByRole('heading', { name: 'New experiment' }).waitFor();
    expect(await fields()).toEqual(filled);
    await page.goForward();
    await page.getByRole('heading', { name: 'Experiments' }).waitFor();
    await page.goBack();
    await page.getByRole('heading', { name: 'New experiment' }).waitFor();
    expect(await fields()).toEqual(filled);

    // Sent to a colleague: signed in at the link, they see the same form and the same plan.
    const colleague = await newPage();
    await signIn(colleague, 'admin', url.pathname + url.search);
    await colleague.getByRole('heading', { name: 'New experiment' }).waitFor();
    expect(await fields(colleague)).toEqual(filled);
    await expect
      .poll(() => colleague.getByRole('region', { name: 'Sample size' }).textContent())
      .toBe(planText);

    // What the form creates is what it shows.
    await page.getByLabel('Allocation').selectOption('fixed');
    await page.getByLabel('Weight of variant 2').fill('1');
    await page.getByLabel('Rule set id of variant 3').fill('');
    await page.getByLabel('Serves (variant 3)').selectOption('profile');
    await page.getByLabel('Profile of variant 3').fill('online-retail');
    const config = await shop.api.admin.config.save.mutate({ config: {}, name: 'kept-in-url variant' });
    await page.getByLabel('Version of variant 2').fill(String(config.version));
    await page.getByRole('button', { name: 'Create draft' }).click();
    await page.getByRole('heading', { name: 'Kept in the URL: & ? # and 🙂' }).waitFor();
    const created = await shop.api.admin.experiments.get.query({ id: 'kept-in-url' });
    expect(created).toMatchObject({
      hypothesis: 'Line one\nline two, with a comma',
      traffic: 0.5,
      primaryMetric: 'ctr',
      minimumDetectableEffect: 0.12,
      target: { surfaces: ['cart', 'trending'], segments: ['runner', 'home-cook'], countries: ['DE'] },
      guardrails: {
        minSample: 200,
        consecutive: 2,
        windowMinutes: 15,
        rules: [
          { metric: 'p95LatencyMs', max: 300 },
          { metric: 'conversionRate', min: 0.01 },
        ],
      },
    });
    expect(created.variants.map((v) => [v.key, v.kind, v.weight])).toEqual([
      ['control', 'control', 1],
      ['treatment', 'config', 1],
      ['rule-set', 'profile', 2],
    ]);
  });

  it("breaks an experiment's results down by segment, surface and day, with each slice's lift and interval, the choice in the URL", async () => {
    const id = 'console-segments';
    await shop.api.admin.experiments.create.mutate({
      id,
      name: 'Segments on the home page',
      variants: [
        { key: 'control', kind: 'control' },
        { key: 'retail', kind: 'profile', profile: 'online-retail' },
      ],
      target: { surfaces: ['forUser'] },
      primaryMetric: 'conversionRate',
    });
    await shop.api.admin.experiments.start.mutate({ id });
    // 90 visitors, a third each runners, home cooks and no segment; every control visitor's first in a
    // segment buys (so each slice's control has a rate to compare with), then every other one; a third
    // of the retail visitors buy.
    const [product] = shop.catalog.products.values();
    const segments = ['runner', 'home-cook', ''];
    const events = [];
    const seen = new Map<string, number>();
    for (let i = 0; i < 90; i++) {
      const segment = segments[i % 3]!;
      const anonymousId = `segment-visitor-${i}`;
      const list = await shop.api.recs.forUser.query({
        k: 4,
        anonymousId,
        ...(segment ? { traits: { segment } } : {}),
      });
      expect(list.experiment?.id).toBe(id);
      const variant = list.experiment!.variant;
      const n = seen.get(segment + variant) ?? 0;
      seen.set(segment + variant, n + 1);
      if (variant === 'control' ? n % 2 === 0 : n % 3 === 0)
        events.push({
          eventId: `segment-buy-${i}`,
          type: 'purchase' as const,
          itemId: product!.itemId,
          anonymousId,
          ts: new Date().toISOString(),
        });
    }
    await shop.api.events.batch.mutate({ events });
    const results = (breakdown: 'segment' | 'surface' | 'day') =>
      shop.api.admin.experiments.results.query({ id, breakdown });
    // Served lists are logged in batches: wait until the 90 are in, with the purchases after them.
    await expect
      .poll(async () => {
        const r = await results('segment');
        return [
          r.variants.reduce((sum, v) => sum + v.lists, 0),
          r.variants.some((v) => !v.metrics.conversionRate),
        ];
      })
      .toEqual([90, false]);
    const bySegment = await results('segment');
    expect(new Set(bySegment.breakdown!.slices.map((s) => s.slice))).toEqual(
      new Set(['', 'home-cook', 'runner']),
    );
    const signed = (x: number | null) => (x === null ? '…' : `${x > 0 ? '+' : ''}${(x * 100).toFixed(1)} %`);

    const page = await newPage();
    await signIn(page, 'viewer', `/admin/experiments/${id}`);
    await page.getByRole('heading', { name: 'Segments on the home page' }).waitFor();
    // The service figures say which window they cover.
    await page.getByRole('table', { name: /^Recent service, the last 60 minutes \(since / }).waitFor();
    await page.getByLabel('Results by').selectOption('segment');
    expect(new URL(page.url()).searchParams.get('by')).toBe('segment');
    const table = page.getByRole('table', {
      name: /^By segment: conversion rate per variant/,
    });
    await table.waitFor();
    /** The rows of the breakdown table: its cells' texts. */
    const rowsOf = () =>
      table
        .locator('tbody tr')
        .evaluateAll((rows) =>
          rows.map((r) => [...r.querySelectorAll('th, td')].map((c) => c.textContent ?? '')),
        );
    const expectRows = async (r: Awaited<ReturnType<typeof results>>, metric: 'conversionRate' | 'ctr') => {
      const rows = await rowsOf();
      expect(rows).toHaveLength(r.breakdown!.slices.length);
      r.breakdown!.slices.forEach((s, i) => {
        const row = rows[i]!;
        expect(row.slice(0, 4)).toEqual([
          r.breakdown!.by === 'segment' && s.slice === '' ? '(none)' : s.slice,
          s.variant === 'control' ? 'control (control)' : s.variant,
          s.lists.toLocaleString('en-US'),
          s.visitors.toLocaleString('en-US'),
        ]);
        const c = r.breakdown!.comparisons.find(
          (x) => x.slice === s.slice && x.variant === s.variant && x.metric === metric,
        );
        if (!c?.lift) {
          expect(row[5]).toBe('—');
          return;
        }
        expect(row[5]).toContain(
          `${signed(c.lift.estimate)} (${signed(c.lift.ci[0])} to ${signed(c.lift.ci[1])})`,
        );
      });
      // Each slice's retail row has its lift against that slice's control.
      expect(rows.filter((row) => row[1] === 'retail' && row[5] !== '—').length).toBeGreaterThan(0);
    };
    await expectRows(bySegment, 'conversionRate');
    expect((await rowsOf()).map((row) => row[0])).toContain('(none)');
    await checkPage(page, 'experiment-by-segment');

    // Another metric, kept in the URL with the breakdown: a reload and a shared link show the same.
    await page.getByLabel('Metric of the slices').selectOption('ctr');
    await page.getByRole('table', { name: /^By segment: click-through rate per variant/ }).waitFor();
    const link = new URL(page.url());
    expect([link.searchParams.get('by'), link.searchParams.get('metric')]).toEqual(['segment', 'ctr']);
    await page.reload();
    const ctrTable = page.getByRole('table', {
      name: /^By segment: click-through rate per variant/,
    });
    await ctrTable.waitFor();
    expect(await page.getByLabel('Results by').inputValue()).toBe('segment');
    expect(await page.getByLabel('Metric of the slices').inputValue()).toBe('ctr');
    const other = await newPage();
    await signIn(other, 'operator', link.pathname + link.search);
    await other.getByRole('table', { name: /^By segment: click-through rate per variant/ }).waitFor();

    // By surface and by day: one slice each here (forUser, today).
    await page.getByLabel('Results by').selectOption('surface');
    await page.getByRole('table', { name: /^By surface: click-through rate/ }).waitFor();
    const bySurface = await results('surface');
    expect(bySurface.breakdown!.slices.map((s) => s.slice)).toEqual(expect.arrayContaining(['forUser']));
    await page.getByLabel('Metric of the slices').selectOption('conversionRate');
    await page.getByLabel('Results by').selectOption('day');
    const byDayTable = page.getByRole('table', { name: /^By day: conversion/ });
    await byDayTable.waitFor();
    const today = new Date().toISOString().slice(0, 10);
    expect(await byDayTable.locator('tbody th').allTextContents()).toContain(today);
    await page.getByLabel('Results by').selectOption('');
    await page.getByRole('table', { name: /Exposures and rates per variant/ }).waitFor();
    // The results are read again without a breakdown: the slices go when they arrive.
    await page.getByRole('table', { name: /^By / }).waitFor({ state: 'detached' });
    expect(new URL(page.url()).search).toBe('');
  });

  it('shows bundle acceptance per bundle, with a chart of its days, for the period in the URL', async () => {
    // A product page whose bundle has partners: shown to two visitors; one adds every item and buys them.
    let shown: Awaited<ReturnType<typeof shop.api.recs.bundle.query>> | undefined;
    for (const product of shop.catalog.products.values()) {
      const answer = await shop.api.recs.bundle.query({
        itemId: product.itemId,
        anonymousId: 'bundle-buyer',
      });
      if (answer.items.length >= 2) {
        shown = answer;
        break;
      }
    }
    expect(shown, 'a product with a bundle in the generated shop').toBeDefined();
    const itemIds = shown!.items.map((i) => i.itemId);
    await shop.api.recs.bundle.query({ itemId: itemIds[0]!, anonymousId: 'bundle-browser' });
    const ts = new Date().toISOString();
    const meta = { requestId: shown!.requestId, surface: 'bundle' };
    await shop.api.events.batch.mutate({
      events: itemIds.flatMap((itemId, i) => [
        { eventId: `bundle-add-${i}`, type: 'add' as const, itemId, anonymousId: 'bundle-buyer', ts, meta },
        {
          eventId: `bundle-buy-${i}`,
          type: 'purchase' as const,
          itemId,
          anonymousId: 'bundle-buyer',
          ts,
          meta: { ...meta, orderId: 'bundle-order' },
        },
      ]),
    });
    const key = [...itemIds].sort().join(' + ');
    // Served bundles are logged in batches: wait until both are counted.
    await expect
      .poll(async () => {
        const a = await shop.api.admin.bundles.acceptance.query({ days: 7 });
        return a.bundles.find((b) => b.bundleKey === key)?.shown ?? 0;
      })
      .toBeGreaterThanOrEqual(2);
    const expected = (await shop.api.admin.bundles.acceptance.query({ days: 7 })).bundles.find(
      (b) => b.bundleKey === key,
    )!;
    expect(expected.purchased).toBeGreaterThanOrEqual(1);

    const page = await newPage();
    await signIn(page, 'viewer', '/admin/overview');
    await page.getByRole('link', { name: 'Bundles', exact: true }).click();
    await page.getByRole('heading', { name: 'Bundles' }).waitFor();
    await page.getByRole('link', { name: 'Last 7 days' }).click();
    await expect.poll(() => new URL(page.url()).searchParams.get('days')).toBe('7');
    const card = page.locator(`[data-bundle="${key}"]`);
    await card.waitFor();
    const chart = card.getByRole('img', { name: key });
    // Seven days, each named as the UTC day it is; the chart says its peak in words.
    expect(await chart.locator('desc').textContent()).toMatch(
      new RegExp(
        `^From \\d{4}-\\d{2}-\\d{2} to ${ts.slice(0, 10)}\\. shown: peak ${expected.shown} at ${ts.slice(0, 10)}`,
      ),
    );
    expect(await card.textContent()).toContain(
      `Shown ${expected.shown}, all added ${expected.allAdded} (${((expected.allAdded / expected.shown) * 100).toFixed(1)}%), purchased ${expected.purchased}`,
    );
    await card.getByText(`Numbers of ${key}`).click();
    expect(await card.getByRole('table', { name: key }).locator('tbody tr').count()).toBe(7);
    await checkPage(page, 'bundles');
    // A period with nothing else in it still lists this bundle; an unknown period falls back to 30 days.
    await page.goto('/admin/bundles?days=5');
    await page
      .getByRole('link', { name: 'Last 30 days' })
      .and(page.locator('[aria-current="page"]'))
      .waitFor();
    await card.waitFor();
  });

  it('finds a trace by request id and explains it', async () => {
    const list = await shop.api.recs.trending.query({ k: 6, explain: true, anonymousId: 'trace-visitor' });
    const page = await newPage();
    await signIn(page, 'viewer', '/admin/traces');
    await page.getByLabel('Request id').fill(list.requestId);
    await page.getByRole('button', { name: 'Search' }).click();
    // The search is in the URL.
    await expect.poll(() => new URL(page.url()).searchParams.get('requestId')).toBe(list.requestId);
    const link = page.getByRole('link', { name: list.requestId });
    await link.waitFor();
    await checkPage(page, 'traces');
    await link.click();
    await page.getByRole('heading', { name: /Why this .* list/ }).waitFor();
    const shown = await page
      .locator('ol.final li')
      .evaluateAll((lis) => lis.map((li) => li.getAttribute('data-item')));
    expect(shown).toEqual(list.items.map((i) => i.itemId));
    expect(await page.locator('main').textContent()).toMatch(/Why: |Filled in by the fallback/);
    await checkPage(page, 'trace');
    // The trace page is a deep link of its own; an unknown id is an empty state, not an error.
    await page.goto(`/admin/traces/${list.requestId}`);
    await page.getByRole('heading', { name: /Why this .* list/ }).waitFor();
    allowedLoadFailures = [404];
    await page.goto('/admin/traces/no-such-request');
    await page.getByText(/No trace of request no-such-request/).waitFor();
    await page.goto('/admin/traces?itemId=no-such-item');
    await page.getByText(/No trace matches/).waitFor();
  });

  it("shows a configuration version's differences, activates it and rolls back", async () => {
    const saved = await shop.api.admin.config.save.mutate({
      config: { diversity: { lambda: 0.55 } },
      name: 'more variety',
      note: 'console test',
    });
    const page = await newPage();
    await signIn(page, 'operator', '/admin/config');
    await page.getByRole('link', { name: `Version ${saved.version}` }).click();
    expect(new URL(page.url()).searchParams.get('version')).toBe(String(saved.version));
    const changes = page.getByRole('table', { name: new RegExp(`What version ${saved.version} changes`) });
    await changes.waitFor();
    expect(await changes.locator('tbody tr').first().locator('th, td').allTextContents()).toEqual([
      'diversity.lambda',
      'default',
      '0.55',
    ]);
    await checkPage(page, 'config');
    await page.getByRole('button', { name: `Activate version ${saved.version}` }).click();
    await page.getByText(`Version ${saved.version} is active.`).waitFor();
    expect((await shop.api.admin.config.get.query()).version).toBe(saved.version);
    await page.getByRole('button', { name: 'Roll back' }).click();
    await page.getByText('Back to the engine defaults.').waitFor();
    expect((await shop.api.admin.config.get.query()).version).toBeNull();
  });

  it('lets an admin create and revoke a publishable key, never showing a secret key', async () => {
    const page = await newPage();
    await signIn(page, 'admin', '/admin/keys');
    await page.getByRole('table', { name: 'API keys' }).waitFor();
    const body = await page.locator('main').textContent();
    expect(body).not.toMatch(/sk_/);
    await page.getByLabel(/Allowed origins/).fill('https://console-test.example');
    await page.getByLabel('Label').fill('console test');
    await page.getByRole('button', { name: 'Create publishable key' }).click();
    const created = await page.locator('.created code.key').textContent();
    expect(created).toMatch(/^pk_/);
    const keyId = (await page.locator('.created code').first().textContent())!;
    await page.locator(`tr[data-key="${keyId}"]`).waitFor();
    await checkPage(page, 'keys');
    await page.getByRole('button', { name: `Revoke key ${keyId}` }).click();
    await page.getByRole('button', { name: `Revoke ${keyId} now` }).click();
    await page.getByText(`Key ${keyId} revoked.`).waitFor();
    // The list is read again after the message: the row goes when it arrives.
    await page.locator(`tr[data-key="${keyId}"]`).waitFor({ state: 'detached' });
    const keys = await shop.api.admin.keys.list.query();
    expect(keys.find((k) => k.keyId === keyId)?.revokedAt).not.toBeNull();
  });

  it('lets an admin add an operator who can then sign in, and remove them', async () => {
    const page = await newPage();
    await signIn(page, 'admin', '/admin/operators');
    await page.getByRole('table', { name: 'Operators' }).waitFor();
    expect(await page.locator('tr[data-operator="admin@demo"]').getByText('you').count()).toBe(1);
    await page.getByLabel(/^Name/).fill('new@demo');
    await page.getByLabel(/^Role/).selectOption('operator');
    await page.getByRole('button', { name: 'Add operator' }).click();
    const password = (await page.locator('.created code.key').textContent())!;
    expect(password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    await page.locator('tr[data-operator="new@demo"]').waitFor();
    await checkPage(page, 'operators');

    const newcomer = await newPage();
    await newcomer.goto('/admin/');
    await newcomer.getByLabel('Shop (namespace)').fill(shop.namespaceId);
    await newcomer.getByLabel('Operator name').fill('new@demo');
    await newcomer.getByLabel('Password').fill(password);
    await newcomer.getByRole('button', { name: 'Sign in' }).click();
    await newcomer.locator('.who').getByText('operator', { exact: true }).waitFor();

    await page.getByRole('button', { name: 'Remove new@demo' }).click();
    await page.getByRole('button', { name: 'Remove new@demo now' }).click();
    await page.getByText('new@demo removed.').waitFor();
    // Their session ended with them: the next page they open asks them to sign in.
    allowedLoadFailures = [401];
    await newcomer.getByRole('link', { name: 'Traces' }).click();
    await newcomer.getByRole('heading', { name: 'Sign in to the Recsys console' }).waitFor();
  });

  it('lands on the overview after sign-in, with charts of the range in the URL', async () => {
    // Traffic of the last minutes: lists served, their items' impressions, a click on each and an add.
    const now = new Date().toISOString();
    const lists = await Promise.all(
      [0, 1, 2, 3].map((i) => shop.api.recs.trending.query({ k: 4, anonymousId: `ov-${i}` })),
    );
    const event = (id: string, type: 'impression' | 'click' | 'add', i: number, itemId: string) => ({
      eventId: `ov-${id}`,
      type,
      itemId,
      anonymousId: `ov-${i}`,
      ts: now,
      meta: { requestId: lists[i]!.requestId },
    });
    await shop.api.events.batch.mutate({
      events: lists.flatMap((list, i) => [
        ...list.items.map((item, r) => event(`imp-${i}-${r}`, 'impression', i, item.itemId)),
        event(`click-${i}`, 'click', i, list.items[0]!.itemId),
        ...(i === 0 ? [event('add-0', 'add', 0, list.items[0]!.itemId)] : []),
      ]),
    });
    const total = (values: number[]) => values.reduce((a, v) => a + v, 0);
    // Served lists are logged in batches: wait until these are in.
    await expect
      .poll(async () => total((await shop.api.admin.overview.query({ range: '1h' })).lists.served))
      .toBeGreaterThanOrEqual(4);

    const page = await newPage();
    await signIn(page, 'viewer', '/admin/');
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/admin/overview');
    await page.getByRole('link', { name: 'Last hour' }).click();
    await expect.poll(() => new URL(page.url()).searchParams.get('range')).toBe('1h');
    expect(await page.getByRole('link', { name: 'Last hour' }).getAttribute('aria-current')).toBe('page');
    const events = page.getByRole('img', { name: 'Events per minute, by type' });
    await events.waitFor();
    // The chart describes itself in words: each line's peak and latest value.
    expect(await events.locator('desc').textContent()).toMatch(/impression: peak \d/);
    const tile = (name: string) => page.locator('.tiles div', { hasText: name }).locator('dd').textContent();
    expect(Number(await tile('Impressions'))).toBeGreaterThanOrEqual(lists.flatMap((l) => l.items).length);
    expect(await tile('CTR')).toMatch(/^\d+(\.\d+)?%$/);
    // Serving time as logged with each list, the same figure the overview procedure gives.
    const served = await shop.api.admin.overview.query({ range: '1h' });
    expect(served.latencyP95Ms).not.toBeNull();
    expect(await tile('Serving p95')).toMatch(/^\d+(\.\d+)? ms$/);
    // Recorded a minute at a time, so the events above may not be in yet.
    expect(await tile('Longest index wait')).toMatch(/^(—|\d+(\.\d+)? ms)$/);
    for (const name of [
      'Lists served per minute',
      'Impressions and what followed, per minute',
      'CTR, add-to-cart and conversion (share of impressions)',
      'Fallback and empty-list share of served lists',
      'p95 serving time per minute, ms',
      'Freshness: longest event → index wait per minute, ms',
    ])
      await page.getByRole('img', { name }).waitFor();
    // The numbers behind a chart, in a table.
    await page.getByText('Numbers of Lists served per minute').click();
    const numbers = page.getByRole('table', { name: 'Lists served per minute' });
    await numbers.waitFor();
    expect(await numbers.locator('tbody tr').count()).toBe(60);
    await page.getByRole('table', { name: 'By surface of the served list' }).getByText('trending').waitFor();
    await checkPage(page, 'overview');
    // A deep link to another range.
    await page.goto('/admin/overview?range=7d');
    await page.getByRole('img', { name: 'Lists served per 6 hours' }).waitFor();
    await checkPage(page, 'overview-7d');
  });

  it('searches, filters and pages the catalog, and archives and restores an item', async () => {
    const products = [...shop.catalog.products.values()];
    // An available item whose title no other item's contains, so a title search finds it alone.
    const product = products.find(
      (p) => p.available && products.filter((o) => o.title.includes(p.title)).length === 1,
    )!;
    const page = await newPage();
    await signIn(page, 'operator', '/admin/catalog');
    const table = page.getByRole('table', { name: 'Items, by id' });
    await table.waitFor();
    expect(await table.locator('tbody tr').count()).toBe(25);
    const firstPage = await table.locator('tbody th').allTextContents();
    await page.getByRole('link', { name: 'Next page' }).click();
    await expect.poll(() => new URL(page.url()).searchParams.get('cursor')).toBeTruthy();
    await page.getByRole('link', { name: 'First page' }).waitFor();
    expect(await table.locator('tbody th').first().textContent()).not.toBe(firstPage[0]);

    await page.getByLabel('Search (id or title)').fill(product.title.toUpperCase());
    await page.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => new URL(page.url()).searchParams.get('q')).toBe(product.title.toUpperCase());
    expect(new URL(page.url()).searchParams.get('cursor')).toBeNull();
    const row = page.locator(`tr[data-item="${product.itemId}"]`);
    await row.waitFor();
    await checkPage(page, 'catalog');
    await page.getByRole('button', { name: `Archive ${product.itemId}` }).click();
    await page.getByText(`Item ${product.itemId} archived: it is no longer recommended.`).waitFor();
    // It left the active items; the archived filter (in the URL) shows it.
    await expect.poll(() => row.count()).toBe(0);
    await page.getByLabel('Status').selectOption('archived');
    await expect.poll(() => new URL(page.url()).searchParams.get('status')).toBe('archived');
    await row.waitFor();
    expect((await shop.api.items.get.query({ itemIds: [product.itemId] }))[0]?.archivedAt).not.toBeNull();
    await page.getByRole('button', { name: `Restore ${product.itemId}` }).click();
    await page.getByText(`Item ${product.itemId} restored.`).waitFor();
    expect((await shop.api.items.get.query({ itemIds: [product.itemId] }))[0]?.archivedAt).toBeNull();

    // Deep links: a search by id with the availability filter; and the empty state.
    await page.goto(`/admin/catalog?q=${encodeURIComponent(product.itemId)}&available=yes`);
    await row.waitFor();
    expect(await page.getByLabel('Availability').inputValue()).toBe('yes');
    expect(await page.getByLabel('Search (id or title)').inputValue()).toBe(product.itemId);
    await page.goto('/admin/catalog?q=no-such-item-anywhere');
    await page.getByText('No item matches this search and these filters.').waitFor();
  });

  it("looks a user up, with their events and lists, and opens an item's page with its neighbours", async () => {
    const { events } = await shop.api.events.list.query({ type: 'view', limit: 200 });
    const seen = events.find((e) => e.userId && e.itemId)!;
    const page = await newPage();
    await signIn(page, 'viewer', '/admin/users');
    await page.getByText('Give a user id').waitFor();
    await page.getByLabel('User id').fill(seen.userId!);
    await page.getByRole('button', { name: 'Look up' }).click();
    await expect.poll(() => new URL(page.url()).searchParams.get('user')).toBe(seen.userId);
    await page.getByRole('heading', { name: `User ${seen.userId}` }).waitFor();
    const latest = page.getByRole('table', { name: `Latest events of ${seen.userId}` });
    await latest.waitFor();
    expect(await latest.locator('tbody tr').count()).toBeGreaterThan(0);
    // What each personal list would show now, each item with its reasons.
    const forYou = page.getByRole('region', { name: 'For you' });
    await forYou.locator('li').first().waitFor();
    expect(await forYou.locator('li .sub').first().textContent()).toBeTruthy();
    await checkPage(page, 'user');

    // An item's id opens its page: the record, its neighbours, its latest events.
    await forYou.locator('li a').first().click();
    await page.getByRole('heading', { name: /^Item / }).waitFor();
    await page.getByRole('region', { name: 'Similar items' }).waitFor();
    await page.getByRole('region', { name: 'Bought with it (its cart list)' }).waitFor();
    await checkPage(page, 'item');
    await page.goto('/admin/catalog/no-such-item');
    await page.getByText('No item "no-such-item"').waitFor();
    allowedLoadFailures.push(404);
  });

  it('runs a job now and as a dry run, and shows its history at its own URL', async () => {
    const page = await newPage();
    await signIn(page, 'operator', '/admin/jobs');
    const row = page.locator('tr[data-job="trace-retention"]');
    await row.waitFor();
    await page.getByRole('button', { name: 'Dry run trace-retention' }).click();
    await page.getByText(/^Dry run of trace-retention: ok in /).waitFor();
    // The run selected the job: its history is a deep link.
    await expect.poll(() => new URL(page.url()).searchParams.get('job')).toBe('trace-retention');
    const runs = page.getByRole('table', { name: 'Runs of trace-retention, newest first' });
    await runs.locator('tbody tr').first().getByText('ok (dry run)').waitFor();
    await page.getByRole('button', { name: 'Run now trace-retention' }).click();
    await page.getByText(/^Run of trace-retention: ok in /).waitFor();
    // The server's scheduler runs jobs too (hourly for this one), so only the manual runs are counted.
    const manual = runs.locator('tbody tr', { hasText: 'manual' });
    await expect.poll(() => manual.count()).toBe(2);
    expect(await manual.first().locator('td').nth(2).textContent()).toBe('ok');
    await row.getByText('manual').waitFor();
    await checkPage(page, 'jobs');
    const history = await shop.api.admin.jobs.history.query({ job: 'trace-retention' });
    expect(history.filter((r) => r.trigger === 'manual').map((r) => [r.dryRun, r.outcome])).toEqual([
      [false, 'ok'],
      [true, 'ok'],
    ]);

    // A deep link to another job's history; an unknown job is an empty state.
    await page.goto('/admin/jobs?job=guardrails');
    await page.getByRole('heading', { name: 'Runs of guardrails' }).waitFor();
    await page
      .getByRole('table', { name: 'Runs of guardrails, newest first' })
      .or(page.getByText('guardrails has not run yet; run it now or as a dry run above.'))
      .waitFor();
    await page.goto('/admin/jobs?job=no-such-job');
    await page.getByText(/No job no-such-job/).waitFor();
  });

  it('shows loading, error-with-retry and empty states', async () => {
    await ensureRule('console-pin');
    const page = await newPage();
    await signIn(page, 'operator', '/admin/experiments');
    await page.getByRole('table').waitFor();
    // Each answer waits for its gate, so the loading state is on screen until the test opens it.
    const gates: Array<() => void> = [];
    const gate = () => new Promise<void>((resolve) => gates.push(resolve));
    let answered = gate();
    let fail = true;
    allowedLoadFailures = [500];
    await page.route('**/trpc/admin.rules.list**', async (route) => {
      await answered;
      if (fail)
        await route.fulfill({
          status: 500,
          contentType: 'application/json',
          body: '{"error":{"message":"Internal error; quote request id test.","code":-32603,"data":{"code":"INTERNAL_SERVER_ERROR","httpStatus":500}}}',
        });
      else await route.continue();
    });
    await page.getByRole('link', { name: 'Rules', exact: true }).click();
    await page.getByText('Loading rules…').waitFor();
    gates.shift()?.();
    await page
      .getByRole('alert')
      .getByText(/Internal error; quote request id test/)
      .waitFor();
    fail = false;
    answered = gate();
    await page.getByRole('button', { name: 'Try again' }).click();
    await page.getByText('Loading rules…').waitFor();
    gates.shift()?.();
    await page.getByRole('table', { name: /Rules, by id/ }).waitFor();
    await page.goto('/admin/rules?kind=bury');
    await page.getByText('No rule matches these filters.').waitFor();
    expect(await page.getByLabel('Kind').inputValue()).toBe('bury');

    // The overview: an error with retry, then a range with nothing in it (the answer emptied here).
    let overview: 'fail' | 'empty' = 'fail';
    await page.route('**/trpc/admin.overview**', async (route) => {
      if (overview === 'fail') {
        await route.fulfill({
          status: 500,
          contentType: 'application/json',
          body: '{"error":{"message":"Internal error; quote request id overview.","code":-32603,"data":{"code":"INTERNAL_SERVER_ERROR","httpStatus":500}}}',
        });
        return;
      }
      const response = await route.fetch();
      const body = (await response.json()) as {
        result: { data: { events: unknown[]; lists: { served: number[] } } };
      };
      body.result.data.events = [];
      body.result.data.lists.served = body.result.data.lists.served.map(() => 0);
      await route.fulfill({ response, json: body });
    });
    await page.getByRole('link', { name: 'Overview', exact: true }).click();
    await page
      .getByRole('alert')
      .getByText(/Internal error; quote request id overview/)
      .waitFor();
    overview = 'empty';
    await page.getByRole('button', { name: 'Try again' }).click();
    await page.getByText('No events and no served lists in this range.').waitFor();
    await page.getByRole('link', { name: 'See the last 7 days.' }).waitFor();
  });

  it('works at 390 px wide on every page', async () => {
    await ensureRule('console-pin');
    const page = await newPage(390);
    await signIn(page, 'admin', '/admin/rules');
    for (const [path, name] of [
      ['/admin/overview?range=1h', 'overview'],
      ['/admin/catalog?q=a', 'catalog'],
      ['/admin/users', 'users'],
      ['/admin/rules', 'rules'],
      ['/admin/rules/new?id=narrow&kind=boost&tags=brand:*', 'rule-new'],
      ['/admin/rules/console-pin', 'rule'],
      ['/admin/traces', 'traces'],
      [`/admin/experiments/${EXPERIMENT}`, 'experiment'],
      ['/admin/experiments/new', 'experiment-new'],
      ['/admin/bundles?days=7', 'bundles'],
      ['/admin/config?version=1', 'config'],
      ['/admin/jobs?job=trace-retention', 'jobs'],
      ['/admin/keys', 'keys'],
      ['/admin/operators', 'operators'],
    ] as const) {
      await page.goto(path);
      await page.locator('h1').waitFor();
      await checkPage(page, `${name}-390`);
    }
  });
});
