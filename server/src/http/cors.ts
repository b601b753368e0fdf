import type { IncomingMessage, ServerResponse } from 'node:http';
import { USER_TOKEN_HEADER } from '@recsys/engine/protocol';

/**
 * The browser origin a request came from: the Origin header, else the
 * Referer's origin (same-origin GETs carry no Origin header).
 */
export function requestOrigin(req: IncomingMessage): string | undefined {
  const origin = req.headers.origin;
  if (origin && origin !== 'null') return origin;
  const referer = req.headers.referer;
  if (!referer) return undefined;
  try {
    return new URL(referer).origin;
  } catch {
    return undefined;
  }
}

/**
 * CORS for the API routes. Any origin may ask; whether it may use a given
 * publishable key is decided per request against the key's allowed origins
 * (a preflight carries no key). No cookies are used, so no credentials.
 */
export function applyCors(req: IncomingMessage, res: ServerResponse): boolean {
  const origin = req.headers.origin;
  if (origin) {
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Vary', 'Origin');
    res.setHeader('Access-Control-Expose-Headers', 'x-request-id, retry-after');
  }
  if (req.method === 'OPTIONS') {
    res.setHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
    res.setHeader(
      'Access-Control-Allow-Headers',
      `authorization, content-type, trpc-accept, trpc-batch-mode, x-request-id, x-recsys-trace, ${USER_TOKEN_HEADER}`,
    );
    res.setHeader('Access-Control-Max-Age', '86400');
    res.statusCode = 204;
    res.end();
    return true;
  }
  return false;
}
