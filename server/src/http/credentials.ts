/**
 * Where an API key may come from. Header schemes are case-insensitive (RFC
 * 9110 §11.1), so `bearer` and `BEARER` work like `Bearer`. Secret keys are
 * refused in URLs: a URL ends up in access logs, proxies, browser history and
 * `Referer` headers.
 */

const BEARER = /^bearer[ \t]+(\S+)[ \t]*$/i;

/** The key of an `Authorization: Bearer <key>` header, or undefined without one. */
export function bearerToken(header: string | undefined): string | undefined {
  return header ? BEARER.exec(header)?.[1] : undefined;
}

const SECRET_KEY = /sk_[a-z0-9][a-z0-9-]{0,62}_[0-9a-f]{16}_[0-9a-f]{48}/;

/**
 * Whether a request URL carries a secret key: `?key=sk_…`, or a whole secret
 * key in any other parameter (a tRPC `input`, say).
 */
export function hasSecretKeyInUrl(rawUrl: string, url: URL): boolean {
  if (!/sk(?:_|%5f)/i.test(rawUrl)) return false; // the common case, without decoding anything
  for (const [name, value] of url.searchParams) {
    if (name.toLowerCase() === 'key' && value.trim().toLowerCase().startsWith('sk_')) return true;
    if (SECRET_KEY.test(value)) return true;
  }
  return false;
}

/** What a client that sent a secret key in a URL is told. */
export const SECRET_KEY_IN_URL_MESSAGE =
  'Secret keys never travel in URLs (they end up in logs, proxies, browser history and Referer headers). ' +
  'Send it from your server as the header "Authorization: Bearer sk_…"; browsers use a publishable key (pk_…) in ?key=. ' +
  'This key has been exposed: revoke it with `recsys keys revoke <keyId>` and create a new one.';
