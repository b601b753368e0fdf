import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { addOperator, listOperators, OPERATOR_ROLES, removeOperator } from '../console/operators';
import { UserError } from '../errors';
import { pgText } from '../ingest/contracts/pgSafe';
import { type Context, router, secretProcedure } from './init';

const name = pgText()
  .min(1, 'give the operator name')
  .max(128, 'operator names are at most 128 characters; see admin.operators.list');

/** An admin's own row is changed on the server (`recsys operators`), so no session locks itself out. */
function refuseSelf(ctx: Context & { principal: { operator?: { name: string } } }, target: string) {
  if (ctx.principal.operator?.name === target) {
    throw new UserError(
      'FORBIDDEN',
      `"${target}" is the operator signed in to this session; another admin, or \`recsys operators\` on the server, changes it, so you are never locked out.`,
    );
  }
}

/**
 * Who may sign in to the admin console (`/admin/`), for the namespace's admins (and secret keys).
 * Passwords are generated here and returned once; only their scrypt hashes are stored.
 */
export const operatorsRouter = router({
  /** The operators, by name, with their roles (never password hashes). */
  list: secretProcedure
    .input(z.object({}).strict().optional())
    .query(({ ctx }) => listOperators(ctx.services.database, ctx.principal.namespaceId)),
  /**
   * Adds an operator with the given password or a generated one, returned once; `replace` changes
   * an existing one's role and password and ends their sessions.
   */
  add: secretProcedure
    .input(
      z
        .object({
          name,
          role: z.enum(OPERATOR_ROLES, { error: `role must be one of ${OPERATOR_ROLES.join(', ')}` }),
          replace: z.boolean().default(false),
          password: pgText()
            .max(1024, 'passwords are at most 1024 characters')
            .optional()
            .describe('the password to set (at least 12 characters); generated when left out'),
        })
        .strict(),
    )
    .mutation(async ({ ctx, input }) => {
      refuseSelf(ctx, input.name);
      const password = input.password ?? randomBytes(18).toString('base64url');
      const operator = await addOperator(ctx.services.database, ctx.principal.namespaceId, {
        ...input,
        password,
      });
      // A password the caller chose is not sent back.
      return { operator, password: input.password === undefined ? password : null };
    }),
  /** Removes an operator; their sessions end at once. */
  remove: secretProcedure.input(z.object({ name }).strict()).mutation(async ({ ctx, input }) => {
    refuseSelf(ctx, input.name);
    if (!(await removeOperator(ctx.services.database, ctx.principal.namespaceId, input.name))) {
      throw new UserError(
        'NOT_FOUND',
        `No operator "${input.name}" in "${ctx.principal.namespaceId}"; see admin.operators.list.`,
      );
    }
    return { name: input.name, removed: true as const };
  }),
});
