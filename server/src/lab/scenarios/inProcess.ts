import type { EmbeddingEncoder } from '@recsys/engine';
import {
  composeRuntime,
  createApiKey,
  createLogger,
  type Database,
  type EngineHost,
  revokeApiKey,
} from '../../index';

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
  const runtime = composeRuntime({
    database,
    log: createLogger({ level: 'warn' }),
    engine: { encoder: options.encoder, pollIntervalMs: options.pollIntervalMs ?? 200 },
    http: {},
  });
  const url = (await runtime.start())!;
  const engines = runtime.engines!;
  await engines.drainEmbeddings(10 * 60_000);
  const created = await createApiKey(database, namespaceId, {
    kind: 'secret',
    label: 'scenarios (temporary)',
  });
  return {
    url,
    engines,
    key: created.key,
    async close() {
      await runtime.close();
      await revokeApiKey(database, namespaceId, created.keyId);
    },
  };
}
