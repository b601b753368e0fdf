import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { is, sql } from 'drizzle-orm';
import { getTableConfig, PgTable } from 'drizzle-orm/pg-core';
import { UserError } from '../../errors';
import { type Db, migrationsFolder } from '../client';
import * as schema from '../schema';

/**
 * A Recsys backup is gzip-compressed JSON lines, the same whichever storage wrote it:
 *
 *     {"$":"recsys-backup","formatVersion":1,…,"schema":{"migrations":1,"latest":"0000_init"},…}
 *     {"$":"table","name":"namespaces","columns":["id","name",…]}
 *     {"id" : "shop", "name" : "Shop", …}          ← one row per line, as PostgreSQL writes JSON
 *     {"$":"end","table":"namespaces","rows":1}
 *     …every table, parents before the tables that reference them…
 *     {"$":"end-of-backup","rows":{"namespaces":1,…}}
 *
 * Rows are objects keyed by column name (no column name starts with `$`, so control lines cannot
 * be mistaken for rows). Values are PostgreSQL's own JSON for each type: timestamps keep their
 * microseconds, `bytea` is `\x…` hex, arrays and `jsonb` are JSON. A restore hands the lines back to
 * PostgreSQL (`json_populate_recordset`), so no value goes through a JavaScript number or Date.
 */
export const BACKUP_MAGIC = 'recsys-backup';
export const BACKUP_FORMAT_VERSION = 1;

export interface BackupHeader {
  $: typeof BACKUP_MAGIC;
  formatVersion: number;
  createdAt: string;
  /** The storage that wrote it: 'pglite' or 'postgres'. */
  source: string;
  /** Schema version: how many migrations, and the last one's name. */
  schema: SchemaVersion;
  tables: string[];
}

export interface SchemaVersion {
  migrations: number;
  latest: string;
}

export interface TableSpec {
  name: string;
  /** Columns written to and read from the file (see {@link isWriterTransactionColumn}). */
  columns: string[];
  primaryKey: string[];
  /** Identity or serial columns, whose sequences a restore moves past the restored values. */
  generated: string[];
}

/**
 * `tx` holds the id of the transaction that wrote the row (see schema.ts); engine hosts read rows
 * with `tx` below the oldest running transaction. Transaction ids belong to one database: a value
 * from another (a PostgreSQL at xid 5,000,000 restored into a new PGlite at 800) would hide the
 * restored rows, and every later write, from the engines. So `tx` is not backed up, and restored
 * rows take the restoring transaction's id, like any other write.
 */
function isWriterTransactionColumn(name: string): boolean {
  return name === 'tx';
}

/** Every table of the drizzle schema, each after the tables its foreign keys point to. */
export function backupTables(): TableSpec[] {
  const configs = (Object.values(schema) as unknown[])
    .filter((value): value is PgTable => is(value, PgTable))
    .map((table) => getTableConfig(table));
  const ordered: typeof configs = [];
  const placed = new Set<string>();
  const place = (config: (typeof configs)[number], path: string[]) => {
    if (placed.has(config.name)) return;
    if (path.includes(config.name)) throw new Error(`Foreign keys form a cycle: ${path.join(' → ')}`);
    for (const fk of config.foreignKeys) {
      const parent = getTableConfig(fk.reference().foreignTable);
      if (parent.name !== config.name)
        place(configs.find((c) => c.name === parent.name)!, [...path, config.name]);
    }
    placed.add(config.name);
    ordered.push(config);
  };
  for (const config of configs) place(config, []);
  return ordered.map((config) => ({
    name: config.name,
    columns: config.columns.map((c) => c.name).filter((name) => !isWriterTransactionColumn(name)),
    primaryKey:
      config.primaryKeys[0]?.columns.map((c) => c.name) ??
      config.columns.filter((c) => c.primary).map((c) => c.name),
    generated: config.columns
      .filter((c) => c.generatedIdentity !== undefined || c.columnType.endsWith('Serial'))
      .map((c) => c.name),
  }));
}

interface Journal {
  entries: Array<{ idx: number; when: number; tag: string }>;
}

function readJournal(): Journal {
  return JSON.parse(readFileSync(join(migrationsFolder, 'meta', '_journal.json'), 'utf8')) as Journal;
}

/** The schema version this code migrates databases to. */
export function currentSchemaVersion(): SchemaVersion {
  const { entries } = readJournal();
  return { migrations: entries.length, latest: entries.at(-1)?.tag ?? '' };
}

/**
 * Refuses a database migrated by a newer Recsys: this code does not know its newer columns and
 * would leave them out of the backup without a word.
 */
export async function assertSchemaKnown(db: Db): Promise<void> {
  const rows = rowsOf<{ latest: string | null }>(
    await db.execute(sql`SELECT max(created_at)::text AS latest FROM drizzle.__drizzle_migrations`),
  );
  const applied = Number(rows[0]?.latest ?? 0);
  const known = readJournal().entries.at(-1)?.when ?? 0;
  if (applied > known) {
    throw new UserError(
      'CONFLICT',
      'This database was migrated by a newer version of Recsys than this one; back it up with that version.',
    );
  }
}

/** Refuses a backup this code cannot restore faithfully; names what to do instead. */
export function checkRestorable(header: unknown, file: string): BackupHeader {
  const h = header as Partial<BackupHeader> | undefined;
  if (h?.$ !== BACKUP_MAGIC) {
    throw new UserError('BAD_REQUEST', `${file} is not a Recsys backup (made by \`recsys backup\`).`);
  }
  if (h.formatVersion !== BACKUP_FORMAT_VERSION || !h.schema || !Array.isArray(h.tables)) {
    throw new UserError(
      'BAD_REQUEST',
      `${file} is a Recsys backup in format ${String(h.formatVersion)}, which this version cannot read (it reads ${BACKUP_FORMAT_VERSION}); restore it with the Recsys version that made it.`,
    );
  }
  const { entries } = readJournal();
  if (h.schema.migrations > entries.length) {
    throw new UserError(
      'CONFLICT',
      `${file} was made by a newer Recsys (schema migration ${h.schema.migrations}, "${h.schema.latest}"); this one knows up to ${entries.length} ("${entries.at(-1)?.tag}"). Upgrade Recsys, then restore.`,
    );
  }
  if (entries[h.schema.migrations - 1]?.tag !== h.schema.latest) {
    throw new UserError(
      'CONFLICT',
      `${file} has schema migration ${h.schema.migrations} "${h.schema.latest}", which this Recsys does not have at that place; restore it with the Recsys version that made it.`,
    );
  }
  return h as BackupHeader;
}

/** Rows of `db.execute()`: postgres.js answers an array, PGlite an object with `rows`. */
export function rowsOf<T>(result: unknown): T[] {
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
}

/** A quoted SQL identifier; only for names of the schema, never for names read from a file. */
export function quote(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
