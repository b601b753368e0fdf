import type { AppRouter, OperatorRole } from '@recsys/server';
import { createTRPCClient, httpLink, TRPCClientError } from '@trpc/client';
import type { inferRouterOutputs } from '@trpc/server';

/** Who is signed in, as `GET /admin/api/session` answers. */
export interface Session {
  namespace: string;
  operator: { name: string; role: OperatorRole };
  /** Sent as `x-recsys-csrf` with every request that changes something. */
  csrfToken: string;
  expiresAt: string;
}

export type Outputs = inferRouterOutputs<AppRouter>;

const SESSION_URL = '/admin/api/session';
let csrfToken = '';

/** Called when a request finds the session gone (expired, signed out elsewhere): back to sign-in. */
let onSignedOut: () => void = () => {};
export function whenSignedOut(callback: () => void) {
  onSignedOut = callback;
}

/**
 * The typed client of the admin procedures. The session travels in the HTTP-only cookie (same
 * origin), never in script; the CSRF token in a header. No API key is ever held by the page.
 */
export const trpc = createTRPCClient<AppRouter>({
  links: [
    httpLink({
      url: '/trpc',
      headers: () => ({ 'x-recsys-csrf': csrfToken }),
      fetch: async (url, init) => {
        const res = await fetch(url, { ...(init as RequestInit), credentials: 'same-origin' });
        if (res.status === 401) onSignedOut();
        return res;
      },
    }),
  ],
});

async function readError(res: Response): Promise<string> {
  try {
    const body = (await res.json()) as { error?: { message?: string } };
    return body.error?.message ?? `HTTP ${res.status}`;
  } catch {
    return `HTTP ${res.status}`;
  }
}

/** The current session, or null when nobody is signed in. */
export async function loadSession(): Promise<Session | null> {
  const res = await fetch(SESSION_URL, { credentials: 'same-origin' });
  if (res.status === 401) return null;
  if (!res.ok) throw new Error(await readError(res));
  const session = (await res.json()) as Session;
  csrfToken = session.csrfToken;
  return session;
}

export async function signIn(namespace: string, name: string, password: string): Promise<Session> {
  const res = await fetch(SESSION_URL, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ namespace, name, password }),
  });
  if (!res.ok) throw new Error(await readError(res));
  const session = (await res.json()) as Session;
  csrfToken = session.csrfToken;
  return session;
}

export async function signOut(): Promise<void> {
  await fetch(SESSION_URL, {
    method: 'DELETE',
    credentials: 'same-origin',
    headers: { 'x-recsys-csrf': csrfToken },
  });
  csrfToken = '';
}

/** A readable message for any failure (tRPC's message already says what to do). */
export function messageOf(error: unknown): string {
  if (error instanceof TRPCClientError) return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}

/** Whether the failure is "not found" (a state to show, not an error to retry). */
export function isNotFound(error: unknown): boolean {
  return (
    error instanceof TRPCClientError && (error.data as { code?: string } | undefined)?.code === 'NOT_FOUND'
  );
}
