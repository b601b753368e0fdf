import { UserError } from '../errors';

/**
 * A tRPC client of a running server for the CLI's `--url`/`--key` commands, with `call`, which turns
 * the server's refusals into {@link UserError}s (exit 2) and an unreachable server into a message
 * that says so.
 */
export async function openRemoteClient(url: string, key: string | undefined, namespace: string | undefined) {
  const { parseApiKey } = await import('../auth/keys');
  const parsed = key ? parseApiKey(key) : undefined;
  if (!key || !parsed || parsed.kind !== 'secret') {
    throw new UserError(
      'BAD_REQUEST',
      `--url needs --key with a secret key of the namespace (sk_<namespace>_…; or RECSYS_KEY)${key && parsed ? ', not a publishable key' : ''}.`,
    );
  }
  if (namespace && namespace !== parsed.namespaceId) {
    throw new UserError(
      'BAD_REQUEST',
      `--key belongs to namespace "${parsed.namespaceId}", not "${namespace}": a key manages its own namespace only.`,
    );
  }
  let base: URL;
  try {
    base = new URL(url);
  } catch {
    throw new UserError('BAD_REQUEST', `--url "${url}" is not a URL; use e.g. http://127.0.0.1:8080.`);
  }
  const { createTRPCClient, httpLink, TRPCClientError } = await import('@trpc/client');
  const client = createTRPCClient<import('../api/router').AppRouter>({
    links: [
      httpLink({
        url: `${base.href.replace(/\/$/, '')}/trpc`,
        headers: () => ({ authorization: `Bearer ${key}` }),
      }),
    ],
  });
  /** A refusal from the server is the caller's to fix (exit 2); anything else is a crash (exit 1). */
  const call = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      if (!(error instanceof TRPCClientError)) throw error;
      const data = error.data as { code?: string; httpStatus?: number } | undefined;
      if (data?.httpStatus !== undefined && data.httpStatus < 500) {
        const code = (['UNAUTHORIZED', 'FORBIDDEN', 'NOT_FOUND', 'CONFLICT'] as const).find(
          (c) => c === data.code,
        );
        throw new UserError(code ?? 'BAD_REQUEST', `${base.origin} refused: ${error.message}`);
      }
      if (data === undefined) {
        const cause = error.cause instanceof Error ? (error.cause.cause ?? error.cause) : error;
        throw new UserError(
          'BAD_REQUEST',
          `Cannot reach the server at ${base.origin}: ${(cause as Error).message}. Is \`recsys serve\` running there?`,
        );
      }
      throw error;
    }
  };
  return { namespaceId: parsed.namespaceId, client, call };
}
