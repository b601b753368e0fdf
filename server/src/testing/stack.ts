import type { EmbeddingEncoder } from '@recsys/engine';
import { USER_TOKEN_HEADER } from '@recsys/engine/protocol';
import { createTRPCClient, httpLink } from '@trpc/client';
import type { AppRouter } from '../api/router';
import { createApiKey, createNamespace } from '../auth/namespaces';
import { signUserToken } from '../auth/userTokens';
import type { Database } from '../db/client';
import type { RecsysServer, RecsysServerOptions } from '../http/server';
import type { FreshnessRecorder } from '../obs/freshnessRecorder';
import { createLogger, type Logger } from '../obs/logger';
import type { EngineHost } from '../replicate/EngineHost';
import type { Placement } from '../replicate/placement';
import type { RecLogWriter } from '../serve/RecLogWriter';
import type { ResponseCacheOptions } from '../serve/ResponseCache';
import { composeRuntime } from '../start';

export interface TestTenant {
  namespaceId: string;
  secretKey: string;
  publishableKey: string;
  /** tRPC client authenticated with the secret key. */
  admin: ReturnType<typeof createClient>;
  /** tRPC client with the publishable key, sending `Origin: http://shop.test`. */
  browser: ReturnType<typeof createClient>;
  /** A user token for `userId`, signed with the secret key as the shop's backend would. */
  userToken(userId: string): string;
  /** `browser` for a signed-in user: every call also sends that user's token. */
  browserAs(userId: string): ReturnType<typeof createClient>;
}

export const TEST_ORIGIN = 'http://shop.test';

export function createClient(url: string, key: string | undefined, origin?: string, userToken?: string) {
  return createTRPCClient<AppRouter>({
    links: [
      httpLink({
        url: `${url}/trpc`,
        headers: () => ({
          ...(key ? { authorization: `Bearer ${key}` } : {}),
          ...(origin ? { origin } : {}),
          ...(userToken ? { [USER_TOKEN_HEADER]: userToken } : {}),
        }),
      }),
    ],
  });
}

/**
 * A real server on a free port over the given database, with helpers to make
 * namespaces and keys. What tests and benchmarks use instead of mocks. Rate
 * limits are off unless `rateLimits` is given.
 */
export async function startTestServer(
  database: Database,
  options: Partial<Omit<RecsysServerOptions, 'database' | 'log' | 'engines' | 'recLog'>> & {
    /** Start an engine host (recommendations) with this encoder; `null` = no embeddings. */
    engine?: {
      encoder: EmbeddingEncoder | null;
      pollIntervalMs?: number;
      placement?: Placement;
      /**
       * The response cache of `recs.*` lists. Off unless given: other suites assert that every
       * applied event shows in the next list, which the cache trades for its TTL on lists of visitors
       * other than the event's.
       */
      cache?: ResponseCacheOptions;
    };
    /**
     * Where the server logs (a test that reads the logs passes its own).
     * @default a silent logger
     */
    log?: Logger;
  } = {},
): Promise<{
  server: RecsysServer;
  url: string;
  engines: EngineHost | undefined;
  freshness: FreshnessRecorder | undefined;
  recLog: RecLogWriter | undefined;
  tenant(namespaceId: string): Promise<TestTenant>;
  close(): Promise<void>;
}> {
  const { engine, log, ...http } = options;
  const runtime = composeRuntime({
    database,
    log: log ?? createLogger({ level: 'silent' }),
    engine: engine ? { pollIntervalMs: 100, ...engine } : false,
    // Suites that send thousands of requests from one address measure something else; the rate
    // limit tests pass the limits they test.
    http: { rateLimits: false, ...http },
  });
  const url = (await runtime.start())!;
  const server = runtime.server!;
  const { engines, freshness, recLog } = runtime;
  return {
    server,
    url,
    engines,
    freshness,
    recLog,
    tenant: (namespaceId) => createTestTenant(database, url, namespaceId),
    close: runtime.close,
  };
}

/**
 * Creates a namespace with a secret and a publishable key (allowed from {@link TEST_ORIGIN}) and
 * clients for it on the server at `url`.
 */
export async function createTestTenant(
  database: Database,
  url: string,
  namespaceId: string,
): Promise<TestTenant> {
  await createNamespace(database, namespaceId);
  const secret = await createApiKey(database, namespaceId, { kind: 'secret' });
  const publishable = await createApiKey(database, namespaceId, {
    kind: 'publishable',
    allowedOrigins: [TEST_ORIGIN],
  });
  return {
    namespaceId,
    secretKey: secret.key,
    publishableKey: publishable.key,
    admin: createClient(url, secret.key),
    browser: createClient(url, publishable.key, TEST_ORIGIN),
    userToken: (userId) => signUserToken({ secretKey: secret.key, userId }),
    browserAs: (userId) =>
      createClient(url, publishable.key, TEST_ORIGIN, signUserToken({ secretKey: secret.key, userId })),
  };
}
