import { createHash, createHmac } from 'node:crypto';
import { createUserTokenClaims, USER_TOKEN_VERSION } from '@recsys/protocol';

/** Options of {@link signUserToken}. */
export interface SignUserTokenOptions {
  /**
   * A secret key (`sk_…`) of the namespace. Its tokens stop working when it is revoked.
   * @example process.env.RECSYS_SECRET_KEY
   */
  secretKey: string;
  /**
   * The signed-in user the token speaks for.
   * @example 'u-42'
   */
  userId: string;
  /**
   * Lifetime in seconds, at most 604800 (7 days).
   * @default 3600
   */
  expiresInSeconds?: number;
  /**
   * The current time in ms (tests).
   * @default Date.now()
   */
  now?: number;
}

const SECRET_KEY_RE = /^sk_([a-z0-9][a-z0-9-]{0,62})_([0-9a-f]{16})_([0-9a-f]{48})$/;

/**
 * Signs a user token on the shop's backend: the proof a browser sends with `identify(userId,
 * traits, { token })` so that its publishable key may name that user. HMAC-SHA256 over the
 * namespace, key id, userId and expiry, keyed by the sha-256 of the secret key's secret part
 * (which the server stores). Sign at sign-in and on each page while the user is signed in.
 * @example
 * const token = signUserToken({ secretKey: process.env.RECSYS_SECRET_KEY!, userId: session.userId });
 */
export function signUserToken(options: SignUserTokenOptions): string {
  const key = SECRET_KEY_RE.exec(options?.secretKey?.trim() ?? '');
  if (!key) throw new TypeError('signUserToken needs a secret key (sk_…); publishable keys are public.');
  const claims = createUserTokenClaims(
    key[1]!,
    key[2]!,
    options.userId,
    options.expiresInSeconds,
    options.now,
  );
  const signed = `${USER_TOKEN_VERSION}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  const macKey = createHash('sha256').update(key[3]!).digest();
  return `${signed}.${createHmac('sha256', macKey).update(signed).digest('base64url')}`;
}
