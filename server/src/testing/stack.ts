import { createTRPCClient, httpLink } from '@trpc/client';
import type { Database } from '../db/client';
import { createRecsysServer, type RecsysServer, type RecsysServerOptions } from '../http/server';
import { createLogger } from '../obs/logger';
import type { AppRouter } from '../routers/app';
import { createApiKey, createNamespace } from '../store/namespaces';

export interface TestTenant {
  namespaceId: string;
  secretKey: string;
  publishableKey: string;
  /** tRPC client authenticated with the secret key. */
  admin: ReturnType<typeof createClient>;
  /** tRPC client with the publishable key, sending `Origin: http://shop.test`. */
  browser: ReturnType<typeof createClient>;
}

export const TEST_ORIGIN = 'http://shop.test';

export function createClient(url: string, key: string | undefined, origin?: string) {
  return createTRPCClient<AppRouter>({
    links: [
      httpLink({
        url: `${url}/trpc`,
        headers: () => ({
          ...(key ? { authorization: `Bearer ${key}` } : {}),
          ...(origin ? { origin } : {}),
        }),
      }),
    ],
  });
}

/**
 * A real server on a free port over the given database, with helpers to make
 * namespaces and keys. What tests and benchmarks use instead of mocks.
 */
export async function startTestServer(
  database: Database,
  options: Partial<Omit<RecsysServerOptions, 'database'>> = {},
): Promise<{
  server: RecsysServer;
  url: string;
  tenant(namespaceId: string): Promise<TestTenant>;
  close(): Promise<void>;
}> {
  const server = createRecsysServer({ database, log: createLogger({ level: 'silent' }), ...options });
  const url = await server.listen(0);
  return {
    server,
    url,
    async tenant(namespaceId) {
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
      };
    },
    close: () => server.close(),
  };
}
