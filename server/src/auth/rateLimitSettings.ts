import { eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Database } from '../db/client';
import { namespaces } from '../db/schema';
import { describeZodError, UserError } from '../errors';
import type { KeyKind } from './keys';

/**
 * One rate limit: `points` requests per `duration` seconds, with room for a burst of up to `burst`
 * requests at once. Counted in fixed windows that start at a client's first request: `points` per
 * window, and the `burst − points` extra requests refill once per `burstDuration`.
 * @example { points: 50, duration: 1, burst: 100 } // 50 requests/s, 100 at once
 */
export interface RateLimit {
  /** Requests allowed per `duration`. */
  points: number;
  /**
   * Window of `points`, in whole seconds.
   * @default 1
   */
  duration?: number;
  /**
   * Most requests accepted at once (at least `points`).
   * @default points (no burst)
   */
  burst?: number;
  /**
   * Window in which the `burst − points` extra requests refill, in whole seconds.
   * @default 10
   */
  burstDuration?: number;
}

/** A namespace's own limits per key kind, stored with its settings; absent kinds use the server's. */
export type NamespaceRateLimits = Partial<Record<KeyKind, RateLimit>>;

const seconds = z.number().int().min(1).max(86_400);
export const rateLimitSchema = z
  .object({
    points: z.number().int().min(1).max(10_000_000),
    duration: seconds.optional(),
    burst: z.number().int().min(1).max(10_000_000).optional(),
    burstDuration: seconds.optional(),
  })
  .strict()
  .refine((l) => l.burst === undefined || l.burst >= l.points, {
    message: 'burst must be at least points (it counts the requests accepted at once)',
    path: ['burst'],
  });

/** A limit with every default filled in, or a 400-style error that says which field is wrong. */
export function checkRateLimit(value: unknown, where: string): Required<RateLimit> {
  const parsed = rateLimitSchema.safeParse(value);
  if (!parsed.success) {
    throw new UserError('BAD_REQUEST', `Rate limit ${where} is invalid: ${describeZodError(parsed.error)}.`);
  }
  const { points, duration = 1, burst = points, burstDuration = 10 } = parsed.data;
  return { points, duration, burst, burstDuration };
}

/**
 * Sets or clears (`null`: back to the server's default) a namespace's rate limits per key kind,
 * leaving the other kind and every other setting as they are. Servers apply the change within the
 * key cache's TTL (10 s).
 */
export async function updateNamespaceRateLimits(
  database: Database,
  id: string,
  changes: Partial<Record<KeyKind, RateLimit | null>>,
): Promise<NamespaceRateLimits> {
  const patch: Record<string, RateLimit | null> = {};
  for (const kind of ['publishable', 'secret'] as const) {
    const change = changes[kind];
    if (change === undefined) continue;
    patch[kind] = change === null ? null : checkRateLimit(change, `for ${kind} keys`);
  }
  // One statement, merged inside the database: a concurrent change of the other kind is kept.
  const rows = await database.db
    .update(namespaces)
    .set({
      settings: sql`jsonb_set(${namespaces.settings}, '{rateLimits}', jsonb_strip_nulls(coalesce(${namespaces.settings}->'rateLimits', '{}'::jsonb) || ${JSON.stringify(patch)}::jsonb))`,
    })
    .where(eq(namespaces.id, id))
    .returning({ settings: namespaces.settings });
  if (rows.length === 0) throw new UserError('NOT_FOUND', `Namespace "${id}" does not exist.`);
  return ((rows[0]!.settings as { rateLimits?: NamespaceRateLimits }).rateLimits ??
    {}) as NamespaceRateLimits;
}

const LIMIT_TEXT = /^(\d+)\/(\d*)(s|m|h)$/;
const UNIT_SECONDS = { s: 1, m: 60, h: 3600 } as const;

/**
 * Reads the CLI's `<points>/<duration>` form: `50/s`, `600/m`, `1000/10s`.
 * @example parseRateText('50/s', 100) // { points: 50, duration: 1, burst: 100 }
 */
export function parseRateText(text: string, burst?: number): RateLimit {
  const match = LIMIT_TEXT.exec(text.trim());
  if (!match) {
    throw new UserError(
      'BAD_REQUEST',
      `Rate "${text}" is not understood: write <requests>/<duration>, e.g. 50/s, 600/m or 1000/10s.`,
    );
  }
  const duration = Number(match[2] || 1) * UNIT_SECONDS[match[3] as keyof typeof UNIT_SECONDS];
  return { points: Number(match[1]), duration, ...(burst !== undefined ? { burst } : {}) };
}
