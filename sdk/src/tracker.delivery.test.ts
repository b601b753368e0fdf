import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ENDPOINT, jsonReply, KEY, settle, useCollector } from './testing/collector';
import { createTracker, type Tracker, type TrackerOptions } from './tracker';

const collector = useCollector();
const open: Tracker[] = [];
const make = (options: Partial<TrackerOptions> = {}) => {
  const t = createTracker({ key: KEY, endpoint: ENDPOINT, fetch: collector.fetch, ...options });
  open.push(t);
  return t;
};
beforeEach(() => {
  // jitter at its midpoint: attempt n waits 0.75 × 1000 × 2^(n-1) ms
  vi.spyOn(Math, 'random').mockReturnValue(0.5);
});
afterEach(() => {
  for (const t of open.splice(0)) t.destroy();
});

describe('retries', () => {
  it('retries a 500 after an exponential, jittered backoff and then delivers', async () => {
    collector.reply(jsonReply(500, {}), jsonReply(502, {}));
    const t = make();
    t.view('sku-1');
    await t.flush();
    expect(collector.requests).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(749);
    expect(collector.requests).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    await settle();
    expect(collector.requests).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1499);
    expect(collector.requests).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    await settle();
    expect(collector.requests).toHaveLength(3);
    expect(collector.requests.map((r) => r.payload.events[0]!.eventId)).toEqual(
      Array(3).fill(collector.requests[0]!.payload.events[0]!.eventId),
    );
    await vi.advanceTimersByTimeAsync(60_000);
    expect(collector.requests).toHaveLength(3);
  });

  it('retries network errors, 408 and 429 the same way', async () => {
    collector.reply(jsonReply(408, {}), jsonReply(429, {}));
    collector.offline();
    const t = make();
    t.view('sku-1');
    await t.flush();
    expect(collector.calls).toHaveLength(1);
    collector.offline(false);
    await vi.advanceTimersByTimeAsync(750);
    await vi.advanceTimersByTimeAsync(1500);
    await vi.advanceTimersByTimeAsync(3000);
    expect(collector.requests).toHaveLength(3);
    expect(collector.events()).toHaveLength(3); // same event, sent until accepted
  });

  it('waits the Retry-After seconds of a 429 instead of its own backoff', async () => {
    collector.reply(jsonReply(429, {}, { 'Retry-After': '7' }));
    const t = make();
    t.view('sku-1');
    await t.flush();
    await vi.advanceTimersByTimeAsync(6_999);
    expect(collector.requests).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    await settle();
    expect(collector.requests).toHaveLength(2);
  });

  it('waits until the HTTP date of a 503 Retry-After', async () => {
    const at = new Date(Date.now() + 30_000).toUTCString();
    collector.reply(jsonReply(503, {}, { 'Retry-After': at }));
    const t = make();
    t.view('sku-1');
    await t.flush();
    await vi.advanceTimersByTimeAsync(29_999);
    expect(collector.requests).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    await settle();
    expect(collector.requests).toHaveLength(2);
  });

  it('puts a failed batch back at the front, ahead of events tracked during the backoff', async () => {
    collector.reply(jsonReply(500, {}));
    const t = make();
    t.view('a1');
    t.view('a2');
    await t.flush();
    t.view('b1');
    await vi.advanceTimersByTimeAsync(750);
    await settle();
    expect(collector.requests).toHaveLength(2);
    expect(collector.requests[1]!.payload.events.map((e) => e.itemId)).toEqual(['a1', 'a2', 'b1']);
  });

  it('gives up on a batch the server keeps failing after maxRetryTime and reports it as dropped', async () => {
    const warn = vi.fn();
    collector.reply(jsonReply(500, {}), jsonReply(500, {}), jsonReply(500, {}));
    const t = make({ retry: { maxRetryTime: 5_000 }, logger: { warn } });
    t.view('doomed-1');
    t.view('doomed-2');
    await t.flush();
    // retries at 0.75 s and 2.25 s; the next one (at 5.25 s) would pass the 5 s cap
    await vi.advanceTimersByTimeAsync(60_000);
    expect(collector.requests).toHaveLength(3);
    expect(warn).toHaveBeenCalledWith('[recsys]', 'gave up after HTTP 500: dropped 2 events');
    t.view('next');
    await t.flush();
    const last = collector.requests.at(-1)!;
    expect(last.payload.events.map((e) => e.itemId)).toEqual(['next']);
    expect(last.payload.dropped).toBe(2);
    t.view('after');
    await t.flush();
    expect(collector.requests.at(-1)!.payload.dropped).toBeUndefined(); // reported once
  });

  it('stops retrying while offline past maxRetryTime and resumes on the online event', async () => {
    collector.offline();
    const t = make({ retry: { maxRetryTime: 5_000 } });
    t.view('sku-1');
    await t.flush();
    await vi.advanceTimersByTimeAsync(60_000);
    const attempts = collector.calls.length;
    expect(attempts).toBe(3);
    await vi.advanceTimersByTimeAsync(600_000);
    expect(collector.calls).toHaveLength(attempts); // paused, not polling
    collector.offline(false);
    window.dispatchEvent(new Event('online'));
    await vi.advanceTimersByTimeAsync(2_000); // the normal flush timer
    expect(collector.events().map((e) => e.itemId)).toEqual(['sku-1']);
  });
});

describe('4xx handling', () => {
  it('drops only the events a 200 names as rejected and never resends the batch', async () => {
    const warn = vi.fn();
    collector.reply(
      jsonReply(200, {
        accepted: 2,
        duplicates: 0,
        rejected: [{ index: 1, path: 'events.1.value', message: 'rating must be 1-5' }],
      }),
    );
    const t = make({ logger: { warn } });
    t.view('sku-1');
    t.rate('sku-1', 9);
    t.view('sku-2');
    await t.flush();
    t.view('sku-3');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(collector.requests.map((r) => r.payload.events.map((e) => e.itemId))).toEqual([
      ['sku-1', 'sku-1', 'sku-2'],
      ['sku-3'],
    ]);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn).toHaveBeenCalledWith(
      '[recsys]',
      'rejected at events.1.value: rating must be 1-5',
      expect.objectContaining({ type: 'rate', value: 9 }),
    );
  });

  it('drops a batch rejected with 400 and keeps the rest of the queue', async () => {
    collector.reply(jsonReply(400, { error: { message: 'events.0.type: invalid', code: 'BAD_REQUEST' } }));
    const t = make({ flushAt: 2, logger: { warn: vi.fn() } });
    t.view('bad-1');
    t.view('bad-2'); // 2 queued: sent at once and refused
    t.view('good-1');
    await settle();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(collector.requests.map((r) => r.payload.events.map((e) => e.itemId))).toEqual([
      ['bad-1', 'bad-2'],
      ['good-1'],
    ]);
  });

  it('never retries 401, 403 or 413 and logs each status once', async () => {
    const warn = vi.fn();
    collector.reply(
      jsonReply(401, { error: { message: 'unknown key', code: 'UNAUTHORIZED' } }),
      jsonReply(401, { error: { message: 'unknown key', code: 'UNAUTHORIZED' } }),
      jsonReply(413, { error: { message: 'too large', code: 'PAYLOAD_TOO_LARGE' } }),
    );
    const t = make({ logger: { warn } });
    for (const id of ['a', 'b', 'c']) {
      t.view(id);
      await t.flush();
    }
    await vi.advanceTimersByTimeAsync(600_000);
    expect(collector.requests).toHaveLength(3);
    expect(warn.mock.calls.map((c) => c[1])).toEqual([
      'HTTP 401 unknown key: dropped 1 events',
      'HTTP 413 too large: dropped 1 events',
    ]);
  });
});
