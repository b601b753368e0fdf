import { afterEach, describe, expect, it, vi } from 'vitest';
import { ENDPOINT, KEY, settle, useCollector } from './testing/collector';
import { createTracker, type Tracker, type TrackerOptions } from './tracker';

const collector = useCollector();
const open: Tracker[] = [];
const make = (options: Partial<TrackerOptions> = {}) => {
  const t = createTracker({ key: KEY, endpoint: ENDPOINT, fetch: collector.fetch, ...options });
  open.push(t);
  return t;
};
afterEach(() => {
  for (const t of open.splice(0)) t.destroy();
});

describe('batching', () => {
  it('sends as soon as 20 events are queued, without waiting for the timer', async () => {
    const t = make();
    for (let i = 0; i < 19; i++) t.view(`sku-${i}`);
    await settle();
    expect(collector.requests).toHaveLength(0);
    t.view('sku-19');
    await settle();
    expect(collector.requests).toHaveLength(1);
    expect(collector.requests[0]!.payload.events.map((e) => e.itemId)).toEqual(
      Array.from({ length: 20 }, (_, i) => `sku-${i}`),
    );
  });

  it('sends a partial batch 2 seconds after the first event', async () => {
    const t = make();
    t.view('sku-1');
    await vi.advanceTimersByTimeAsync(1500);
    t.click('sku-2');
    await vi.advanceTimersByTimeAsync(499);
    expect(collector.requests).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    await settle();
    expect(collector.events().map((e) => e.type)).toEqual(['view', 'click']);
  });

  it('sends early when the queued payload nears the batch byte limit', async () => {
    const t = make({ maxBatchBytes: 10_000 });
    const blob = 'x'.repeat(1_800);
    for (let i = 0; i < 4; i++) t.custom('big', { meta: { blob } });
    await settle();
    expect(collector.requests).toHaveLength(0);
    t.custom('big', { meta: { blob } }); // ~10.4 KB queued, over 90% of 10 KB
    await settle();
    expect(collector.requests.length).toBeGreaterThanOrEqual(1);
    for (const r of collector.requests) expect(JSON.stringify(r.payload).length).toBeLessThanOrEqual(10_000);
    await vi.advanceTimersByTimeAsync(2000);
    expect(collector.events()).toHaveLength(5);
  });

  it('refuses a single event larger than the batch limit instead of blocking the queue', async () => {
    const warn = vi.fn();
    const t = make({ maxBatchBytes: 1_000, logger: { warn } });
    t.custom('huge', { meta: { blob: 'x'.repeat(2_000) } });
    t.view('sku-1');
    await vi.advanceTimersByTimeAsync(2000);
    expect(collector.events().map((e) => e.type)).toEqual(['view']);
    expect(warn).toHaveBeenCalledWith('[recsys]', expect.stringContaining('over 1000 bytes'));
  });

  it('posts text/plain JSON to /v1/collect with the publishable key in the query string', async () => {
    const t = make();
    t.view('sku-1');
    await t.flush();
    const [req] = collector.requests;
    expect(req!.url.pathname).toBe('/v1/collect');
    expect(req!.url.searchParams.get('key')).toBe(KEY);
    expect(req!.contentType).toBe('text/plain;charset=UTF-8');
    expect(req!.payload.sentAt).toBe('2025-03-10T12:00:00.000Z');
    expect(req!.payload.dropped).toBeUndefined();
  });
});

describe('event shape', () => {
  it('gives every event an id, a UTC timestamp, the session, the visitor and the page context', async () => {
    const t = make();
    t.view('sku-1');
    t.view('sku-2');
    await t.flush();
    const [a, b] = collector.events();
    expect(a!.eventId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a!.eventId).not.toBe(b!.eventId);
    expect(a!.ts).toBe('2025-03-10T12:00:00.000Z');
    expect(a!.sessionId).toBeTruthy();
    expect(a!.sessionId).toBe(b!.sessionId);
    expect(a!.anonymousId).toBe(t.getIds().anonymousId);
    expect(a!.meta?.url).toBe(location.href);
  });

  it('adds recommendation context and recommended: true for items shown by a widget', async () => {
    const t = make();
    t.click('sku-9', { rec: { requestId: 'req-1', rank: 3, surface: 'pdp', widget: 'similar-1' } });
    await t.flush();
    expect(collector.events()[0]).toMatchObject({
      type: 'click',
      itemId: 'sku-9',
      meta: { recommended: true, requestId: 'req-1', rank: 3, surface: 'pdp', widget: 'similar-1' },
    });
  });

  it('sends the experiment and variant of the list as meta.experiment and meta.variant', async () => {
    const t = make();
    t.addToCart('sku-9', {
      rec: { requestId: 'req-3', rank: 1, surface: 'home', experiment: 'home-blend', variant: 'retail' },
    });
    await t.flush();
    expect(collector.events()[0]?.meta).toMatchObject({
      recommended: true,
      requestId: 'req-3',
      experiment: 'home-blend',
      variant: 'retail',
    });
  });

  it('tracks add-to-cart with quantity and unit price, and rate with its value', async () => {
    const t = make();
    t.addToCart('sku-1', { quantity: 2, price: 19.5, currency: 'EUR' });
    t.rate('sku-1', 4);
    await t.flush();
    const [add, rate] = collector.events();
    expect(add).toMatchObject({
      type: 'add',
      itemId: 'sku-1',
      value: 2,
      meta: { unitPrice: 19.5, currency: 'EUR' },
    });
    expect(rate).toMatchObject({ type: 'rate', itemId: 'sku-1', value: 4 });
  });

  it('tracks a purchase as one event per line plus an order-level custom event', async () => {
    const t = make();
    t.purchase({
      orderId: 'o-1',
      currency: 'EUR',
      items: [
        { itemId: 'sku-1', quantity: 2, price: 10 },
        { itemId: 'sku-2', price: 5, rec: { requestId: 'r-7', rank: 1, surface: 'cart' } },
      ],
    });
    await t.flush();
    const events = collector.events();
    expect(events.map((e) => [e.type, e.itemId ?? null, e.value])).toEqual([
      ['purchase', 'sku-1', 2],
      ['purchase', 'sku-2', 1],
      ['custom', null, 25],
    ]);
    expect(events[0]!.meta).toMatchObject({ orderId: 'o-1', unitPrice: 10, currency: 'EUR' });
    expect(events[1]!.meta).toMatchObject({ recommended: true, requestId: 'r-7', rank: 1 });
    expect(events[2]!.meta).toMatchObject({ name: 'order', orderId: 'o-1', total: 25, currency: 'EUR' });
    expect(events[2]!.meta?.recommended).toBeUndefined();
  });

  it('tracks custom events by name', async () => {
    const t = make();
    t.custom('newsletter_signup', { meta: { list: 'weekly' } });
    await t.flush();
    expect(collector.events()[0]).toMatchObject({
      type: 'custom',
      meta: { name: 'newsletter_signup', list: 'weekly' },
    });
  });
});

describe('beforeSend', () => {
  it('sends the event the hook returns and drops the ones it nulls', async () => {
    const t = make({
      beforeSend: (e) => (e.itemId === 'secret' ? null : { ...e, meta: { ...e.meta, url: 'redacted' } }),
    });
    t.view('secret');
    t.view('sku-1');
    await t.flush();
    expect(collector.events().map((e) => [e.itemId, e.meta?.url])).toEqual([['sku-1', 'redacted']]);
  });

  it('drops the event and logs when the hook throws, and keeps tracking afterwards', async () => {
    const warn = vi.fn();
    let calls = 0;
    const t = make({
      logger: { warn },
      beforeSend: (e) => {
        if (++calls === 1) throw new Error('bug in hook');
        return e;
      },
    });
    expect(() => t.view('sku-1')).not.toThrow();
    t.view('sku-2');
    await t.flush();
    expect(collector.events().map((e) => e.itemId)).toEqual(['sku-2']);
    expect(warn).toHaveBeenCalledWith('[recsys]', 'beforeSend threw, event dropped:', expect.any(Error));
  });
});
