import { once } from 'node:events';
import { createWriteStream, renameSync, rmSync, statSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { sql } from 'drizzle-orm';
import type { Database } from '../client';
import {
  assertSchemaKnown,
  BACKUP_FORMAT_VERSION,
  BACKUP_MAGIC,
  type BackupHeader,
  backupTables,
  currentSchemaVersion,
  quote,
  rowsOf,
} from './backupFormat';

export interface BackupOptions {
  /**
   * Rows fetched from the database at a time; memory stays bounded by one batch, however large
   * the tables are.
   * @default 2000
   */
  batchRows?: number;
}

export interface BackupSummary {
  file: string;
  bytes: number;
  rows: Record<string, number>;
}

/**
 * Writes every table of `database` to `file` (see backupFormat.ts for the format). The rows are
 * read in one read-only REPEATABLE READ transaction, so the file is one consistent snapshot even
 * while a server keeps writing (PostgreSQL), and streamed through a cursor in batches. The file
 * appears under its name only once it is complete: until then it is written beside it as
 * `<file>.partial`, which a failure removes.
 */
export async function writeBackup(
  database: Database,
  file: string,
  options: BackupOptions = {},
): Promise<BackupSummary> {
  const batchRows = options.batchRows ?? 2000;
  await assertSchemaKnown(database.db);
  const tables = backupTables();
  const partial = `${file}.partial`;
  const gzip = createGzip();
  const written = pipeline(gzip, createWriteStream(partial));
  // A failed write (disk full) must surface here, not as an unhandled rejection.
  written.catch(() => {});
  const write = async (line: string) => {
    if (!gzip.write(`${line}\n`)) await once(gzip, 'drain');
  };
  const rows: Record<string, number> = {};
  try {
    const header: BackupHeader = {
      $: BACKUP_MAGIC,
      formatVersion: BACKUP_FORMAT_VERSION,
      createdAt: new Date().toISOString(),
      source: database.kind,
      schema: currentSchemaVersion(),
      tables: tables.map((t) => t.name),
    };
    await write(JSON.stringify(header));
    await database.db.transaction(
      async (tx) => {
        for (const table of tables) {
          await write(JSON.stringify({ $: 'table', name: table.name, columns: table.columns }));
          // Names from the schema, never from input: written into the statement, since DECLARE takes no parameters.
          const fields = table.columns.map((c) => `'${c}', ${quote(c)}`).join(', ');
          const order = table.primaryKey.map(quote).join(', ');
          await tx.execute(
            sql.raw(
              `DECLARE recsys_backup NO SCROLL CURSOR FOR SELECT json_build_object(${fields})::text AS row FROM ${quote(table.name)} ORDER BY ${order}`,
            ),
          );
          let count = 0;
          for (;;) {
            const batch = rowsOf<{ row: string }>(
              await tx.execute(sql.raw(`FETCH FORWARD ${batchRows} FROM recsys_backup`)),
            );
            if (batch.length === 0) break;
            for (const { row } of batch) await write(row);
            count += batch.length;
          }
          await tx.execute(sql.raw('CLOSE recsys_backup'));
          rows[table.name] = count;
          await write(JSON.stringify({ $: 'end', table: table.name, rows: count }));
        }
      },
      { isolationLevel: 'repeatable read', accessMode: 'read only' },
    );
    await write(JSON.stringify({ $: 'end-of-backup', rows }));
    gzip.end();
    await written;
    renameSync(partial, file);
  } catch (error) {
    gzip.destroy();
    await written.catch(() => {});
    rmSync(partial, { force: true });
    throw error;
  }
  return { file, bytes: statSync(file).size, rows };
}
