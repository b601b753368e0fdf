/**
 * The tRPC v11 wire format over plain HTTP, as far as clients without
 * `@trpc/client` (the browser SDK, the tracking-only build) and the server's
 * GET fast path need it. No batching on the client side, no transformer:
 * queries are `GET <base>/<path>?input=<json>`, mutations `POST <base>/<path>`
 * with the input as JSON body; the answer is `{ result: { data } }` or
 * `{ error: { message, code, data: { code, httpStatus, … } } }`.
 */

/** URL prefix of every procedure. */
export const TRPC_PATH = '/trpc';

/** A procedure call as `fetch` arguments. */
export interface ProcedureRequest {
  url: string;
  init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string };
}

/**
 * The `fetch` arguments of one procedure call.
 * @example procedureRequest('https://recs.example', 'pk_…', 'query', 'recs.similar', { itemId: 'sku-1' })
 */
export function procedureRequest(
  endpoint: string,
  key: string,
  type: 'query' | 'mutation',
  path: string,
  input: unknown,
): ProcedureRequest {
  const base = `${endpoint.replace(/\/+$/, '')}${TRPC_PATH}/${path}`;
  const headers = { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' };
  if (type === 'query') {
    const url = input === undefined ? base : `${base}?input=${encodeURIComponent(JSON.stringify(input))}`;
    return { url, init: { method: 'GET', headers } };
  }
  const init: ProcedureRequest['init'] = { method: 'POST', headers };
  if (input !== undefined) init.body = JSON.stringify(input);
  return { url: base, init };
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
