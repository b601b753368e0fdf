import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Database, openDatabase } from '../db/client';
import { getTestDatabaseTargets } from './databases';

const bin = fileURLToPath(new URL('../../bin/recsys.js', import.meta.url));

/** What a `recsys` command printed and how it exited. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `recsys …` as a user does: a process of its own, on the compiled CLI (server/dist), with the
 * test's environment plus `env`. Never throws for a non-zero exit: the code is part of the result.
 */
export function runRecsys(
  args: readonly string[],
  options: { env?: Record<string, string>; cwd?: string; stdin?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [bin, ...args],
      {
        cwd: options.cwd,
        env: { ...process.env, RECSYS_URL: '', RECSYS_KEY: '', ...options.env },
        maxBuffer: 64 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const code = error ? Number((error as { code?: unknown }).code ?? 1) : 0;
        resolve({ code: Number.isInteger(code) ? code : 1, stdout, stderr });
      },
    );
    child.stdin?.end(options.stdin ?? '');
  });
}

/** The database a CLI suite's commands use, and the test's own access to it between commands. */
export interface CliStorage {
  /** `postgres` or `pglite`. */
  readonly name: string;
  /** What points `recsys` at it (`DATABASE_URL`, or `RECSYS_DATA_DIR` with `DATABASE_URL` empty). */
  readonly env: Record<string, string>;
  /**
   * Opens it in the test process, migrated. An embedded folder admits one process at a time:
   * `release` it before the next command.
   */
  open(): Promise<Database>;
  release(database: Database): Promise<void>;
  /** Removes it (the scratch database, or the folder). */
  drop(): Promise<void>;
}

/** A CLI suite's database on the embedded engine (PGlite): a new folder under the temp folder. */
export function embeddedCliStorage(prefix = 'recsys-cli-'): CliStorage {
  const dataDir = join(mkdtempSync(join(tmpdir(), prefix)), 'db');
  return {
    name: 'pglite',
    env: { DATABASE_URL: '', RECSYS_DATA_DIR: dataDir },
    async open() {
      const database = await openDatabase({ dataDir });
      await database.migrate();
      return database;
    },
    release: (database) => database.close(),
    drop: async () => rmSync(join(dataDir, '..'), { recursive: true, force: true }),
  };
}

/**
 * The database for a CLI suite whose subject is the commands, not the storage: a scratch PostgreSQL
 * database when `DATABASE_URL` is set (as on CI), else an embedded folder. Every command is a new
 * process, and an embedded database boots PostgreSQL-in-WebAssembly in each (2–3 s of CPU on a busy
 * 2-core machine), where connecting to PostgreSQL costs a tenth of that; both kinds are covered by
 * the storage suites and by the CLI suites that are about the embedded folder (serve, backup, keys
 * beside a running server, the data folder's lock).
 */
export async function openCliStorage(prefix?: string): Promise<CliStorage> {
  const postgres = getTestDatabaseTargets().find((t) => t.name === 'postgres');
  if (!postgres) return embeddedCliStorage(prefix);
  const scratch = await postgres.open();
  return {
    name: 'postgres',
    env: { DATABASE_URL: scratch.url! },
    open: async () => scratch,
    release: async () => {},
    drop: () => scratch.drop(),
  };
}
