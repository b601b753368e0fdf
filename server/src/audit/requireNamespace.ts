import { getNamespace } from '../auth/namespaces';
import type { Database } from '../db/client';
import { UserError } from '../errors';

/** Refuses a namespace that does not exist, saying how to create it, instead of reporting on nothing. */
export async function requireNamespace(database: Database, namespaceId: string): Promise<void> {
  if (!(await getNamespace(database, namespaceId))) {
    throw new UserError(
      'NOT_FOUND',
      `Namespace "${namespaceId}" does not exist; list them with: recsys namespace list`,
    );
  }
}
