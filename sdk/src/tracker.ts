/**
 * Longer than the ~450-line guideline, and still one closure, on purpose for now: split into
 * identity, consent, dispatcher, page-lifecycle and event-builder modules (all tests passing), the
 * tracking-only script-tag build grew by about 280 B gzip — function boundaries and property names
 * the minifier cannot shorten — and went over its 5 KB budget (`pnpm size`). The storage, session,
 * queue, retry and transport parts already live in their own files; the split waits for a layout
 * that fits the budget.
 */
import { type EventMeta, type EventType, mutationRequest, type RecsysEvent } from '@recsys/protocol';
import { createEventQueue, type EventQueue } from './queue';
import { defaultRetryPolicy, retryDelay } from './retry';
import { isSessionExpired, parseSession, type SessionRecord } from './session';
import { createCookieStore, createMemoryStore, createStoreChain, createWebStore } from './storage';
import type { TrackerOptions } from './trackerOptions';
import {
  chunkEvents,
  classifyResponse,
  createPayload,
  ENVELOPE_BYTES,
  eventBytes,
  type FetchLike,
  postEvents,
  type SendResult,
  startPost,
  utf8Length,
} from './transport';
import type { ConsentState, RecommendationContext } from './types';
import { createUuid } from './uuid';

/** Properties of a tracked event. */
export interface TrackProps {
  itemId?: string;
  /** Quantity for `add`/`purchase`, the rating for `rate`, the order total for an order event. */
  value?: number;
  /** Set when the item was shown by a recommendation widget (see `recommendationContext`). */
  rec?: RecommendationContext;
  meta?: EventMeta;
  /** Overrides the tracked user, mainly for server-side events. */
  userId?: string;
  /** Overrides the anonymous id, mainly for server-side events. */
  anonymousId?: string;
}

/** Properties of an item event; the item id is the first argument. */
export type ItemProps = Omit<TrackProps, 'itemId'>;

/** An add-to-cart. */
export interface CartProps extends ItemProps {
  /** @default 1 */
  quantity?: number;
  price?: number;
  currency?: string;
}

/** A completed order; tracked as one `purchase` per line plus one `custom` `order` event. */
export interface Order {
  orderId: string;
  items: Array<{ itemId: string; quantity?: number; price?: number; rec?: RecommendationContext }>;
  /** @default sum of price × quantity when every line has a price */
  total?: number;
  currency?: string;
}

/** Options of `identify`. */
export interface IdentifyOptions {
  /**
   * The user token your backend signed for this user (`signUserToken`). Kept in memory only, sent
   * with events (in the `/v1/collect` body), the `users.alias` link and recommendation calls.
   * @default undefined (the server then treats the visitor as anonymous)
   * @example recsys.identify('u-42', undefined, { token: '<from your backend>' })
   */
  token?: string;
}

/** Non-PII user traits; sent once with `identify` as a custom `identify` event. */
export type Traits = Record<string, string | number | boolean>;

/** The tracking API (the whole API of the script-tag `recsys-track.js` build). */
export interface Tracker {
  track(type: EventType, props?: TrackProps): void;
  view(itemId: string, props?: ItemProps): void;
  click(itemId: string, props?: ItemProps): void;
  addToCart(itemId: string, props?: CartProps): void;
  purchase(order: Order, props?: Omit<TrackProps, 'itemId' | 'value'>): void;
  custom(name: string, props?: TrackProps): void;
  rate(itemId: string, value: number, props?: ItemProps): void;
  /**
   * Call on login, and on every page while signed in: later events carry the user id; links the
   * anonymous id once via `users.alias`. In the browser, pass the user token your backend signed
   * (`signUserToken` of `@recsys/sdk/node`): without it the server ignores the user id of a
   * publishable-key request and refuses the link.
   */
  identify(userId: string, traits?: Traits, options?: IdentifyOptions): void;
  /** The token given to the last `identify()`, for calls made outside the SDK; cleared by `reset()`. */
  getUserToken(): string | undefined;
  /** Call on logout: new anonymous id and session, no user id. */
  reset(): void;
  consent(state: ConsentState): void;
  getConsent(): ConsentState;
  /** Current ids, or `undefined` ones while consent is denied. */
  getIds(): { anonymousId?: string; userId?: string; sessionId?: string };
  /** Sends everything queued now; resolves when that attempt is over (never rejects). */
  flush(): Promise<void>;
  /** Removes listeners and timers (tests, single-page teardown). Queued events stay persisted. */
  destroy(): void;
}

const AID = 'rsys_aid';
const UID = 'rsys_uid';
const SESS = 'rsys_sess';
const ALIAS = 'rsys_alias';
const YEAR = 31_536_000;
/** Browsers allow 64 KiB of keepalive bodies in flight per page; keep a margin. */
export const KEEPALIVE_BUDGET = 64_000;

function clean<T extends object>(o: T): T {
  for (const k in o) if (o[k] === undefined) delete o[k];
  return o;
}

export type { TrackerOptions } from './trackerOptions';

export function createTracker(options: TrackerOptions): Tracker {
  if (!options?.key || !options.endpoint) {
    throw new TypeError('Recsys: createTracker needs { key: "pk_…", endpoint: "https://…" }');
  }
  const log = options.logger ?? console;
  const fetchFn: FetchLike = options.fetch ?? ((url, init) => fetch(url, init));
  const server = options.mode ? options.mode === 'server' : typeof document === 'undefined';
  const persistent = !server && options.persistence !== 'memory';
  const flushAt = options.flushAt ?? 20;
  const flushInterval = options.flushInterval ?? 2000;
  const maxBytes = options.maxBatchBytes ?? 60_000;
  const timeout = options.sessionTimeout ?? 1_800_000;
  const policy = { ...defaultRetryPolicy, ...options.retry };
  const endpoint = options.endpoint.replace(/\/+$/, '');
  const collectUrl = `${endpoint}/v1/collect?key=${encodeURIComponent(options.key)}`;
  const memory = createMemoryStore();
  const local = createWebStore('localStorage');
  // ids live in a first-party cookie first (shared across subdomains), then localStorage, then memory
  const ids = createStoreChain(
    persistent ? [createCookieStore({ domain: options.cookieDomain }), local, memory] : [memory],
  );
  const prefs = createStoreChain(persistent ? [local, memory] : [memory]);
  const warn = (...args: unknown[]) => log.warn('[recsys]', ...args);
  const warned = new Set<unknown>();
  const warnOnce = (key: unknown, ...args: unknown[]) => {
    if (!warned.has(key)) {
      warned.add(key);
      warn(...args);
    }
  };

  let granted = (options.consent ?? 'granted') === 'granted';
  let queue: EventQueue | undefined;
  let aliasPending = '';
  // the signed-in user's token, in memory only: a page gets it from its backend with identify()
  let userToken: string | undefined;
  let keepaliveInFlight = 0;
  // The whole flush state, in one place (plain locals so the minifier can shorten them):
  // `sending` is the running drain, `timer` the one pending flush or retry, `attempt > 0`
  // means a backoff timer owns the next send, `paused` waits for `online`/visible/next page.
  let sending: Promise<void> | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let attempt = 0;
  let firstFailureAt = 0;
  let paused = false;

  const getQueue = (): EventQueue => (queue ??= createEventQueue(options.maxQueueSize ?? 1000, persistent));

  function anonymousId(): string | undefined {
    if (!granted || server) return undefined;
    let id = ids.get(AID);
    if (!id) {
      id = createUuid();
      ids.set(AID, id, YEAR);
    }
    return id;
  }

  function session(touch: boolean): string | undefined {
    if (!granted || server) return undefined;
    const now = Date.now();
    let s: SessionRecord | null = parseSession(ids.get(SESS));
    if (!s || isSessionExpired(s, now, timeout, options.sessionDayBoundary ?? 'local'))
      s = { id: createUuid(), last: now };
    else if (!touch) return s.id;
    s.last = now;
    ids.set(SESS, JSON.stringify(s), Math.ceil(timeout / 1000));
    return s.id;
  }

  function aliasOnce(): void {
    const userId = ids.get(UID);
    const anon = anonymousId();
    if (!userId || !anon) return;
    const pair = `${anon} ${userId}`;
    if (prefs.get(ALIAS) === pair || aliasPending === pair) return;
    aliasPending = pair;
    // a tRPC mutation in the protocol's wire format, so the tracking-only build needs no RPC client
    const { url, init } = mutationRequest(
      endpoint,
      options.key,
      'users.alias',
      { anonymousId: anon, userId },
      userToken,
    );
    fetchFn(url, init)
      .then((res) => {
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        if (granted) prefs.set(ALIAS, pair);
      })
      .catch((e) => warn('users.alias failed:', e))
      .finally(() => {
        aliasPending = '';
      });
  }

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
    if (!granted || !q?.events.length || sending || attempt || paused) return;
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
        while (granted && queue?.events.length) {
          const q = queue;
          const batch = chunkEvents(q.events, flushAt, maxBytes)[0]!;
          const dropped = q.dropped;
          const res = await postEvents(
            fetchFn,
            collectUrl,
            createPayload(batch, dropped, Date.now(), userToken),
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
      warn(`gave up after HTTP ${res.status}: dropped ${batch.length} events`);
      schedule();
    } else paused = true; // offline: wait for `online`, a visible tab or the next page
  }

  /**
   * Page is going away (or hidden, which on mobile is often the last chance):
   * hand everything queued to the browser with keepalive fetches that together
   * stay under the 64 KiB in-flight budget, then `sendBeacon` for the rest.
   * Handed-off events leave the queue (the browser delivers them after unload);
   * a keepalive fetch that fails while the page is still alive puts them back.
   */
  function sendOnHide(released: boolean): void {
    const q = queue;
    if (!granted || !q) return;
    // While delivery is failing (server down, offline), a keepalive request is
    // accepted by the browser and then fails after the page is gone, where
    // nothing can put its events back. Keep them stored for the next page.
    if (attempt || paused || (typeof navigator !== 'undefined' && navigator.onLine === false)) {
      q.persist(released);
      return;
    }
    const keepalive = typeof Request === 'function' && 'keepalive' in Request.prototype;
    const beacon = typeof navigator !== 'undefined' && navigator.sendBeacon?.bind(navigator);
    const taken = new Set<string>();
    let dropped = q.dropped;
    for (const chunk of chunkEvents(q.events, flushAt, Math.min(maxBytes, KEEPALIVE_BUDGET))) {
      const body = createPayload(chunk, dropped, Date.now(), userToken);
      const bytes = utf8Length(body);
      let ok = false;
      if (keepalive && keepaliveInFlight + bytes <= KEEPALIVE_BUDGET) {
        try {
          const p = startPost(fetchFn, collectUrl, body, true);
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
  }

  function build(type: EventType, props: TrackProps): RecsysEvent | null {
    const meta: EventMeta = {};
    if (!server) {
      try {
        meta.url = location.href;
        if (document.referrer) meta.referrer = document.referrer;
      } catch {
        // no location in exotic embeddings; page context is optional
      }
    }
    // A recommendation context's fields are meta fields of the same names (requestId, rank,
    // surface, widget, experiment, variant): copied as they are, which keeps the bundle small.
    if (props.rec) Object.assign(meta, { recommended: true }, props.rec);
    Object.assign(meta, props.meta);
    const event: RecsysEvent = clean({
      eventId: createUuid(),
      type,
      itemId: props.itemId,
      userId: props.userId ?? ids.get(UID) ?? undefined,
      anonymousId: props.anonymousId ?? anonymousId(),
      sessionId: session(true),
      ts: new Date().toISOString(),
      value: props.value,
      meta: clean(meta),
    });
    if (!Object.keys(meta).length) delete event.meta;
    if (!event.userId && !event.anonymousId) {
      warn(`${type} dropped: no userId or anonymousId (server mode)`);
      return null;
    }
    if (!options.beforeSend) return event;
    try {
      const out = options.beforeSend(event);
      return out === undefined ? event : out;
    } catch (e) {
      warn('beforeSend threw, event dropped:', e);
      return null;
    }
  }

  function track(type: EventType, props: TrackProps = {}): void {
    try {
      if (!granted) return;
      const event = build(type, props);
      if (!event) return;
      if (eventBytes(event) + ENVELOPE_BYTES > maxBytes) {
        warn(`${type} dropped: over ${maxBytes} bytes`);
        return;
      }
      getQueue().push(event);
      schedule();
    } catch (e) {
      warn('track failed:', e);
    }
  }

  function wipe(): void {
    userToken = undefined;
    for (const k of [AID, UID, SESS]) ids.remove(k);
    prefs.remove(ALIAS);
  }

  // Chromium fires visibilitychange→hidden right after pagehide; the queue must
  // stay marked as released until the page is shown again, or the reloaded
  // page takes its own queue for a duplicated tab's.
  let unloading = false;
  const onHide = (e: Event) => {
    if (e.type === 'pagehide') unloading = true;
    if (e.type === 'pagehide' || document.visibilityState === 'hidden') sendOnHide(unloading);
  };
  const onResume = (e: Event) => {
    if (e.type === 'pageshow') unloading = false;
    if (typeof document !== 'undefined' && document.visibilityState === 'hidden') return;
    paused = false;
    schedule();
  };
  const listeners: Array<[EventTarget, string, (e: Event) => void]> = [];
  if (!server && typeof window !== 'undefined') {
    listeners.push(
      [window, 'pagehide', onHide],
      [document, 'visibilitychange', onHide],
      [window, 'online', onResume],
      [document, 'visibilitychange', onResume],
      [window, 'pageshow', onResume],
    );
    for (const [t, n, f] of listeners) t.addEventListener(n, f);
  }
  if (granted) {
    getQueue();
    schedule(); // events left by an earlier page
  }

  const item = (type: EventType) => (itemId: string, props?: ItemProps) => track(type, { ...props, itemId });
  return {
    track,
    view: item('view'),
    click: item('click'),
    addToCart(itemId, props = {}) {
      const { quantity = 1, price, currency, ...rest } = props;
      track('add', {
        ...rest,
        itemId,
        value: quantity,
        meta: { unitPrice: price, currency, ...rest.meta },
      });
    },
    purchase(order, props = {}) {
      let total = 0;
      for (const line of order?.items ?? []) {
        const quantity = line.quantity ?? 1;
        total = line.price === undefined || Number.isNaN(total) ? Number.NaN : total + line.price * quantity;
        const meta = {
          orderId: order.orderId,
          unitPrice: line.price,
          currency: order.currency,
          ...props.meta,
        };
        track('purchase', {
          ...props,
          rec: line.rec ?? props.rec,
          itemId: line.itemId,
          value: quantity,
          meta,
        });
      }
      const orderTotal = order?.total ?? (Number.isNaN(total) ? undefined : total);
      // build() drops the undefined keys of every meta
      const meta = {
        name: 'order',
        orderId: order?.orderId,
        total: orderTotal,
        currency: order?.currency,
        ...props.meta,
      };
      track('custom', { ...props, rec: undefined, value: orderTotal, meta });
    },
    custom: (name, props = {}) => track('custom', { ...props, meta: { ...props.meta, name } }),
    rate: (itemId, value, props) => track('rate', { ...props, itemId, value }),
    identify(userId, traits, o) {
      if (typeof userId !== 'string' || !userId) {
        warn('identify() needs a userId string, got', userId);
        return;
      }
      userToken = o?.token;
      // while consent is denied the user id is kept in memory only
      (granted ? ids : memory).set(UID, userId, YEAR);
      if (granted && !server) aliasOnce();
      if (traits) {
        const meta: EventMeta = {};
        for (const [k, v] of Object.entries(traits)) {
          if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') meta[k] = v;
        }
        track('custom', { meta: { ...meta, name: 'identify' } });
      }
    },
    reset() {
      wipe();
      anonymousId();
    },
    consent(state) {
      if (state === 'denied') {
        granted = false;
        clearTimer();
        attempt = 0;
        paused = false;
        queue?.clear();
        queue?.erase();
        queue = undefined;
        wipe();
      } else if (state === 'granted' && !granted) {
        const userId = ids.get(UID); // identify() while denied kept the user id in memory only
        granted = true;
        if (userId) ids.set(UID, userId, YEAR);
        if (userId && !server) aliasOnce();
        getQueue();
        schedule();
      }
    },
    getConsent: () => (granted ? 'granted' : 'denied'),
    getUserToken: () => userToken,
    getIds: () =>
      clean({ anonymousId: anonymousId(), userId: ids.get(UID) ?? undefined, sessionId: session(false) }),
    flush() {
      paused = false;
      if (attempt) return sending ?? Promise.resolve();
      clearTimer();
      return send();
    },
    destroy() {
      clearTimer();
      for (const [t, n, f] of listeners) t.removeEventListener(n, f);
    },
  };
}
