import { bundleKeyOf } from '@recsys/engine/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../db/client';
import { failure, getTestDatabaseTargets, startTestServer, type TestTenant } from '../testing';

const HOUR = 3_600_000;
const base = Date.now() - 48 * HOUR;
const at = (h: number) => new Date(base + h * HOUR).toISOString();

const catalog = [
  { itemId: 'tent', title: 'Dome tent', price: 200, currency: 'EUR', category: 'tents' },
  { itemId: 'pegs', title: 'Tent pegs', price: 10, currency: 'EUR', category: 'accessories' },
  { itemId: 'mat', title: 'Sleeping mat', price: 40, currency: 'EUR', category: 'sleeping' },
  { itemId: 'stove', title: 'Camp stove', price: 60, currency: 'EUR', category: 'cooking', available: false },
  { itemId: 'kettle', title: 'Kettle', price: 30, currency: 'EUR', category: 'cooking' },
];

/** Orders of tent + pegs + mat, tent + stove (out of stock) and kettle alone. */
function history() {
  const events: Array<Record<string, unknown>> = [];
  let n = 0;
  const order = (itemIds: string[], user: string, h: number) => {
    for (const itemId of itemIds) {
      events.push({
        eventId: `hist-${n++}`,
        type: 'purchase',
        itemId,
        userId: user,
        ts: at(h),
        meta: { orderId: `order-${user}-${h}` },
      });
    }
  };
  for (let u = 0; u < 8; u++) order(['tent', 'pegs', 'mat'], `h${u}`, u);
  for (let u = 0; u < 4; u++) order(['tent', 'pegs'], `p${u}`, 20 + u);
  for (let u = 0; u < 10; u++) order(['tent', 'stove'], `s${u}`, 10 + u);
  for (let u = 0; u < 3; u++) order(['kettle'], `k${u}`, 30 + u);
  return events;
}

describe.each(getTestDatabaseTargets())('product bundles on $name', (target) => {
  let database: Database & { drop(): Promise<void> };
  let stack: Awaited<ReturnType<typeof startTestServer>>;
  let shop: TestTenant;

  async function openShop(namespaceId: string, discountPercent?: number): Promise<TestTenant> {
    const tenant = await stack.tenant(namespaceId);
    await tenant.admin.items.upsert.mutate({ items: catalog });
    await tenant.admin.events.batch.mutate({ events: history() });
    if (discountPercent !== undefined) {
      await tenant.admin.admin.config.save.mutate({
        config: { bundle: { discountPercent } },
        activate: true,
      });
    }
    await stack.engines!.catchUp();
    return tenant;
  }

  beforeAll(async () => {
    database = await target.open();
    stack = await startTestServer(database, { engine: { encoder: null, pollIntervalMs: 100 } });
    shop = await openShop('bundle-shop', 10);
  });
  afterAll(async () => {
    await stack?.close();
    await database?.drop();
  });

  it('recs.bundle answers a browser with the anchor and its co-purchase partners, reasons and the discounted price', async () => {
    const res = await shop.browser.recs.bundle.query({ itemId: 'tent', anonymousId: 'visitor-1' });
    expect(res.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.surface).toBe('bundle');
    expect(res.items.map((i) => [i.itemId, i.role, i.rank])).toEqual([
      ['tent', 'anchor', 1],
      ['pegs', 'partner', 2],
      ['mat', 'partner', 3],
    ]);
    expect(res.items[1]).toMatchObject({ title: 'Tent pegs', price: 10, currency: 'EUR' });
    expect(res.items[1]!.reason.text).toMatch(/Often bought with Dome tent/);
    expect(res.price).toEqual({
      total: 250,
      currency: 'EUR',
      discountPercent: 10,
      bundlePrice: 225,
      savings: 25,
    });
  });

  it('never puts the out-of-stock item in a bundle, however often it was bought with the anchor', async () => {
    const res = await shop.admin.recs.bundle.query({ itemId: 'tent', maxItems: 4 });
    expect(res.items.map((i) => i.itemId)).not.toContain('stove');
  });

  it('answers an item with no partner with an empty bundle and the reason, not an error', async () => {
    const res = await shop.browser.recs.bundle.query({ itemId: 'kettle' });
    expect(res).toMatchObject({ items: [], price: null, emptyReason: 'no-partners' });
    expect(res.message).toMatch(/Kettle/);
    const unknown = await shop.browser.recs.bundle.query({ itemId: 'no-such-item' });
    expect(unknown.emptyReason).toBe('unknown-item');
  });

  it('logs a served bundle under surface bundle with its items, for attribution', async () => {
    const res = await shop.browser.recs.bundle.query({
      itemId: 'tent',
      anonymousId: 'logged',
      placement: 'pdp',
    });
    await stack.recLog!.flush();
    const [row] = await database.query<{ surface: string; anonymous_id: string; items: unknown }>(
      'SELECT surface, anonymous_id, items FROM rec_logs WHERE namespace_id = $1 AND request_id = $2',
      ['bundle-shop', res.requestId],
    );
    expect(row).toMatchObject({ surface: 'bundle', anonymous_id: 'logged' });
    const items = typeof row?.items === 'string' ? JSON.parse(row.items) : row?.items;
    expect(items.map((i: { itemId: string }) => i.itemId)).toEqual(['tent', 'pegs', 'mat']);
  });

  it('refuses hostile input with a clear 4xx', async () => {
    for (const input of [
      { itemId: 'tent', maxItems: 9 },
      { itemId: '' },
      { itemId: 'tent', k: 5 },
      { itemId: 'tent', filters: { priceBetween: [10, 1] } },
      { itemId: 'x'.repeat(10_000) },
    ]) {
      await expect(shop.browser.recs.bundle.query(input as never)).rejects.toMatchObject({
        data: { httpStatus: 400 },
      });
    }
    await expect(shop.admin.admin.bundles.acceptance.query({ days: 0 })).rejects.toMatchObject({
      data: { httpStatus: 400 },
    });
    // Each refusal names the field and what it takes.
    for (const [input, message] of [
      [{ lookbackDays: 0 }, /lookbackDays: lookbackDays must be between 1 and 366/],
      [{ lookbackDays: 1.5 }, /lookbackDays: lookbackDays must be a whole number/],
      [{ dryRun: 'yes' }, /dryRun: .*expected boolean/],
      [{ days: 7 }, /Unrecognized key: "days"/],
    ] as const) {
      const refused = await failure(shop.admin.admin.bundles.backfill.mutate(input as never));
      expect(refused.status).toBe(400);
      expect(refused.message).toMatch(message);
    }
    await expect(shop.browser.admin.bundles.backfill.mutate({ dryRun: true })).rejects.toMatchObject({
      message: expect.stringMatching(/secret key/i),
    });
    await expect(shop.browser.admin.bundles.acceptance.query({})).rejects.toMatchObject({
      data: { httpStatus: expect.any(Number) },
      message: expect.stringMatching(/secret key/i),
    });
  });

  it('counts a bundle shown, all of whose items were added and then bought, as accepted', async () => {
    const accept = await openShop('bundle-accept');
    const shown = await accept.browser.recs.bundle.query({ itemId: 'tent', anonymousId: 'buyer' });
    const itemIds = shown.items.map((i) => i.itemId);
    expect(itemIds).toHaveLength(3);
    // Shown to someone else too, who added one item only.
    const browsed = await accept.browser.recs.bundle.query({ itemId: 'tent', anonymousId: 'browser' });
    await stack.recLog!.flush();
    const meta = (requestId: string, rank: number) => ({
      recommended: true,
      requestId,
      rank,
      surface: 'bundle',
      widget: 'bundle',
    });
    const now = new Date().toISOString();
    await accept.browser.events.batch.mutate({
      events: [
        ...shown.items.map((item) => ({
          eventId: `add-${item.itemId}`,
          type: 'add' as const,
          itemId: item.itemId,
          anonymousId: 'buyer',
          ts: now,
          meta: meta(shown.requestId, item.rank),
        })),
        {
          eventId: 'browser-add',
          type: 'add' as const,
          itemId: 'tent',
          anonymousId: 'browser',
          ts: now,
          meta: meta(browsed.requestId, 1),
        },
      ],
    });
    const before = await accept.admin.admin.bundles.acceptance.query({ days: 1 });
    expect(before.bundles).toEqual([
      expect.objectContaining({ bundleKey: bundleKeyOf(itemIds), shown: 2, allAdded: 1, purchased: 0 }),
    ]);
    // The order comes from the shop's backend: no requestId, the same visitor.
    await accept.admin.events.batch.mutate({
      events: itemIds.map((itemId) => ({
        eventId: `buy-${itemId}`,
        type: 'purchase' as const,
        itemId,
        anonymousId: 'buyer',
        ts: new Date().toISOString(),
        meta: { orderId: 'order-buyer' },
      })),
    });
    const after = await accept.admin.admin.bundles.acceptance.query({ days: 1 });
    const [bundle] = after.bundles;
    expect(bundle).toMatchObject({ shown: 2, allAdded: 1, purchased: 1, acceptance: 0.5, addAllRate: 0.5 });
    const today = new Date().toISOString().slice(0, 10);
    expect(bundle!.days).toEqual([expect.objectContaining({ day: today, shown: 2, purchased: 1 })]);
    expect(after.byDay).toEqual([
      expect.objectContaining({ day: today, shown: 2, allAdded: 1, purchased: 1 }),
    ]);
    expect(after.totals).toMatchObject({ shown: 2, purchased: 1 });
  });

  it("counts neither another visitor's purchase nor one outside the purchase window", async () => {
    const other = await openShop('bundle-other');
    const shown = await other.browser.recs.bundle.query({
      itemId: 'tent',
      anonymousId: 'alice',
      maxItems: 2,
    });
    await stack.recLog!.flush();
    const ts = new Date().toISOString();
    const events = (type: 'add' | 'purchase', anonymousId: string, meta: Record<string, unknown>) =>
      shown.items.map((item) => ({
        eventId: `${type}-${anonymousId}-${item.itemId}`,
        type,
        itemId: item.itemId,
        anonymousId,
        ts,
        meta,
      }));
    await other.browser.events.batch.mutate({
      events: events('add', 'alice', { recommended: true, requestId: shown.requestId, surface: 'bundle' }),
    });
    await other.admin.events.batch.mutate({ events: events('purchase', 'bob', { orderId: 'bob-order' }) });
    const bobOnly = await other.admin.admin.bundles.acceptance.query({});
    expect(bobOnly.totals).toMatchObject({ shown: 1, allAdded: 1, purchased: 0 });
    await other.admin.events.batch.mutate({
      events: events('purchase', 'alice', { orderId: 'alice-order' }),
    });
    expect((await other.admin.admin.bundles.acceptance.query({})).totals.purchased).toBe(1);
    // Alice's order carries no requestId: with no window after the bundle was served it is not the bundle's.
    expect(
      (await other.admin.admin.bundles.acceptance.query({ purchaseWindowDays: 0 })).totals.purchased,
    ).toBe(0);
  });

  it('makes acceptance 1 for a bundle whose every showing was added and bought with its requestId', async () => {
    const solo = await openShop('bundle-solo');
    const shown = await solo.browser.recs.bundle.query({ itemId: 'tent', anonymousId: 'solo', maxItems: 2 });
    await stack.recLog!.flush();
    const now = new Date().toISOString();
    await solo.browser.events.batch.mutate({
      events: shown.items.flatMap((item) =>
        (['add', 'purchase'] as const).map((type) => ({
          eventId: `${type}-${item.itemId}`,
          type,
          itemId: item.itemId,
          anonymousId: 'solo',
          ts: now,
          meta: { recommended: true, requestId: shown.requestId, rank: item.rank, surface: 'bundle' },
        })),
      ),
    });
    const result = await solo.admin.admin.bundles.acceptance.query({});
    expect(result.bundles).toEqual([
      expect.objectContaining({
        bundleKey: 'pegs + tent',
        shown: 1,
        allAdded: 1,
        purchased: 1,
        acceptance: 1,
      }),
    ]);
  });

  it('runs a bundle experiment on the product pages of a category', async () => {
    const exp = await openShop('bundle-cat');
    await exp.admin.admin.experiments.create.mutate({
      id: 'cooking-kit',
      name: 'Cooking kit',
      variants: [
        { key: 'control', kind: 'control' },
        { key: 'kit', kind: 'bundle', partnerItemIds: ['mat'] },
      ],
      // As a merchandiser types it: the catalog's tags are compared normalised.
      target: { anchorCategories: [' Cooking '] },
    });
    await exp.admin.admin.experiments.start.mutate({ id: 'cooking-kit' });
    // The kettle is in the category: every visitor is in the experiment, the kit's get the kit.
    const kettle = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        exp.browser.recs.bundle.query({ itemId: 'kettle', anonymousId: `cat-${i}` }),
      ),
    );
    for (const res of kettle) expect(res.experiment?.id).toBe('cooking-kit');
    const kit = kettle.filter((res) => res.experiment?.variant === 'kit');
    expect(kit.length).toBeGreaterThan(0);
    for (const res of kit) {
      expect(res.items.map((i) => [i.itemId, i.reason.signal])).toEqual([
        ['kettle', 'anchor'],
        ['mat', 'fixed'],
      ]);
    }
    // The tent is not: its computed bundle, outside the experiment.
    const tent = await exp.browser.recs.bundle.query({ itemId: 'tent', anonymousId: 'cat-1' });
    expect(tent.experiment).toBeUndefined();
    expect(tent.items[1]!.reason.signal).toBe('boughtTogether');
  });

  it("serves a bundle experiment: the variant's fixed bundle on its product pages, the computed one to the control, provenance in the trace", async () => {
    const exp = await openShop('bundle-exp');
    const variants = [
      { key: 'control', kind: 'control' as const },
      {
        key: 'kit',
        kind: 'bundle' as const,
        partnerItemIds: ['kettle', 'stove', 'mat'],
        discountPercent: 20,
      },
    ];
    const noAnchor = await failure(
      exp.admin.admin.experiments.create.mutate({ id: 'tent-kit', name: 'Tent kit', variants }),
    );
    expect(noAnchor.status).toBe(400);
    expect(noAnchor.message).toMatch(/target\.anchorItemIds/);
    const mixed = await failure(
      exp.admin.admin.experiments.create.mutate({
        id: 'tent-kit',
        name: 'Tent kit',
        variants: [...variants, { key: 'hidden', kind: 'surface', enabled: false }],
        target: { anchorItemIds: ['tent'] },
      }),
    );
    expect(mixed.status).toBe(400);
    expect(mixed.message).toMatch(
      /variants are "control" \(the computed bundle\) or "bundle", not "surface"/,
    );

    await exp.admin.admin.experiments.create.mutate({
      id: 'tent-kit',
      name: 'Tent kit',
      variants,
      target: { anchorItemIds: ['tent'] },
      // Acceptance above 90% smells of a broken tracker: the guardrail catches the spike.
      guardrails: {
        minSample: 1,
        consecutive: 1,
        rules: [{ metric: 'bundleAcceptance', min: 0.01, max: 0.9 }],
      },
    });
    await exp.admin.admin.experiments.start.mutate({ id: 'tent-kit' });
    type Served = Awaited<ReturnType<typeof exp.browser.recs.bundle.query>>;
    const served: Record<string, Served[]> = {
      control: [],
      kit: [],
    };
    for (let i = 0; i < 30; i++) {
      const res = await exp.browser.recs.bundle.query({ itemId: 'tent', anonymousId: `kit-${i}` });
      expect(res.experiment?.id).toBe('tent-kit');
      served[res.experiment!.variant]!.push(res);
    }
    expect(served.kit!.length).toBeGreaterThan(0);
    expect(served.control!.length).toBeGreaterThan(0);
    for (const res of served.kit!) {
      // The out-of-stock stove is left out; the rest in the variant's order, at its discount.
      expect(res.items.map((i) => [i.itemId, i.reason.signal])).toEqual([
        ['tent', 'anchor'],
        ['kettle', 'fixed'],
        ['mat', 'fixed'],
      ]);
      expect(res.price).toMatchObject({ total: 270, discountPercent: 20, bundlePrice: 216 });
    }
    for (const res of served.control!) {
      expect(res.items.map((i) => i.itemId)).toEqual(['tent', 'pegs', 'mat']);
      expect(res.items[1]!.reason.signal).toBe('boughtTogether');
    }
    // Other product pages and lists are outside a bundle experiment.
    expect(
      (await exp.browser.recs.bundle.query({ itemId: 'kettle', anonymousId: 'kit-0' })).experiment,
    ).toBeUndefined();
    expect(
      (await exp.browser.recs.similar.query({ itemId: 'tent', anonymousId: 'kit-0' })).experiment,
    ).toBeUndefined();

    await stack.recLog!.flush();
    const kitShown = served.kit![0]!;
    const trace = await exp.admin.admin.traces.get.query({ requestId: kitShown.requestId });
    expect(trace).toMatchObject({
      surface: 'bundle',
      experiment: 'tent-kit',
      variant: 'kit',
      engine: null,
      bundle: {
        anchorItemId: 'tent',
        override: { partnerItemIds: ['kettle', 'stove', 'mat'], discountPercent: 20 },
      },
    });
    expect(trace.bundle!.items.map((i) => i.itemId)).toEqual(['tent', 'kettle', 'mat']);
    const controlTrace = await exp.admin.admin.traces.get.query({ requestId: served.control![0]!.requestId });
    expect(controlTrace).toMatchObject({ variant: 'control', bundle: { override: null } });
    const logged = await database.query<{ variant: string; n: number }>(
      `SELECT variant, count(*)::int AS n FROM rec_logs WHERE namespace_id = 'bundle-exp' AND experiment_id = 'tent-kit' GROUP BY variant ORDER BY variant`,
    );
    expect(logged).toEqual([
      { variant: 'control', n: served.control!.length },
      { variant: 'kit', n: served.kit!.length },
    ]);

    // Every kit bundle is added whole; of the control's, only the first (and of the second one item).
    const adds = (res: Served, items = res.items) =>
      items.map((item) => ({
        eventId: `add-${res.requestId}-${item.itemId}`,
        type: 'add' as const,
        itemId: item.itemId,
        anonymousId: `kit-buyer`,
        ts: new Date().toISOString(),
        meta: { requestId: res.requestId, rank: item.rank, surface: 'bundle' },
      }));
    const [first, second] = served.control!;
    await exp.browser.events.batch.mutate({
      events: [
        ...served.kit!.flatMap((res) => adds(res)),
        ...adds(first!),
        ...(second ? adds(second, second.items.slice(0, 1)) : []),
      ],
    });
    const results = await exp.admin.admin.experiments.results.query({ id: 'tent-kit' });
    const acceptance = Object.fromEntries(results.variants.map((v) => [v.key, v.metrics.bundleAcceptance]));
    expect(acceptance).toEqual({ control: 1 / served.control!.length, kit: 1 });
    const [check] = await exp.admin.admin.experiments.checkGuardrails.mutate({ id: 'tent-kit' });
    expect(check!.breaches).toEqual([
      { variant: 'kit', metric: 'bundleAcceptance', value: 1, min: 0.01, max: 0.9 },
    ]);
    expect(check!.paused).toBe(true);
    const refused = await failure(
      exp.admin.admin.experiments.create.mutate({
        id: 'not-bundles',
        name: 'x',
        variants: [
          { key: 'control', kind: 'control' },
          { key: 'hidden', kind: 'surface', enabled: false },
        ],
        guardrails: { rules: [{ metric: 'bundleAcceptance', min: 0.01 }] },
      }),
    );
    expect(refused.status).toBe(400);
    expect(refused.message).toMatch(/bundleAcceptance guards bundle experiments/);
  });
});
