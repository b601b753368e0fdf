/**
 * The tracking API, assembled from its parts: who the visitor is (identity.ts), delivery
 * (dispatcher.ts), the page's life (pageLifecycle.ts) and the state they share (trackerCore.ts).
 * This file builds events and turns the public calls into those parts' work.
 */
import type { EventMeta, EventType, RecsysEvent } from '@recsys/protocol';
import { createDispatcher } from './dispatcher';
import { createIdentity } from './identity';
import { watchPage } from './pageLifecycle';
import type { TrackerCore } from './trackerCore';
import type { TrackerOptions } from './trackerOptions';
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

export { KEEPALIVE_BUDGET } from './dispatcher';

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
  const server = options.mode ? options.mode === 'server' : typeof document === 'undefined';
  const core: TrackerCore = {
    _granted: (options.consent ?? 'granted') === 'granted',
    _token: undefined,
    _server: server,
    _persistent: !server && options.persistence !== 'memory',
    _fetch: options.fetch ?? ((url, init) => fetch(url, init)),
    _warn: (...args) => log.warn('[recsys]', ...args),
  };
  const warn = core._warn;
  const who = createIdentity(core, options);
  const delivery = createDispatcher(core, options);

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
      userId: props.userId ?? who._userId(),
      anonymousId: props.anonymousId ?? who._anonymousId(),
      sessionId: who._session(true),
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
      if (!core._granted) return;
      const event = build(type, props);
      if (!event) return;
      delivery._push(event);
    } catch (e) {
      warn('track failed:', e);
    }
  }

  const unwatch =
    !server && typeof window !== 'undefined' ? watchPage(delivery._hide, delivery._resume) : undefined;
  if (core._granted) delivery._start(); // sends events left by an earlier page

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
      core._token = o?.token;
      who._identify(userId);
      if (traits) {
        const meta: EventMeta = {};
        for (const [k, v] of Object.entries(traits)) {
          if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') meta[k] = v;
        }
        track('custom', { meta: { ...meta, name: 'identify' } });
      }
    },
    reset() {
      who._wipe();
      who._anonymousId();
    },
    consent(state) {
      if (state === 'denied') {
        core._granted = false;
        delivery._stop();
        who._wipe();
      } else if (state === 'granted' && !core._granted) {
        const userId = who._userId(); // identify() while denied kept it in memory only
        core._granted = true;
        if (userId) who._identify(userId);
        delivery._start();
      }
    },
    getConsent: () => (core._granted ? 'granted' : 'denied'),
    getUserToken: () => core._token,
    getIds: () =>
      clean({ anonymousId: who._anonymousId(), userId: who._userId(), sessionId: who._session(false) }),
    flush: delivery._flush,
    destroy() {
      delivery._clearTimer();
      unwatch?.();
    },
  };
}
