import type { RowError } from './contracts';
import { detectPii, scrubPii } from './contracts';

/**
 * Applies the namespace's PII policy to a flat record of values. Returns the
 * (possibly scrubbed) record, or the errors that make the row rejected.
 */
export function applyPiiPolicy<T extends Record<string, unknown>>(
  record: T,
  policy: 'reject' | 'scrub',
  index: number,
  pathPrefix: string,
  skipKeys: ReadonlySet<string> = new Set(),
): { value: T; errors: RowError[] } {
  const errors: RowError[] = [];
  let out: T = record;
  for (const [key, value] of Object.entries(record)) {
    if (typeof value !== 'string' || skipKeys.has(key)) continue;
    const kind = detectPii(key) ?? detectPii(value);
    if (!kind) continue;
    if (policy === 'scrub') {
      if (out === record) out = { ...record };
      (out as Record<string, unknown>)[key] = scrubPii(value);
    } else {
      errors.push({
        index,
        path: `${pathPrefix}.${key}`,
        message: `looks like ${kind === 'email' ? 'an e-mail address' : 'a phone number'}; personal data must not be sent (remove it, or set the namespace's pii policy to "scrub")`,
      });
    }
  }
  return { value: out, errors };
}
