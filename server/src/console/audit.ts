import { and, desc, eq, lt } from 'drizzle-orm';
import type { Principal } from '../auth/keyResolver';
import type { Database } from '../db/client';
import { operatorAudit } from '../db/schema';

/** Inputs larger than this are recorded by size only (a rules import can hold 10,000 rules). */
const MAX_INPUT_CHARS = 16_384;

/** Who made a change, as the rules' and experiments' trails record it. */
export function actorOf(principal: Pick<Principal, 'keyId' | 'operator'>): string {
  return principal.operator ? `operator:${principal.operator.name}` : `key:${principal.keyId}`;
}

/** Records one change made through a console session: who, when, which procedure, what input. */
export async function recordOperatorChange(
  database: Database,
  principal: Principal & { operator: NonNullable<Principal['operator']> },
  procedure: string,
  input: unknown,
): Promise<void> {
  // A password set through the console (`admin.operators.add`) is never kept in the trail.
  const kept =
    input !== null && typeof input === 'object' && 'password' in input
      ? { ...input, password: '(not recorded)' }
      : input;
  const text = kept === undefined ? undefined : JSON.stringify(kept);
  const stored =
    text === undefined ? null : text.length > MAX_INPUT_CHARS ? { omitted: true, chars: text.length } : kept;
  await database.db.insert(operatorAudit).values({
    namespaceId: principal.namespaceId,
    operatorName: principal.operator.name,
    role: principal.operator.role,
    procedure,
    input: stored,
  });
}

export interface AuditEntry {
  id: number;
  operator: string;
  role: string;
  procedure: string;
  input: unknown;
  at: string;
}

/** The namespace's console changes, newest first; `before` (an id) pages back. */
export async function listOperatorChanges(
  database: Database,
  namespaceId: string,
  options: { limit?: number; before?: number; operator?: string } = {},
): Promise<AuditEntry[]> {
  const rows = await database.db
    .select()
    .from(operatorAudit)
    .where(
      and(
        eq(operatorAudit.namespaceId, namespaceId),
        options.before === undefined ? undefined : lt(operatorAudit.id, options.before),
        options.operator === undefined ? undefined : eq(operatorAudit.operatorName, options.operator),
      ),
    )
    .orderBy(desc(operatorAudit.id))
    .limit(options.limit ?? 50);
  return rows.map((r) => ({
    id: r.id,
    operator: r.operatorName,
    role: r.role,
    procedure: r.procedure,
    input: r.input,
    at: r.createdAt.toISOString(),
  }));
}
