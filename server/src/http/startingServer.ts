import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { REST_PREFIX } from '../api/openapi';
import { RETRY_AFTER_SECONDS } from '../errors';
import { requestIdOf, sendJson } from './body';
import { applyCors } from './cors';

/** What a starting server still waits for, as `/readyz` says it. */
export type StartingPhase =
  /** The database is being opened (a PostgreSQL connection, the PGlite folder) and migrated. */
  | 'database'
  /** The database is open; the rest of the process (the embedding model, the HTTP thread) starts. */
  | 'components';

/** What a request that needs the server's work gets while it starts. */
export function startingMessage(phase: StartingPhase): string {
  const what = phase === 'database' ? 'its database is still opening' : 'it is about to serve';
  return `The server is starting: ${what}; retry in ${RETRY_AFTER_SECONDS} s (Retry-After).`;
}

/** Options of {@link listenWhileStarting}. */
export interface StartingServerOptions {
  /** 0 picks a free port. */
  port: number;
  host: string;
}

/** The port of a process that is starting, answering probes until the real server takes it over. */
export interface StartingServer {
  /** The listening server; the real one adopts it (`RecsysServerOptions.server`). */
  readonly server: Server;
  /** Base URL, with the port it got. */
  readonly url: string;
  readonly port: number;
  /** What `/readyz` says is missing. */
  phase: StartingPhase;
  /**
   * Stops listening, so that another thread can listen on the port (the HTTP thread), and ends its
   * connections: idle ones at once, the others after their answer.
   */
  release(): Promise<void>;
}

/**
 * Opens the port before the database: `/healthz` answers 200 from the first moment, `/readyz` 503
 * with `database: opening`, and every other route 503 with `Retry-After` in the shape its clients
 * read (tRPC's error envelope on `/trpc/*` and `/v1/rest/*`, the collector's error on the rest), so
 * that a supervisor sees a live process that is not ready yet, not a refused connection, while a
 * large PGlite folder or a slow PostgreSQL opens and migrates.
 */
export async function listenWhileStarting(options: StartingServerOptions): Promise<StartingServer> {
  const server = createServer((req, res) => answer(req, res));
  // Probes and retries reuse connections; the real server gets them as they are.
  server.keepAliveTimeout = 65_000;
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  let released = false;
  const starting: StartingServer = {
    server,
    url: `http://${host}:${port}`,
    port,
    phase: 'database',
    async release() {
      if (released) return;
      released = true;
      // Stops listening at once; connections with a request in flight close after their answer.
      server.close();
      server.closeIdleConnections();
      await new Promise<void>((resolve) => setImmediate(resolve));
    },
  };

  function answer(req: IncomingMessage, res: ServerResponse) {
    const requestId = requestIdOf(req);
    res.setHeader('x-request-id', requestId);
    // Released: the HTTP thread takes the port, and this connection must not outlive the answer.
    if (released) res.setHeader('connection', 'close');
    const [path = '/', query = ''] = (req.url ?? '/').split('?', 2);
    if (path === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (path === '/readyz') return sendJson(res, 503, { ready: false, checks: checksOf(starting.phase) });
    const isTrpc = path.startsWith('/trpc/');
    const isRest = path.startsWith(REST_PREFIX);
    if ((isTrpc || isRest || path === '/v1/collect') && applyCors(req, res)) return;
    const headers = { 'retry-after': String(RETRY_AFTER_SECONDS) };
    const message = startingMessage(starting.phase);
    if (!isTrpc && !isRest) {
      return sendJson(res, 503, { error: { code: 'SERVICE_UNAVAILABLE', message, requestId } }, headers);
    }
    // tRPC's envelope, one per call of a batch (`/trpc/a,b?batch=1`), as tRPC answers a 503.
    const procedures = isTrpc
      ? path.slice('/trpc/'.length).split(',')
      : [path.slice(REST_PREFIX.length).split('/').join('.')];
    const envelope = (procedure: string) => ({
      error: {
        message,
        code: -32603,
        data: { code: 'SERVICE_UNAVAILABLE', httpStatus: 503, path: procedure, requestId },
      },
    });
    const batch = isTrpc && new URLSearchParams(query).get('batch') === '1';
    sendJson(res, 503, batch ? procedures.map(envelope) : envelope(procedures[0] ?? ''), headers);
  }

  return starting;
}

function checksOf(phase: StartingPhase) {
  return phase === 'database'
    ? {
        database: { ok: false, detail: 'opening' },
        migrations: { ok: false, detail: 'unknown (database opening)' },
        engine: { ok: false, detail: 'waiting for the database' },
      }
    : {
        database: { ok: true },
        migrations: { ok: true },
        engine: { ok: false, detail: 'starting' },
      };
}
