import type { Database } from '../db/client';

export interface GlobalOptions {
  databaseUrl?: string;
  dataDir?: string;
}

/** Opens and migrates the database the global options point at. */
export async function openFromOptions(options: GlobalOptions): Promise<Database> {
  // Imported on use: `recsys --help` and the commands without a database never load a driver.
  const { openDatabase } = await import('../db/client');
  const database = await openDatabase({ url: options.databaseUrl, dataDir: options.dataDir });
  await database.migrate();
  return database;
}

/** Runs `fn` with an open database and always closes it. */
export async function withDatabase<T>(
  options: GlobalOptions,
  fn: (database: Database) => Promise<T>,
): Promise<T> {
  const database = await openFromOptions(options);
  try {
    return await fn(database);
  } finally {
    await database.close();
  }
}
