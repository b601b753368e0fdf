import type { EmbeddingEncoder } from '@recsys/engine';
import { createApiKey, revokeApiKey } from '../../auth/namespaces';
import type { Database } from '../../db/client';
import { createRecsysServer } from '../../http/server';
import { createLogger } from '../../obs/logger';
import { EngineHost } from '../../replicate/EngineHost';
import { RecLogWriter } from '../../serve/RecLogWriter';

export interface InProcessServer {
  url: string;
  engines: EngineHost;
  /** A secret key for `namespaceId`, revoked by `close()`. */
  key: string;
  close(): Promise<void>;
}

/**
 * The real HTTP server on a free local port over an open database, with an
 * engine host, so scenarios exercise exactly what a deployment serves. The
 * engines are loaded and every pending item embedding is computed before it
 * resolves, so checks do not race the background job.
 */
export async function startInProcessServer(
  database: Database,
  namespaceId: string,
  options: { encoder: EmbeddingEncoder | null; pollIntervalMs?: number },
): Promise<InProcessServer> {
  const log = createLogger({ level: 'warn' });
  const engines = new EngineHost({
    database,
    log,
    encoder: options.encoder,
    pollIntervalMs: options.pollIntervalMs ?? 200,
  });
  await engines.start();
  await engines.drainEmbeddings(10 * 60_000);
  const recLog = new RecLogWriter(database, log);
  const server = createRecsysServer({ database, log, engines, recLog });
  const url = await server.listen(0, '127.0.0.1');
  const created = await createApiKey(database, namespaceId, {
    kind: 'secret',
    label: 'scenarios (temporary)',
  });
  return {
    url,
    engines,
    key: created.key,
    async close() {
      await server.close();
      await engines.stop();
      await recLog.close();
      await revokeApiKey(database, namespaceId, created.keyId);
    },
  };
}
