import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../db/client';
import { packageRoot } from '../paths';
import { getTestDatabaseTargets, startTestServer } from '../testing';

const run = promisify(execFile);
const readme = readFileSync(resolve(packageRoot, '..', 'README.md'), 'utf8');

/** The first fenced block of `language` after `label` inside the README's REST section. */
function snippet(label: string, language: string): string {
  const section = readme.slice(readme.indexOf('## REST and OpenAPI'));
  const at = section.indexOf(label);
  if (at < 0) throw new Error(`README's REST section has no "${label}"`);
  const block = new RegExp(`\`\`\`${language}\\n([\\s\\S]*?)\`\`\``).exec(section.slice(at));
  if (!block) throw new Error(`no \`\`\`${language} block after "${label}" in README.md`);
  return block[1]!;
}

/**
 * The README's `# → …` comments: what each step prints. `…` stands for anything; the rest must
 * appear verbatim in the output, in order.
 */
function promisedOutputs(code: string): RegExp[] {
  return [...code.matchAll(/# → (.+)$/gm)].map(
    (m) =>
      new RegExp(
        m[1]!
          .trim()
          .split('…')
          .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
          .join('.*?'),
      ),
  );
}

function expectInOrder(output: string, promised: RegExp[]) {
  expect(promised.length).toBeGreaterThan(0);
  let rest = output;
  for (const pattern of promised) {
    const found = pattern.exec(rest);
    expect(found, `README promises ${pattern} after:\n${rest}`).not.toBeNull();
    rest = rest.slice(found!.index + found![0].length);
  }
}

function hasPythonRequests(): boolean {
  try {
    execFileSync('python3', ['-c', 'import requests'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const python = hasPythonRequests();
if (!python) console.warn('python3 with `requests` is not installed: the Python quickstart is skipped.');

// The embedded database only: the snippets wait a fixed second for the engines, which a PostgreSQL
// server shared with other busy clients may not meet (an open transaction elsewhere holds back what
// a poll may read); the REST routes themselves are tested on both in rest.test.ts.
describe.each(getTestDatabaseTargets().slice(0, 1))("the README's REST quickstarts on $name", (target) => {
  let database: Database & { drop(): Promise<void> };
  let stack: Awaited<ReturnType<typeof startTestServer>>;

  beforeAll(async () => {
    database = await target.open();
    stack = await startTestServer(database, { engine: { encoder: null } });
  });
  afterAll(async () => {
    await stack?.close();
    await database?.drop();
  });

  it('runs the curl quickstart as written and prints what the README says', async () => {
    const tenant = await stack.tenant('quickstart-curl');
    const code = snippet('**curl**', 'sh');
    const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', code], {
      env: { ...process.env, RECSYS_URL: stack.url, RECSYS_KEY: tenant.secretKey },
    });
    expectInOrder(stdout, promisedOutputs(code));
    const similar = JSON.parse(stdout.trim().split('\n').at(-1)!) as { items: Array<{ itemId: string }> };
    expect(similar.items.map((i) => i.itemId)).toEqual(['sku-2']);
  });

  it.skipIf(!python)('runs the Python quickstart as written and prints what the README says', async () => {
    const tenant = await stack.tenant('quickstart-python');
    const code = snippet('**Python**', 'python');
    const { stdout } = await run('python3', ['-c', code], {
      env: { ...process.env, RECSYS_URL: stack.url, RECSYS_KEY: tenant.secretKey },
    });
    expectInOrder(stdout, promisedOutputs(code));
    expect(stdout.trim().split('\n')[0]).toBe('1 sku-2 Running socks');
  });
});
