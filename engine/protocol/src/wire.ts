/**
 * The tRPC v11 wire format over plain HTTP, as far as clients without
 * `@trpc/client` (the browser SDK, the tracking-only build) and the server's
 * GET fast path need it. No batching on the client side, no transformer:
 * queries are `GET <base>/<path>?input=<json>`, mutations `POST <base>/<path>`
 * with the input as JSON body; the answer is `{ result: { data } }` or
 * `{ error: { message, code, data: { code, httpStatus, … } } }`.
 */

import { USER_TOKEN_HEADER } from './userToken';

/** URL prefix of every procedure. */
export const TRPC_PATH = '/trpc';

/** A procedure call as `fetch` arguments. */
export interface ProcedureRequest {
  url: string;
  init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string };
}

const procedureUrl = (endpoint: string, path: string) =>
  `${endpoint.replace(/\/+$/, '')}${TRPC_PATH}/${path}`;

/** The headers of a call: the key, JSON, and the signed-in user's token when there is one. */
function callHeaders(key: string, userToken: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {
    Authorization: `Bearer ${key}`,
    'Content-Type': 'application/json',
  };
  if (userToken) headers[USER_TOKEN_HEADER] = userToken;
  return headers;
}

/**
 * The `fetch` arguments of a query: `GET <endpoint>/trpc/<path>?input=<json>`. `userToken` (see
 * `USER_TOKEN_HEADER`) proves the input's `userId` on a publishable key.
 * @example queryRequest('https://recs.example', 'pk_…', 'recs.similar', { itemId: 'sku-1' })
 */
export function queryRequest(
  endpoint: string,
  key: string,
  path: string,
  input: unknown,
  userToken?: string,
): ProcedureRequest {
  const url = procedureUrl(endpoint, path);
  return {
    url: input === undefined ? url : `${url}?input=${encodeURIComponent(JSON.stringify(input))}`,
    init: { method: 'GET', headers: callHeaders(key, userToken) },
  };
}

/**
 * The `fetch` arguments of a mutation: `POST <endpoint>/trpc/<path>` with the input as JSON body.
 * A separate function so a bundle that only mutates (the tracking-only build) leaves queries out.
 * @example mutationRequest('https://recs.example', 'pk_…', 'users.alias', { anonymousId, userId })
 */
export function mutationRequest(
  endpoint: string,
  key: string,
  path: string,
  input: unknown,
  userToken?: string,
): ProcedureRequest {
  // the URL is built inline (not with procedureUrl) so a mutation-only bundle stays as small as it can
  const init: ProcedureRequest['init'] = { method: 'POST', headers: callHeaders(key, userToken) };
  if (input !== undefined) init.body = JSON.stringify(input);
  return { url: `${endpoint.replace(/\/+$/, '')}${TRPC_PATH}/${path}`, init };
}

/**
 * The `fetch` arguments of one procedure call of either type.
 * @example procedureRequest('https://recs.example', 'pk_…', 'query', 'recs.similar', { itemId: 'sku-1' })
 */
export function procedureRequest(
  endpoint: string,
  key: string,
  type: 'query' | 'mutation',
  path: string,
  input: unknown,
  userToken?: string,
): ProcedureRequest {
  return (type === 'query' ? queryRequest : mutationRequest)(endpoint, key, path, input, userToken);
}

/** A procedure's answer read from its JSON body. */
export type ProcedureOutcome =
  | { ok: true; data: unknown }
  | { ok: false; message: string | undefined; code: string | undefined };

/** Reads a tRPC response body (already parsed JSON, or null when it was not JSON). */
export function readProcedureBody(body: unknown): ProcedureOutcome {
  const b = body as {
    result?: { data?: unknown };
    error?: { message?: unknown; data?: { code?: unknown } };
  } | null;
  if (b && typeof b === 'object' && b.result && typeof b.result === 'object') {
    return { ok: true, data: b.result.data };
  }
  const message = typeof b?.error?.message === 'string' ? b.error.message : undefined;
  const code = typeof b?.error?.data?.code === 'string' ? b.error.data.code : undefined;
  return { ok: false, message, code };
}
