import { describe, expect, it } from 'vitest';
import { containsEmail, detectPii, isPhoneLikeNumber, PII_SCAN_LIMIT, scanPii, scrubPii } from './pii';

/** Inputs built to make a backtracking pattern retry from every position. */
const adversarial: Record<string, (n: number) => string> = {
  'one long local part': (n) => 'a'.repeat(n),
  'a local part with no domain': (n) => `${'a.'.repeat(n / 2)}@`,
  'only at-signs': (n) => '@'.repeat(n),
  'alternating a@': (n) => 'a@'.repeat(n / 2),
  'addresses without a top-level domain': (n) => 'a@b.'.repeat(n / 4),
  'long locals and domains between at-signs': (n) =>
    `${'x'.repeat(64)}@${'b.'.repeat(127)}1`.repeat(Math.ceil(n / 320)).slice(0, n),
  'one long digit run': (n) => '1'.repeat(n),
  'digits and spaces': (n) => '1 '.repeat(n / 2),
  'trunk zeros': (n) => '0'.repeat(n),
  'plus signs and digits': (n) => '+1'.repeat(n / 2),
  brackets: (n) => '(1'.repeat(n / 2),
  'glued ids': (n) => 'ORD-2026-000123 '.repeat(Math.ceil(n / 16)).slice(0, n),
  'phone-length runs': (n) => '0151 12345678 x '.repeat(Math.ceil(n / 16)).slice(0, n),
};

describe('PII detection work', () => {
  it.each(Object.entries(adversarial))('visits each character a bounded number of times: %s', (_, make) => {
    for (const n of [1_000, 10_000, 100_000, 1_000_000]) {
      const text = make(n);
      const { steps } = scanPii(text);
      // Sweep, one backward and one forward look per address, one pass per digit run.
      expect(steps).toBeLessThanOrEqual(4 * text.length);
    }
  });

  it('finds an address at the end of a pathological 1 MB value in one bounded pass', () => {
    const text = `${'a'.repeat(1_000_000)} jane@example.com`;
    const scan = scanPii(text);
    expect(scan.matches).toEqual([{ kind: 'email', start: 1_000_001, end: text.length }]);
    expect(scan.steps).toBeLessThanOrEqual(4 * text.length);
  });

  it('refuses a value longer than the scan limit without scanning it', () => {
    expect(detectPii('a'.repeat(PII_SCAN_LIMIT))).toBeUndefined();
    expect(detectPii('a'.repeat(PII_SCAN_LIMIT + 1))).toBe('too-long');
    expect(detectPii('a'.repeat(1_000_000))).toBe('too-long');
  });
});

describe('e-mail addresses', () => {
  it.each([
    'jane@example.com',
    'mail me: jane.doe+shop@mail.example.co.uk.',
    'jörg@bücher.de',
    'ｊｏｈｎ＠ｅｘａｍｐｌｅ．ｃｏｍ',
    'anna@例え。テスト',
    'ivan@xn--e1afmkfd.xn--p1ai',
    'https://shop.example/checkout?email=a@b.com',
    'https://shop.example/checkout?email=jane%40example.com&step=2',
    "o'brien@example.ie",
  ])('finds one in %s', (value) => {
    expect(detectPii(value)).toBe('email');
  });

  it.each(['@scope/package', 'pkg@1.2.3', 'user@localhost', 'a@.com', 'twitter: @jane', 'price 5 @ 3.99'])(
    'does not take %s for one',
    (value) => {
      expect(detectPii(value)).toBeUndefined();
    },
  );

  it('scrubs the address and keeps the text around it, query strings included', () => {
    expect(scrubPii('write to jane@example.com today')).toBe('write to [email] today');
    expect(scrubPii('/checkout?email=jane@example.com&step=2')).toBe('/checkout?email=[email]&step=2');
    expect(scrubPii('/c?email=jane%40example.com')).toBe('/c?email=[email]');
    expect(scrubPii('ｊｏｈｎ＠ｅｘａｍｐｌｅ．ｃｏｍ')).toBe('[email]');
    expect(scrubPii('nothing here')).toBe('nothing here');
  });

  it('finds an address anywhere in an id', () => {
    expect(containsEmail('jane@example.com')).toBe(true);
    expect(containsEmail('user:JANE@EXAMPLE.COM')).toBe(true);
    expect(containsEmail('anon-6f1c2d')).toBe(false);
  });
});

describe('phone numbers', () => {
  it.each([
    '015112345678',
    '0151 12345678',
    '0151/1234567-8',
    '(0151) 1234 5678',
    '+49 151 12345678',
    '+4915112345678',
    '+49 (0)151 1234 5678',
    '0049 151 12345678',
    'call +1 (415) 555-0100',
    '(415) 555-0100',
    '415-555-0100',
    '415.555.0100',
    '1-415-555-0100',
    'tel:+4915112345678',
    'https://shop.example/contact?phone=015112345678',
    'https://shop.example/contact?phone=%2B4915112345678',
    '＋４９ １５１ １２３４５６７８',
  ])('finds one in %s', (value) => {
    expect(detectPii(value)).toBe('phone');
  });

  it.each([
    'ORD-2026-000123',
    'ORD 2026 000123',
    'order 0000123456',
    '2026-12-06T10:15:00Z',
    '2026-12-06 10:15:00',
    '06.12.2026 10:15',
    '20261206101500',
    '1733480100000',
    '1299.00',
    '1.234.567.890,00',
    '0.0000000123',
    'https://shop.example/p/4006381333931',
    'https://shop.example/p/sku-4006381333931?ref=home',
    '4006381333931',
    '+44 7700',
    'v1.2.3',
    'req_01HF3K4Z5X6Y7W8V9T0S',
  ])('does not take %s for one', (value) => {
    expect(detectPii(value)).toBeUndefined();
  });

  it('reads long integers as phone numbers unless they are Unix times', () => {
    expect(isPhoneLikeNumber(15112345678)).toBe(true);
    expect(isPhoneLikeNumber(4915112345678)).toBe(true);
    expect(isPhoneLikeNumber(14155550100)).toBe(true);
    expect(detectPii(15112345678)).toBe('phone');
    expect(isPhoneLikeNumber(1733480100)).toBe(false);
    expect(isPhoneLikeNumber(1733480100000)).toBe(false);
    expect(isPhoneLikeNumber(123456789)).toBe(false);
    expect(isPhoneLikeNumber(1299.99)).toBe(false);
    expect(isPhoneLikeNumber(2026)).toBe(false);
  });

  it('scrubs each number and address in a sentence', () => {
    expect(scrubPii('mail jane@example.com or +44 7700 900123, or 0151 12345678.')).toBe(
      'mail [email] or [phone], or [phone].',
    );
  });
});
