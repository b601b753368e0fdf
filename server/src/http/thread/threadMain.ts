import { parentPort, workerData } from 'node:worker_threads';
import { type Database, openDatabase } from '../../db/client';
import { createLogger } from '../../obs/logger';
import { RemoteEngine } from '../../serve/engineBridge';
import { composeRuntime } from '../../start';
import type { HttpThreadData, HttpThreadMessage } from './startHttpThread';

const data = workerData as HttpThreadData;
const port = parentPort!;
const post = (message: HttpThreadMessage) => port.postMessage(message);

const log = createLogger({ level: data.logLevel });
const engines = new RemoteEngine(data.enginePort);
let database: Database | undefined;
try {
  database = await openDatabase({ url: data.databaseUrl, ...data.databaseTimeouts, log });
  const db = database;
  const runtime = composeRuntime({
    database: db,
    log,
    engine: { remote: engines },
    http: {
      fastQueries: data.fastQueries,
      rateLimits: data.rateLimits,
      ...(data.jobSchedules ? { jobSchedules: data.jobSchedules } : {}),
      ...(data.placement ? { placement: data.placement } : {}),
    },
    owned: [() => db.close()],
  });
  // A failed start has already released the runtime (the remote engine and the pool).
  database = undefined;
  if (data.portHeld) {
    // The main thread holds the port while the process starts: it lets go once this thread is ready.
    const released = new Promise<void>((resolve) => {
      const onMessage = (message: { t: string }) => {
        if (message.t !== 'listen') return;
        port.off('message', onMessage);
        resolve();
      };
      port.on('message', onMessage);
    });
    post({ t: 'ready' });
    await released;
  }
  const url = await runtime.start({ port: data.port, host: data.host });
  port.on('message', (message: { t: string }) => {
    if (message.t !== 'close') return;
    void (async () => {
      await runtime.close();
      post({ t: 'closed' });
      // Ends this thread only; nothing of it may keep it alive.
      process.exit(0);
    })();
  });
  post({ t: 'listening', url: url! });
} catch (error) {
  engines.close();
  await database?.close().catch(() => undefined);
  post({ t: 'failed', message: (error as Error).message });
  // The pool or a timer could keep the thread alive after a failed start.
  process.exit(1);
}
