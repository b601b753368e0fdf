import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { addEvalOptions, datasetFromCli, type EvalCliOptions, evalOptionsFromCli } from './eval';

interface TuneCliOptions extends EvalCliOptions {
  grid: string[];
  mode: 'grid' | 'random';
  trials?: number;
  metric?: string;
  relevance?: 'all' | 'discovery' | 'next-item';
  segment?: string;
  name?: string;
  save?: string;
  out?: string;
  top: number;
  folds?: number;
  foldStep: string;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];
const positive = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer.');
  return n;
};

/**
 * `recsys tune`: grid or random search over engine settings against the offline evaluation; prints
 * a leaderboard and an accuracy-vs-coverage chart and saves the best config as a named profile.
 *
 * @example recsys tune -s online-retail --profile online-retail -k 10 --grid blend.forUser.buyAgain=1,3,6
 */
export function registerTuneCommand(program: Command): void {
  addEvalOptions(
    program
      .command('tune')
      .description('search engine settings against the offline evaluation and save the best as a profile'),
  )
    .requiredOption(
      '-g, --grid <path=values>',
      'a config path and candidate values, repeatable (e.g. blend.forUser.buyAgain=0.5,1,2 or profile.halfLifeMs=14d,60d)',
      collect,
      [],
    )
    .addOption(
      new Option('--mode <mode>', 'every combination, or a seeded sample')
        .choices(['grid', 'random'])
        .default('grid'),
    )
    .option('--trials <n>', 'combinations tried in random mode (default 20)', positive)
    .option('--metric <name>', 'objective metric, e.g. ndcg@10 or recall@20 (default ndcg@<main K>)')
    .addOption(
      new Option('--relevance <r>', 'objective relevance').choices(['all', 'discovery', 'next-item']),
    )
    .option('--segment <name>', 'objective segment (default warm, else all)')
    .option('--name <name>', 'name of the saved profile (default <dataset>-tuned)')
    .option('--save <file>', 'where to write the best profile (default <out or .>/<name>.json)')
    .option('-o, --out <dir>', 'write leaderboard.json and chart.svg (accuracy vs coverage) there')
    .option(
      '--folds <n>',
      'tune on n rolling time folds before the cut (each tests the next --fold-step) and rank by the worst fold',
      positive,
    )
    .option('--fold-step <duration>', 'test period of each fold and distance between their cuts', '30d')
    .option('--top <n>', 'leaderboard rows printed', positive, 20)
    .addHelpText(
      'after',
      `
Example:
  recsys tune -s online-retail --profile online-retail -k 10 \\
    --grid blend.forUser.buyAgain=1,3,6 --grid profile.halfLifeMs=30d,60d,120d --out .tune

With --folds 3 (and --fold-step 30d), every combination is scored on three folds that all end at the
cut (tests from cut-90d to cut-60d, cut-60d to cut-30d, cut-30d to cut) and ranked by its worst fold;
then read the chosen profile's figures on the period after the cut with recsys eval.`,
    )
    .action(async (o: TuneCliOptions) => {
      const {
        formatLeaderboard,
        parseDuration,
        parseGridSpec,
        renderScatterSvg,
        renderScatterText,
        rollingFolds,
        runTuning,
      } = await import('../lab/eval');
      const { saveProfile } = await import('../config');
      const grid = Object.fromEntries(o.grid.map(parseGridSpec));
      const dataset = await datasetFromCli(o);
      const stepMs = parseDuration(o.foldStep);
      if (stepMs === undefined) {
        throw new InvalidArgumentError(`--fold-step '${o.foldStep}' is not a duration; use e.g. 30d or 12h.`);
      }
      const folds = o.folds === undefined ? undefined : rollingFolds(dataset, { folds: o.folds, stepMs });
      const evaluation = await evalOptionsFromCli(o);
      const { config: base, ...rest } = evaluation;
      const result = await runTuning(folds ?? dataset, {
        grid,
        mode: o.mode,
        ...(o.trials !== undefined ? { trials: o.trials } : {}),
        ...(base !== undefined ? { base } : {}),
        objective: {
          ...(o.metric !== undefined ? { metric: o.metric } : {}),
          ...(o.relevance !== undefined ? { relevance: o.relevance } : {}),
          ...(o.segment !== undefined ? { segment: o.segment } : {}),
        },
        evaluation: rest,
        onTrial: (t, done, total) =>
          console.error(`trial ${done}/${total} ${JSON.stringify(t.params)} → ${t.score.toFixed(4)}`),
      });
      console.log(
        `\nLeaderboard (${dataset.name}, ${result.objective.relevance}, segment ${result.objective.segment}):`,
      );
      if (result.folds) {
        console.log(
          `Folds (ranked by the worst): ${result.folds.join('; ')}. The period after the cut was not used.`,
        );
      }
      console.log(formatLeaderboard(result, o.top));
      console.log(`\n${renderScatterText(result)}`);
      const name = o.name ?? `${dataset.name.replace(/[^a-z0-9-]+/gi, '-')}-tuned`;
      if (o.out !== undefined) {
        await mkdir(o.out, { recursive: true });
        await writeFile(join(o.out, 'leaderboard.json'), `${JSON.stringify(result, null, 2)}\n`);
        await writeFile(join(o.out, 'chart.svg'), renderScatterSvg(result));
        console.log(`\nWrote ${resolve(o.out, 'leaderboard.json')} and ${resolve(o.out, 'chart.svg')}`);
      }
      const path = o.save ?? join(o.out ?? '.', `${name}.json`);
      const saved = saveProfile(
        {
          name,
          note: `Tuned on ${dataset.name}: best ${result.objective.metric} (${result.objective.relevance}) = ${result.best.score.toFixed(4)}`,
          config: result.best.config,
          provenance: {
            dataset: dataset.name,
            objective: result.objective,
            params: result.best.params,
            score: result.best.score,
            coverage: result.best.coverage,
            trials: result.trials.length,
            ...(result.best.folds ? { folds: result.folds, foldScores: result.best.folds } : {}),
          },
        },
        path,
      );
      console.log(`Best profile "${name}" saved to ${saved}`);
    });
}
