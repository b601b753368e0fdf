import { initTRPC, TRPCError } from '@trpc/server';
import { ZodError } from 'zod';
import type { AuthFailure, Principal } from '../auth/keyResolver';
import { proveUserId, type UserIdProof } from '../auth/userProof';
import { recordOperatorChange } from '../console/audit';
import { requiredRole, roleRefusal } from '../console/roles';
import { isDatabaseUnavailable } from '../db/unavailable';
import {
  DATABASE_UNAVAILABLE_MESSAGE,
  describeZodError,
  ServiceUnavailableError,
  UserError,
} from '../errors';
import { limits } from '../ingest/contracts';
import type { Logger } from '../obs/logger';
import type { Metrics } from '../obs/metrics';
import type { AppServices } from './services';

export interface Context {
  services: AppServices;
  requestId: string;
  log: Logger;
  /** The caller's browser origin (Origin header, else the Referer's origin). */
  origin: string | undefined;
  /**
   * The key's principal or why it is refused; an `Error` when the key could not be checked (the
   * database is unreachable), answered by the procedure rather than by tRPC without a context.
   */
  auth: Principal | AuthFailure | Error | undefined;
  /** The `x-recsys-user-token` header: proves the userId a publishable-key request names. */
  userToken: string | undefined;
  /** The `x-recsys-trace: 1` header: store this list's decision trace whatever the sample rate. */
  traceRequested?: boolean;
  metrics: Metrics;
}

/** Which userId the request may speak for (any, the token's, or none); see `proveUserId`. */
export function userIdProof(ctx: Context & { principal: Principal }): Promise<UserIdProof> {
  return proveUserId(ctx.principal, ctx.userToken, ctx.services.keys.secretKeyHash);
}

/**
 * The message a client reads: what was wrong and what to do, also for the
 * errors tRPC raises itself before a procedure runs (body not JSON, wrong
 * content type, body too large), whose own messages say only the first half.
 */
/** What a tRPC body over the limit is told, by tRPC's adapter or by the HTTP host reading it first. */
export const BODY_TOO_LARGE_MESSAGE = `Request body exceeds ${limits.maxBodyBytes} bytes (16 MB); split it into smaller calls.`;

function describeError(error: TRPCError, ctx: Context | undefined, zod: ZodError | undefined): string {
  if (zod) {
    const detail = describeZodError(zod);
    return detail.startsWith('Invalid input') ? detail : `Invalid input: ${detail}`;
  }
  switch (error.code) {
    case 'INTERNAL_SERVER_ERROR':
      // Without a context (tRPC failed before creating one) the id is still in the X-Request-Id header.
      return ctx
        ? `Internal error; quote request id ${ctx.requestId} when reporting it.`
        : 'Internal error; quote the X-Request-Id header of this response when reporting it.';
    case 'PAYLOAD_TOO_LARGE':
      return BODY_TOO_LARGE_MESSAGE;
    case 'UNSUPPORTED_MEDIA_TYPE':
      return `${error.message}; send the input as JSON with content-type application/json.`;
    case 'PARSE_ERROR':
    case 'BAD_REQUEST':
      if (error.cause instanceof SyntaxError) {
        return `The input is not valid JSON (${error.cause.message}); send one JSON value, e.g. {"items":[…]}.`;
      }
      return error.message;
    default:
      return error.message;
  }
}

const t = initTRPC.context<Context>().create({
  errorFormatter({ shape, error, ctx }) {
    const zod = error.cause instanceof ZodError ? error.cause : undefined;
    return {
      ...shape,
      message: describeError(error, ctx, zod),
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
export const keyedProcedure = t.procedure.use(async ({ ctx, path, type, next, getRawInput }) => {
  const start = performance.now();
  const observe = (code: string) => ctx.metrics.observe(path, code, (performance.now() - start) / 1000);
  const auth = ctx.auth;
  if (auth instanceof Error) {
    const failed = unavailableOr(auth, ctx, path);
    observe(failed.code);
    throw failed;
  }
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
  const operator = auth.operator;
  if (operator !== undefined) {
    // A console session: its role decides, procedure by procedure (see console/roles.ts).
    const refusal = roleRefusal(operator.role, path, type);
    if (refusal !== undefined) {
      observe('FORBIDDEN');
      throw new TRPCError({ code: 'FORBIDDEN', message: refusal });
    }
  }
  // tRPC merges this into the context itself; spreading ctx here would copy it twice per request.
  const result = await next({ ctx: { principal: auth } });
  if (result.ok) {
    if (operator !== undefined && requiredRole(path, type) !== 'viewer') {
      await recordOperatorChange(ctx.services.database, { ...auth, operator }, path, await getRawInput());
    }
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
    const failed = unavailableOr(error.cause ?? error, ctx, path);
    if (failed.code === 'SERVICE_UNAVAILABLE') {
      observe(failed.code);
      throw failed;
    }
  }
  observe(error.code);
  return result;
});

/**
 * A failure that is not the caller's: 503 with `Retry-After` when the database is unreachable
 * (logged as a warning: an outage, not a bug), else a logged 500 that quotes the request id.
 */
function unavailableOr(cause: Error, ctx: Context, path: string): TRPCError {
  if (isDatabaseUnavailable(cause)) {
    ctx.log.warn({ err: cause, path, requestId: ctx.requestId }, 'database unreachable; answered 503');
    return new TRPCError({
      code: 'SERVICE_UNAVAILABLE',
      message: DATABASE_UNAVAILABLE_MESSAGE,
      cause: new ServiceUnavailableError(DATABASE_UNAVAILABLE_MESSAGE),
    });
  }
  ctx.log.error({ err: cause, path, requestId: ctx.requestId }, 'procedure failed');
  return cause instanceof TRPCError ? cause : new TRPCError({ code: 'INTERNAL_SERVER_ERROR', cause });
}

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
