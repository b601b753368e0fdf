import { procedureRequest, readProcedureBody } from '@recsys/protocol';
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
  /**
   * The signed-in user's token, read at each call and sent as `x-recsys-user-token`: proves the
   * `userId` of a publishable-key call (`createRecsys` passes the tracker's).
   * @default undefined
   * @example userToken: () => sessionStorage.getItem('recsysToken') ?? undefined
   */
  userToken?: (() => string | undefined) | undefined;
}

/**
 * One tRPC v11 call over plain HTTP, in the wire format of `@recsys/protocol` (no batching, no
 * transformer). This is the whole protocol the browser needs, at a fraction of `@trpc/client`'s size.
 */
export async function callProcedure(
  config: RpcConfig,
  type: 'query' | 'mutation',
  path: string,
  input: unknown,
  signal?: AbortSignal,
): Promise<unknown> {
  const { url, init } = procedureRequest(
    config.endpoint,
    config.key,
    type,
    path,
    input,
    config.userToken?.(),
  );
  const request: RequestInit = signal ? { ...init, signal } : init;
  let res: Response;
  try {
    res = await (config.fetch ?? fetch)(url, request);
  } catch (e) {
    if (signal?.aborted) throw e;
    throw new RecsysRequestError(`Could not reach ${url.split('?')[0]}: ${String(e)}`, 0, undefined, path);
  }
  const body = readProcedureBody(await res.json().catch(() => null));
  if (res.ok && body.ok) return body.data;
  const error = body.ok ? undefined : body;
  throw new RecsysRequestError(
    error?.message ?? `${path} failed with HTTP ${res.status}`,
    res.status,
    error?.code,
    path,
  );
}
