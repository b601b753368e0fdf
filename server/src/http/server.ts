import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { USER_TOKEN_HEADER } from '@recsys/engine/protocol';
import type { TRPCError } from '@trpc/server';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import type { Context } from '../api/init';
import { appRouter } from '../api/router';
import type { AppServices } from '../api/services';
import { createKeyResolver } from '../auth/keyResolver';
import type { Database } from '../db/client';
import { limits } from '../ingest/contracts';
import type { Logger } from '../obs/logger';
import { createMetrics, type Metrics, watchServedListLog } from '../obs/metrics';
import type { EngineService } from '../serve/EngineService';
import type { RecLogWriter } from '../serve/RecLogWriter';
import { sendJson } from './body';
import { createCollectHandler } from './collect';
import { applyCors, requestOrigin } from './cors';
import { bearerToken, hasSecretKeyInUrl, SECRET_KEY_IN_URL_MESSAGE } from './credentials';
import { createFastQueryHandler } from './fastQueries';
import { checkReadiness } from './readiness';

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
}

export interface RecsysServer {
  services: AppServices;
  server: Server;
  /** Starts listening; port 0 picks a free port. Resolves to the base URL. */
  listen(port?: number, host?: string): Promise<string>;
  close(): Promise<void>;
}

const REQUEST_ID_RE = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * The HTTP host: tRPC under `/trpc`, the browser collection endpoint
 * `/v1/collect` (text/plain so beacons and keepalive requests need no
 * preflight, key in the query string because beacons cannot set headers),
 * `/healthz`, `/readyz` and `/metrics`.
 */
export function createRecsysServer(options: RecsysServerOptions): RecsysServer {
  const metrics = options.metrics ?? createMetrics();
  if (options.recLog) watchServedListLog(metrics, options.recLog);
  const requestIds = new WeakMap<IncomingMessage, string>();
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
    recLog: options.recLog,
  };

  async function createContext(req: IncomingMessage): Promise<Context> {
    const requestId = requestIds.get(req) ?? randomUUID();
    const origin = requestOrigin(req);
    const key = bearerToken(req.headers.authorization);
    const userToken = req.headers[USER_TOKEN_HEADER];
    return {
      services,
      requestId,
      origin,
      // Not a child logger per request (a measurable share of a request's garbage): the few lines
      // a procedure logs name the requestId themselves.
      log: options.log,
      metrics,
      auth: key ? await services.keys.resolve(key, origin) : undefined,
      userToken: typeof userToken === 'string' ? userToken : undefined,
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
  });
  const fastQueries =
    options.fastQueries === false
      ? undefined
      : createFastQueryHandler({ router: appRouter, basePath: '/trpc/', createContext, onError });

  const collect = createCollectHandler(services);

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const incoming = req.headers['x-request-id'];
    const requestId = typeof incoming === 'string' && REQUEST_ID_RE.test(incoming) ? incoming : randomUUID();
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
      const entry = {
        requestId,
        method: req.method,
        path,
        status: res.statusCode,
        ms: +(performance.now() - started).toFixed(2),
      };
      if (res.statusCode >= 500) options.log.error(entry, 'request');
      else options.log.debug(entry, 'request');
    });
    try {
      const api = path.startsWith('/trpc/') || path === '/v1/collect';
      if (api && applyCors(req, res)) return;
      if (hasSecretKeyInUrl(req.url ?? '', url)) {
        return sendJson(res, 400, {
          error: { code: 'BAD_REQUEST', message: SECRET_KEY_IN_URL_MESSAGE, requestId },
        });
      }
      if (api) {
        if (path === '/v1/collect') return await collect(req, res, url, requestId);
        if (fastQueries && (await fastQueries(req, res, url))) return;
        return trpcHandler(req, res);
      }
      if (path === '/healthz') return sendJson(res, 200, { status: 'ok' });
      if (path === '/readyz') {
        const readiness = await checkReadiness(options.database, services.engineReady);
        return sendJson(res, readiness.ready ? 200 : 503, readiness);
      }
      if (path === '/metrics') {
        res.writeHead(200, { 'content-type': metrics.registry.contentType });
        return res.end(await metrics.registry.metrics());
      }
      if (options.fallback && (await options.fallback(req, res))) return;
      sendJson(res, 404, {
        error: { code: 'NOT_FOUND', message: `No route for ${req.method} ${path}.`, requestId },
      });
    } catch (error) {
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

  const server = createServer((req, res) => {
    void handle(req, res);
  });
  // Keep-alive longer than typical load-balancer idle timeouts avoids 502s on reuse.
  server.keepAliveTimeout = 65_000;

  return {
    services,
    server,
    listen(port = 0, host = '127.0.0.1') {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          const address = server.address() as AddressInfo;
          resolve(`http://${host.includes(':') ? `[${host}]` : host}:${address.port}`);
        });
      });
    },
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
