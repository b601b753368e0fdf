import type { Principal } from './keyResolver';
import { type SecretKeyHashLookup, type UserTokenFailure, verifyUserToken } from './userTokens';

/**
 * Which `userId` a request may speak for. A publishable key is public (anyone can copy it from the
 * shop's page), so on its own it proves nobody: a browser request naming a userId needs a user token
 * signed by the shop's backend. Secret keys, and namespaces that opted out
 * (`trustBrowserUserIds`), may name any user.
 */
export type UserIdProof =
  | { kind: 'any' }
  | { kind: 'token'; userId: string }
  | { kind: 'none'; reason: UserTokenFailure | 'no user token was sent' };

/** The proof a request carries: its key, the namespace's settings and its user token, if any. */
export async function proveUserId(
  principal: Principal,
  token: string | undefined,
  lookup: SecretKeyHashLookup,
  now = Date.now(),
): Promise<UserIdProof> {
  if (principal.kind === 'secret' || principal.settings.trustBrowserUserIds === true) return { kind: 'any' };
  if (!token) return { kind: 'none', reason: 'no user token was sent' };
  const check = await verifyUserToken(token, principal.namespaceId, lookup, now);
  return 'userId' in check
    ? { kind: 'token', userId: check.userId }
    : { kind: 'none', reason: check.failure };
}

/** Whether a request with `proof` may name `userId`. */
export function mayNameUser(proof: UserIdProof, userId: string): boolean {
  return proof.kind === 'any' || (proof.kind === 'token' && proof.userId === userId);
}

/** What a client is told when it named a user it could not prove (what was wrong, how to fix it). */
export function unprovenUserMessage(proof: UserIdProof): string {
  const why =
    proof.kind === 'none'
      ? proof.reason === 'no user token was sent'
        ? proof.reason
        : `the user token is ${proof.reason === 'malformed' ? 'malformed' : `refused (${proof.reason})`}`
      : 'the user token was signed for another userId';
  return (
    `A publishable key may name a userId only with a user token signed by the shop's backend (${why}). ` +
    "Sign one with signUserToken from '@recsys/sdk/node' and pass it to identify(userId, traits, { token }), " +
    'or allow browser user ids with `recsys namespace settings <ns> --trust-browser-user-ids on`.'
  );
}
