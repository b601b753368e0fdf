/**
 * The server side of the ingestion benchmark, in its own process so the load
 * generator does not share its event loop. Prints one JSON line when ready.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApiKey, createNamespace, getNamespace } from '../src/auth/namespaces';
import { openDatabase } from '../src/db/client';
import { createRecsysServer } from '../src/http/server';
import { createLogger } from '../src/obs/logger';
import { EngineHost } from '../src/replicate/EngineHost';

const url = process.env.BENCH_DATABASE_URL;
const withEngine = process.env.BENCH_ENGINE !== 'off';
const dataDir = url ? undefined : mkdtempSync(join(tmpdir(), 'recsys-bench-pglite-'));
const database = await openDatabase(url ? { url, poolSize: 16 } : { dataDir });
await database.migrate();
// The second run on the same database reuses the namespace.
if (!(await getNamespace(database, 'bench'))) await createNamespace(database, 'bench');
const { key } = await createApiKey(database, 'bench', { kind: 'secret' });
const log = createLogger({ level: 'warn' });
const engines = withEngine ? new EngineHost({ database, log, encoder: null }) : undefined;
await engines?.start();
const server = createRecsysServer({ database, log, ...(engines ? { engines } : {}) });
const base = await server.listen(0);
console.log(JSON.stringify({ url: base, key, dataDir, database: database.describe() }));
process.on('SIGTERM', async () => {
  await server.close();
  await engines?.stop();
  await database.close();
  process.exit(0);
});
