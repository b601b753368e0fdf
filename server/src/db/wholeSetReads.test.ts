import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getTestDatabaseTargets, type TestDatabaseTarget } from '../testing';
import { rowsOf } from './backup/backupFormat';
import type { Database } from './client';
import { readWholeSets } from './wholeSetReads';

/** A join only a nested loop can do (an inequality), on a few rows: milliseconds of work. */
const EXPLAIN_SMALL_RANGE_JOIN = sql`EXPLAIN (ANALYZE, FORMAT JSON)
  SELECT count(*) FROM generate_series(1, 50) a(x) JOIN generate_series(1, 50) b(y) ON a.x < b.y`;

function planOf(rows: unknown[]): Record<string, unknown> {
  const cell = Object.values(rows[0] as Record<string, unknown>)[0];
  return (typeof cell === 'string' ? JSON.parse(cell) : cell)[0];
}

describe.each(getTestDatabaseTargets().map((t) => [t.name, t] as [string, TestDatabaseTarget]))(
  'reports over whole sets on %s',
  (_name, target) => {
    let database: Database & { drop(): Promise<void> };
    beforeAll(async () => {
      database = await target.open();
    });
    afterAll(() => database?.drop());

    it('run with nested loops and JIT off, and leave the connection as it was', async () => {
      const settings = await readWholeSets(database, async (tx) =>
        rowsOf<{ nestloop: string; jit: string }>(
          await tx.execute(
            sql`SELECT current_setting('enable_nestloop') AS nestloop, current_setting('jit') AS jit`,
          ),
        ),
      );
      expect(settings).toEqual([{ nestloop: 'off', jit: 'off' }]);
      const after = await database.query<{ nestloop: string }>(
        "SELECT current_setting('enable_nestloop') AS nestloop",
      );
      expect(after).toEqual([{ nestloop: 'on' }]);
    });

    it('never JIT-compiles a query that needs a nested loop, where nested loops off alone would', async () => {
      const jitAvailable = (
        await database.query<{ on: boolean }>('SELECT pg_jit_available() AS on').catch(() => [{ on: false }])
      )[0]!.on;
      // Nested loops off alone: the disable cost (10^10) lifts the plan over every JIT threshold.
      const nestloopOffOnly = await database.db.transaction(async (tx) => {
        await tx.execute(sql`SET LOCAL enable_nestloop = off`);
        return planOf(rowsOf(await tx.execute(EXPLAIN_SMALL_RANGE_JOIN)));
      });
      // Where the server can compile (PostgreSQL with LLVM), that is what this guards against.
      expect('JIT' in nestloopOffOnly).toBe(jitAvailable);
      const plan = await readWholeSets(database, async (tx) =>
        planOf(rowsOf(await tx.execute(EXPLAIN_SMALL_RANGE_JOIN))),
      );
      expect(plan).not.toHaveProperty('JIT');
      expect(plan).toHaveProperty('Plan');
    });
  },
);
