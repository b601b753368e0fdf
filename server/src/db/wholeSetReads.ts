import { sql } from 'drizzle-orm';
import type { Database, Db } from './client';

/** The transaction handle drizzle passes to a transaction's callback. */
type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

/**
 * Runs reports that join whole sets to whole sets (experiment results and plans, bundle
 * acceptance) in one transaction with nested loops off and JIT off.
 *
 * Nested loops: the planner's estimates for tables not yet analysed pick them, and they cost
 * rows × rows here (seconds for a few thousand visitors); hash joins suit any size.
 *
 * JIT: turning a join method off adds PostgreSQL's "disable cost" (10^10) to any plan that still
 * needs one, which puts every such query far above `jit_above_cost`: PostgreSQL then compiled
 * about 150 functions with LLVM, 2–3 s of CPU on each call, for a query whose execution took
 * milliseconds. These reports run on demand and by the guardrail job, never long enough for
 * compiled code to pay back.
 */
export function readWholeSets<T>(database: Database, read: (tx: Tx) => Promise<T>): Promise<T> {
  return database.db.transaction(async (tx) => {
    await tx.execute(sql`SET LOCAL enable_nestloop = off`);
    await tx.execute(sql`SET LOCAL jit = off`);
    return read(tx);
  });
}
