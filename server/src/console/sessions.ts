import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { and, eq, gt, lte } from 'drizzle-orm';
import type { Principal } from '../auth/keyResolver';
import type { NamespaceSettings } from '../auth/namespaces';
import type { Database } from '../db/client';
import { namespaces, type OperatorRole, operatorSessions, operators } from '../db/schema';

/** The cookie that carries a console session. `__Host-` needs Secure, so only over https. */
export const SESSION_COOKIE = 'recsys_console';
export const SECURE_SESSION_COOKIE = '__Host-recsys_console';
/** The header every state-changing console request carries the session's CSRF token in. */
export const CSRF_HEADER = 'x-recsys-csrf';
/** How long a session lasts from sign-in. */
export const DEFAULT_SESSION_TTL_MS = 12 * 3_600_000;

const hashId = (id: string) => createHash('sha256').update(id).digest('hex');

/**
 * The session's CSRF token: an HMAC of a fixed label keyed by the session id. Derived rather than
 * stored, so it needs no column and cannot be read from the database; a page gets it from
 * `GET /admin/api/session` (same origin only: the cookie is SameSite=Strict and the answer has no
 * CORS headers), a cross-site page can neither read it nor the HTTP-only cookie it derives from.
 */
export function csrfTokenFor(sessionId: string): string {
  return createHmac('sha256', sessionId).update('recsys console csrf v1').digest('base64url');
}

/** Starts a session; returns the id for the cookie (stored only as its sha-256). */
export async function createSession(
  database: Database,
  namespaceId: string,
  operatorName: string,
  ttlMs = DEFAULT_SESSION_TTL_MS,
): Promise<{ id: string; expiresAt: Date }> {
  const id = randomBytes(32).toString('base64url');
  const expiresAt = new Date(Date.now() + ttlMs);
  await database.db
    .insert(operatorSessions)
    .values({ idHash: hashId(id), namespaceId, operatorName, expiresAt });
  // Sign-ins are rare: sweeping expired sessions here keeps the table small without a job.
  await database.db.delete(operatorSessions).where(lte(operatorSessions.expiresAt, new Date()));
  return { id, expiresAt };
}

/** Ends a session (sign-out); unknown ids are ignored. */
export async function endSession(database: Database, id: string): Promise<void> {
  await database.db.delete(operatorSessions).where(eq(operatorSessions.idHash, hashId(id)));
}

export interface ActiveSession {
  namespaceId: string;
  operatorName: string;
  role: OperatorRole;
  expiresAt: Date;
  settings: NamespaceSettings;
}

/** The live session with this id: not expired, its operator still there (role read now). */
export async function findSession(database: Database, id: string): Promise<ActiveSession | undefined> {
  const [row] = await database.db
    .select({
      namespaceId: operatorSessions.namespaceId,
      operatorName: operatorSessions.operatorName,
      expiresAt: operatorSessions.expiresAt,
      role: operators.role,
      settings: namespaces.settings,
    })
    .from(operatorSessions)
    .innerJoin(
      operators,
      and(
        eq(operators.namespaceId, operatorSessions.namespaceId),
        eq(operators.name, operatorSessions.operatorName),
      ),
    )
    .innerJoin(namespaces, eq(namespaces.id, operatorSessions.namespaceId))
    .where(and(eq(operatorSessions.idHash, hashId(id)), gt(operatorSessions.expiresAt, new Date())));
  return row ? { ...row, settings: row.settings as NamespaceSettings } : undefined;
}

/** The session id in the request's cookies, if any. */
export function sessionIdOf(req: IncomingMessage): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    if (name === SESSION_COOKIE || name === SECURE_SESSION_COOKIE) {
      const value = part.slice(eq + 1).trim();
      if (/^[A-Za-z0-9_-]{43}$/.test(value)) return value;
    }
  }
  return undefined;
}

/** Whether the request reached this server over https (itself, or a proxy that says so). */
export function isHttps(req: IncomingMessage): boolean {
  return (
    (req.socket as { encrypted?: boolean }).encrypted === true ||
    String(req.headers['x-forwarded-proto'] ?? '')
      .split(',')[0]
      ?.trim() === 'https'
  );
}

/** The origin this request was sent to, as a browser on the same origin would name it. */
export function ownOrigin(req: IncomingMessage): string | undefined {
  const host = req.headers.host;
  return host ? `${isHttps(req) ? 'https' : 'http'}://${host}` : undefined;
}

/**
 * Why a cookie-authenticated request that may change state is refused, or undefined when it may
 * go on: it must come from this origin (Origin header, else Referer) and carry the session's
 * CSRF token in {@link CSRF_HEADER}. Either alone stops a cross-site form or fetch; both are kept
 * so that a proxy that strips one header does not silently open the door.
 */
export function csrfRefusal(req: IncomingMessage, sessionId: string): string | undefined {
  const own = ownOrigin(req);
  const origin = req.headers.origin ?? refererOrigin(req.headers.referer);
  if (!origin || origin !== own) {
    return `Console requests that change something must come from the console's own page (Origin ${origin ?? 'missing'}, expected ${own ?? 'a Host header'}).`;
  }
  const sent = req.headers[CSRF_HEADER];
  const expected = Buffer.from(csrfTokenFor(sessionId));
  const given = Buffer.from(typeof sent === 'string' ? sent : '');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return `Missing or wrong ${CSRF_HEADER} header: send the csrfToken of GET /admin/api/session with every console request that changes something (reload the console).`;
  }
  return undefined;
}

function refererOrigin(referer: string | undefined): string | undefined {
  if (!referer) return undefined;
  try {
    return new URL(referer).origin;
  } catch {
    return undefined;
  }
}

/**
 * The principal of a console session cookie, for the tRPC context: the session's namespace with the
 * operator's role. A request that is not a GET/HEAD must pass {@link csrfRefusal}; a refused or
 * expired session is `FORBIDDEN`/`UNAUTHORIZED` with a message saying what to do.
 */
export async function resolveSession(
  database: Database,
  req: IncomingMessage,
  sessionId: string,
): Promise<Principal | { code: 'UNAUTHORIZED' | 'FORBIDDEN'; message: string }> {
  const session = await findSession(database, sessionId);
  if (!session) {
    return {
      code: 'UNAUTHORIZED',
      message: 'Your console session has expired or was ended; sign in again at /admin/.',
    };
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    const refusal = csrfRefusal(req, sessionId);
    if (refusal) return { code: 'FORBIDDEN', message: refusal };
  }
  return {
    namespaceId: session.namespaceId,
    kind: 'secret',
    keyId: `operator:${session.operatorName}`,
    settings: session.settings,
    operator: { name: session.operatorName, role: session.role },
  };
}
