/**
 * User tokens: how a browser proves that the `userId` it names is the signed-in shopper. The shop's
 * backend signs a short-lived token with one of the namespace's secret keys (`signUserToken` in
 * `@recsys/sdk/node`); the server checks it on every publishable-key request that names a userId.
 * Only the names and the claims live here; signing and checking need `node:crypto` and live with
 * the signer and the server.
 *
 * Format: `ut1.<base64url(JSON claims)>.<base64url(HMAC-SHA256(key, "ut1.<payload>"))>`, the HMAC
 * keyed by the sha-256 digest of the secret key's secret part (what the server stores).
 */

/** First segment of every token: the format version. */
export const USER_TOKEN_VERSION = 'ut1';

/** Header that carries the token on tRPC requests (`users.alias`, `recs.*`, `events.batch`). */
export const USER_TOKEN_HEADER = 'x-recsys-user-token';

/** Field of the `POST /v1/collect` body that carries the token (beacons cannot set headers). */
export const USER_TOKEN_FIELD = 'userToken';

/** Tokens may live at most this long (7 days); the server refuses tokens that expire later. */
export const USER_TOKEN_MAX_SECONDS = 7 * 24 * 3600;

/** Lifetime `signUserToken` gives a token when none is asked for (1 hour). */
export const USER_TOKEN_DEFAULT_SECONDS = 3600;

/** Longest token the server reads; anything longer is refused unread. */
export const USER_TOKEN_MAX_LENGTH = 2048;

/** What a token asserts, signed. */
export interface UserTokenClaims {
  /** Namespace of the key that signed it. */
  ns: string;
  /** Id of the secret key that signed it (`sk_<ns>_<kid>_…`), so a revoked key's tokens stop working. */
  kid: string;
  /** The user the token speaks for. */
  sub: string;
  /** Expiry, seconds since the epoch. */
  exp: number;
}

/**
 * The claims of a new token, checked: what both signers (`@recsys/sdk/node` for shop backends,
 * `@recsys/server` for code that embeds the server) put in a token before they MAC it.
 * @throws RangeError for a lifetime outside 1–`USER_TOKEN_MAX_SECONDS`, TypeError for an empty userId.
 */
export function createUserTokenClaims(
  namespaceId: string,
  keyId: string,
  userId: string,
  expiresInSeconds: number = USER_TOKEN_DEFAULT_SECONDS,
  now: number = Date.now(),
): UserTokenClaims {
  if (
    !Number.isInteger(expiresInSeconds) ||
    expiresInSeconds < 1 ||
    expiresInSeconds > USER_TOKEN_MAX_SECONDS
  ) {
    throw new RangeError(`expiresInSeconds must be a whole number from 1 to ${USER_TOKEN_MAX_SECONDS}.`);
  }
  if (typeof userId !== 'string' || userId.length === 0) {
    throw new TypeError('signUserToken needs the userId of the signed-in user.');
  }
  return { ns: namespaceId, kid: keyId, sub: userId, exp: Math.floor(now / 1000) + expiresInSeconds };
}
