import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import {
  type FixtureData,
  type FixtureEvent,
  type FixtureItem,
  type FixtureUser,
  generate,
  loadDataset,
  parseFixture,
  splitByTime,
  type TemplateName,
} from '@recsys/fixtures';
import { packageRoot } from '../../index';
import { loadRsc15 } from './rsc15';

/**
 * One offline-evaluation dataset: a catalog, users, and behaviour split in time. Every train event
 * happened strictly before `cutMs` and every test event at or after it; the engine only ever sees
 * `train` and is asked for predictions at `cutMs`.
 */
export interface EvalDataset {
  /** The catalog. Items created at or after the cut are unknown at prediction time and never recommended. */
  items: FixtureItem[];
  users: FixtureUser[];
  train: FixtureEvent[];
  test: FixtureEvent[];
  /** Shown in reports. */
  name: string;
  /**
   * The time cut (epoch ms): predictions are made "now = cutMs". Defaults to the earliest test event.
   * @default min(test ts)
   * @example Date.parse('2011-05-31T23:00:00Z')
   */
  cutMs?: number;
  /**
   * `time`: every test event is at or after the cut. `session`: the split is by session (session-rec's
   * protocol: test sessions end after the cut), so a test session's first clicks may precede it;
   * train events are still all before the cut.
   * @default 'time'
   */
  splitBy?: 'time' | 'session';
}

/** The repository root (this file is server/src/eval/dataset.ts). */
export const repoRoot = resolve(packageRoot, '..');

/** Where the real datasets live by default: beside the repository, never inside it. */
export const defaultDataDir = resolve(repoRoot, '../shared/data');

/** The reference cut of Online Retail: 2011-06-01 00:00 London time (BST). */
export const ONLINE_RETAIL_CUT = '2011-05-31T23:00:00Z';

/** Default cut of MovieLens small: the last ~1.7 years are test. */
export const MOVIELENS_CUT = '2017-01-01T00:00:00Z';

/**
 * Splits a dataset at `cutIso`: train = events before the cut, test = events at or after it.
 *
 * @example const ds = datasetFromSplit(await loadDataset('online-retail', dir), ONLINE_RETAIL_CUT, 'online-retail');
 */
export function datasetFromSplit(data: FixtureData, cutIso: string, name: string): EvalDataset {
  const { train, test } = splitByTime(data.events, cutIso);
  return { items: data.items, users: data.users, train, test, name, cutMs: Date.parse(cutIso) };
}

/** The time predictions are made at: the explicit cut, else the earliest test event. */
export function cutOf(dataset: EvalDataset): number {
  if (dataset.cutMs !== undefined) return dataset.cutMs;
  let min = Number.POSITIVE_INFINITY;
  for (const e of dataset.test) min = Math.min(min, Date.parse(e.ts));
  if (!Number.isFinite(min))
    throw new Error(`Dataset '${dataset.name}' has no test events; nothing to evaluate.`);
  return min;
}

/**
 * Throws when the split is not strict (a train event at or after the cut, or a test event before it):
 * evaluation would otherwise see the future.
 */
export function assertStrictSplit(dataset: EvalDataset): number {
  const cut = cutOf(dataset);
  dataset.train.forEach((e, i) => {
    if (!(Date.parse(e.ts) < cut)) {
      throw new Error(
        `Dataset '${dataset.name}': train[${i}] (${e.ts}) is not before the cut ${new Date(cut).toISOString()}. ` +
          'Train and test must be separated in time; split one file with a time cut (--cut) instead.',
      );
    }
  });
  if (dataset.splitBy === 'session') return cut;
  dataset.test.forEach((e, i) => {
    if (Date.parse(e.ts) < cut) {
      throw new Error(
        `Dataset '${dataset.name}': test[${i}] (${e.ts}) is before the cut ${new Date(cut).toISOString()}.`,
      );
    }
  });
  return cut;
}

/** Options of {@link rollingFolds}. */
export interface RollingFoldOptions {
  /**
   * Number of folds.
   * @example 3
   */
  folds: number;
  /**
   * Length of each fold's test period, and the distance between consecutive cuts (ms).
   * @example 30 * 86_400_000
   */
  stepMs: number;
}

/**
 * Rolling time folds inside a dataset's *train* part, for tuning: fold i cuts at
 * `cut − (folds − i + 1) × step`, trains on every train event before that and tests on the next
 * `step`. The last fold's test period ends at the dataset's cut, so nothing at or after it — the period
 * a report is read on — is ever seen while tuning.
 *
 * @example rollingFolds(await loadEvalDataset({ source: 'online-retail' }), { folds: 3, stepMs: 30 * DAY })
 */
export function rollingFolds(dataset: EvalDataset, options: RollingFoldOptions): EvalDataset[] {
  const { folds, stepMs } = options;
  if (!Number.isInteger(folds) || folds < 1) {
    throw new Error(`rollingFolds: folds must be a whole number ≥ 1 (got ${folds}).`);
  }
  if (!(stepMs > 0))
    throw new Error(`rollingFolds: the fold step must be a positive duration (got ${stepMs} ms).`);
  if (dataset.splitBy === 'session') {
    throw new Error(
      `rollingFolds: '${dataset.name}' is split by session, not at a time cut; tune on its dev split (e.g. -s rsc15-dev) instead of folds.`,
    );
  }
  const end = assertStrictSplit(dataset);
  const events = dataset.train.map((event) => ({ event, ms: Date.parse(event.ts) }));
  return Array.from({ length: folds }, (_, i) => {
    const cut = end - (folds - i) * stepMs;
    const train = events.filter((e) => e.ms < cut).map((e) => e.event);
    const test = events.filter((e) => e.ms >= cut && e.ms < cut + stepMs).map((e) => e.event);
    const cutIso = new Date(cut).toISOString();
    if (train.length === 0 || test.length === 0) {
      throw new Error(
        `rollingFolds: fold ${i + 1} (cut ${cutIso}) has ${train.length} train and ${test.length} test events; use fewer folds or a shorter step.`,
      );
    }
    return {
      items: dataset.items,
      users: dataset.users,
      train,
      test,
      name: `${dataset.name} fold ${i + 1} (${cutIso.slice(0, 10)})`,
      cutMs: cut,
    };
  });
}

/** Where {@link loadEvalDataset} reads from. */
export type EvalSource =
  | {
      source: 'generator';
      /**
       * Generator template.
       * @default 'retail'
       * @example 'media'
       */
      template?: TemplateName;
      /** @default 1 */
      seed?: number;
      /** @default 400 */
      items?: number;
      /** @default 8000 */
      events?: number;
      /** @default 60 */
      days?: number;
      /**
       * Cut (ISO-8601 with zone). Defaults to the point where 80 % of the span has passed.
       * @example '2024-02-20T00:00:00Z'
       */
      cut?: string;
    }
  | {
      source: 'online-retail' | 'movielens';
      /**
       * Data root holding `online-retail/` and `movielens-small/`, or the dataset's own folder.
       * @default '<repo>/../shared/data'
       */
      dataDir?: string;
      /**
       * Cut (ISO-8601 with zone).
       * @default ONLINE_RETAIL_CUT ('2011-05-31T23:00:00Z') or MOVIELENS_CUT ('2017-01-01T00:00:00Z')
       */
      cut?: string;
    }
  | {
      /**
       * Session-rec's RSC15 100k sample: `rsc15` trains on the training part and tests on the
       * validation day; `rsc15-dev` holds out the training part's last day (tune there).
       */
      source: 'rsc15' | 'rsc15-dev';
      /**
       * Data root holding `rsc15-sample/`, or that folder itself.
       * @default '<repo>/../shared/data'
       */
      dataDir?: string;
    }
  | {
      source: 'files';
      /**
       * A fixture JSON file (explicit items/users/events) split at `cut`, or — with `testFile` — the
       * train half.
       * @example 'shop.json'
       */
      file: string;
      /** A second fixture JSON holding the test events (its items/users are merged in). */
      testFile?: string;
      /** Cut (required without `testFile`; with it, defaults to the earliest test event). */
      cut?: string;
      /** @default the file name */
      name?: string;
    };

async function readFixtureFile(path: string): Promise<FixtureData> {
  const fixture = parseFixture(await readFile(path, 'utf8'), { source: path });
  if ('generate' in fixture) return generate(fixture.generate);
  return { items: fixture.items, users: fixture.users, events: fixture.events };
}

/**
 * Loads a dataset for {@link runEvaluation}: generated data (works on a fresh clone), one of the real
 * datasets, or fixture files.
 *
 * @example const ds = await loadEvalDataset({ source: 'online-retail' });
 * @example const ds = await loadEvalDataset({ source: 'generator', template: 'retail', seed: 7 });
 */
export async function loadEvalDataset(opts: EvalSource): Promise<EvalDataset> {
  switch (opts.source) {
    case 'generator': {
      const template = opts.template ?? 'retail';
      const days = opts.days ?? 60;
      const start = '2024-01-01T00:00:00.000Z';
      const data = generate({
        template,
        seed: opts.seed ?? 1,
        items: opts.items ?? 400,
        events: opts.events ?? 8000,
        days,
        start,
      });
      const cut = opts.cut ?? new Date(Date.parse(start) + 0.8 * days * 86_400_000).toISOString();
      return datasetFromSplit(data, cut, `generator:${template}`);
    }
    case 'online-retail':
    case 'movielens': {
      const dir = opts.dataDir ?? defaultDataDir;
      const data = await loadDataset(opts.source, dir);
      const cut = opts.cut ?? (opts.source === 'online-retail' ? ONLINE_RETAIL_CUT : MOVIELENS_CUT);
      return datasetFromSplit(data, cut, opts.source);
    }
    case 'rsc15':
    case 'rsc15-dev':
      return loadRsc15(opts.dataDir ?? defaultDataDir, opts.source === 'rsc15' ? 'valid' : 'dev');
    case 'files': {
      const name = opts.name ?? opts.file;
      const first = await readFixtureFile(opts.file);
      if (opts.testFile === undefined) {
        if (opts.cut === undefined) {
          throw new Error(
            `loadEvalDataset: '${opts.file}' alone needs a cut (e.g. --cut 2024-03-01T00:00:00Z), or give a test file.`,
          );
        }
        return datasetFromSplit(first, opts.cut, name);
      }
      const second = await readFixtureFile(opts.testFile);
      const items = new Map(first.items.map((i) => [i.itemId, i]));
      for (const i of second.items) if (!items.has(i.itemId)) items.set(i.itemId, i);
      const users = new Map(first.users.map((u) => [u.userId, u]));
      for (const u of second.users) if (!users.has(u.userId)) users.set(u.userId, u);
      const dataset: EvalDataset = {
        items: [...items.values()],
        users: [...users.values()],
        train: first.events,
        test: second.events,
        name,
      };
      if (opts.cut !== undefined) dataset.cutMs = Date.parse(opts.cut);
      assertStrictSplit(dataset);
      return dataset;
    }
    default:
      throw new Error(
        `loadEvalDataset: unknown source ${JSON.stringify((opts as { source?: unknown }).source)}; use generator, online-retail, movielens, rsc15, rsc15-dev or files.`,
      );
  }
}
