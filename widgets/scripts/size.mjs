#!/usr/bin/env node
// Prints the gzip size of each widget build and exits 1 when one is over its budget.
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const budgets = [
  { file: 'dist/recsys-full.js', label: 'SDK + widgets + Preact (script tag)', limit: 16 * 1024 },
  {
    file: 'dist/recsys-widgets.js',
    label: 'widgets + Preact (script tag, SDK loaded separately)',
    limit: Number.POSITIVE_INFINITY,
  },
  {
    file: 'dist/index.js',
    label: 'ESM entry (preact + SDK external, informational)',
    limit: Number.POSITIVE_INFINITY,
  },
];

const kb = (n) => `${(n / 1024).toFixed(2)} KB`;
let failed = false;
for (const { file, label, limit } of budgets) {
  let code;
  try {
    code = readFileSync(new URL(`../${file}`, import.meta.url));
  } catch {
    console.error(`✗ ${file} is missing: run \`pnpm --filter @recsys/widgets build\` first`);
    failed = true;
    continue;
  }
  const gz = gzipSync(code, { level: 9 }).length;
  const over = gz > limit;
  failed ||= over;
  const budget = Number.isFinite(limit) ? ` / budget ${kb(limit)}` : '';
  console.log(
    `${over ? '✗' : '✓'} ${file.padEnd(24)} ${kb(code.length).padStart(9)} min, ${kb(gz).padStart(8)} gzip${budget}  ${label}`,
  );
}
process.exit(failed ? 1 : 0);
