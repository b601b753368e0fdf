/**
 * Personal data that must not reach ids, traits or event meta: e-mail addresses and phone numbers.
 *
 * A hand-written scanner, not a regular expression: the old pattern backtracked from every start
 * position (quadratic, 2–5 ms per KB), so one large request stalled every other one. Here each
 * character is visited a bounded number of times — once by the sweep, at most once by the
 * backward look of the next `@` and once by the forward look of the previous one (looks stop at an
 * `@`), and once by a digit run — and {@link PiiScan.steps} counts those visits so tests can check
 * the bound without a clock.
 *
 * The rules lean towards refusing: a false alarm is a clear 400 the integrator can fix; a miss
 * stores personal data we promised not to keep. They are also built not to fire on ordinary ids,
 * prices and timestamps (see {@link scanPii}).
 */
export type PiiKind = 'email' | 'phone';

/** Where personal data was found, as offsets into {@link PiiScan.text}. */
export interface PiiMatch {
  kind: PiiKind;
  start: number;
  end: number;
}

export interface PiiScan {
  /** The text that was scanned: NFKC-normalized, printable `%XX` escapes decoded. */
  text: string;
  matches: PiiMatch[];
  /** Characters visited by the scanner; at most a small constant times `text.length`. */
  steps: number;
}

/**
 * Longest string (in UTF-16 code units, as sent) that is screened. A longer value is refused
 * unscreened ({@link detectPii} answers `'too-long'`) rather than scanned in part: the part not
 * scanned could hold the address. Every ingestion limit (meta strings 1,024, URLs 2,048, traits
 * 256, ids 256) is below it, so this only bounds callers that skip those limits.
 */
export const PII_SCAN_LIMIT = 8_192;

/** RFC 5321 limits: 64 characters before the `@`, 255 after it. */
const MAX_LOCAL = 64;
const MAX_DOMAIN = 255;
/** A phone number has 10–15 digits (E.164 allows 15; fewer than 10 are extensions, codes, ids). */
const PHONE_MIN_DIGITS = 10;
const PHONE_MAX_DIGITS = 15;

const isDigit = (c: number) => c >= 48 && c <= 57;

/** ASCII character classes as bit flags, so the sweep costs one table read per character. */
const WORD = 1;
const LOCAL = 2;
const DOMAIN = 4;
const START = 8;
const PHONE_SEPARATOR = 16;
const JOINER = 32;
const ASCII = new Uint8Array(128);
const mark = (chars: string, flag: number) => {
  for (const ch of chars) ASCII[ch.charCodeAt(0)]! |= flag;
};
const alnum = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
mark(`${alnum}_`, WORD);
// A local part's characters, minus `/ = ? & # %` that in practice only separate URL parts.
mark(`${alnum}._+-'!$*^\`{|}~`, LOCAL);
mark(`${alnum}.-`, DOMAIN);
mark('@0123456789+(', START);
mark(' ().-/', PHONE_SEPARATOR);
// Characters that glue a digit run to the word before or after it (`ORD-2026-000123`, `/p/4006381333931`).
mark('-._/#', JOINER);

const isStart = (c: number) => c < 128 && (ASCII[c]! & START) !== 0;

const LETTER_OR_NUMBER = /^[\p{L}\p{N}\p{M}]$/u;
/** Letters and digits of any script count as word, local-part and domain characters (`jörg@bücher.de`). */
function has(text: string, i: number, flag: number): boolean {
  const c = text.charCodeAt(i);
  if (c < 128) return (ASCII[c]! & flag) !== 0;
  return flag !== START && flag !== PHONE_SEPARATOR && flag !== JOINER && LETTER_OR_NUMBER.test(text[i]!);
}

/** A top-level domain: two or more letters of any script, or an IDN's ASCII form (`xn--p1ai`). */
const TLD = /^(?:[\p{L}\p{M}]{2,63}|xn--[a-z0-9-]{1,59})$/iu;

/** `06.12.2026 10:00`: a day-first date (and the hour after it) is not a number to call. */
const DAY_MONTH_YEAR = /^\d{1,2}([./-])\d{1,2}\1\d{4}/;
/** North American grouping without a trunk prefix: (415) 555-0100, 415.555.0100, 1-415-555-0100. */
const NANP = /^(?:1[ .-]?)?(?:\(\d{3}\)|\d{3})[ .-]?\d{3}[ .-]\d{4}$/;

const INTERESTING = /[@+(0-9]/g;
const TRAILING_PUNCTUATION = /[.-]+$/;
/** Anything but printable ASCII and common whitespace: only such text needs NFKC. */
const NON_ASCII = /[^ -~\t\n\r]/;
const PERCENT_ESCAPE = /%([2-7][0-9A-Fa-f])/g;
/** Ideographic full stops that browsers read as the dot of a domain name. */
const IDEOGRAPHIC_STOP = /[\u3002\uff61]/g;

/**
 * The text as a reader would see it: NFKC folds full-width and other compatibility forms
 * (`ｊｏｈｎ＠ｅｘａｍｐｌｅ．ｃｏｍ` → `john@example.com`), and printable `%XX` escapes are
 * decoded so that `?email=jane%40example.com` is seen as the address it is.
 */
export function normalizeForPii(value: string): string {
  let text = value;
  // NFKC only when there is something to fold: it is the most expensive step.
  if (NON_ASCII.test(text)) text = text.normalize('NFKC').replace(IDEOGRAPHIC_STOP, '.');
  if (text.includes('%')) {
    text = text.replace(PERCENT_ESCAPE, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
  }
  return text;
}

/**
 * Finds e-mail addresses and phone numbers in linear time.
 *
 * - **E-mail**: an `@` with 1–64 local-part characters before it and a domain after it (up to
 *   255 characters) whose last label is two or more letters of any script or an `xn--` label.
 * - **Phone**: a run of digits and separators (space `( ) . - /`, a leading `+`) with 10–15
 *   digits, no more than two separators in a row, not glued to a word (a letter or digit, or a
 *   letter or digit behind one of `- . _ / #`, right before or after it), that starts with `+`,
 *   or with a trunk prefix (`0` then 1–9, or `00` then 1–9), or is grouped the North American way
 *   (`(415) 555-0100`). Digits alone without `+` or `0` (`4006381333931`, `20261206101500`),
 *   decimals (`0.0000000123`) and dates are not phone numbers.
 */
export function scanPii(value: string): PiiScan {
  const text = normalizeForPii(value);
  const matches: PiiMatch[] = [];
  const n = text.length;
  work = n;
  // Where the previous `@` was: a later one never looks back past it, so backward looks cannot
  // overlap and each character is looked at boundedly often.
  let lastAt = -1;
  // The sweep jumps from one character that can start something (`@`, a digit, `+`, `(`) to the
  // next with a one-character-class pattern: native speed, and it cannot backtrack.
  const next = new RegExp(INTERESTING);
  for (let i = 0; i < n; ) {
    // A few characters by hand first: dense input (`a@a@…`) would pay a pattern call per character.
    const stop = Math.min(n, i + 16);
    while (i < stop && !isStart(text.charCodeAt(i))) i++;
    if (i === n) break;
    if (i === stop) {
      next.lastIndex = i;
      if (!next.test(text)) break;
      i = next.lastIndex - 1;
    }
    if (text.charCodeAt(i) === 64) {
      const start = emailStart(text, i, lastAt);
      const end = start < 0 ? -1 : emailEnd(text, i);
      lastAt = i;
      if (end < 0) {
        i++;
        continue;
      }
      // A digit run already recorded inside the local part is part of the address.
      while (matches.length && matches.at(-1)!.start >= start) matches.pop();
      matches.push({ kind: 'email', start, end });
      i = end;
      continue;
    }
    const end = phoneRunEnd(text, i);
    if (phoneEnd >= 0) matches.push({ kind: 'phone', start: i, end: phoneEnd });
    i = Math.max(end, i + 1);
  }
  return { text, matches, steps: work };
}

/**
 * Characters visited by the scan in progress. The helpers below add to it instead of returning
 * objects: the sweep calls them once per `@` or digit run, and allocation would dominate.
 */
let work = 0;
/** Where the phone number found by the last {@link phoneRunEnd} ends, or -1. */
let phoneEnd = -1;

/** Where the local part before the `@` at `at` starts, or -1 when there is none. */
function emailStart(text: string, at: number, lastAt: number): number {
  let start = at;
  const floor = Math.max(lastAt + 1, at - MAX_LOCAL);
  while (start > floor && has(text, start - 1, LOCAL)) start--;
  work += at - start;
  while (start < at && text.charCodeAt(start) === 46) start++;
  return start === at ? -1 : start;
}

/** Where the domain after the `@` at `at` ends, or -1 when it is not a domain name. */
function emailEnd(text: string, at: number): number {
  let end = at + 1;
  let sawDot = false;
  const ceiling = Math.min(text.length, at + 1 + MAX_DOMAIN);
  while (end < ceiling && has(text, end, DOMAIN)) {
    if (text.charCodeAt(end) === 46) sawDot = true;
    end++;
  }
  work += end - at - 1;
  if (!sawDot) return -1;
  // A sentence's full stop or a dash after the address is not part of it. The domain is at most
  // 255 characters, so these checks stay within the bound.
  const domain = text.slice(at + 1, end).replace(TRAILING_PUNCTUATION, '');
  const lastDot = domain.lastIndexOf('.');
  if (lastDot <= 0 || domain.includes('..') || !TLD.test(domain.slice(lastDot + 1))) return -1;
  return at + 1 + domain.length;
}

/**
 * Reads the run of digits and separators starting at `start` and returns where it ends; sets
 * {@link phoneEnd} to the end of the phone number it holds, or -1.
 */
function phoneRunEnd(text: string, start: number): number {
  phoneEnd = -1;
  let end = start;
  let digits = 0;
  let lastDigitEnd = start;
  let separatorRun = 0;
  let tooManySeparators = false;
  for (; end < text.length; end++) {
    const c = text.charCodeAt(end);
    if (isDigit(c)) {
      digits++;
      separatorRun = 0;
      lastDigitEnd = end + 1;
    } else if ((c < 128 && (ASCII[c]! & PHONE_SEPARATOR) !== 0) || (c === 43 && end === start)) {
      if (++separatorRun > 2) tooManySeparators = true;
    } else break;
  }
  work += end - start;
  if (tooManySeparators || digits < PHONE_MIN_DIGITS || digits > PHONE_MAX_DIGITS) return end;
  if (gluedBefore(text, start) || gluedAfter(text, lastDigitEnd)) return end;
  const candidate = text.slice(start, lastDigitEnd);
  if (DAY_MONTH_YEAR.test(candidate)) return end;
  const digitsOnly = candidate.replace(/\D/g, '');
  const phone =
    candidate.startsWith('+') ||
    (/^\(?0/.test(candidate) && !/^\d+\.\d+$/.test(candidate) && /^(?:0[1-9]|00[1-9])/.test(digitsOnly)) ||
    NANP.test(candidate);
  if (phone) phoneEnd = lastDigitEnd;
  return end;
}

function gluedBefore(text: string, start: number): boolean {
  if (start === 0) return false;
  if (has(text, start - 1, WORD)) return true;
  // `tel.+49…`, `Tel.(0151)…`: a leading + or ( starts a number even after a joiner.
  const first = text.charCodeAt(start);
  if (first === 43 || first === 40) return false;
  return start >= 2 && has(text, start - 1, JOINER) && has(text, start - 2, WORD);
}

function gluedAfter(text: string, end: number): boolean {
  if (end >= text.length) return false;
  if (has(text, end, WORD)) return true;
  return end + 1 < text.length && has(text, end, JOINER) && has(text, end + 1, WORD);
}

/** Unix times 2001–2100 in seconds or milliseconds: long integers that are not phone numbers. */
const UNIX_SECONDS = [1e9, 4_102_444_800] as const;
const UNIX_MILLISECONDS = [1e12, 4_102_444_800_000] as const;

/**
 * A JSON number that reads as a phone number: an integer of 10–15 digits (`15112345678`, a
 * German mobile number once its leading 0 is lost) that is not a Unix time in seconds or
 * milliseconds between 2001 and 2100.
 */
export function isPhoneLikeNumber(value: number): boolean {
  if (!Number.isInteger(value)) return false;
  const abs = Math.abs(value);
  if (abs < 10 ** (PHONE_MIN_DIGITS - 1) || abs >= 10 ** PHONE_MAX_DIGITS) return false;
  const within = ([lo, hi]: readonly [number, number]) => abs >= lo && abs <= hi;
  return !within(UNIX_SECONDS) && !within(UNIX_MILLISECONDS);
}

/** What {@link detectPii} found: personal data, or a string too long to screen. */
export type PiiFinding = PiiKind | 'too-long';

/** The first kind of personal data in `value`, `'too-long'` past {@link PII_SCAN_LIMIT}, else undefined. */
export function detectPii(value: string | number): PiiFinding | undefined {
  if (typeof value === 'number') return isPhoneLikeNumber(value) ? 'phone' : undefined;
  if (value.length > PII_SCAN_LIMIT) return 'too-long';
  return scanPii(value).matches[0]?.kind;
}

/**
 * `value` with each e-mail address replaced by `[email]` and each phone number by `[phone]`. A
 * value with nothing to replace is returned as sent; one with replacements is returned in its
 * normalized form ({@link normalizeForPii}), since the offsets refer to it.
 */
export function scrubPii(value: string): string {
  const { text, matches } = scanPii(value);
  if (matches.length === 0) return value;
  let out = '';
  let from = 0;
  for (const m of matches) {
    out += `${text.slice(from, m.start)}[${m.kind}]`;
    from = m.end;
  }
  return out + text.slice(from);
}

/** Whether an id contains an e-mail address (ids cannot be scrubbed, so such an id is refused). */
export function containsEmail(id: string): boolean {
  return id.length <= PII_SCAN_LIMIT && scanPii(id).matches.some((m) => m.kind === 'email');
}
