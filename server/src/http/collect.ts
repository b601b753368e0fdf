import type { IncomingMessage, ServerResponse } from 'node:http';
import { limits, USER_TOKEN_FIELD, USER_TOKEN_HEADER } from '@recsys/engine/protocol';
import { z } from 'zod';
import type { AppServices } from '../api/services';
import type { AuthFailure, Principal } from '../auth/keyResolver';
import { proveUserId } from '../auth/userProof';
import { isDatabaseUnavailable } from '../db/unavailable';
import { ingestEvents } from '../ingest/events';
import { BodyNotUtf8Error, BodyTooLargeError, readBody, sendJson } from './body';

const collectBodySchema = z.object({
  events: z
    .array(z.unknown())
    .max(limits.eventsPerBatch, `send at most ${limits.eventsPerBatch} events per request`),
  sentAt: z.string().max(64).optional(),
  dropped: z.number().int().nonnegative().max(1_000_000_000).optional(),
  /**
   * The signed-in user's token; a beacon cannot send it as a header. Not a string, or too long, it
   * proves nothing (the rows count for their anonymousId) rather than costing the batch.
   */
  [USER_TOKEN_FIELD]: z.unknown().optional(),
});

/** Body of `POST /v1/collect` as a client sends it; each of `events` is then checked as an `EventInput`. */
export type CollectBody = z.input<typeof collectBodySchema>;

/**
 * `POST /v1/collect`, the browser SDK's event endpoint: `text/plain` JSON so beacons and keepalive
 * requests need no preflight, and the publishable key in the query string because beacons cannot
 * set headers. Rows are validated and stored one by one, exactly as `events.batch` does.
 */
export function createCollectHandler(services: AppServices) {
  const { metrics } = services;
  /** `auth` is the request's key (`?key=`, else the Authorization header), resolved by the server. */
  return async function collect(
    req: IncomingMessage,
    res: ServerResponse,
    auth: Principal | AuthFailure | undefined,
    requestId: string,
  ) {
    const start = performance.now();
    try {
      return await handle(req, res, auth, requestId, start);
    } catch (error) {
      // Answered by the server's error handler (503 with Retry-After when the database is
      // unreachable); counted here so outages show on the collect endpoint's metrics.
      const code = isDatabaseUnavailable(error) ? 'SERVICE_UNAVAILABLE' : 'INTERNAL_SERVER_ERROR';
      metrics.observe('collect', code, (performance.now() - start) / 1000);
      throw error;
    }
  };

  async function handle(
    req: IncomingMessage,
    res: ServerResponse,
    auth: Principal | AuthFailure | undefined,
    requestId: string,
    start: number,
  ) {
    const reply = (status: number, body: unknown, code: string, headers?: Record<string, string>) => {
      metrics.observe('collect', code, (performance.now() - start) / 1000);
      sendJson(res, status, body, headers);
    };
    const fail = (status: number, code: string, message: string, headers?: Record<string, string>) =>
      reply(status, { error: { code, message, requestId } }, code, headers);
    if (req.method !== 'POST') return fail(405, 'METHOD_NOT_SUPPORTED', 'Use POST.');
    if (!auth) return fail(401, 'UNAUTHORIZED', 'Missing API key: add ?key=<publishable key> to the URL.');
    if ('code' in auth) return fail(auth.code === 'UNAUTHORIZED' ? 401 : 403, auth.code, auth.message);
    let text: string;
    try {
      text = await readBody(req, limits.maxCollectBodyBytes);
    } catch (error) {
      if (error instanceof BodyTooLargeError) {
        // The rest of the body is still on the connection, unread: it cannot carry another request,
        // so it is closed once the answer is out (kept alive, it hung until the idle timeout).
        return fail(
          413,
          'PAYLOAD_TOO_LARGE',
          `Body exceeds ${limits.maxCollectBodyBytes} bytes; send smaller batches.`,
          { connection: 'close' },
        );
      }
      if (error instanceof BodyNotUtf8Error) {
        return fail(400, 'BAD_REQUEST', 'Body is not valid UTF-8; send JSON text encoded as UTF-8.');
      }
      throw error;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return fail(
        400,
        'BAD_REQUEST',
        'Body is not valid JSON; send {"events":[...]} as text/plain or application/json.',
      );
    }
    const body = collectBodySchema.safeParse(json);
    if (!body.success) {
      const detail = body.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
      return fail(400, 'BAD_REQUEST', `Invalid body: ${detail}`);
    }
    if (body.data.dropped) metrics.clientDropped.inc(body.data.dropped);
    const header = req.headers[USER_TOKEN_HEADER];
    const field = body.data[USER_TOKEN_FIELD];
    const token = typeof field === 'string' ? field : typeof header === 'string' ? header : undefined;
    const userIds = await proveUserId(auth, token, services.keys.secretKeyHash);
    const result = await ingestEvents(services.database, auth.namespaceId, auth.settings, body.data.events, {
      userIds,
    });
    services.onEventsIngested(auth.namespaceId, result);
    reply(200, result, 'OK');
  }
}
