import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { loadProfile } from '../../index';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../../../bin/recsys.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'recsys-eval-'));

async function recsys(...args: string[]) {
  const { stdout, stderr } = await run(process.execPath, [bin, ...args], {
    env: { ...process.env, DATABASE_URL: '', RECSYS_DATA_DIR: join(dir, 'db') },
    maxBuffer: 16 * 1024 * 1024,
  });
  return { stdout, stderr };
}

describe('recsys eval and recsys tune on generated data', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints per-segment tables for both relevance definitions with baselines and the engine', async () => {
    const { stdout } = await recsys(
      'eval',
      '--items',
      '200',
      '--events',
      '4000',
      '-k',
      '5,10',
      '--no-progress',
    );
    expect(stdout).toMatch(/Dataset generator:retail — user protocol, K = 5, 10/);
    expect(stdout).toMatch(/Relevance: all/);
    expect(stdout).toMatch(/Relevance: discovery/);
    for (const method of [
      'random',
      'popular',
      'popular-30d',
      'buy-again',
      'covisit',
      'engine-covisit',
      'engine',
    ]) {
      expect(stdout).toMatch(
        new RegExp(`^${method.replace('+', '\\+')}\\s+(all|warm|cold)\\s+\\d+\\s+\\d\\.\\d{3}`, 'm'),
      );
    }
    expect(stdout).toMatch(/ndcg@10\s+recall@10\s+mrr@10\s+hit@10\s+cov@10/);
  });

  it('runs the next-item protocol and writes the report as JSON', async () => {
    const out = join(dir, 'report.json');
    await recsys(
      'eval',
      '-p',
      'next-item',
      '--items',
      '200',
      '--events',
      '4000',
      '-k',
      '10',
      '-o',
      out,
      '--no-progress',
    );
    const report = JSON.parse(readFileSync(out, 'utf8'));
    expect(report.protocol).toBe('next-item');
    const engine = report.rows.find(
      (r: { method: string; segment: string }) => r.method === 'engine' && r.segment === 'all',
    );
    expect(engine.users).toBeGreaterThan(0);
    expect(engine.metrics['hit@10']).toBeGreaterThanOrEqual(0);
  });

  it('tunes a grid, prints a leaderboard and chart, and saves the best profile and an SVG', async () => {
    const out = join(dir, 'tune');
    const { stdout } = await recsys(
      'tune',
      '--items',
      '200',
      '--events',
      '4000',
      '-k',
      '10',
      '--grid',
      'blend.forUser.buyAgain=0,2',
      '--grid',
      'profile.halfLifeMs=7d,60d',
      '--name',
      'gen-best',
      '--out',
      out,
      '--no-progress',
    );
    expect(stdout).toMatch(/Leaderboard/);
    expect(stdout).toMatch(/\* = best/);
    expect(existsSync(join(out, 'chart.svg'))).toBe(true);
    expect(readFileSync(join(out, 'chart.svg'), 'utf8')).toMatch(/^<svg[\s\S]*<circle[\s\S]*<\/svg>\n$/);
    const board = JSON.parse(readFileSync(join(out, 'leaderboard.json'), 'utf8'));
    expect(board.trials).toHaveLength(4);
    const profile = loadProfile(join(out, 'gen-best.json'));
    expect(profile.name).toBe('gen-best');
    expect(profile.config).toEqual(board.best.config);
    expect(board.trials[0].score).toBeGreaterThanOrEqual(board.trials[3].score);
  });

  it('tunes on rolling folds before the cut, ranks by the worst fold and records the folds in the profile', async () => {
    const out = join(dir, 'tune-folds');
    const args = ['--items', '200', '--events', '4000', '-k', '10', '--grid', 'blend.forUser.buyAgain=0,2'];
    const { stdout } = await recsys(
      'tune',
      ...args,
      '--folds',
      '2',
      '--fold-step',
      '5d',
      '--name',
      'gen-folds',
      '--out',
      out,
      '--no-progress',
    );
    expect(stdout).toMatch(
      /Folds \(ranked by the worst\): generator:retail fold 1 \(\d{4}-\d\d-\d\d\); generator:retail fold 2/,
    );
    expect(stdout).toMatch(/ndcg@10 worst +mean +spread +fold 1 +fold 2/);
    const board = JSON.parse(readFileSync(join(out, 'leaderboard.json'), 'utf8'));
    for (const trial of board.trials) expect(trial.score).toBe(Math.min(...trial.folds.scores));
    const profile = loadProfile(join(out, 'gen-folds.json')) as { provenance?: Record<string, unknown> };
    expect(profile.provenance?.foldScores).toEqual(board.best.folds);
    await expect(recsys('tune', ...args, '--folds', '2', '--fold-step', 'soon')).rejects.toMatchObject({
      stderr: expect.stringMatching(/--fold-step 'soon' is not a duration; use e.g. 30d/),
    });
  });
});
