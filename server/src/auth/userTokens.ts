import { createHmac, timingSafeEqual } from 'node:crypto';
import {
  createUserTokenClaims,
  USER_TOKEN_MAX_LENGTH,
  USER_TOKEN_MAX_SECONDS,
  USER_TOKEN_VERSION,
  type UserTokenClaims,
} from '@recsys/engine/protocol';
import { hashSecret, NAMESPACE_ID_RE, parseApiKey } from './keys';

/**
 * The token's MAC. Keyed by the sha-256 digest of the secret key's secret part, because that digest
 * is what the server stores (keys are never stored in clear): the backend derives it from the key
 * it holds, the server reads it from `api_keys`. The price: someone who can read `api_keys` can
 * mint user tokens — but they can already read every user's history in the same database.
 */
export function userTokenMac(keyHashHex: string, signedPart: string): Buffer {
  return createHmac('sha256', Buffer.from(keyHashHex, 'hex')).update(signedPart).digest();
}

/** Why a token was not accepted, for logs and error messages (never which byte was wrong). */
export type UserTokenFailure =
  | 'malformed'
  | 'wrong namespace'
  | 'expired'
  | 'lifetime over 7 days'
  | 'unknown or revoked key'
  | 'bad signature';

export type UserTokenCheck = { userId: string } | { failure: UserTokenFailure };

/** Finds the stored sha-256 of a namespace's non-revoked secret key, or undefined. */
export type SecretKeyHashLookup = (namespaceId: string, keyId: string) => Promise<string | undefined>;

const KEY_ID_RE = /^[0-9a-f]{16}$/;
const B64URL_RE = /^[A-Za-z0-9_-]+$/;

function readClaims(payload: string): UserTokenClaims | undefined {
  if (!B64URL_RE.test(payload)) return undefined;
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  const c = claims as Partial<UserTokenClaims> | null;
  if (
    typeof c !== 'object' ||
    c === null ||
    typeof c.ns !== 'string' ||
    !NAMESPACE_ID_RE.test(c.ns) ||
    typeof c.kid !== 'string' ||
    !KEY_ID_RE.test(c.kid) ||
    typeof c.sub !== 'string' ||
    c.sub.length === 0 ||
    typeof c.exp !== 'number' ||
    !Number.isSafeInteger(c.exp)
  ) {
    return undefined;
  }
  return { ns: c.ns, kid: c.kid, sub: c.sub, exp: c.exp };
}

/**
 * Checks a user token for `namespaceId`: well-formed, signed by a non-revoked secret key of that
 * namespace, not expired, and not valid for longer than `USER_TOKEN_MAX_SECONDS`. The MAC is
 * compared in constant time. Resolves to the userId the token speaks for, or why it does not.
 */
export async function verifyUserToken(
  token: string,
  namespaceId: string,
  lookup: SecretKeyHashLookup,
  now = Date.now(),
): Promise<UserTokenCheck> {
  if (token.length > USER_TOKEN_MAX_LENGTH) return { failure: 'malformed' };
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== USER_TOKEN_VERSION) return { failure: 'malformed' };
  const [, payload = '', mac = ''] = parts;
  const claims = readClaims(payload);
  if (!claims || !B64URL_RE.test(mac)) return { failure: 'malformed' };
  if (claims.ns !== namespaceId) return { failure: 'wrong namespace' };
  const nowSeconds = Math.floor(now / 1000);
  if (claims.exp <= nowSeconds) return { failure: 'expired' };
  if (claims.exp > nowSeconds + USER_TOKEN_MAX_SECONDS) return { failure: 'lifetime over 7 days' };
  const keyHash = await lookup(claims.ns, claims.kid);
  if (!keyHash) return { failure: 'unknown or revoked key' };
  const expected = userTokenMac(keyHash, `${USER_TOKEN_VERSION}.${payload}`);
  const given = Buffer.from(mac, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { failure: 'bad signature' };
  }
  return { userId: claims.sub };
}

/** Options of {@link signUserToken}. */
export interface SignUserTokenOptions {
  /** A secret key (`sk_…`) of the namespace; the token is valid while the key is not revoked. */
  secretKey: string;
  /** The signed-in user the token speaks for. */
  userId: string;
  /**
   * Lifetime in seconds, at most `USER_TOKEN_MAX_SECONDS` (7 days).
   * @default 3600
   */
  expiresInSeconds?: number;
  /**
   * The current time in ms.
   * @default Date.now()
   */
  now?: number;
}

/**
 * Signs a user token as a shop's backend does (the same as `signUserToken` of `@recsys/sdk/node`,
 * for code that embeds the server, such as the demo storefront).
 * @example signUserToken({ secretKey: process.env.RECSYS_SECRET_KEY!, userId: 'u-42' })
 */
export function signUserToken(options: SignUserTokenOptions): string {
  const key = parseApiKey(options.secretKey);
  if (key?.kind !== 'secret') {
    throw new TypeError('signUserToken needs a secret key (sk_…): publishable keys are public.');
  }
  const claims = createUserTokenClaims(
    key.namespaceId,
    key.keyId,
    options.userId,
    options.expiresInSeconds,
    options.now,
  );
  const signed = `${USER_TOKEN_VERSION}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  return `${signed}.${userTokenMac(hashSecret(key.secret), signed).toString('base64url')}`;
}
