import type { RowError } from './contracts';
import { detectPii, type PiiFinding, scrubPii } from './contracts';

const WHAT: Record<PiiFinding, string> = {
  email: 'looks like an e-mail address',
  phone: 'looks like a phone number',
  'too-long': 'is too long to screen for personal data',
};

/**
 * Applies the namespace's PII policy to a flat record (event meta, user traits): every key, every
 * string value and every number is screened. Returns the (possibly scrubbed) record, or the
 * errors that make the row rejected, and how many characters were screened.
 *
 * With `scrub`, a string value keeps its text with `[email]`/`[phone]` in place of what was found,
 * a phone-like number becomes the string `[phone]`, and an entry whose key holds personal data is
 * dropped (a key cannot be scrubbed without colliding with others). A value too long to screen is
 * refused under either policy.
 */
export function applyPiiPolicy<T extends Record<string, unknown>>(
  record: T,
  policy: 'reject' | 'scrub',
  index: number,
  pathPrefix: string,
): { value: T; errors: RowError[]; screened: number } {
  const errors: RowError[] = [];
  let screened = 0;
  let out: Record<string, unknown> | undefined;
  const edit = () => {
    out ??= { ...record };
    return out;
  };
  for (const [key, value] of Object.entries(record)) {
    screened += key.length + (typeof value === 'string' ? value.length : 0);
    const inKey = detectPii(key);
    const inValue = typeof value === 'string' || typeof value === 'number' ? detectPii(value) : undefined;
    const finding = inKey ?? inValue;
    if (!finding) continue;
    if (policy === 'scrub' && finding !== 'too-long') {
      if (inKey) delete edit()[key];
      else edit()[key] = typeof value === 'string' ? scrubPii(value) : '[phone]';
      continue;
    }
    const where = inKey ? 'key' : typeof value === 'number' ? 'number' : 'value';
    const fix =
      finding === 'too-long'
        ? 'shorten it'
        : `remove it, or set the namespace's pii policy to "scrub"${finding === 'phone' && where === 'number' ? '; send ids that are long numbers as strings' : ''}`;
    errors.push({
      index,
      path: `${pathPrefix}.${key}`,
      message: `${where} ${WHAT[finding]}; personal data must not be sent (${fix})`,
    });
  }
  return { value: (out ?? record) as T, errors, screened };
}
