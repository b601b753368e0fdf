import type { RecsysEvent } from '@recsys/protocol';
import type { RetryPolicy } from './retry';
import type { DayBoundary } from './session';
import type { FetchLike } from './transport';
import type { ConsentState } from './types';

/** Options shared by the tracker and the full SDK. */
export interface TrackerOptions {
  /**
   * Publishable key (`pk_…`) in the browser, secret key in Node.
   * @example 'pk_live_3f9a…'
   */
  key: string;
  /**
   * Base URL of the Recsys server; events go to `{endpoint}/v1/collect`, calls to `{endpoint}/trpc`.
   * @example 'https://recs.example.com'
   */
  endpoint: string;
  /**
   * `fetch` to use, e.g. for tests or a Node runtime without a global one.
   * @default globalThis.fetch
   * @example fetch: (url, init) => myFetch(url, init)
   */
  fetch?: FetchLike;
  /**
   * Consent until `consent()` is called. Not persisted: call `consent()` on every page from your CMP.
   * @default 'granted'
   * @example consent: 'denied'
   */
  consent?: ConsentState;
  /**
   * `Domain` of the `rsys_*` cookies, to share the visitor across subdomains.
   * @default undefined (the current host only)
   * @example cookieDomain: '.example.com'
   */
  cookieDomain?: string;
  /**
   * A session ends after this many ms without an event.
   * @default 1800000 (30 min)
   * @example sessionTimeout: 15 * 60_000
   */
  sessionTimeout?: number;
  /**
   * Which midnight also ends a session: the visitor's local one or UTC.
   * @default 'local'
   * @example sessionDayBoundary: 'utc'
   */
  sessionDayBoundary?: DayBoundary;
  /**
   * Send as soon as this many events are queued; also the largest batch.
   * @default 20
   * @example flushAt: 10
   */
  flushAt?: number;
  /**
   * Send queued events at most this many ms after the first one was queued.
   * @default 2000
   * @example flushInterval: 5000
   */
  flushInterval?: number;
  /**
   * Largest request body in bytes; a flush starts when the queue reaches 90% of it.
   * @default 60000
   * @example maxBatchBytes: 30_000
   */
  maxBatchBytes?: number;
  /**
   * Events kept while the server is unreachable; the oldest are dropped first and reported as `dropped`.
   * @default 1000
   * @example maxQueueSize: 500
   */
  maxQueueSize?: number;
  /**
   * Backoff for failed deliveries.
   * @default { baseDelay: 1000, maxDelay: 60000, maxRetryTime: 600000 }
   * @example retry: { maxRetryTime: 60_000 }
   */
  retry?: Partial<RetryPolicy>;
  /**
   * Last look at every event before it is queued: return the (possibly changed) event,
   * `null` to drop it. If it throws, the event is dropped and the error logged —
   * this hook is where PII is scrubbed, so it fails closed.
   * @default undefined
   * @example beforeSend: (e) => (e.meta?.url?.includes('/admin') ? null : e)
   */
  beforeSend?: (event: RecsysEvent) => RecsysEvent | null | undefined;
  /**
   * `'browser'` keeps ids, sessions and the queue in first-party storage and flushes on page hide.
   * `'server'` (Node) keeps everything in memory, attaches no page context and no generated
   * anonymous id: pass `userId`/`anonymousId` per event, or call `identify()` per tracker.
   * @default 'server' when there is no `document`, else 'browser'
   * @example mode: 'server'
   */
  mode?: 'browser' | 'server';
  /**
   * `'memory'` never touches cookies or storage, even in the browser.
   * @default 'auto'
   * @example persistence: 'memory'
   */
  persistence?: 'auto' | 'memory';
  /**
   * The shopper's country (ISO 3166-1 alpha-2, e.g. `'DE'`), sent with every `recs.*` call of the
   * full SDK: lists then hold only items sold there, at that market's prices. Change it later with
   * `setCountry()`; the script tag reads `data-country`. The tracker alone ignores it.
   * @default undefined (every market)
   * @example country: 'DE'
   */
  country?: string;
  /**
   * Where warnings go (bad input, dropped batches). Never throws into your code.
   * @default console
   * @example logger: { warn: () => {} }
   */
  logger?: { warn: (...args: unknown[]) => void };
}
