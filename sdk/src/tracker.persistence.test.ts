import { afterEach, describe, expect, it, vi } from 'vitest';
import { QUEUE_LEASE_MS } from './queue';
import { ENDPOINT, KEY, stubBeacon, useCollector } from './testing/collector';
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
  delete (navigator as { sendBeacon?: unknown }).sendBeacon;
});
const storedQueues = () => Object.keys(localStorage).filter((k) => k.startsWith('rsys_q_'));
/** What a reload does to us: pagehide (nothing gets out: offline), then a new SDK on the same storage. */
const reload = (t: Tracker, options: Partial<TrackerOptions> = {}) => {
  stubBeacon(false);
  window.dispatchEvent(new Event('pagehide'));
  t.destroy();
  return make(options);
};

describe('persistence', () => {
  it('delivers events queued before a reload from the new page', async () => {
    collector.offline();
    const first = make();
    first.view('sku-1');
    first.click('sku-2');
    await first.flush();
    expect(collector.requests).toHaveLength(0);
    collector.offline(false);
    reload(first);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(collector.events().map((e) => e.itemId)).toEqual(['sku-1', 'sku-2']);
    expect(storedQueues()).toHaveLength(0); // delivered events leave storage
  });

  it('caps the queue, drops the oldest first and reports the count as dropped', async () => {
    collector.offline();
    const t = make({ maxQueueSize: 5, retry: { maxRetryTime: 1_000 } });
    for (let i = 1; i <= 8; i++) t.view(`sku-${i}`);
    await t.flush();
    await vi.advanceTimersByTimeAsync(10_000);
    collector.offline(false);
    const next = reload(t, { maxQueueSize: 5 }); // the counter survives the reload too
    await vi.advanceTimersByTimeAsync(2_000);
    expect(collector.requests).toHaveLength(1);
    const [req] = collector.requests;
    expect(req!.payload.events.map((e) => e.itemId)).toEqual(['sku-4', 'sku-5', 'sku-6', 'sku-7', 'sku-8']);
    expect(req!.payload.dropped).toBe(3);
    next.view('sku-9');
    await next.flush();
    expect(collector.requests[1]!.payload.dropped).toBeUndefined();
  });

  it('never sends another open tab’s queue', async () => {
    collector.offline();
    const tabA = make();
    tabA.view('from-a');
    await tabA.flush();
    sessionStorage.clear(); // a second tab has its own sessionStorage
    collector.offline(false);
    const tabB = make();
    tabB.view('from-b');
    await tabB.flush();
    expect(collector.events().map((e) => e.itemId)).toEqual(['from-b']);
    expect(storedQueues()).toHaveLength(1); // tab A's queue is still its own
  });

  it('adopts the queue of a tab that was closed once its lease expired', async () => {
    collector.offline();
    const closed = make();
    closed.view('left-behind');
    await closed.flush();
    closed.destroy();
    sessionStorage.clear();
    collector.offline(false);
    vi.setSystemTime(Date.now() + QUEUE_LEASE_MS + 1);
    const tab = make();
    await vi.advanceTimersByTimeAsync(2_000);
    expect(collector.events().map((e) => e.itemId)).toEqual(['left-behind']);
    expect(storedQueues()).toHaveLength(0);
    tab.destroy();
  });

  it('gives a duplicated tab (copied sessionStorage) its own queue while the original is alive', async () => {
    collector.offline();
    const original = make();
    original.view('original');
    await original.flush();
    const copy = make(); // same sessionStorage tab id, original never hid
    copy.view('copy');
    await copy.flush();
    expect(storedQueues()).toHaveLength(2);
  });
});
