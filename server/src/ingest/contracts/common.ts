import { limits, type RowError } from '@recsys/engine/protocol';
import { z } from 'zod';

/** Ids are opaque strings: no surrounding whitespace, no control characters. */
export const idSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(limits.idLength, `must be at most ${limits.idLength} characters`)
  .regex(
    /^[^\s\p{Cc}](?:[^\p{Cc}]*[^\s\p{Cc}])?$/u,
    'must not contain control characters or surrounding spaces',
  );

/** A UTC ISO-8601 timestamp with a zone designator (`Z` or `+01:00`). */
export const isoTimestampSchema = z
  .string()
  .regex(
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/,
    'must be an ISO-8601 timestamp with a time zone, e.g. 2026-03-01T12:00:00Z',
  )
  .refine((s) => !Number.isNaN(Date.parse(s)), 'is not a real date');

export const currencySchema = z
  .string()
  .regex(/^[A-Za-z]{3}$/, 'must be a 3-letter ISO 4217 code such as EUR')
  .transform((s) => s.toUpperCase());

/** Cursor pagination: opaque cursor from the previous page's `nextCursor`. */
export const pageInputSchema = z.object({
  limit: z.number().int().min(1).max(limits.maxPageSize).default(limits.pageSize),
  cursor: z.string().max(1_000).optional(),
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

export function decodeCursor(cursor: string): unknown[] | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    return Array.isArray(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}
