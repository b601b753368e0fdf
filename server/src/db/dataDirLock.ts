import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors';

/** The lock file's name inside a PGlite data folder. */
export const LOCK_FILE = 'recsys.lock';

/**
 * Takes the embedded database's folder for this process, or explains who has it.
 *
 * Why: PGlite is a single-process PostgreSQL; a second process (a CLI command beside `recsys serve`)
 * that opens the same folder does not wait or fail cleanly — it aborts with `RuntimeError: Aborted()`
 * and can leave the files damaged. The lock holds the owner's pid; a lock whose process is gone (a
 * crash, `kill -9`) is stale and taken over.
 *
 * @returns a function that releases the lock (idempotent).
 */
export function lockDataDir(dataDir: string): () => void {
  const path = join(dataDir, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        if (ownerOf(path) === process.pid) rmSync(path, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = ownerOf(path);
    if (owner !== undefined && isAlive(owner)) {
      throw new UserError(
        'CONFLICT',
        `The embedded database in ${dataDir} is open in another process (pid ${owner}${owner === process.pid ? ', this one' : ''}). ` +
          'Two processes must never open one PGlite folder: stop that process first, or point the CLI at the server ' +
          'with --url: `recsys keys … --url http://<host>:<port> --key <sk_…>`, `recsys scenarios --url`. ' +
          'To share one database between processes, use PostgreSQL (DATABASE_URL).',
      );
    }
    // Stale (its process is gone) or unreadable: take it over.
    rmSync(path, { force: true });
  }
  throw new Error(`Could not take the lock ${path}; remove it if no process uses ${dataDir}.`);
}

function ownerOf(path: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
