import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type AnyTRPCRouter,
  callTRPCProcedure,
  getErrorShape,
  getTRPCErrorFromUnknown,
  TRPCError,
} from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { REST_PREFIX, type RestRoute, restRoutes } from '../api/openapi';
import { limits } from '../ingest/contracts';
import { BodyNotUtf8Error, BodyTooLargeError, readBody, sendJson } from './body';

/** Options of {@link createRestHandler}. */
export interface RestHandlerOptions<TContext extends { requestId: string }> {
  router: AnyTRPCRouter;
  createContext(req: IncomingMessage): Promise<TContext>;
  /** Called for every failed call, like the tRPC adapter's `onError`. */
  onError?(opts: { error: TRPCError; path?: string; ctx?: TContext }): void;
  /** Extra response headers from a call's error (`Retry-After`, `Connection: close`). */
  headersForErrors?(errors: ReadonlyArray<TRPCError | undefined>): Record<string, string>;
}

/** The procedure a REST path names, if the router has it (own keys only: no `__proto__`). */
export function restProcedureOf(router: AnyTRPCRouter, pathname: string): string | undefined {
  if (!pathname.startsWith(REST_PREFIX)) return undefined;
  const procedure = pathname.slice(REST_PREFIX.length).split('/').join('.');
  return Object.hasOwn(router._def.procedures, procedure) ? procedure : undefined;
}

/**
 * Answers `POST /v1/rest/<procedure path>` with a JSON body by calling the same tRPC procedure —
 * same middlewares (key check, metrics, error mapping), same zod input validation — and answers
 * its result as the plain JSON body, or its error in tRPC's own error envelope with the matching
 * HTTP status. Auth, CORS, rate limits and the request id are applied before, by the host, exactly
 * as for `/trpc/*`.
 */
export function createRestHandler<TContext extends { requestId: string }>(
  options: RestHandlerOptions<TContext>,
) {
  const { router } = options;
  const config = router._def._config;
  const routes = new Map<string, RestRoute>(restRoutes(router).map((r) => [r.path, r]));

  function fail(
    res: ServerResponse,
    error: TRPCError,
    route: RestRoute | undefined,
    ctx: TContext | undefined,
    requestId: string,
    input?: unknown,
  ) {
    options.onError?.({ error, ...(route ? { path: route.procedure } : {}), ...(ctx ? { ctx } : {}) });
    const shape = getErrorShape({
      config,
      error,
      type: route?.type ?? 'unknown',
      path: route?.procedure,
      input,
      ctx,
    }) as { data?: Record<string, unknown> };
    // Without a context (errors before the call) the formatter cannot know the request id.
    const body = { error: { ...shape, data: { ...shape.data, requestId } } };
    sendJson(res, getHTTPStatusCodeFromError(error), body, options.headersForErrors?.([error]) ?? {});
  }

  return async function handleRest(req: IncomingMessage, res: ServerResponse, url: URL, requestId: string) {
    const route = routes.get(url.pathname);
    if (!route) {
      return fail(
        res,
        new TRPCError({
          code: 'NOT_FOUND',
          message: `No REST route ${url.pathname}; every procedure is POST ${REST_PREFIX}<path with dots as slashes>, listed in /openapi.json.`,
        }),
        undefined,
        undefined,
        requestId,
      );
    }
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      return fail(
        res,
        new TRPCError({
          code: 'METHOD_NOT_SUPPORTED',
          message: `${route.path} answers POST only; send the input as a JSON body (an empty body when it takes none).`,
        }),
        route,
        undefined,
        requestId,
      );
    }
    const contentType = req.headers['content-type'];
    if (contentType && !/^application\/json\s*(;|$)/i.test(contentType)) {
      return fail(
        res,
        new TRPCError({
          code: 'UNSUPPORTED_MEDIA_TYPE',
          message: `Content-Type "${contentType}" is not JSON; send the input as JSON with content-type application/json (curl: -H 'content-type: application/json')`,
        }),
        route,
        undefined,
        requestId,
      );
    }
    const ctx = await options.createContext(req);
    let input: unknown;
    try {
      const text = await readBody(req, limits.maxBodyBytes);
      input = text.trim() === '' ? undefined : config.transformer.input.deserialize(JSON.parse(text));
    } catch (cause) {
      const error =
        cause instanceof BodyTooLargeError
          ? new TRPCError({ code: 'PAYLOAD_TOO_LARGE' })
          : cause instanceof BodyNotUtf8Error
            ? new TRPCError({
                code: 'BAD_REQUEST',
                message: 'The body is not UTF-8 text; send the input as UTF-8 encoded JSON.',
              })
            : new TRPCError({ code: 'PARSE_ERROR', cause: cause as Error });
      return fail(res, error, route, ctx, requestId);
    }
    try {
      const data = await callTRPCProcedure({
        router,
        path: route.procedure,
        getRawInput: async () => input,
        ctx,
        type: route.type,
        signal: undefined,
        batchIndex: 0,
      });
      sendJson(res, 200, config.transformer.output.serialize(data) ?? null);
    } catch (cause) {
      fail(res, getTRPCErrorFromUnknown(cause), route, ctx, requestId, input);
    }
  };
}
