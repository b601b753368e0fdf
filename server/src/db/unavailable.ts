/**
 * Whether an error means the database could not be reached — refused, cut, timed out, shutting down,
 * closed — rather than that it refused this request. The first is an outage: the request may be
 * repeated as it is and succeed later (503 with `Retry-After`). The second (a constraint violation, a
 * value out of range, a bug in a query) would fail again, and must not be reported as an outage.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  // Drizzle wraps a driver's error as `cause`; a connection to several addresses fails with an
  // AggregateError of one error per address.
  const seen = new Set<unknown>();
  const queue: unknown[] = [error];
  while (queue.length > 0) {
    const current = queue.shift();
    if (!current || typeof current !== 'object' || seen.has(current)) continue;
    seen.add(current);
    if (isOutageCode((current as { code?: unknown }).code)) return true;
    const message = (current as { message?: unknown }).message;
    if (typeof message === 'string' && PGLITE_CLOSED.test(message)) return true;
    queue.push((current as { cause?: unknown }).cause);
    const errors = (current as { errors?: unknown }).errors;
    if (Array.isArray(errors)) queue.push(...errors);
  }
  return false;
}

/**
 * SQLSTATEs of an unreachable server (PostgreSQL's "Appendix A. Error Codes"): class 08, connection
 * exception; 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now (starting up or in
 * recovery), 57P05 idle_session_timeout; 53300 too_many_connections.
 */
const OUTAGE_SQLSTATE = /^(08[0-9A-Z]{3}|57P0[1235]|53300)$/;

/** Socket errors of the connection itself (Node's errno names). */
const OUTAGE_ERRNO = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * The `postgres` driver's own codes for a connection it lost or could not open, and the pool's for a
 * database that stopped answering (`DatabaseNotAnsweringError`).
 */
const DRIVER_CODES = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  'DATABASE_NOT_ANSWERING',
]);

/** PGlite after `close()` (a server shutting down): no code, only this message. */
const PGLITE_CLOSED = /^PGlite is clos(ed|ing)$/;

function isOutageCode(code: unknown): boolean {
  return (
    typeof code === 'string' &&
    (OUTAGE_SQLSTATE.test(code) || OUTAGE_ERRNO.has(code) || DRIVER_CODES.has(code))
  );
}
