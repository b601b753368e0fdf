import type { Command } from 'commander';
import { UserError } from '../errors';
import { type GlobalOptions, withDatabase } from './context';

/** `recsys backup <file>` and `recsys restore <file>`: the whole database, either storage. */
export function registerBackupCommands(program: Command, globals: () => GlobalOptions) {
  program
    .command('backup <file>')
    .description(
      'write every table to a gzip file (portable: restores into PGlite or PostgreSQL); on PostgreSQL it runs beside live servers',
    )
    .action((file: string) =>
      explainLock(
        withDatabase(globals(), async (database) => {
          const { writeBackup } = await import('../db/backup/writeBackup');
          const started = performance.now();
          const summary = await writeBackup(database, file);
          console.log(
            `Backed up ${database.describe()} to ${file} (${formatBytes(summary.bytes)}, ${seconds(started)}): ${formatRows(summary.rows)}`,
          );
        }),
      ),
    );

  program
    .command('restore <file>')
    .description(
      'restore a backup into an empty database (one transaction: all or nothing); --force replaces what the database holds',
    )
    .option('--force', 'delete every row the database holds and restore the backup in its place')
    .action((file: string, opts: { force?: boolean }) =>
      explainLock(
        withDatabase(globals(), async (database) => {
          const { restoreBackup } = await import('../db/backup/restoreBackup');
          const started = performance.now();
          const summary = await restoreBackup(database, file, { force: opts.force === true });
          if (summary.replaced.length > 0)
            console.error(`Replaced the rows of ${summary.replaced.join(', ')}.`);
          console.log(
            `Restored ${file} into ${database.describe()} (${seconds(started)}): ${formatRows(summary.rows)}`,
          );
          if (database.kind === 'postgres') {
            console.error('Restart the servers on this database so their engines load what was restored.');
          }
        }),
      ),
    );
}

/** The embedded database's folder is held by a running server: say what to do for a backup. */
async function explainLock(run: Promise<void>): Promise<void> {
  try {
    await run;
  } catch (error) {
    if (
      error instanceof UserError &&
      error.code === 'CONFLICT' &&
      /open in another process/.test(error.message)
    ) {
      throw new UserError(
        'CONFLICT',
        `${error.message} Backups and restores of the embedded database need the server stopped: stop it, run the command, start it again. With PostgreSQL, \`recsys backup\` runs beside live servers.`,
      );
    }
    throw error;
  }
}

const formatRows = (rows: Record<string, number>) =>
  Object.entries(rows)
    .map(([table, n]) => `${table} ${n}`)
    .join(', ');
const seconds = (started: number) => `${((performance.now() - started) / 1000).toFixed(1)} s`;
const formatBytes = (bytes: number) =>
  bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : `${(bytes / 1024).toFixed(1)} KB`;
