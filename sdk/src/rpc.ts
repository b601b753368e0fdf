import type { FetchLike } from './transport';

/** A failed recommendation / tRPC call: the server's message, its tRPC code and the HTTP status. */
export class RecsysRequestError extends Error {
  override name = 'RecsysRequestError';
  constructor(
    message: string,
    /** HTTP status, 0 for a network error. */
    readonly status: number,
    /** tRPC error code such as `BAD_REQUEST` or `UNAUTHORIZED`, when the server sent one. */
    readonly code: string | undefined,
    /** The procedure called, e.g. `recs.similar`. */
    readonly path: string,
  ) {
    super(message);
  }
}

/** Where and how to reach the tRPC endpoint. */
export interface RpcConfig {
  endpoint: string;
  key: string;
  fetch?: FetchLike | undefined;
}

/**
 * One tRPC v11 call over plain HTTP (no batching, no transformer): queries are
 * `GET /trpc/<path>?input=<json>`, mutations `POST /trpc/<path>` with the input
 * as JSON body; the answer is `{ result: { data } }` or `{ error: { message, data } }`.
 * This is the whole protocol the browser needs, at a fraction of `@trpc/client`'s size.
 */
export async function callProcedure(
  config: RpcConfig,
  type: 'query' | 'mutation',
  path: string,
  input: unknown,
  signal?: AbortSignal,
): Promise<unknown> {
  const base = `${config.endpoint.replace(/\/+$/, '')}/trpc/${path}`;
  const query = type === 'query';
  const url =
    query && input !== undefined ? `${base}?input=${encodeURIComponent(JSON.stringify(input))}` : base;
  const init: RequestInit = {
    method: query ? 'GET' : 'POST',
    headers: { Authorization: `Bearer ${config.key}`, 'Content-Type': 'application/json' },
  };
  if (!query && input !== undefined) init.body = JSON.stringify(input);
  if (signal) init.signal = signal;
  let res: Response;
  try {
    res = await (config.fetch ?? fetch)(url, init);
  } catch (e) {
    if (signal?.aborted) throw e;
    throw new RecsysRequestError(`Could not reach ${base}: ${String(e)}`, 0, undefined, path);
  }
  const body = (await res.json().catch(() => null)) as {
    result?: { data?: unknown };
    error?: { message?: string; data?: { code?: string } };
  } | null;
  if (res.ok && body?.result) return body.result.data;
  throw new RecsysRequestError(
    body?.error?.message ?? `${path} failed with HTTP ${res.status}`,
    res.status,
    body?.error?.data?.code,
    path,
  );
}
