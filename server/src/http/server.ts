/**
 * Longer than the ~450-line guideline on purpose: the HTTP host's one request handler, whose steps
 * (request id, CORS, key, rate limit, body, route, errors) must be read in order; each step's logic
 * lives in a file beside it.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { USER_TOKEN_HEADER } from '@recsys/engine/protocol';
import type { TRPCError } from '@trpc/server';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { BODY_TOO_LARGE_MESSAGE, type Context } from '../api/init';
import { REST_PREFIX } from '../api/openapi';
import { appRouter } from '../api/router';
import type { AppServices } from '../api/services';
import { type AuthFailure, createKeyResolver, type Principal } from '../auth/keyResolver';
import { type ConsoleOptions, createConsoleRoutes } from '../console/consoleRoutes';
import { resolveSession, sessionIdOf } from '../console/sessions';
import type { Database } from '../db/client';
import { isDatabaseUnavailable } from '../db/unavailable';
import { DATABASE_UNAVAILABLE_MESSAGE, RETRY_AFTER_SECONDS, ServiceUnavailableError } from '../errors';
import { ExperimentAssigner } from '../experiments/assign';
import { limits } from '../ingest/contracts';
import type { JobSchedules } from '../jobs/schedules';
import { createJobsService } from '../jobs/service';
import type { Logger } from '../obs/logger';
import {
  createMetrics,
  type Metrics,
  watchEngineThreadPauses,
  watchIndexFreshness,
  watchServedListLog,
} from '../obs/metrics';
import { EVERY_NAMESPACE, type Placement } from '../replicate/placement';
import type { EngineService } from '../serve/EngineService';
import type { RecLogWriter } from '../serve/RecLogWriter';
import { TRACE_HEADER } from '../traces/storedTrace';
import { createApiReference } from './apiReference';
import { BodyNotUtf8Error, BodyTooLargeError, readBody, requestIdOf, sendJson } from './body';
import { createBundleHandler, defaultBundleDirs } from './bundles';
import { createClientIp } from './clientIp';
import { createCollectHandler } from './collect';
import { applyCors, requestOrigin } from './cors';
import { bearerToken, hasSecretKeyInUrl, SECRET_KEY_IN_URL_MESSAGE } from './credentials';
import { createFastQueryHandler } from './fastQueries';
import { createRateLimiter, type RateLimitOptions, type RateLimitRefusal } from './rateLimiter';
import { checkReadiness } from './readiness';
import { createRestHandler, restProcedureOf } from './rest';

/** Extra routes served by the same process (the demo storefront uses it). */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;

export interface RecsysServerOptions {
  database: Database;
  log: Logger;
  /**
   * Prometheus metrics; a fresh registry by default.
   * @default createMetrics()
   */
  metrics?: Metrics;
  /**
   * Tried after the API routes; return true when the request was handled.
   * @example (req, res) => serveStatic(req, res, './public')
   */
  fallback?: RouteHandler;
  /**
   * The engines serving `recs.*`; without it those procedures answer 503.
   */
  engines?: EngineService;
  /**
   * The namespaces whose engines `engines` holds; recommendations for the others answer 503 with
   * the reason. Give the engine host's own placement.
   * @default every namespace
   */
  placement?: Placement;
  /** Where served lists are logged. */
  recLog?: RecLogWriter;
  /**
   * Reports whether the engine indexes are loaded, for `/readyz`.
   * @default () => engines?.ready ?? true
   */
  engineReady?: () => boolean;
  /** Called after each accepted events batch. */
  onEventsIngested?: AppServices['onEventsIngested'];
  /**
   * Answer GET queries (what `httpLink` and `httpBatchLink` send) without the tRPC adapter's
   * Request/Response translation, with the same responses (see `createFastQueryHandler`). Off, every
   * request goes through the adapter.
   * @default true
   */
  fastQueries?: boolean;
  /**
   * Rate limits of `/trpc/*`, `/v1/rest/*` and `/v1/collect` (see {@link RateLimitOptions}); `false` turns them off.
   * @default {} (the default limits, counted in memory)
   */
  rateLimits?: RateLimitOptions | false;
  /**
   * Folders the browser bundles (`recsys.js`, `recsys-track.js`, `recsys-widgets.js`, `recsys-full.js`) are served from
   * under `/static/`; `false` serves none.
   * @default defaultBundleDirs(): `RECSYS_BUNDLE_DIRS`, else the workspace's `sdk/dist` and `widgets/dist`
   */
  bundleDirs?: readonly string[] | false;
  /**
   * The admin console at `/admin` (sign-in, sessions, the app; see `ConsoleOptions`); `false` serves
   * none, and then no cookie reaches `/trpc` either.
   * @default {} (the built app from `defaultConsoleDir()`, 12-hour sessions)
   */
  console?: Omit<ConsoleOptions, 'clientIp'> | false;
  /**
   * The job schedules this process was configured with, shown by `admin.jobs.list` (the scheduler
   * itself runs in the runtime, see `composeRuntime`).
   * @default every job's default schedule
   */
  jobSchedules?: Partial<JobSchedules>;
  /**
   * An HTTP server that already listens (the port a starting process opened before its database,
   * see `listenWhileStarting`): this server answers its requests from now on, on the connections it
   * has, and `listen()` resolves to its URL.
   * @default a new server, listening from `listen()`
   */
  server?: Server;
}

export interface RecsysServer {
  services: AppServices;
  server: Server;
  /**
   * Starts listening; port 0 picks a free port. Resolves to the base URL. An adopted server
   * (`RecsysServerOptions.server`) is answered from now on, on the port it has.
   */
  listen(port?: number, host?: string): Promise<string>;
  close(): Promise<void>;
}

const JSON_RPC_CODES = { BAD_REQUEST: -32600, PAYLOAD_TOO_LARGE: -32413, TOO_MANY_REQUESTS: -32029 } as const;

/** An error decided before tRPC's adapter sees the request, in the envelope its clients read. */
function sendTrpcError(
  res: ServerResponse,
  status: number,
  code: keyof typeof JSON_RPC_CODES,
  message: string,
  path: string,
  requestId: string,
  data: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): void {
  const procedure = path.slice('/trpc/'.length);
  sendJson(
    res,
    status,
    {
      error: {
        message,
        code: JSON_RPC_CODES[code],
        data: { code, httpStatus: status, path: procedure, requestId, ...data },
      },
    },
    headers,
  );
}

/**
 * Headers a tRPC response gets from its calls' errors: `Retry-After` when one can be retried later
 * (database unreachable, engines loading), and `Connection: close` when the body was refused unread
 * (too large) — the rest of it is still on the connection, which cannot carry another request.
 */
function headersForErrors(errors: ReadonlyArray<TRPCError | undefined>): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const error of errors) {
    if (error?.cause instanceof ServiceUnavailableError) {
      headers['retry-after'] = String(error.cause.retryAfterSeconds);
    }
    if (error?.code === 'PAYLOAD_TOO_LARGE') headers.connection = 'close';
  }
  return headers;
}

/**
 * The HTTP host: tRPC under `/trpc`, the browser collection endpoint
 * `/v1/collect` (text/plain so beacons and keepalive requests need no
 * preflight, key in the query string because beacons cannot set headers),
 * every procedure again as REST under `/v1/rest/` (described by `/openapi.json`, rendered at
 * `/docs`), the browser bundles under `/static/`, `/healthz`, `/readyz` and `/metrics`.
 */
export function createRecsysServer(options: RecsysServerOptions): RecsysServer {
  const metrics = options.metrics ?? createMetrics();
  if (options.recLog) watchServedListLog(metrics, options.recLog);
  if (options.engines) watchIndexFreshness(metrics, () => options.engines?.freshness);
  const engines = options.engines;
  if (engines?.watchPauses) watchEngineThreadPauses(metrics, (listener) => engines.watchPauses?.(listener));
  const requestIds = new WeakMap<IncomingMessage, string>();
  // The key is resolved once, where the request arrives (the rate limits need it), and read here
  // by the tRPC context.
  const resolved = new WeakMap<IncomingMessage, Principal | AuthFailure | Error | undefined>();
  const limiter =
    options.rateLimits === false ? undefined : createRateLimiter(options.rateLimits ?? {}, options.log);
  const services: AppServices = {
    database: options.database,
    keys: createKeyResolver(options.database),
    log: options.log,
    metrics,
    onEventsIngested(namespaceId, result) {
      metrics.eventsIngested.inc({ outcome: 'accepted' }, result.accepted);
      metrics.eventsIngested.inc({ outcome: 'duplicate' }, result.duplicates);
      metrics.eventsIngested.inc({ outcome: 'rejected' }, new Set(result.rejected.map((r) => r.index)).size);
      if (result.accepted > 0) options.engines?.nudge();
      options.onEventsIngested?.(namespaceId, result);
    },
    engineReady: options.engineReady ?? (() => options.engines?.ready ?? true),
    engines: options.engines,
    placement: options.placement ?? EVERY_NAMESPACE,
    recLog: options.recLog,
    experiments: options.engines ? new ExperimentAssigner(options.database, options.log) : undefined,
    jobs: createJobsService({
      database: options.database,
      log: options.log,
      ...(options.jobSchedules ? { schedules: options.jobSchedules } : {}),
      onExperimentPaused: (namespaceId) => services.experiments?.invalidate(namespaceId),
      onAllocationChanged: (namespaceId) => services.experiments?.invalidate(namespaceId),
    }),
  };

  async function createContext(req: IncomingMessage): Promise<Context> {
    const requestId = requestIds.get(req) ?? randomUUID();
    const origin = requestOrigin(req);
    const userToken = req.headers[USER_TOKEN_HEADER];
    return {
      services,
      requestId,
      origin,
      // Not a child logger per request (a measurable share of a request's garbage): the few lines
      // a procedure logs name the requestId themselves.
      log: options.log,
      metrics,
      auth: resolved.has(req) ? resolved.get(req) : await resolveKey(req, undefined, origin),
      userToken: typeof userToken === 'string' ? userToken : undefined,
      traceRequested: req.headers[TRACE_HEADER] === '1',
    };
  }
  function onError({ error, path, ctx }: { error: TRPCError; path?: string; ctx?: Context }) {
    if (error.code === 'INTERNAL_SERVER_ERROR' && !path) {
      options.log.error({ err: error, requestId: ctx?.requestId }, 'request failed');
    }
  }
  const trpcHandler = createHTTPHandler({
    router: appRouter,
    basePath: '/trpc/',
    maxBodySize: limits.maxBodyBytes,
    createContext: ({ req }) => createContext(req),
    onError,
    responseMeta: ({ errors }) => ({ headers: headersForErrors(errors) }),
  });
  const fastQueries =
    options.fastQueries === false
      ? undefined
      : createFastQueryHandler({
          router: appRouter,
          basePath: '/trpc/',
          createContext,
          onError,
          headersForErrors,
        });

  const collect = createCollectHandler(services);
  const rest = createRestHandler({ router: appRouter, createContext, onError, headersForErrors });
  const apiReference = createApiReference(appRouter);
  const bundleDirs = options.bundleDirs === false ? [] : (options.bundleDirs ?? defaultBundleDirs());
  const bundles = createBundleHandler(bundleDirs);
  const consoleRoutes =
    options.console === false
      ? undefined
      : createConsoleRoutes(options.database, {
          ...options.console,
          clientIp: limiter?.clientIp ?? createClientIp(false),
          ...(limiter ? { counter: limiter.counter } : {}),
        });

  /**
   * The request's key, from the header (and, on `/v1/collect`, from `?key=`), resolved; without a
   * key, a console session cookie on `/trpc` (never on REST or the collector).
   */
  function resolveKey(
    req: IncomingMessage,
    url: URL | undefined,
    origin = requestOrigin(req),
  ): Promise<Principal | AuthFailure | undefined> {
    const key = url?.searchParams.get('key') ?? bearerToken(req.headers.authorization);
    if (key) return services.keys.resolve(key, origin);
    const session = consoleRoutes && req.url?.startsWith('/trpc/') ? sessionIdOf(req) : undefined;
    return session ? resolveSession(options.database, req, session) : Promise.resolve(undefined);
  }

  /** 429 in the shape the route's clients read: tRPC's error envelope, or the collector's. */
  function tooManyRequests(
    res: ServerResponse,
    path: string,
    refusal: RateLimitRefusal,
    requestId: string,
    seconds: number,
  ) {
    const headers = { 'retry-after': String(refusal.retryAfter) };
    const { limit, retryAfter, message } = refusal;
    metrics.rateLimited.inc({ limit, namespace: refusal.namespaceId ?? '' });
    const restProcedure = restProcedureOf(appRouter, path);
    const procedures =
      path === '/v1/collect'
        ? ['collect']
        : path.startsWith(REST_PREFIX)
          ? [restProcedure ?? '']
          : path.slice('/trpc/'.length).split(',');
    for (const procedure of procedures) {
      // Only names the router has: a made-up path must not add a metrics series.
      if (procedure === 'collect' || Object.hasOwn(appRouter._def.procedures, procedure)) {
        metrics.observe(procedure, 'TOO_MANY_REQUESTS', seconds);
      }
    }
    if (path === '/v1/collect') {
      return sendJson(
        res,
        429,
        { error: { code: 'TOO_MANY_REQUESTS', message, requestId, limit, retryAfter } },
        headers,
      );
    }
    // A REST route names its procedure by its path: the envelope says which one.
    const trpcPath = path.startsWith(REST_PREFIX) ? `/trpc/${restProcedure ?? ''}` : path;
    sendTrpcError(
      res,
      429,
      'TOO_MANY_REQUESTS',
      message,
      trpcPath,
      requestId,
      { limit, retryAfter },
      headers,
    );
  }

  /**
   * A POST's body is read here, not by the adapter, which would decode bytes that are not UTF-8 to
   * U+FFFD and store them so (two different ids would become one). The adapter takes the text from
   * `req.body`.
   */
  async function toTrpc(req: IncomingMessage & { body?: string }, res: ServerResponse, path: string) {
    if (req.method === 'POST') {
      const requestId = requestIds.get(req) ?? '';
      try {
        req.body = await readBody(req, limits.maxBodyBytes);
      } catch (error) {
        if (error instanceof BodyNotUtf8Error) {
          return sendTrpcError(
            res,
            400,
            'BAD_REQUEST',
            'Body is not valid UTF-8; send JSON text encoded as UTF-8.',
            path,
            requestId,
          );
        }
        if (error instanceof BodyTooLargeError) {
          // The rest of the body is still on the connection, unread: close it once answered.
          return sendTrpcError(
            res,
            413,
            'PAYLOAD_TOO_LARGE',
            BODY_TOO_LARGE_MESSAGE,
            path,
            requestId,
            {},
            { connection: 'close' },
          );
        }
        throw error;
      }
    }
    return trpcHandler(req, res);
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const requestId = requestIdOf(req);
    requestIds.set(req, requestId);
    res.setHeader('x-request-id', requestId);
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      // An absolute-form target such as `http://[` : answer it rather than reject the handler's promise.
      return sendJson(res, 400, {
        error: {
          code: 'BAD_REQUEST',
          message: 'The request target is not a valid URL; send a path such as /trpc/….',
          requestId,
        },
      });
    }
    const path = url.pathname;
    const started = performance.now();
    res.once('finish', () => {
      // A 503 is an outage or a start-up, logged where it is decided; not a bug per request.
      const level = res.statusCode === 503 ? 'warn' : res.statusCode >= 500 ? 'error' : 'debug';
      // Most requests log at debug, off in production: the line is not made for nothing.
      if (!options.log.isLevelEnabled(level)) return;
      const entry = {
        requestId,
        method: req.method,
        path,
        status: res.statusCode,
        ms: +(performance.now() - started).toFixed(2),
      };
      options.log[level](entry, 'request');
    });
    try {
      const isRest = path.startsWith(REST_PREFIX);
      const api = path.startsWith('/trpc/') || path === '/v1/collect' || isRest;
      if (api && applyCors(req, res)) return;
      if (hasSecretKeyInUrl(req.url ?? '', url)) {
        return sendJson(res, 400, {
          error: { code: 'BAD_REQUEST', message: SECRET_KEY_IN_URL_MESSAGE, requestId },
        });
      }
      if (api) {
        const keyUrl = path === '/v1/collect' ? url : undefined;
        let auth: Principal | AuthFailure | undefined;
        try {
          if (limiter) {
            const admitted = await limiter.admit(limiter.clientIp(req), () => resolveKey(req, keyUrl));
            if ('refused' in admitted)
              return tooManyRequests(
                res,
                path,
                admitted.refused,
                requestId,
                (performance.now() - started) / 1000,
              );
            auth = admitted.auth;
          } else {
            auth = await resolveKey(req, keyUrl);
          }
        } catch (error) {
          // The key could not be looked up (database unreachable). A tRPC route hands the error to
          // its procedure, which answers 503 in tRPC's envelope; the collector's catch below does it
          // in its own.
          if (path === '/v1/collect' && isDatabaseUnavailable(error)) {
            metrics.observe('collect', 'SERVICE_UNAVAILABLE', (performance.now() - started) / 1000);
          }
          if (path === '/v1/collect' || !isDatabaseUnavailable(error)) throw error;
          resolved.set(req, error as Error);
          return isRest ? await rest(req, res, url, requestId) : await toTrpc(req, res, path);
        }
        resolved.set(req, auth);
        if (path === '/v1/collect') return await collect(req, res, auth, requestId);
        if (isRest) return await rest(req, res, url, requestId);
        if (fastQueries && (await fastQueries(req, res, url))) return;
        return await toTrpc(req, res, path);
      }
      if (path === '/healthz') return sendJson(res, 200, { status: 'ok' });
      if (path === '/readyz') {
        const readiness = await checkReadiness(
          options.database,
          services.engineReady,
          options.engines?.progress,
        );
        return sendJson(res, readiness.ready ? 200 : 503, readiness);
      }
      if (path === '/metrics') {
        res.writeHead(200, { 'content-type': metrics.registry.contentType });
        return res.end(await metrics.registry.metrics());
      }
      if (apiReference(req, res, path)) return;
      if (bundles.handle(req, res, path)) return;
      if (consoleRoutes && (await consoleRoutes.handle(req, res, path, requestId))) return;
      if (options.fallback && (await options.fallback(req, res))) return;
      const bundle = /^\/static\/(recsys[\w.-]*\.js)$/.exec(path)?.[1];
      sendJson(res, 404, {
        error: {
          code: 'NOT_FOUND',
          message: bundle
            ? `No browser bundle ${bundle} in ${bundleDirs.join(', ') || '(none: bundleDirs is false)'}; build the bundles with \`pnpm build\` or point RECSYS_BUNDLE_DIRS at them. /static/manifest.json lists what is served.`
            : `No route for ${req.method} ${path}.`,
          requestId,
        },
      });
    } catch (error) {
      if (isDatabaseUnavailable(error) && !res.headersSent) {
        options.log.warn({ err: error, requestId, path }, 'database unreachable; answered 503');
        return sendJson(
          res,
          503,
          { error: { code: 'SERVICE_UNAVAILABLE', message: DATABASE_UNAVAILABLE_MESSAGE, requestId } },
          { 'retry-after': String(RETRY_AFTER_SECONDS) },
        );
      }
      options.log.error({ err: error, requestId, path }, 'request failed');
      if (!res.headersSent) {
        sendJson(res, 500, {
          error: {
            code: 'INTERNAL_SERVER_ERROR',
            message: `Internal error; quote request id ${requestId}.`,
            requestId,
          },
        });
      } else {
        res.destroy();
      }
    }
  }

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    void handle(req, res);
  };
  const server = options.server ?? createServer(onRequest);
  // Keep-alive longer than typical load-balancer idle timeouts avoids 502s on reuse.
  server.keepAliveTimeout = 65_000;

  return {
    services,
    server,
    async listen(port = 0, host = '127.0.0.1') {
      await limiter?.ready;
      const urlOf = (address: AddressInfo) =>
        `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
      if (options.server) {
        // Adopted: its earlier handler (the starting process's 503s) answers no more.
        server.removeAllListeners('request');
        server.on('request', onRequest);
        // Already listening (the caller gives the host it opened the port on).
        if (server.listening) return urlOf(server.address() as AddressInfo);
      }
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve(urlOf(server.address() as AddressInfo)));
      });
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await limiter?.close();
    },
  };
}
