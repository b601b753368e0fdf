import type { ZodError } from 'zod';

/**
 * An error the client caused, with a message that says what was wrong and
 * how to fix it. Maps to a 4xx; anything else is a 500 with a request id.
 */
export class UserError extends Error {
  constructor(
    readonly code:
      | 'BAD_REQUEST'
      | 'NOT_FOUND'
      | 'CONFLICT'
      | 'FORBIDDEN'
      | 'UNAUTHORIZED'
      | 'PAYLOAD_TOO_LARGE',
    message: string,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

/** `items.0.price: must be positive; …` — readable in a terminal and a log. */
export function describeZodError(error: ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.map(String).join('.');
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join('; ');
}

/**
 * Seconds a client is told to wait (`Retry-After`) before repeating a request refused while the
 * database is unreachable or the engines are loading.
 */
export const RETRY_AFTER_SECONDS = 5;

/**
 * The server cannot answer now but will (the database is unreachable, the engines are loading): a 503
 * with `Retry-After`, never a 500. Carried as the `cause` of tRPC's SERVICE_UNAVAILABLE error so the
 * response gets the header.
 */
export class ServiceUnavailableError extends Error {
  constructor(
    message: string,
    readonly retryAfterSeconds = RETRY_AFTER_SECONDS,
  ) {
    super(message);
    this.name = 'ServiceUnavailableError';
  }
}

/** What a client reads when the database is unreachable. */
export const DATABASE_UNAVAILABLE_MESSAGE = `The database is unreachable right now; retry in ${RETRY_AFTER_SECONDS} s (Retry-After). Sending events again is safe: they are recognised by their eventId.`;
