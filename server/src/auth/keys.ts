import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export type KeyKind = 'secret' | 'publishable';

const PREFIX: Record<KeyKind, string> = { secret: 'sk', publishable: 'pk' };

/**
 * Key format: `<sk|pk>_<namespace>_<keyId>_<secret>`. The namespace and key
 * id let the server find the stored hash without scanning; only the sha-256
 * of the secret part is stored, so a database leak does not leak keys.
 */
export interface ParsedKey {
  kind: KeyKind;
  namespaceId: string;
  keyId: string;
  secret: string;
}

const KEY_RE = /^(sk|pk)_([a-z0-9][a-z0-9-]{0,62})_([0-9a-f]{16})_([0-9a-f]{48})$/;

export function parseApiKey(raw: string): ParsedKey | undefined {
  const m = KEY_RE.exec(raw.trim());
  if (!m) return undefined;
  return {
    kind: m[1] === 'sk' ? 'secret' : 'publishable',
    namespaceId: m[2]!,
    keyId: m[3]!,
    secret: m[4]!,
  };
}

export function generateApiKey(
  kind: KeyKind,
  namespaceId: string,
): { key: string; keyId: string; hash: string } {
  const keyId = randomBytes(8).toString('hex');
  const secret = randomBytes(24).toString('hex');
  return { key: `${PREFIX[kind]}_${namespaceId}_${keyId}_${secret}`, keyId, hash: hashSecret(secret) };
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function secretMatches(secret: string, storedHash: string): boolean {
  const a = Buffer.from(hashSecret(secret), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

export const NAMESPACE_ID_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;

/**
 * Whether a browser origin matches a key's allowed origins. Entries are full
 * origins (`https://shop.example`), `*.example.com` wildcards (any scheme,
 * subdomains only) or `*` (any origin; for development).
 */
export function originAllowed(origin: string, allowed: readonly string[]): boolean {
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    return false;
  }
  for (const entry of allowed) {
    if (entry === '*') return true;
    if (entry.startsWith('*.')) {
      const suffix = entry.slice(1);
      if (host.endsWith(suffix) && host.length > suffix.length) return true;
    } else if (entry.replace(/\/$/, '') === origin) {
      return true;
    }
  }
  return false;
}
