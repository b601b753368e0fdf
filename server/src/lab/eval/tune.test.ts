import { describe, expect, it } from 'vitest';
import { loadEvalDataset } from './dataset';
import { parseGridSpec, renderScatterText, runTuning, setPath } from './tune';

describe('tuning', () => {
  it('parses grid specs with numbers, durations and booleans, and rejects malformed ones', () => {
    expect(parseGridSpec('blend.forUser.buyAgain=0.5,1,2')).toEqual(['blend.forUser.buyAgain', [0.5, 1, 2]]);
    expect(parseGridSpec('profile.halfLifeMs=14d,12h')).toEqual([
      'profile.halfLifeMs',
      [14 * 86_400_000, 12 * 3_600_000],
    ]);
    expect(parseGridSpec('excludePurchased.forUser=true,false')).toEqual([
      'excludePurchased.forUser',
      [true, false],
    ]);
    expect(() => parseGridSpec('buyAgain')).toThrow(/expected <config.path>=<v1>/);
    expect(() => parseGridSpec('blend.forUser.buyAgain=')).toThrow(/at least one value/);
  });

  it('sets a nested config path without touching the original', () => {
    const base = { blend: { forUser: { covisit: 1 } } };
    expect(setPath(base, 'blend.forUser.buyAgain', 2)).toEqual({
      blend: { forUser: { covisit: 1, buyAgain: 2 } },
    });
    expect(base).toEqual({ blend: { forUser: { covisit: 1 } } });
  });

  it('ranks every grid combination by the objective, best first, and reports an invalid value clearly', async () => {
    const ds = await loadEvalDataset({ source: 'generator', seed: 4, items: 150, events: 3000 });
    const result = await runTuning(ds, {
      grid: { 'blend.forUser.buyAgain': [0, 3], 'blend.forUser.popular': [0, 1] },
      evaluation: { protocol: 'user', ks: [10] },
    });
    expect(result.trials).toHaveLength(4);
    expect(result.objective).toEqual({ metric: 'ndcg@10', relevance: 'all', segment: 'warm' });
    for (let i = 1; i < result.trials.length; i++) {
      expect(result.trials[i - 1]!.score).toBeGreaterThanOrEqual(result.trials[i]!.score);
    }
    expect(result.best.config).toEqual({
      blend: {
        forUser: {
          buyAgain: result.best.params['blend.forUser.buyAgain'],
          popular: result.best.params['blend.forUser.popular'],
        },
      },
    });
    expect(renderScatterText(result)).toMatch(/\*/);
    await expect(
      runTuning(ds, { grid: { 'diversity.lambda': [2] }, evaluation: { protocol: 'user', ks: [10] } }),
    ).rejects.toThrow(/invalid config/);
  });
});
