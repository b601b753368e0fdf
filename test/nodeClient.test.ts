import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..');

/** Item ids listed under a heading of the example's output, in rank order. */
function section(output: string, heading: string): string[] {
  const start = output.indexOf(`\n${heading} (requestId `);
  if (start < 0) throw new Error(`"${heading}" is missing from the output:\n${output}`);
  const lines = output
    .slice(start + 1)
    .split('\n')
    .slice(1);
  const ids: string[] = [];
  for (const line of lines) {
    const match = /^ {2}(\d+)\. (\S+)/.exec(line);
    if (!match) break;
    expect(Number(match[1])).toBe(ids.length + 1);
    ids.push(match[2] ?? '');
  }
  return ids;
}

describe('node client example', () => {
  it('syncs a catalog, sends an order server-side and prints recommendations that reflect it', async () => {
    const { stdout } = await run('pnpm', ['--silent', '--filter', '@recsys/node-client-example', 'start'], {
      cwd: ROOT,
      timeout: 240_000,
      env: { ...process.env, LOG_LEVEL: 'warn' },
    });
    expect(stdout).toContain('Synced 12 items (0 rejected)');
    expect(stdout).toContain('Synced 8 customers');
    expect(stdout).toContain('Backfilled 22 purchase events');
    expect(stdout).toContain('Order o-1001 sent for ana (2 lines)');
    expect(stdout).toMatch(/User token for ana's pages: ut1\./);

    expect(section(stdout, 'Recommended for ana').length).toBeGreaterThanOrEqual(3);

    const similar = section(stdout, 'Similar to dripper-v60');
    expect(similar.length).toBeGreaterThan(0);
    expect(similar).not.toContain('dripper-v60');
    // Bought together with the dripper in most past orders.
    expect(similar).toContain('filters-02');

    // Both lines of the server-side order are things ana buys again.
    const buyAgain = section(stdout, 'Buy again for ana');
    expect(buyAgain).toContain('beans-house');
    expect(buyAgain).toContain('dripper-v60');

    const cart = section(stdout, 'For a cart with grinder-burr');
    expect(cart.length).toBeGreaterThan(0);
    expect(cart).not.toContain('grinder-burr');
  });
});
