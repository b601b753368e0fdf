// Test-only: a real tRPC v11 router with the shape the Recsys server exposes, served through msw.

import type { RecsInput, RecsResponse } from '@recsys/protocol';
import { initTRPC, TRPCError } from '@trpc/server';
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { http } from 'msw';

const t = initTRPC.context<{ auth: string | null }>().create();

const authed = t.procedure.use(({ ctx, next }) => {
  if (!ctx.auth?.startsWith('Bearer pk_') && !ctx.auth?.startsWith('Bearer sk_')) {
    throw new TRPCError({ code: 'UNAUTHORIZED', message: 'missing or unknown key' });
  }
  return next();
});

const recsInput = (v: unknown): RecsInput => {
  if (typeof v !== 'object' || v === null)
    throw new TRPCError({ code: 'BAD_REQUEST', message: 'input: expected object' });
  return v as RecsInput;
};
const similarInput = (v: unknown): RecsInput & { itemId: string } => {
  const input = recsInput(v);
  if (typeof input.itemId !== 'string')
    throw new TRPCError({ code: 'BAD_REQUEST', message: 'itemId: required' });
  return input as RecsInput & { itemId: string };
};

const respond = (surface: string, input: RecsInput): RecsResponse & { echo: RecsInput } => ({
  requestId: `req-${surface}`,
  surface,
  items: Array.from({ length: input.k ?? 2 }, (_, i) => ({
    itemId: `sku-${i + 1}`,
    rank: i + 1,
    score: 1 - i / 10,
    title: null,
    price: null,
    currency: null,
    url: null,
    imageUrl: null,
  })),
  fallback: { used: false, sources: [], filled: 0 },
  echo: input,
});

export const testRouter = t.router({
  recs: t.router({
    similar: authed.input(similarInput).query(({ input }) => respond('similar', input)),
    forUser: authed.input(recsInput).query(({ input }) => respond('forUser', input)),
    trending: authed.input(recsInput).query(({ input }) => respond('trending', input)),
    // Echo only: what the SDK sent to the procedures with inputs of their own.
    group: authed.input((v: unknown) => v as Record<string, unknown>).query(({ input }) => ({ echo: input })),
    rerank: authed
      .input((v: unknown) => v as Record<string, unknown>)
      .query(({ input }) => ({ echo: input })),
  }),
  users: t.router({
    alias: authed
      .input((v: unknown) => v as { anonymousId: string; userId: string })
      .mutation(({ input }) => ({ linked: `${input.anonymousId}->${input.userId}` })),
  }),
});
export type TestRouter = typeof testRouter;

export const trpcHandler = (endpoint: string) =>
  http.all(`${endpoint}/trpc/*`, ({ request }) =>
    fetchRequestHandler({
      endpoint: '/trpc',
      req: request,
      router: testRouter,
      createContext: () => ({ auth: request.headers.get('authorization') }),
    }),
  );
