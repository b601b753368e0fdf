import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { mayNameUser, unprovenUserMessage } from '../auth/userProof';
import {
  aliasInputSchema,
  forgetInputSchema,
  idSchema,
  pageInputSchema,
  pgText,
  usersUpsertInputSchema,
} from '../ingest/contracts';
import { forgetAnonymous, forgetUser } from '../ingest/forget';
import { aliasUser, getUser, listUsers, upsertUsers } from '../ingest/users';
import { keyedProcedure, router, secretProcedure, userIdProof } from './init';

export const usersRouter = router({
  upsert: secretProcedure
    .input(usersUpsertInputSchema)
    .mutation(({ ctx, input }) =>
      upsertUsers(ctx.services.database, ctx.principal.namespaceId, ctx.principal.settings, input.users),
    ),
  /**
   * Links an anonymous id to a user on login. Allowed with publishable keys
   * because the browser SDK's `identify()` calls it — with the user's token: a link lets the
   * anonymous id's bearer read the user's recommendations, so nobody may link a visitor to a user
   * they cannot prove they are.
   */
  alias: keyedProcedure.input(aliasInputSchema).mutation(async ({ ctx, input }) => {
    const proof = await userIdProof(ctx);
    if (!mayNameUser(proof, input.userId)) {
      throw new TRPCError({ code: 'UNAUTHORIZED', message: unprovenUserMessage(proof) });
    }
    return aliasUser(ctx.services.database, ctx.principal.namespaceId, input.anonymousId, input.userId);
  }),
  /**
   * GDPR erasure of a user (`{ userId }`: their traits, aliases, events and served lists, and those
   * of every anonymous id linked to them) or of one anonymous visitor (`{ anonymousId }`).
   */
  forget: secretProcedure.input(forgetInputSchema).mutation(async ({ ctx, input }) => {
    const { database, engines, recLog } = ctx.services;
    // Lists this process served and has not written yet would land after the erasure: write them
    // first, so they are erased with the rest.
    await recLog?.flush();
    const result = input.userId
      ? await forgetUser(database, ctx.principal.namespaceId, input.userId)
      : await forgetAnonymous(database, ctx.principal.namespaceId, input.anonymousId!);
    // This process rebuilds at once; the others on their next poll.
    engines?.nudge();
    return result;
  }),
  get: secretProcedure
    .input(z.object({ userId: idSchema }))
    .query(({ ctx, input }) => getUser(ctx.services.database, ctx.principal.namespaceId, input.userId)),
  list: secretProcedure
    .input(
      pageInputSchema.extend({
        trait: z.object({ key: pgText().min(1).max(64), value: pgText().max(256) }).optional(),
      }),
    )
    .query(({ ctx, input }) => listUsers(ctx.services.database, ctx.principal.namespaceId, input)),
});
