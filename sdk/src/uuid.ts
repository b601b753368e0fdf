/**
 * A random v4 UUID. `crypto.randomUUID` only exists in secure contexts (https,
 * localhost), so plain-http shop previews fall back to `getRandomValues`.
 */
export function createUuid(): string {
  const c = globalThis.crypto;
  try {
    return c.randomUUID();
  } catch {
    // not a secure context: build the same format from random bytes
    return '10000000-1000-4000-8000-100000000000'.replace(/[018]/g, (d) =>
      (Number(d) ^ (c.getRandomValues(new Uint8Array(1))[0]! & (15 >> (Number(d) / 4)))).toString(16),
    );
  }
}
