import { createTRPCClient, httpBatchLink, type TRPCClient } from '@trpc/client';
import type { AnyRouter } from '@trpc/server';

export { createTracker, type Tracker, type TrackerOptions } from './tracker';
export * from './types';

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
