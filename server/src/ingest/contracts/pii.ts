/**
 * Heuristics for personal data that must not reach traits or event meta.
 * They are deliberately conservative: a false alarm is a clear 400 the
 * integrator can fix; a miss stores PII we promised not to keep.
 */
const EMAIL = /[A-Z0-9._%+-]+@[A-Z0-9.-]+\.[A-Z]{2,}/i;
// 7+ digits with optional +, spaces, dots, dashes or brackets between them.
const PHONE = /(?:\+|\b)\d(?:[\s().-]*\d){6,14}\b/;
// ISO dates and plain decimals look like digit runs; they are not phone numbers.
const NOT_PHONE = /^\d{4}-\d{2}-\d{2}|^-?\d+(?:\.\d+)?$/;

export type PiiKind = 'email' | 'phone';

export function detectPii(value: string): PiiKind | undefined {
  if (EMAIL.test(value)) return 'email';
  if (!NOT_PHONE.test(value.trim()) && PHONE.test(value)) return 'phone';
  return undefined;
}

export function scrubPii(value: string): string {
  return value.replace(new RegExp(EMAIL, 'gi'), '[email]').replace(new RegExp(PHONE, 'g'), '[phone]');
}
