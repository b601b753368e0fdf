/**
 * PII screening speed on 1 MB of text: as one value (scanned without the per-value cap, to show
 * the scanner is linear) and as 1,024 meta values of 1 KB (what a 1 MB `/v1/collect` body can
 * carry). Several shapes, the pathological ones included. For comparison, the e-mail pattern the
 * server used before (quadratic on text without an `@`) on the 1 KB values only: on one 1 MB
 * value it would run for hours.
 *
 *   pnpm --filter @recsys/server bench:pii
 */
import { detectPii, scanPii } from '../src/ingest/contracts/pii';

const MB = 1024 * 1024;
const OLD_EMAIL = /[A-Z0-9._%+-]+@[A-Z0-9.-]+\.[A-Z]{2,}/i;

const shapes: Record<string, (n: number) => string> = {
  'prose, no personal data': (n) =>
    'The trail shoe 4006381333931 costs 89.50 EUR, order ORD-2026-000123 on 2026-12-06. '
      .repeat(n / 80 + 1)
      .slice(0, n),
  'one letter repeated': (n) => 'a'.repeat(n),
  'digits and spaces': (n) => '1 '.repeat(n / 2),
  'a@ repeated': (n) => 'a@'.repeat(n / 2),
  'full-width letters': (n) => 'ｊｏｈｎ'.repeat(n / 4),
};

function each(values: string[], screen: (value: string) => unknown): void {
  for (const value of values) screen(value);
}

function rate(run: () => void, bytes: number): string {
  run(); // warm-up (JIT)
  const runs = 5;
  const start = process.hrtime.bigint();
  for (let i = 0; i < runs; i++) run();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9 / runs;
  return `${(bytes / MB / seconds).toFixed(0).padStart(6)} MB/s (${(seconds * 1000).toFixed(1)} ms per MB)`;
}

console.log('PII screening, MB/s of UTF-16 text (1 MB = 1,048,576 characters)\n');
for (const [name, make] of Object.entries(shapes)) {
  const one = make(MB);
  const values = Array.from({ length: 1024 }, (_, i) => make(1024 + (i % 2)).slice(0, 1024));
  console.log(name);
  console.log(`  one 1 MB value         ${rate(() => scanPii(one), one.length)}`);
  console.log(`  1,024 values of 1 KB   ${rate(() => each(values, detectPii), 1024 * 1024)}`);
  if (name !== 'full-width letters') {
    const old = rate(() => each(values, (v) => OLD_EMAIL.test(v)), 1024 * 1024);
    console.log(`  before: old pattern    ${old}`);
  }
}
