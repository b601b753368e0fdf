import { EVENT_TYPES, limits } from '@recsys/engine/protocol';
import { z } from 'zod';
import { currencySchema, idSchema, visitorIdSchema } from './common';
import { isoTimestampSchema, refinePgJson } from './pgSafe';

export { EVENT_TYPES as eventTypes, type EventType } from '@recsys/engine/protocol';

const metaScalar = z.union([
  z.string().max(limits.metaStringLength),
  z.number().finite(),
  z.boolean(),
  z.null(),
]);

/**
 * Event meta: the documented keys are typed; other keys are allowed within
 * the limits, as scalars only, so meta stays cheap to store and query. Keys
 * and strings are checked against what `jsonb` stores ({@link refinePgJson}).
 */
export const eventMetaSchema = z
  .object({
    surface: z.string().max(64).optional(),
    widget: z.string().max(64).optional(),
    recommended: z.boolean().optional(),
    requestId: z.string().max(128).optional(),
    rank: z.number().int().min(1).max(1_000).optional(),
    referrer: z.string().max(2_048).optional(),
    url: z.string().max(2_048).optional(),
    experiment: z.string().max(128).optional(),
    variant: z.string().max(128).optional(),
    orderId: idSchema.optional(),
    unitPrice: z.number().finite().nonnegative().optional(),
    currency: currencySchema.optional(),
    name: z.string().max(128).optional(),
  })
  .catchall(metaScalar)
  .superRefine((meta, ctx) => {
    refinePgJson(meta, ctx);
    const keys = Object.keys(meta);
    if (keys.length > limits.metaKeys) {
      ctx.addIssue({
        code: 'custom',
        message: `may have at most ${limits.metaKeys} keys (has ${keys.length})`,
      });
    }
    for (const key of keys) {
      if (key.length > limits.metaKeyLength) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `key is longer than ${limits.metaKeyLength} characters`,
        });
      }
    }
  });

export const eventInputSchema = z
  .object({
    eventId: idSchema,
    type: z.enum(EVENT_TYPES, { error: `must be one of ${EVENT_TYPES.join(', ')}` }),
    itemId: idSchema.optional(),
    userId: visitorIdSchema.optional(),
    anonymousId: visitorIdSchema.optional(),
    sessionId: idSchema.optional(),
    ts: isoTimestampSchema,
    value: z.number().finite().optional(),
    meta: eventMetaSchema.optional(),
  })
  .strict()
  .superRefine((e, ctx) => {
    if (!e.userId && !e.anonymousId) {
      ctx.addIssue({
        code: 'custom',
        path: ['userId'],
        message: 'an event needs a userId or an anonymousId',
      });
    }
    if (e.type !== 'custom' && !e.itemId) {
      ctx.addIssue({
        code: 'custom',
        path: ['itemId'],
        message: `is required for "${e.type}" events (only order-level custom events may omit it)`,
      });
    }
    if (e.type === 'rate' && e.value === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['value'],
        message: 'is required for "rate" events (the rating)',
      });
    }
  });

export type EventInput = z.input<typeof eventInputSchema>;
export type ParsedEvent = z.output<typeof eventInputSchema>;

export const eventsBatchInputSchema = z.object({
  events: z
    .array(z.unknown())
    .min(1, 'send at least one event')
    .max(limits.eventsPerBatch, `send at most ${limits.eventsPerBatch} events per batch; split larger ones`),
});

export type { EventsBatchResult } from '@recsys/engine/protocol';
