/**
 * Delivery: the queue of events and when, how and how often it is sent. The whole delivery state
 * lives here, in one place (plain locals, so the minifier can shorten them): `sending` is the running
 * drain, `timer` the one pending flush or retry, `attempt > 0` means a backoff timer owns the next
 * send, `paused` waits for `online`, a visible tab or the next page.
 */
import type { RecsysEvent } from '@recsys/protocol';
import { createEventQueue, type EventQueue } from './queue';
import { defaultRetryPolicy, retryDelay } from './retry';
import type { TrackerCore } from './trackerCore';
import type { TrackerOptions } from './trackerOptions';
import {
  chunkEvents,
  classifyResponse,
  createPayload,
  ENVELOPE_BYTES,
  eventBytes,
  postEvents,
  type SendResult,
  startPost,
  utf8Length,
} from './transport';

/** Browsers allow 64 KiB of keepalive bodies in flight per page; keep a margin. */
export const KEEPALIVE_BUDGET = 64_000;

export interface Dispatcher {
  /**
   * Queues an event and sends when a batch is full or the flush interval has passed; an event too
   * large for any batch is dropped with a warning.
   */
  _push(event: RecsysEvent): void;
  /** Opens (or adopts) the stored queue and sends what an earlier page left. */
  _start(): void;
  /** Consent withdrawn: stops sending and erases the queue, stored copy included. */
  _stop(): void;
  /** Sends now; resolves when that attempt is over (never rejects). */
  _flush(): Promise<void>;
  /** The page is hidden or going away (`released` on pagehide): hand the queue to the browser. */
  _hide(released: boolean): void;
  /** Online again or visible again: delivery that paused goes on. */
  _resume(): void;
  /** Cancels the pending flush or retry. */
  _clearTimer(): void;
}

export function createDispatcher(core: TrackerCore, options: TrackerOptions): Dispatcher {
  const flushAt = options.flushAt ?? 20;
  const flushInterval = options.flushInterval ?? 2000;
  const maxBytes = options.maxBatchBytes ?? 60_000;
  const policy = { ...defaultRetryPolicy, ...options.retry };
  const collectUrl = `${options.endpoint.replace(/\/+$/, '')}/v1/collect?key=${encodeURIComponent(options.key)}`;
  const warned = new Set<unknown>();
  const warnOnce = (key: unknown, ...args: unknown[]) => {
    if (!warned.has(key)) {
      warned.add(key);
      core._warn(...args);
    }
  };

  let queue: EventQueue | undefined;
  let sending: Promise<void> | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let attempt = 0;
  let firstFailureAt = 0;
  let paused = false;
  let keepaliveInFlight = 0;

  const getQueue = (): EventQueue =>
    (queue ??= createEventQueue(options.maxQueueSize ?? 1000, core._persistent));

  function clearTimer(): void {
    clearTimeout(timer);
    timer = undefined;
  }

  function queuedBytes(q: EventQueue): number {
    let n = ENVELOPE_BYTES;
    for (const e of q.events) n += eventBytes(e);
    return n;
  }

  function schedule(): void {
    const q = queue;
    if (!core._granted || !q?.events.length || sending || attempt || paused) return;
    if (q.events.length >= flushAt || queuedBytes(q) >= maxBytes * 0.9) {
      clearTimer();
      void send();
    } else
      timer ??= setTimeout(() => {
        timer = undefined;
        void send();
      }, flushInterval);
  }

  /** Drains the queue batch by batch until it is empty, a retry is scheduled, or delivery pauses. */
  function send(): Promise<void> {
    sending ??= (async () => {
      try {
        while (core._granted && queue?.events.length) {
          const q = queue;
          const batch = chunkEvents(q.events, flushAt, maxBytes)[0]!;
          const dropped = q.dropped;
          const res = await postEvents(
            core._fetch,
            collectUrl,
            createPayload(batch, dropped, Date.now(), core._token),
          );
          if (q !== queue) return; // consent was withdrawn mid-flight: that queue is gone
          if (res.kind === 'retry') {
            retryLater(q, batch, res);
            return;
          }
          attempt = 0;
          handled(q, batch, res, dropped);
        }
      } finally {
        sending = undefined;
      }
    })();
    return sending;
  }

  /** Applies a final answer (ok or never-retry) to the events of a batch. */
  function handled(q: EventQueue, batch: RecsysEvent[], res: SendResult, dropped: number): void {
    if (res.kind === 'ok') {
      q.dropped = Math.max(0, q.dropped - dropped);
      for (const r of res.rejected)
        warnOnce(r.path + r.message, `rejected at ${r.path}: ${r.message}`, batch[r.index]);
    } else if (res.kind === 'drop') {
      warnOnce(res.status, `HTTP ${res.status} ${res.message}: dropped ${batch.length} events`);
    }
    q.remove(new Set(batch.map((e) => e.eventId)));
  }

  function retryLater(
    q: EventQueue,
    batch: RecsysEvent[],
    res: Extract<SendResult, { kind: 'retry' }>,
  ): void {
    const now = Date.now();
    if (!attempt) firstFailureAt = now;
    const delay = retryDelay(++attempt, firstFailureAt, now, res.retryAfter, policy, Math.random());
    if (delay !== null) {
      timer = setTimeout(() => {
        timer = undefined;
        void send();
      }, delay);
      return;
    }
    attempt = 0;
    if (res.status) {
      // the server keeps failing this batch: give up on it so it cannot block the queue forever
      q.remove(new Set(batch.map((e) => e.eventId)));
      q.dropped += batch.length;
      core._warn(`gave up after HTTP ${res.status}: dropped ${batch.length} events`);
      schedule();
    } else paused = true; // offline: wait for `online`, a visible tab or the next page
  }

  return {
    _push(event) {
      if (eventBytes(event) + ENVELOPE_BYTES > maxBytes)
        return core._warn(`${event.type} dropped: over ${maxBytes} bytes`);
      getQueue().push(event);
      schedule();
    },
    _start() {
      getQueue();
      schedule();
    },
    _stop() {
      clearTimer();
      attempt = 0;
      paused = false;
      queue?.clear();
      queue?.erase();
      queue = undefined;
    },
    _flush() {
      paused = false;
      if (attempt) return sending ?? Promise.resolve();
      clearTimer();
      return send();
    },
    _resume() {
      paused = false;
      schedule();
    },
    _clearTimer: clearTimer,
    /**
     * Page is going away (or hidden, which on mobile is often the last chance): hand everything
     * queued to the browser with keepalive fetches that together stay under the 64 KiB in-flight
     * budget, then `sendBeacon` for the rest. Handed-off events leave the queue (the browser
     * delivers them after unload); a keepalive fetch that fails while the page is still alive puts
     * them back.
     */
    _hide(released) {
      const q = queue;
      if (!core._granted || !q) return;
      // While delivery is failing (server down, offline), a keepalive request is accepted by the
      // browser and then fails after the page is gone, where nothing can put its events back.
      // Keep them stored for the next page.
      if (attempt || paused || (typeof navigator !== 'undefined' && navigator.onLine === false)) {
        q.persist(released);
        return;
      }
      const keepalive = typeof Request === 'function' && 'keepalive' in Request.prototype;
      const beacon = typeof navigator !== 'undefined' && navigator.sendBeacon?.bind(navigator);
      const taken = new Set<string>();
      let dropped = q.dropped;
      for (const chunk of chunkEvents(q.events, flushAt, Math.min(maxBytes, KEEPALIVE_BUDGET))) {
        const body = createPayload(chunk, dropped, Date.now(), core._token);
        const bytes = utf8Length(body);
        let ok = false;
        if (keepalive && keepaliveInFlight + bytes <= KEEPALIVE_BUDGET) {
          try {
            const p = startPost(core._fetch, collectUrl, body, true);
            keepaliveInFlight += bytes;
            ok = true;
            p.then(
              (r) => classifyResponse(r, Date.now()),
              (): SendResult => ({ kind: 'retry' }),
            ).then((res) => {
              keepaliveInFlight -= bytes;
              if (res.kind === 'retry') queue?.unshift(chunk);
              else if (queue) handled(queue, chunk, res, 0);
            });
          } catch {
            // fetch refused synchronously (budget, old engine): try a beacon
          }
        }
        if (!ok && beacon) {
          try {
            ok = beacon(collectUrl, body);
          } catch {
            ok = false;
          }
        }
        if (!ok) continue; // stays queued and persisted for the next page
        for (const e of chunk) taken.add(e.eventId);
        dropped = 0;
      }
      if (!dropped) q.dropped = 0;
      q.remove(taken);
      q.persist(released);
    },
  };
}
