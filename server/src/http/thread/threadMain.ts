import { parentPort, workerData } from 'node:worker_threads';
import { type Database, openDatabase } from '../../db/client';
import { createLogger } from '../../obs/logger';
import { RemoteEngine } from '../../serve/engineBridge';
import { RecLogWriter } from '../../serve/RecLogWriter';
import { createRecsysServer } from '../server';
import type { HttpThreadData, HttpThreadMessage } from './startHttpThread';

const data = workerData as HttpThreadData;
const port = parentPort!;
const post = (message: HttpThreadMessage) => port.postMessage(message);

const log = createLogger({ level: data.logLevel });
const engines = new RemoteEngine(data.enginePort);
let database: Database | undefined;
try {
  database = await openDatabase({ url: data.databaseUrl });
  const recLog = new RecLogWriter(database, log);
  const server = createRecsysServer({ database, log, engines, recLog, fastQueries: data.fastQueries });
  const url = await server.listen(data.port, data.host);
  port.on('message', (message: { t: 'close' }) => {
    if (message.t !== 'close') return;
    void (async () => {
      await server.close();
      await recLog.close();
      engines.close();
      await database?.close();
      post({ t: 'closed' });
      // Ends this thread only; nothing of it may keep it alive.
      process.exit(0);
    })();
  });
  post({ t: 'listening', url });
} catch (error) {
  engines.close();
  await database?.close().catch(() => undefined);
  post({ t: 'failed', message: (error as Error).message });
  // The pool or a timer could keep the thread alive after a failed start.
  process.exit(1);
}
