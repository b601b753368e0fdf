import { afterEach, describe, expect, it } from 'vitest';
import { ENDPOINT, KEY, settle, stubBeacon, supportKeepalive, useCollector } from './testing/collector';
import { createTracker, KEEPALIVE_BUDGET, type Tracker, type TrackerOptions } from './tracker';
import type { CollectPayload } from './types';

const collector = useCollector();
const open: Tracker[] = [];
const cleanups: Array<() => void> = [];
const make = (options: Partial<TrackerOptions> = {}) => {
  const t = createTracker({ key: KEY, endpoint: ENDPOINT, fetch: collector.fetch, ...options });
  open.push(t);
  return t;
};
afterEach(() => {
  for (const t of open.splice(0)) t.destroy();
  for (const c of cleanups.splice(0)) c();
  delete (navigator as { sendBeacon?: unknown }).sendBeacon;
});
const bytes = (s: string) => new TextEncoder().encode(s).length;
const hide = () => window.dispatchEvent(new Event('pagehide'));

describe('flush on page hide', () => {
  it('sends everything queued with keepalive fetches on pagehide', async () => {
    cleanups.push(supportKeepalive());
    const t = make();
    t.view('sku-1');
    t.click('sku-2');
    hide();
    expect(collector.calls).toHaveLength(1);
    expect(collector.calls[0]!.init.keepalive).toBe(true);
    await settle();
    expect(collector.events().map((e) => e.itemId)).toEqual(['sku-1', 'sku-2']);
  });

  it('also flushes when the tab becomes hidden', async () => {
    cleanups.push(supportKeepalive());
    const t = make();
    t.view('sku-1');
    Object.defineProperty(document, 'visibilityState', { configurable: true, value: 'hidden' });
    document.dispatchEvent(new Event('visibilitychange'));
    delete (document as { visibilityState?: unknown }).visibilityState;
    expect(collector.calls[0]?.init.keepalive).toBe(true);
    await settle();
    expect(collector.events()).toHaveLength(1);
  });

  it('splits a large queue into keepalive chunks that together stay under the 64 KB budget, then uses sendBeacon', async () => {
    cleanups.push(supportKeepalive());
    const beacons = stubBeacon(true);
    // Regular sends hang (a slow network), so everything is still queued when the page hides.
    const t = make({
      flushAt: 1000,
      maxBatchBytes: 60_000,
      fetch: (url, init) => (init.keepalive ? collector.fetch(url, init) : new Promise(() => {})),
    });
    for (let i = 0; i < 60; i++) t.custom('big', { meta: { blob: 'é'.repeat(1_000) } }); // ~2.1 KB each
    await settle();
    hide();
    const keepalive = collector.calls.filter((c) => c.init.keepalive);
    const keepaliveBytes = keepalive.map((c) => bytes(String(c.init.body)));
    expect(keepalive.length).toBeGreaterThanOrEqual(1);
    for (const b of keepaliveBytes) expect(b).toBeLessThan(64_000);
    expect(keepaliveBytes.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(KEEPALIVE_BUDGET);
    expect(beacons.length).toBeGreaterThanOrEqual(1);
    for (const b of beacons) {
      expect(b.url).toBe(`${ENDPOINT}/v1/collect?key=${KEY}`);
      expect(bytes(b.body)).toBeLessThan(64_000);
    }
    const sent = [
      ...keepalive.map((c) => JSON.parse(String(c.init.body)) as CollectPayload),
      ...beacons.map((b) => JSON.parse(b.body) as CollectPayload),
    ].flatMap((p) => p.events);
    expect(sent).toHaveLength(60);
    expect(new Set(sent.map((e) => e.eventId)).size).toBe(60);
  });

  it('keeps the queue stored instead of handing it to keepalive while delivery is failing', async () => {
    cleanups.push(supportKeepalive());
    const beacons = stubBeacon(true);
    const t = make();
    collector.offline();
    t.view('sku-1');
    await t.flush();
    collector.calls.length = 0;
    hide();
    expect(collector.calls).toHaveLength(0);
    expect(beacons).toHaveLength(0);
    collector.offline(false);
    const reloaded = make();
    await reloaded.flush();
    expect(collector.events().map((e) => e.itemId)).toEqual(['sku-1']);
  });

  it('falls back to sendBeacon where fetch keepalive is unsupported', () => {
    const beacons = stubBeacon(true);
    const t = make();
    t.view('sku-1');
    hide();
    expect(collector.calls).toHaveLength(0);
    expect(beacons).toHaveLength(1);
    expect((JSON.parse(beacons[0]!.body) as CollectPayload).events[0]!.itemId).toBe('sku-1');
  });

  it('falls back to sendBeacon when the keepalive fetch is refused synchronously', () => {
    cleanups.push(supportKeepalive());
    const beacons = stubBeacon(true);
    const t = make({
      fetch: (url, init) => {
        if (init.keepalive) throw new TypeError('keepalive budget exceeded');
        return collector.fetch(url, init);
      },
    });
    t.view('sku-1');
    hide();
    expect(beacons).toHaveLength(1);
  });

  it('keeps events the browser refused in storage for the next page', () => {
    stubBeacon(false);
    const t = make();
    t.view('sku-1');
    hide();
    const stored = Object.keys(localStorage).filter((k) => k.startsWith('rsys_q_'));
    expect(stored).toHaveLength(1);
    expect(JSON.parse(localStorage.getItem(stored[0]!)!).e).toHaveLength(1);
  });

  it('puts events back in the queue when a keepalive fetch fails while the page is still alive', async () => {
    cleanups.push(supportKeepalive());
    const t = make();
    t.view('sku-1');
    collector.offline();
    Object.defineProperty(document, 'visibilityState', { configurable: true, value: 'hidden' });
    document.dispatchEvent(new Event('visibilitychange'));
    await settle();
    delete (document as { visibilityState?: unknown }).visibilityState;
    collector.offline(false);
    document.dispatchEvent(new Event('visibilitychange'));
    await t.flush();
    expect(collector.events().map((e) => e.itemId)).toEqual(['sku-1']);
  });
});
