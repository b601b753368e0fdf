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
