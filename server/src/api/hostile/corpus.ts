/**
 * The named hostile values the suite always sends, beside what fast-check
 * generates: each broke a batch or a request once (finding 1 of the trust
 * review) or sits on an edge PostgreSQL or `Date.parse` treats specially.
 */

/** Strings PostgreSQL refuses (NUL) or cannot keep apart (lone surrogates become U+FFFD). */
export const POISON_STRINGS = [
  '\u0000',
  'a\u0000b',
  'ok\u0000',
  '\ud800',
  'a\ud800b',
  '\udfff',
  'x\udc00',
  '\udbff\ud800', // a high surrogate followed by another high one
  '\ud83d', // the first half of an emoji
] as const;

/** Timestamps that are not real instants in years 0001–9999. */
export const BAD_TIMESTAMPS = [
  '0000-01-01T00:00:00Z',
  '0000-12-31T23:59:59.999Z',
  '0001-01-01T00:00:00+00:01',
  '9999-12-31T23:59:59-00:01',
  '2026-02-30T00:00:00Z',
  '2025-02-29T12:00:00Z',
  '2026-04-31T00:00:00Z',
  '2026-01-01T24:00:00Z',
  '2026-01-01T23:60:00Z',
  '2026-01-01T23:59:60Z',
  '2026-00-10T00:00:00Z',
  '2026-13-01T00:00:00Z',
  '2026-01-01T00:00:00+24:00',
  '+010000-01-01T00:00:00Z',
  '-000001-01-01T00:00:00Z',
  '2026-01-01',
  '2026-01-01T00:00:00',
  'yesterday',
] as const;

/** Numbers at the edges of int4, int8, float8 and JavaScript's safe integers. */
export const EDGE_NUMBERS = [
  -0,
  -1,
  0.5,
  2_147_483_647,
  2_147_483_648,
  4_294_967_296,
  -2_147_483_649,
  Number.MAX_SAFE_INTEGER,
  2 ** 53 + 2,
  -(2 ** 63),
  1.7976931348623157e308,
  -1.7976931348623157e308,
  5e-324,
] as const;

/** Object keys that mean something to JavaScript or to a path syntax. */
export const EDGE_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  '',
  ' ',
  '.',
  'a.b',
  '0',
] as const;

/** Raw request bodies that are not the JSON they claim to be. */
export const RAW_BODIES: Array<{ name: string; body: string | Uint8Array<ArrayBuffer> }> = [
  { name: 'truncated JSON', body: '{"events":[{"eventId":"x"' },
  { name: 'empty body', body: '' },
  { name: 'a number too large for a double', body: '{"events":[1e400]}' },
  { name: 'NUL escaped in JSON', body: '{"events":[{"eventId":"a\\u0000b"}]}' },
  { name: 'lone surrogate escaped in JSON', body: '{"events":[{"eventId":"\\ud800"}]}' },
  { name: 'deep nesting', body: `${'['.repeat(5_000)}${']'.repeat(5_000)}` },
  { name: 'invalid UTF-8', body: new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]) },
  { name: 'a UTF-8 encoded surrogate (CESU)', body: new Uint8Array([0x22, 0xed, 0xa0, 0x80, 0x22]) },
  { name: 'a raw NUL byte', body: new Uint8Array([0x7b, 0x00, 0x7d]) },
  { name: 'JSON null', body: 'null' },
  { name: 'an array', body: '[]' },
  { name: 'a duplicate key', body: '{"events":[],"events":"x"}' },
];
