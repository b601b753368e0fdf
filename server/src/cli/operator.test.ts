import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliStorage, openCliStorage, runRecsys } from '../testing';

const dir = mkdtempSync(join(tmpdir(), 'recsys-operator-'));
const reports = join(dir, 'reports');

writeFileSync(
  join(dir, 'shop.yml'),
  'generate:\n  template: retail\n  seed: 9\n  items: 60\n  sessions: 300\n',
);
writeFileSync(join(dir, 'ok.yml'), 'namespaces:\n  "*":\n    coverage: 0.01\n');
writeFileSync(join(dir, 'strict.yml'), 'namespaces:\n  "*":\n    coverage: 0.999\n');
writeFileSync(
  join(dir, 'tuned.yaml'),
  'name: tuned\nnote: more variety\nconfig:\n  diversity:\n    lambda: 0.6\n',
);

let storage: CliStorage;
beforeAll(async () => {
  storage = await openCliStorage('recsys-operator-');
});
afterAll(() => storage?.drop());
const recsys = (...args: string[]) =>
  runRecsys(args, { cwd: dir, env: { ...storage.env, RECSYS_EMBEDDINGS: 'builtin' } });

const SIM = [
  'simulate',
  'shop.yml',
  '-n',
  'cli-sim',
  '--reports-dir',
  reports,
  '--ks',
  '10',
  '--max-users',
  '80',
];
const FEW = ['--scenarios', 'filters.include-tags,exclusions.cart-items'];

describe('operator commands (seed, config, reset, scenarios, simulate) and their exit codes', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('seeds with an evidence file, versions configs, and resets', async () => {
    const seeded = await recsys('seed', 'shop.yml', '-n', 'cli-shop', '--reports-dir', reports);
    expect(seeded.code, seeded.stderr).toBe(0);
    expect(seeded.stdout).toMatch(/items\s+60 read, 60 stored, 0 duplicates, 0 rejected/);
    const evidence = readdirSync(join(reports, 'cli-shop')).filter((f) => f.startsWith('seed-'));
    expect(evidence).toHaveLength(1);
    const body = JSON.parse(readFileSync(join(reports, 'cli-shop', evidence[0]!), 'utf8'));
    expect(body.summary.users.bySegment).toBeTypeOf('object');

    expect((await recsys('config', 'set', 'tuned.yaml', '-n', 'cli-shop')).stdout).toMatch(/Saved version 1/);
    expect((await recsys('config', 'set', 'online-retail', '-n', 'cli-shop', '--activate')).stdout).toMatch(
      /Saved version 2 .*active now/,
    );
    expect((await recsys('config', 'activate', '1', '-n', 'cli-shop')).stdout).toMatch(
      /Activated version 1 .*was 2/,
    );
    const listed = (await recsys('config', 'list', '-n', 'cli-shop')).stdout;
    expect(listed).toMatch(/^ 2\t.*online-retail/m);
    expect(listed).toMatch(/^\*1\t.*tuned\tmore variety/m);
    expect((await recsys('config', 'rollback', '-n', 'cli-shop')).stdout).toMatch(/to version 2 \(was 1\)/);
    const shown = JSON.parse((await recsys('config', 'show', '-n', 'cli-shop', '--json')).stdout);
    expect(shown).toMatchObject({ version: 2, name: 'online-retail' });

    writeFileSync(join(dir, 'typo.json'), '{"diversity":{"lamda":0.5}}');
    const typo = await recsys('config', 'set', 'typo.json', '-n', 'cli-shop');
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/diversity: unknown key "lamda"; allowed here: lambda/);

    const reset = await recsys('reset', '-n', 'cli-shop', '--reports-dir', reports);
    expect(reset.code).toBe(0);
    expect(reset.stdout).toMatch(/items\s+60 deleted/);
    expect(readdirSync(join(reports, 'cli-shop')).some((f) => f.startsWith('reset-'))).toBe(true);
  });

  it('exits 0 when guardrails hold and 3 when one is breached, writing the bundle either way', async () => {
    const ok = await recsys(...SIM, ...FEW, '--guardrails', 'ok.yml');
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/# Simulation cli-sim: PASS/);
    const bundle = ok.stdout.match(/Report: (.*)\/report\.html/)?.[1];
    expect(bundle && existsSync(join(bundle, 'metadata.json'))).toBe(true);

    const breach = await recsys(...SIM, ...FEW, '--guardrails', 'strict.yml');
    expect(breach.code).toBe(3);
    expect(breach.stdout).toMatch(/BREACH coverage@10 engine\/all: expected >= 0\.999/);

    const bad = await recsys(...SIM, '--guardrails', 'missing.yml');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/Cannot read missing\.yml/);
  });

  it('exits 3 from scenarios when a deliberately bad config breaks one, 0 after rollback', async () => {
    writeFileSync(join(dir, 'collapse.json'), '{"diversity":{"lambda":0}}');
    expect((await recsys('config', 'set', 'collapse.json', '-n', 'cli-sim', '--activate')).code).toBe(0);
    const only = ['--only', 'diversity.configured-relevance', '--csv', join(dir, 'scenarios.csv')];
    const failing = await recsys('scenarios', '-n', 'cli-sim', ...only);
    expect(failing.code).toBe(3);
    expect(failing.stdout).toMatch(/FAIL\s+diversity\.configured-relevance@1/);
    expect(readFileSync(join(dir, 'scenarios.csv'), 'utf8')).toMatch(
      /diversity\.configured-relevance,1,fail,/,
    );

    expect((await recsys('config', 'rollback', '-n', 'cli-sim')).code).toBe(0);
    const passing = await recsys('scenarios', '-n', 'cli-sim', ...only);
    expect(passing.code, passing.stdout).toBe(0);
  });
});
