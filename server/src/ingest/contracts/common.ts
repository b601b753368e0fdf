import { limits, type RowError } from '@recsys/engine/protocol';
import { whereAlpha2 } from 'iso-3166-1';
import { z } from 'zod';
import { UserError } from '../../errors';
import { pgText } from './pgSafe';
import { containsEmail } from './pii';

/**
 * Ids are opaque strings: no surrounding whitespace, no control characters,
 * well-formed Unicode (a lone surrogate would be stored as U+FFFD, so two
 * different ids would become one).
 */
export const idSchema = pgText()
  .min(1, 'must not be empty')
  .max(limits.idLength, `must be at most ${limits.idLength} characters`)
  .regex(
    /^[^\s\p{Cc}](?:[^\p{Cc}]*[^\s\p{Cc}])?$/u,
    'must not contain control characters or surrounding spaces',
  );

/**
 * A `userId` or `anonymousId`: an id that must not be an e-mail address. Personal data in meta
 * or traits can be scrubbed, but an id is the key everything else hangs on, so under either PII
 * policy such an id is refused.
 */
export const visitorIdSchema = idSchema.refine(
  (id) => !containsEmail(id),
  'looks like an e-mail address; ids are stored as sent and cannot be scrubbed, so send an opaque id (your database key, or a random id) instead',
);

export const currencySchema = z
  .string()
  .regex(/^[A-Za-z]{3}$/, 'must be a 3-letter ISO 4217 code such as EUR')
  .transform((s) => s.toUpperCase());

/** Whether `code` is an assigned ISO 3166-1 alpha-2 country code (upper case). */
export function isCountryCode(code: string): boolean {
  return /^[A-Z]{2}$/.test(code) && whereAlpha2(code) !== undefined;
}

const COUNTRY_MESSAGE = 'must be an ISO 3166-1 alpha-2 country code such as DE or US';

/**
 * The shopper's country on a request, or a market key of an item: an assigned ISO 3166-1
 * alpha-2 code, in either case (stored and compared upper case).
 */
export const countrySchema = z
  .string()
  .regex(/^[A-Za-z]{2}$/, COUNTRY_MESSAGE)
  .transform((s) => s.toUpperCase())
  .refine(isCountryCode, COUNTRY_MESSAGE);

/** Cursor pagination: opaque cursor from the previous page's `nextCursor`. */
export const pageInputSchema = z.object({
  limit: z.number().int().min(1).max(limits.maxPageSize).default(limits.pageSize),
  cursor: pgText().max(1_000).optional(),
});

export type { RowError } from '@recsys/engine/protocol';

/** Turns zod issues into `RowError`s for one row. */
export function toRowErrors(index: number, error: z.ZodError): RowError[] {
  return error.issues.map((issue) => ({
    index,
    path: issue.path.map(String).join('.'),
    message: issue.message,
  }));
}

export function encodeCursor(parts: unknown[]): string {
  return Buffer.from(JSON.stringify(parts)).toString('base64url');
}

/** The position of a list ordered by one id: the last id of the page. */
export const idCursor = z.tuple([pgText()]);

/**
 * Reads a cursor made by {@link encodeCursor} into the position `shape`
 * describes. A cursor that does not decode to one (edited, truncated, from
 * another list) is the caller's mistake: a 400, never a query with garbage.
 *
 * @example readCursor(input.cursor, z.tuple([pgText()])) // ['sku-42']
 */
export function readCursor<T>(cursor: string, shape: z.ZodType<T>): T {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const position = shape.safeParse(parsed);
  if (!position.success) {
    throw new UserError(
      'BAD_REQUEST',
      "cursor is invalid: pass the previous page's nextCursor unchanged, or leave cursor out for the first page.",
    );
  }
  return position.data;
}
