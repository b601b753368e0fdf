import { and, asc, eq } from 'drizzle-orm';
import type { Database } from '../db/client';
import { isOperatorRole, OPERATOR_ROLES, type OperatorRole } from '../db/operatorRoles';
import { operators } from '../db/schema';
import { UserError } from '../errors';
import { hashPassword } from './passwords';

export { isOperatorRole, OPERATOR_ROLES, type OperatorRole };

/** An operator as listed (never the password hash). */
export interface OperatorInfo {
  namespaceId: string;
  name: string;
  role: OperatorRole;
  createdAt: string;
}

const NAME_RE = /^[A-Za-z0-9._@+-]{1,128}$/;
/** Shorter passwords are refused: the console is reachable wherever the API is. */
export const MIN_PASSWORD_LENGTH = 12;

/**
 * Adds an operator (or, with `replace`, changes an existing one's role and password, which ends
 * their sessions so the new password is needed at once).
 */
export async function addOperator(
  database: Database,
  namespaceId: string,
  input: { name: string; role: OperatorRole; password: string; replace?: boolean },
): Promise<OperatorInfo> {
  if (!NAME_RE.test(input.name)) {
    throw new UserError(
      'BAD_REQUEST',
      `Operator name "${input.name}" is not allowed: use 1–128 letters, digits, ".", "_", "@", "+" or "-" (an e-mail address works).`,
    );
  }
  if (!isOperatorRole(input.role)) {
    throw new UserError('BAD_REQUEST', `Role "${input.role}" is not one of ${OPERATOR_ROLES.join(', ')}.`);
  }
  if (input.password.length < MIN_PASSWORD_LENGTH) {
    throw new UserError(
      'BAD_REQUEST',
      `The password has ${input.password.length} characters; use at least ${MIN_PASSWORD_LENGTH} (a passphrase of a few words is easy to type).`,
    );
  }
  const passwordHash = await hashPassword(input.password);
  const { db } = database;
  return db.transaction(async (tx) => {
    const existing = await tx
      .select({ name: operators.name })
      .from(operators)
      .where(and(eq(operators.namespaceId, namespaceId), eq(operators.name, input.name)));
    if (existing.length > 0 && !input.replace) {
      throw new UserError(
        'CONFLICT',
        `Operator "${input.name}" already exists in "${namespaceId}"; pass --replace to change their role and password.`,
      );
    }
    if (existing.length > 0) {
      // Deleting the row ends every session of the operator (cascade), then it is written anew.
      await tx
        .delete(operators)
        .where(and(eq(operators.namespaceId, namespaceId), eq(operators.name, input.name)));
    }
    const [row] = await tx
      .insert(operators)
      .values({ namespaceId, name: input.name, role: input.role, passwordHash })
      .returning();
    return toInfo(row!);
  });
}

/** Removes an operator; their sessions end with them. False when there was none. */
export async function removeOperator(
  database: Database,
  namespaceId: string,
  name: string,
): Promise<boolean> {
  const removed = await database.db
    .delete(operators)
    .where(and(eq(operators.namespaceId, namespaceId), eq(operators.name, name)))
    .returning({ name: operators.name });
  return removed.length > 0;
}

/** The namespace's operators, by name. */
export async function listOperators(database: Database, namespaceId: string): Promise<OperatorInfo[]> {
  const rows = await database.db
    .select()
    .from(operators)
    .where(eq(operators.namespaceId, namespaceId))
    .orderBy(asc(operators.name));
  return rows.map(toInfo);
}

/** One operator with the stored hash, for sign-in. */
export async function findOperator(database: Database, namespaceId: string, name: string) {
  const [row] = await database.db
    .select()
    .from(operators)
    .where(and(eq(operators.namespaceId, namespaceId), eq(operators.name, name)));
  return row;
}

function toInfo(row: typeof operators.$inferSelect): OperatorInfo {
  return {
    namespaceId: row.namespaceId,
    name: row.name,
    role: row.role,
    createdAt: row.createdAt.toISOString(),
  };
}
