import { initTRPC, TRPCError } from '@trpc/server';
import { ZodError } from 'zod';
import type { AuthFailure, Principal } from '../auth/keyResolver';
import { describeZodError, UserError } from '../errors';
import type { Logger } from '../obs/logger';
import type { Metrics } from '../obs/metrics';
import type { AppServices } from './services';

export interface Context {
  services: AppServices;
  requestId: string;
  log: Logger;
  /** The caller's browser origin (Origin header, else the Referer's origin). */
  origin: string | undefined;
  auth: Principal | AuthFailure | undefined;
  metrics: Metrics;
}

const t = initTRPC.context<Context>().create({
  errorFormatter({ shape, error, ctx }) {
    const zod = error.cause instanceof ZodError ? error.cause : undefined;
    const internal = error.code === 'INTERNAL_SERVER_ERROR';
    return {
      ...shape,
      message: zod
        ? `Invalid input: ${describeZodError(zod)}`
        : internal
          ? `Internal error; quote request id ${ctx?.requestId ?? 'unknown'} when reporting it.`
          : shape.message,
      data: {
        code: shape.data.code,
        httpStatus: shape.data.httpStatus,
        path: shape.data.path,
        requestId: ctx?.requestId,
        issues: zod?.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })),
      },
    };
  },
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

/**
 * Timing, metrics, error mapping and logging for every procedure, and the key check: any valid key
 * of the namespace, publishable (browser) or secret. One middleware rather than two because each
 * tRPC middleware level copies the call's options and context, a measurable share of a request
 * that takes well under a millisecond.
 */
export const keyedProcedure = t.procedure.use(async ({ ctx, path, next }) => {
  const start = performance.now();
  const observe = (code: string) => ctx.metrics.observe(path, code, (performance.now() - start) / 1000);
  const auth = ctx.auth;
  if (!auth || 'code' in auth) {
    const refused = auth
      ? new TRPCError({ code: auth.code, message: auth.message })
      : new TRPCError({
          code: 'UNAUTHORIZED',
          message:
            'Missing API key: send "Authorization: Bearer <key>". Create keys with `recsys keys create`.',
        });
    observe(refused.code);
    throw refused;
  }
  // tRPC merges this into the context itself; spreading ctx here would copy it twice per request.
  const result = await next({ ctx: { principal: auth } });
  if (result.ok) {
    observe('OK');
    return result;
  }
  const error = result.error;
  if (error.cause instanceof UserError) {
    const mapped = new TRPCError({
      code: error.cause.code,
      message: error.cause.message,
      cause: error.cause,
    });
    observe(mapped.code);
    throw mapped;
  }
  if (error.code === 'INTERNAL_SERVER_ERROR') {
    ctx.log.error({ err: error.cause ?? error, path, requestId: ctx.requestId }, 'procedure failed');
  }
  observe(error.code);
  return result;
});

/** Secret keys only: ingestion of catalog/users, reads and admin. */
export const secretProcedure = keyedProcedure.use(({ ctx, next, path }) => {
  if (ctx.principal.kind !== 'secret') {
    throw new TRPCError({
      code: 'FORBIDDEN',
      message: `"${path}" needs a secret key; publishable keys may only send events and read recommendations.`,
    });
  }
  return next();
});
