import { describe, expect, it } from 'vitest';
import { loadEvalDataset, rollingFolds } from './dataset';
import {
  formatLeaderboard,
  parseDuration,
  parseGridSpec,
  renderScatterText,
  runTuning,
  setPath,
} from './tune';

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

  it('cuts rolling folds inside the train part only, each testing the period after its cut, the last ending at the cut', async () => {
    const ds = await loadEvalDataset({ source: 'generator', seed: 4, items: 150, events: 3000 });
    const day = 86_400_000;
    const folds = rollingFolds(ds, { folds: 3, stepMs: 5 * day });
    expect(folds.map((f) => f.cutMs)).toEqual([
      ds.cutMs! - 15 * day,
      ds.cutMs! - 10 * day,
      ds.cutMs! - 5 * day,
    ]);
    const trainIds = new Set(ds.train.map((e) => e.eventId));
    for (const fold of folds) {
      const cut = fold.cutMs!;
      expect(fold.train.length).toBeGreaterThan(0);
      expect(fold.test.length).toBeGreaterThan(0);
      expect(fold.train.every((e) => Date.parse(e.ts) < cut)).toBe(true);
      expect(fold.test.every((e) => Date.parse(e.ts) >= cut && Date.parse(e.ts) < cut + 5 * day)).toBe(true);
      // Nothing from the report period (at or after the dataset's cut) is in any fold.
      expect([...fold.train, ...fold.test].every((e) => trainIds.has(e.eventId))).toBe(true);
      expect(fold.train.length).toBe(ds.train.filter((e) => Date.parse(e.ts) < cut).length);
    }
    expect(folds[2]!.test.at(-1)!.ts < new Date(ds.cutMs!).toISOString()).toBe(true);
    expect(() => rollingFolds(ds, { folds: 40, stepMs: 5 * day })).toThrow(/fold 1 .* 0 train .*fewer folds/);
    expect(() => rollingFolds(ds, { folds: 0, stepMs: day })).toThrow(/whole number/);
    expect(parseDuration('30d')).toBe(30 * day);
    expect(parseDuration('soon')).toBeUndefined();
  });

  it('scores every trial on each fold and ranks by the worst one, with the mean and spread beside it', async () => {
    const ds = await loadEvalDataset({ source: 'generator', seed: 4, items: 150, events: 3000 });
    const folds = rollingFolds(ds, { folds: 2, stepMs: 6 * 86_400_000 });
    const grid = { 'blend.forUser.buyAgain': [0, 3], 'blend.forUser.popular': [0, 1] };
    const evaluation = { protocol: 'user' as const, ks: [10] };
    const result = await runTuning(folds, { grid, evaluation });
    const alone = await Promise.all(folds.map((fold) => runTuning(fold, { grid, evaluation })));
    expect(result.folds).toEqual(folds.map((f) => f.name));
    expect(result.trials).toHaveLength(4);
    for (const trial of result.trials) {
      const scores = alone.map((r) => r.trials.find((t) => t.id === trial.id)!.score);
      expect(trial.folds!.scores).toEqual(scores);
      expect(trial.score).toBe(Math.min(...scores));
      expect(trial.folds!.mean).toBeCloseTo((scores[0]! + scores[1]!) / 2, 12);
      expect(trial.folds!.spread).toBeCloseTo(Math.abs(scores[0]! - scores[1]!), 12);
    }
    for (let i = 1; i < result.trials.length; i++) {
      expect(result.trials[i - 1]!.score).toBeGreaterThanOrEqual(result.trials[i]!.score);
    }
    const table = formatLeaderboard(result);
    expect(table.split('\n')[0]).toMatch(/ndcg@10 worst +mean +spread +fold 1 +fold 2/);
  });
});
