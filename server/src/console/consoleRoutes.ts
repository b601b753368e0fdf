import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { RateLimiterMemory, type RateLimiterRes } from 'rate-limiter-flexible';
import { z } from 'zod';
import type { Database } from '../db/client';
import { BodyNotUtf8Error, BodyTooLargeError, readBody, sendJson } from '../http/body';
import type { RateCounter } from '../http/rateLimiter';
import { pgText } from '../ingest/contracts/pgSafe';
import { packagePath } from '../paths';
import { findOperator } from './operators';
import { verifyPassword } from './passwords';
import {
  CSRF_HEADER,
  createSession,
  csrfRefusal,
  csrfTokenFor,
  DEFAULT_SESSION_TTL_MS,
  endSession,
  findSession,
  isHttps,
  ownOrigin,
  SECURE_SESSION_COOKIE,
  SESSION_COOKIE,
  sessionIdOf,
} from './sessions';

/** Where the console is served. */
export const CONSOLE_PREFIX = '/admin';
const API = `${CONSOLE_PREFIX}/api/session`;

/** Options of {@link createConsoleRoutes}. */
export interface ConsoleOptions {
  /**
   * Folder of the built console (`index.html`, `assets/`).
   * @default `RECSYS_CONSOLE_DIR`, else the workspace's `server/console/dist` (what `pnpm build` makes)
   */
  dir?: string;
  /**
   * How long a session lasts from sign-in, in ms.
   * @default 43_200_000 (12 hours)
   */
  sessionTtlMs?: number;
  /**
   * Failed sign-ins allowed per operator name in 15 minutes (and five times as many per client
   * address, for an office behind one address); past it, sign-in answers 429 with `Retry-After`,
   * right password or not.
   * @default 10
   */
  signInAttempts?: number;
  /** The client address of a request (the rate limiter's, which honours trusted proxies). */
  clientIp: (req: IncomingMessage) => string;
  /**
   * Where failed sign-ins are counted: the server's rate limiter passes its store's counters, so
   * with `REDIS_URL` every replica counts together (an attacker gains nothing by spreading guesses).
   * @default this process's memory
   */
  counter?: (name: string, points: number, duration: number) => RateCounter;
}

const signInSchema = z
  .object({
    // pgText: a NUL or a lone surrogate is a 400 here, not a failed query (500) below.
    namespace: pgText().min(1, 'give the shop (namespace) id').max(128),
    name: pgText().min(1, 'give your operator name').max(128),
    password: pgText().min(1, 'give your password').max(1_024),
  })
  .strict();

/**
 * Content-Security-Policy of the console's pages: only its own scripts, styles and API (no inline
 * script, no framing), so an injected string cannot run and the console cannot be clickjacked.
 */
const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'same-origin',
  'x-content-type-options': 'nosniff',
};

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.map': 'application/json',
};

/** The console's default folder: `RECSYS_CONSOLE_DIR`, else the workspace's built `server/console/dist`. */
export function defaultConsoleDir(): string {
  return process.env.RECSYS_CONSOLE_DIR || packagePath('console', 'dist');
}

function cookie(req: IncomingMessage, value: string, maxAgeSeconds: number): string {
  // Over https the `__Host-` prefix pins the cookie to this host and path and requires Secure.
  const secure = isHttps(req);
  const name = secure ? SECURE_SESSION_COOKIE : SESSION_COOKIE;
  return `${name}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure ? '; Secure' : ''}`;
}

/**
 * The admin console's routes: sign-in, the session and sign-out under `/admin/api/session`, and
 * the single-page app under `/admin/` (every path that is not a file gets `index.html`, so deep
 * links work). The console reaches the admin procedures through `/trpc` with its cookie.
 */
export function createConsoleRoutes(database: Database, options: ConsoleOptions) {
  const dir = options.dir ?? defaultConsoleDir();
  const ttlMs = options.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS;
  const attempts = options.signInAttempts ?? 10;
  const ipAttempts = attempts * 5;
  const counter =
    options.counter ??
    ((name: string, points: number, duration: number) =>
      new RateLimiterMemory({ keyPrefix: name, points, duration }));
  const byIp = counter('console-ip', ipAttempts, 900);
  const byName = counter('console-name', attempts, 900);
  let index: Buffer | undefined;

  async function blockedSeconds(ip: string, nameKey: string): Promise<number> {
    const [a, b] = await Promise.all([byIp.get(ip), byName.get(nameKey)]);
    const over = [
      a && a.consumedPoints >= ipAttempts ? a : null,
      b && b.consumedPoints >= attempts ? b : null,
    ].filter((r): r is RateLimiterRes => r !== null);
    return over.length ? Math.ceil(Math.max(...over.map((r) => r.msBeforeNext)) / 1000) : 0;
  }

  async function signIn(req: IncomingMessage, res: ServerResponse, requestId: string) {
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== ownOrigin(req)) {
      return error(
        res,
        403,
        'FORBIDDEN',
        'Sign in from the console page itself (cross-origin sign-in refused).',
        requestId,
      );
    }
    let body: unknown;
    try {
      body = JSON.parse(await readBody(req, 4_096));
    } catch (e) {
      if (e instanceof BodyTooLargeError)
        return error(res, 413, 'PAYLOAD_TOO_LARGE', 'The sign-in body is limited to 4 KB.', requestId);
      const detail = e instanceof BodyNotUtf8Error ? 'not UTF-8' : 'not JSON';
      return error(
        res,
        400,
        'BAD_REQUEST',
        `The body is ${detail}; send {"namespace","name","password"} as JSON.`,
        requestId,
      );
    }
    const parsed = signInSchema.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return error(
        res,
        400,
        'BAD_REQUEST',
        `${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}`,
        requestId,
      );
    }
    const { namespace, name, password } = parsed.data;
    const ip = options.clientIp(req);
    const nameKey = `${namespace}/${name}`;
    const wait = await blockedSeconds(ip, nameKey);
    if (wait > 0) {
      return error(
        res,
        429,
        'TOO_MANY_REQUESTS',
        `Too many failed sign-ins; try again in ${wait} s.`,
        requestId,
        {
          'retry-after': String(wait),
        },
      );
    }
    const operator = await findOperator(database, namespace, name);
    const ok = await verifyPassword(password, operator?.passwordHash);
    if (!ok || !operator) {
      await Promise.all([byIp.penalty(ip), byName.penalty(nameKey)]);
      return error(res, 401, 'UNAUTHORIZED', 'Wrong shop, operator name or password.', requestId);
    }
    await byName.delete(nameKey);
    const session = await createSession(database, namespace, name, ttlMs);
    sendJson(
      res,
      200,
      {
        namespace,
        operator: { name, role: operator.role },
        csrfToken: csrfTokenFor(session.id),
        expiresAt: session.expiresAt.toISOString(),
      },
      { 'set-cookie': cookie(req, session.id, Math.floor(ttlMs / 1000)), 'cache-control': 'no-store' },
    );
  }

  async function session(req: IncomingMessage, res: ServerResponse, requestId: string) {
    const id = sessionIdOf(req);
    const found = id ? await findSession(database, id) : undefined;
    if (!id || !found)
      return error(res, 401, 'UNAUTHORIZED', 'Not signed in.', requestId, { 'cache-control': 'no-store' });
    sendJson(
      res,
      200,
      {
        namespace: found.namespaceId,
        operator: { name: found.operatorName, role: found.role },
        csrfToken: csrfTokenFor(id),
        expiresAt: found.expiresAt.toISOString(),
      },
      { 'cache-control': 'no-store' },
    );
  }

  async function signOut(req: IncomingMessage, res: ServerResponse, requestId: string) {
    const id = sessionIdOf(req);
    if (id) {
      const refusal = csrfRefusal(req, id);
      if (refusal) return error(res, 403, 'FORBIDDEN', refusal, requestId);
      await endSession(database, id);
    }
    sendJson(
      res,
      200,
      { signedOut: true },
      { 'set-cookie': cookie(req, '', 0), 'cache-control': 'no-store' },
    );
  }

  function serveFile(req: IncomingMessage, res: ServerResponse, path: string): boolean {
    const rel = normalize(path.slice(CONSOLE_PREFIX.length + 1));
    if (rel.startsWith('assets/') && !rel.includes('..')) {
      const file = join(dir, rel);
      if (!existsSync(file)) return false;
      res.writeHead(200, {
        'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
        // Vite names assets by content hash: they never change.
        'cache-control': 'public, max-age=31536000, immutable',
        'x-content-type-options': 'nosniff',
      });
      res.end(req.method === 'HEAD' ? undefined : readFileSync(file));
      return true;
    }
    const indexFile = join(dir, 'index.html');
    if (!index) {
      if (!existsSync(indexFile)) {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(
          `The admin console is not built (no ${indexFile}); run \`pnpm build\` or set RECSYS_CONSOLE_DIR.`,
        );
        return true;
      }
      index = readFileSync(indexFile);
    }
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-cache',
      ...PAGE_HEADERS,
    });
    res.end(req.method === 'HEAD' ? undefined : index);
    return true;
  }

  return {
    /** Handles `/admin` paths; false for every other path. */
    async handle(
      req: IncomingMessage,
      res: ServerResponse,
      path: string,
      requestId: string,
    ): Promise<boolean> {
      if (path !== CONSOLE_PREFIX && !path.startsWith(`${CONSOLE_PREFIX}/`)) return false;
      if (path === API) {
        if (req.method === 'POST') await signIn(req, res, requestId);
        else if (req.method === 'GET') await session(req, res, requestId);
        else if (req.method === 'DELETE') await signOut(req, res, requestId);
        else
          error(
            res,
            405,
            'METHOD_NOT_SUPPORTED',
            'Use GET (who am I), POST (sign in) or DELETE (sign out).',
            requestId,
            { allow: 'GET, POST, DELETE' },
          );
        return true;
      }
      if (path.startsWith(`${CONSOLE_PREFIX}/api/`)) {
        error(
          res,
          404,
          'NOT_FOUND',
          `No console route ${path}; the console's data comes from /trpc/admin.*.`,
          requestId,
        );
        return true;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') return false;
      if (path === CONSOLE_PREFIX) {
        res.writeHead(308, { location: `${CONSOLE_PREFIX}/` });
        res.end();
        return true;
      }
      return serveFile(req, res, path);
    },
  };
}

function error(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  requestId: string,
  headers: Record<string, string> = {},
) {
  sendJson(res, status, { error: { code, message, requestId } }, headers);
}

export { CSRF_HEADER };
