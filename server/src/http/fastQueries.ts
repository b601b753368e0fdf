import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type AnyTRPCRouter,
  callTRPCProcedure,
  getErrorShape,
  getTRPCErrorFromUnknown,
  type TRPCError,
  transformTRPCResponse,
} from '@trpc/server';
import { getHTTPStatusCode } from '@trpc/server/http';

/** Options of {@link createFastQueryHandler}. */
export interface FastQueryOptions<TContext extends object> {
  router: AnyTRPCRouter;
  /** The URL prefix of procedure paths, as given to the tRPC adapter. */
  basePath: string;
  createContext(req: IncomingMessage): Promise<TContext>;
  /** Called for every failed call, like the adapter's `onError`. */
  onError?(opts: { error: TRPCError; path: string; input: unknown; ctx: TContext | undefined }): void;
  /** Extra response headers from the calls' errors, as the adapter's `responseMeta` adds them. */
  headersForErrors?(errors: ReadonlyArray<TRPCError | undefined>): Record<string, string>;
}

type Call = { path: string; input: unknown };

/**
 * Answers tRPC queries sent as plain GET requests — what `httpLink` and `httpBatchLink` send — with
 * the responses tRPC's own adapter gives: same router, middlewares, input validation, error
 * formatter, status codes and `vary` header, checked byte for byte in the tests.
 *
 * Why it exists: the standalone adapter turns every request into a WHATWG `Request`, a `Response`
 * with a body stream and a set of abort signals. Measured on the 100k-item benchmark that costs
 * about twice the CPU of computing the recommendation itself, and recommendation reads are nearly
 * all of a shop's traffic. Anything this handler does not fully understand — other methods,
 * streaming (`trpc-accept: application/jsonl`), unknown procedures or parameters, input that is not
 * JSON — is declined (returns false) and goes through the adapter unchanged.
 */
export function createFastQueryHandler<TContext extends object>(options: FastQueryOptions<TContext>) {
  const { router, basePath } = options;
  const procedures = router._def.procedures as Record<string, { _def: { type: string } } | undefined>;
  const config = router._def._config;

  function parseCalls(url: URL): Call[] | undefined {
    for (const key of url.searchParams.keys()) if (key !== 'input' && key !== 'batch') return undefined;
    const batch = url.searchParams.get('batch');
    if (batch !== null && batch !== '1') return undefined;
    let procedurePath: string;
    try {
      procedurePath = decodeURIComponent(url.pathname.slice(basePath.length));
    } catch {
      return undefined;
    }
    const paths = batch === '1' ? procedurePath.split(',') : [procedurePath];
    // Own keys only: `constructor` or `__proto__` must not reach Object.prototype.
    const isQuery = (path: string) =>
      Object.hasOwn(procedures, path) && procedures[path]?._def.type === 'query';
    if (!paths.every(isQuery)) return undefined;
    const raw = url.searchParams.get('input');
    let input: unknown;
    try {
      input = raw === null ? undefined : JSON.parse(raw);
    } catch {
      return undefined;
    }
    const deserialize = (value: unknown) => config.transformer.input.deserialize(value) as unknown;
    if (batch !== '1') return [{ path: paths[0]!, input: deserialize(input) }];
    const inputs = (input ?? {}) as Record<string, unknown>;
    if (typeof inputs !== 'object' || Array.isArray(inputs)) return undefined;
    return paths.map((path, i) => ({ path, input: deserialize(inputs[i]) }));
  }

  /** Handles the request and returns true, or returns false without touching it. */
  return async function handleFastQuery(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
  ): Promise<boolean> {
    if (req.method !== 'GET' || !url.pathname.startsWith(basePath)) return false;
    const accept = req.headers['trpc-accept'] ?? req.headers.accept;
    if (typeof accept === 'string' && accept.includes('application/jsonl')) return false;
    const calls = parseCalls(url);
    if (calls === undefined) return false;
    let ctx: TContext;
    try {
      ctx = await options.createContext(req);
    } catch {
      // The adapter turns a failed context into the error response tRPC clients expect.
      return false;
    }
    const errors: Array<TRPCError | undefined> = calls.map(() => undefined);
    const responses = await Promise.all(
      calls.map(async ({ path, input }, batchIndex) => {
        try {
          const data = await callTRPCProcedure({
            router,
            path,
            getRawInput: async () => input,
            ctx,
            type: 'query',
            signal: undefined,
            batchIndex,
          });
          return { result: { data } };
        } catch (cause) {
          const error = getTRPCErrorFromUnknown(cause);
          options.onError?.({ error, path, input, ctx });
          errors[batchIndex] = error;
          return { error: getErrorShape({ config, error, type: 'query', path, input, ctx }) };
        }
      }),
    );
    const extraHeaders = options.headersForErrors?.(errors) ?? {};
    const single = url.searchParams.get('batch') !== '1';
    const body = JSON.stringify(
      transformTRPCResponse(config, single ? responses[0]! : responses) as unknown as object,
    );
    res.writeHead(getHTTPStatusCode(responses), {
      ...extraHeaders,
      vary: 'trpc-accept, accept',
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
    return true;
  };
}
