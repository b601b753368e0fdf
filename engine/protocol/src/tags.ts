/**
 * Tags are `key:value` facets (`brand:acme`, `category:shoes`, `color:black`) or plain labels. They
 * are normalized so that `Brand: ACME ` and `brand:acme` are the same tag: the server stores them
 * so, and every lookup by tag or category (filters, `trending`'s `category`) goes through the same
 * function, so `Kitchen` finds what was stored as `category:kitchen`.
 */
export function normalizeTag(raw: string): string {
  const lowered = raw.normalize('NFKC').trim().toLowerCase().replace(/\s+/g, ' ');
  const colon = lowered.indexOf(':');
  if (colon < 0) return lowered;
  return `${lowered.slice(0, colon).trim()}:${lowered.slice(colon + 1).trim()}`;
}
