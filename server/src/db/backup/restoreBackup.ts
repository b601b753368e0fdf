import { createReadStream } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import { sql } from 'drizzle-orm';
import { UserError } from '../../errors';
import type { Database, Db } from '../client';
import { backupTables, checkRestorable, quote, rowsOf, type TableSpec } from './backupFormat';

export interface RestoreOptions {
  /**
   * Replace whatever the database holds. Without it, a restore into a database with any row is
   * refused, so a backup is never mixed into live data by mistake.
   * @default false
   */
  force?: boolean;
  /**
   * Rows sent to the database per statement (also capped at 8 MB of JSON).
   * @default 1000
   */
  batchRows?: number;
}

export interface RestoreSummary {
  rows: Record<string, number>;
  /** Tables that held rows and were emptied first (with `force`). */
  replaced: string[];
}

const MAX_BATCH_CHARS = 8 * 1024 * 1024;

/**
 * Restores a backup written by {@link writeBackup} into `database` (migrated to this version's
 * schema), from either storage into either storage. Everything happens in one transaction: a
 * file that is truncated, corrupt or refused by the database leaves the database as it was. The
 * file is streamed, so memory stays bounded by one batch whatever its size. Identity sequences
 * are moved past the restored ids.
 */
export async function restoreBackup(
  database: Database,
  file: string,
  options: RestoreOptions = {},
): Promise<RestoreSummary> {
  const batchRows = options.batchRows ?? 1000;
  const lines = readLines(file);
  try {
    const first = await lines.next();
    const header = checkRestorable(first.done ? undefined : parseControl(first.value), file);
    const tables = new Map(backupTables().map((t) => [t.name, t]));
    for (const name of header.tables) {
      if (!tables.has(name)) {
        throw new UserError(
          'BAD_REQUEST',
          `${file} has a table "${name}" that this Recsys does not have; restore it with the version that made it.`,
        );
      }
    }
    return await database.db.transaction(async (tx) => {
      const replaced = await emptyTarget(tx, [...tables.values()], options.force === true);
      const rows: Record<string, number> = {};
      let lineNo = 1;
      let section:
        | {
            table: TableSpec;
            columns: string[];
            count: number;
            batch: string[];
            batchStart: number;
            chars: number;
          }
        | undefined;
      const flush = async () => {
        if (!section || section.batch.length === 0) return;
        const { table, columns, batch } = section;
        const list = columns.map(quote).join(', ');
        try {
          await tx.execute(
            sql`INSERT INTO ${sql.raw(quote(table.name))} (${sql.raw(list)}) OVERRIDING SYSTEM VALUE SELECT ${sql.raw(list)} FROM json_populate_recordset(NULL::${sql.raw(quote(table.name))}, ${`[${batch.join(',')}]`}::text::json)`,
          );
        } catch (error) {
          // drizzle wraps the driver's error in one that repeats the whole statement and its rows.
          const reason = ((error as Error).cause as Error | undefined)?.message ?? (error as Error).message;
          throw new UserError(
            'BAD_REQUEST',
            `${file}: the database refused a row of "${table.name}" in lines ${section.batchStart}–${section.batchStart + batch.length - 1} (${reason}). Nothing was restored.`,
          );
        }
        section.count += batch.length;
        section.batch = [];
        section.chars = 0;
      };
      let finished = false;
      for await (const line of lines) {
        lineNo++;
        if (finished) throw corrupt(file, lineNo, 'text after the end of the backup');
        if (!line.startsWith('{"$":')) {
          if (!section) throw corrupt(file, lineNo, 'a row outside of a table section');
          if (section.batch.length === 0) section.batchStart = lineNo;
          section.batch.push(line);
          section.chars += line.length;
          if (section.batch.length >= batchRows || section.chars >= MAX_BATCH_CHARS) await flush();
          continue;
        }
        const control = parseControl(line) as {
          $: string;
          name?: string;
          table?: string;
          columns?: unknown;
          rows?: unknown;
        };
        if (control.$ === 'table') {
          if (section) throw corrupt(file, lineNo, `table "${section.table.name}" has no end line`);
          const table = tables.get(String(control.name));
          if (!table || !header.tables.includes(table.name)) {
            throw corrupt(file, lineNo, `unknown table "${String(control.name)}"`);
          }
          const columns = Array.isArray(control.columns) ? control.columns.map(String) : [];
          const unknown = columns.filter((c) => !table.columns.includes(c));
          if (columns.length === 0 || unknown.length > 0) {
            throw corrupt(
              file,
              lineNo,
              `columns of "${table.name}" that this schema does not have: ${unknown.join(', ')}`,
            );
          }
          section = { table, columns, count: 0, batch: [], batchStart: 0, chars: 0 };
        } else if (control.$ === 'end') {
          if (!section || control.table !== section.table.name)
            throw corrupt(file, lineNo, 'an end line without its table');
          await flush();
          if (control.rows !== section.count) {
            throw corrupt(
              file,
              lineNo,
              `"${section.table.name}" should have ${String(control.rows)} rows, it has ${section.count}`,
            );
          }
          rows[section.table.name] = section.count;
          section = undefined;
        } else if (control.$ === 'end-of-backup') {
          if (section) throw corrupt(file, lineNo, `table "${section.table.name}" has no end line`);
          const missing = header.tables.filter((t) => rows[t] === undefined);
          if (missing.length > 0) throw corrupt(file, lineNo, `tables missing: ${missing.join(', ')}`);
          finished = true;
        } else {
          throw corrupt(file, lineNo, `unknown line ${line.slice(0, 80)}`);
        }
      }
      if (!finished) {
        throw new UserError(
          'BAD_REQUEST',
          `${file} is truncated: it ends at line ${lineNo} without the end-of-backup line (was the backup interrupted?). Nothing was restored.`,
        );
      }
      await resetSequences(tx, [...tables.values()]);
      return { rows, replaced };
    });
  } catch (error) {
    throw asFileError(error, file);
  } finally {
    await lines.return(undefined);
  }
}

/** Refuses a database with rows unless `force`; with `force`, empties every table (in the restore's transaction). */
async function emptyTarget(tx: Db, tables: TableSpec[], force: boolean): Promise<string[]> {
  const filled: string[] = [];
  for (const table of tables) {
    const [row] = rowsOf<{ filled: boolean }>(
      await tx.execute(sql.raw(`SELECT EXISTS (SELECT 1 FROM ${quote(table.name)}) AS filled`)),
    );
    if (row?.filled) filled.push(table.name);
  }
  if (filled.length === 0) return [];
  if (!force) {
    throw new UserError(
      'CONFLICT',
      `The target database is not empty (rows in ${filled.join(', ')}). A restore replaces everything: restore into a new, empty database, or pass --force to delete what this one holds and restore the backup in its place.`,
    );
  }
  await tx.execute(sql.raw(`TRUNCATE ${tables.map((t) => quote(t.name)).join(', ')} RESTART IDENTITY`));
  return filled;
}

/** Moves each identity/serial sequence past the largest restored value, so new rows get new ids. */
async function resetSequences(tx: Db, tables: TableSpec[]) {
  for (const table of tables) {
    for (const column of table.generated) {
      await tx.execute(
        sql.raw(
          `SELECT setval(pg_get_serial_sequence('${quote(table.name)}', '${column}'), m) FROM (SELECT max(${quote(column)}) AS m FROM ${quote(table.name)}) s WHERE m IS NOT NULL`,
        ),
      );
    }
  }
}

function parseControl(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

function corrupt(file: string, line: number, what: string) {
  return new UserError('BAD_REQUEST', `${file} is corrupt at line ${line}: ${what}. Nothing was restored.`);
}

/** Read and decompression failures, said in terms of the file. */
function asFileError(error: unknown, file: string): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new UserError('NOT_FOUND', `${file} does not exist.`);
  if (typeof code === 'string' && code.startsWith('Z_')) {
    return new UserError(
      'BAD_REQUEST',
      `${file} is truncated or corrupt (${(error as Error).message}); it is not a complete gzip file. Nothing was restored.`,
    );
  }
  return error;
}

/** The file's lines, decompressed as they are read. */
async function* readLines(file: string): AsyncGenerator<string, void, undefined> {
  const source = createReadStream(file);
  const gunzip = createGunzip();
  source.on('error', (error) => gunzip.destroy(error));
  source.pipe(gunzip);
  const decoder = new StringDecoder('utf8');
  let rest = '';
  try {
    for await (const chunk of gunzip) {
      const parts = (rest + decoder.write(chunk as Buffer)).split('\n');
      rest = parts.pop()!;
      yield* parts;
    }
    rest += decoder.end();
    if (rest) yield rest;
  } finally {
    source.destroy();
    gunzip.destroy();
  }
}
