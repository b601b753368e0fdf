import { limits } from '@recsys/engine/protocol';
import { z } from 'zod';
import { idSchema, visitorIdSchema } from './common';
import { refinePgJson } from './pgSafe';

const traitValue = z.union([z.string().max(limits.traitStringLength), z.number().finite(), z.boolean()]);

/**
 * Non-PII traits: locale, device, country, loyalty tier, segment, … Values
 * that look like e-mail addresses or phone numbers are refused (or scrubbed
 * when the namespace is configured to).
 */
export const traitsSchema = z
  .record(z.string().min(1).max(limits.metaKeyLength), traitValue)
  .refine((t) => Object.keys(t).length <= limits.traitsKeys, `may have at most ${limits.traitsKeys} traits`)
  .superRefine(refinePgJson);

export const userInputSchema = z
  .object({
    userId: visitorIdSchema,
    traits: traitsSchema.optional(),
  })
  .strict();

export const usersUpsertInputSchema = z.object({
  users: z
    .array(z.unknown())
    .min(1, 'send at least one user')
    .max(limits.usersPerUpsert, `send at most ${limits.usersPerUpsert} users per call`),
});

export const aliasInputSchema = z.object({
  anonymousId: visitorIdSchema,
  userId: visitorIdSchema,
});

/**
 * `users.forget`: a user (`userId`) or one anonymous visitor (`anonymousId`). Plain ids, not
 * {@link visitorIdSchema}: an id stored before e-mail ids were refused can still be erased.
 */
export const forgetInputSchema = z
  .object({ userId: idSchema.optional(), anonymousId: idSchema.optional() })
  .strict()
  .superRefine((input, ctx) => {
    if ((input.userId === undefined) === (input.anonymousId === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['userId'],
        message:
          'pass either userId (the user and every anonymous id linked to them) or anonymousId (one anonymous visitor), not both or neither',
      });
    }
  });

export type Traits = z.output<typeof traitsSchema>;
