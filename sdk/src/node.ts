import { createTRPCClient, httpBatchLink, type TRPCClient } from '@trpc/client';
import type { AnyRouter } from '@trpc/server';

import { createTracker as createBrowserTracker, type Tracker, type TrackerOptions } from './tracker';

export type { IdentifyOptions, Tracker, TrackerOptions } from './tracker';
export * from './types';
export { type SignUserTokenOptions, signUserToken } from './userToken';

/** Options of the Node client. */
export interface NodeClientOptions {
  /**
   * Base URL of the Recsys server.
   * @example 'https://recs.example.com'
   */
  endpoint: string;
  /**
   * A secret key (`sk_…`). Never ship it to a browser.
   * @example process.env.RECSYS_SECRET_KEY
   */
  secretKey: string;
  /**
   * `fetch` to use.
   * @default globalThis.fetch
   * @example fetch: undici.fetch
   */
  fetch?: typeof globalThis.fetch;
}

/**
 * The full `@trpc/client` for backends: every procedure of the router,
 * batched over HTTP, with inputs and outputs inferred from the router type.
 * @example
 * import type { AppRouter } from '@recsys/server';
 * const recsys = createNodeClient<AppRouter>({ endpoint: 'https://recs.example.com', secretKey: process.env.RECSYS_SECRET_KEY! });
 * const recs = await recsys.recs.forUser.query({ userId: 'u-42', k: 10 });
 */
export function createNodeClient<TRouter extends AnyRouter>(options: NodeClientOptions): TRPCClient<TRouter> {
  if (!options?.secretKey || !options.endpoint) {
    throw new TypeError(
      'Recsys: `endpoint` and `secretKey` are required, e.g. { endpoint: "https://recs.example.com", secretKey: "sk_…" }',
    );
  }
  // The Recsys server uses no transformer; the cast tells tRPC so for a generic router type.
  const linkOptions = {
    url: `${options.endpoint.replace(/\/+$/, '')}/trpc`,
    headers: { Authorization: `Bearer ${options.secretKey}` },
    ...(options.fetch ? { fetch: options.fetch } : {}),
  } as unknown as Parameters<typeof httpBatchLink<TRouter>>[0];
  return createTRPCClient<TRouter>({ links: [httpBatchLink<TRouter>(linkOptions)] });
}

/**
 * The tracker for backends: the same API as in the browser, but a secret key (`sk_…`) travels in the
 * `Authorization` header, never in the URL (the server refuses secret keys in URLs: they end up in
 * logs and proxies). A publishable key is sent as in the browser.
 * @example
 * const tracker = createTracker({ endpoint: 'https://recs.example.com', key: process.env.RECSYS_SECRET_KEY! });
 * tracker.purchase({ orderId: 'o-1', items: [{ itemId: 'sku-1', quantity: 1, price: 9.5 }] }, { userId: 'u-42' });
 */
export function createTracker(options: TrackerOptions): Tracker {
  if (!options?.key?.startsWith('sk_')) return createBrowserTracker(options);
  const fetchFn = options.fetch ?? ((url, init) => globalThis.fetch(url, init));
  const authorization = `Bearer ${options.key}`;
  return createBrowserTracker({
    ...options,
    fetch(url, init) {
      const target = new URL(url);
      if (target.searchParams.get('key') === options.key) target.searchParams.delete('key');
      const headers = new Headers(init?.headers);
      headers.set('Authorization', authorization);
      return fetchFn(target.toString(), { ...init, headers });
    },
  });
}
