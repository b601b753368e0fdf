import { writeFile } from 'node:fs/promises';
import type { PartialEngineConfig, Surface } from '@recsys/engine';
import { SURFACES } from '@recsys/engine/protocol';
import { TEMPLATE_NAMES, type TemplateName } from '@recsys/fixtures';
import cliProgress from 'cli-progress';
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { EvalDataset, EvalOptions, EvalSource } from '../lab/eval';

/** Dataset options shared by `recsys eval` and `recsys tune`. */
export interface DatasetCliOptions {
  source: EvalSource['source'];
  datasets?: string;
  cut?: string;
  file?: string;
  testFile?: string;
  template: TemplateName;
  seed: number;
  items?: number;
  events?: number;
}

/** Options shared by `recsys eval` and `recsys tune`. */
export interface EvalCliOptions extends DatasetCliOptions {
  protocol: 'user' | 'next-item' | 'cold-items';
  k: number[];
  profile?: string;
  config?: string;
  segmentBy?: string[];
  embeddings?: boolean;
  maxUsers?: number;
  surface?: Surface;
  progress: boolean;
}

const intArg = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer.`);
  return n;
};
const listArg = (value: string, previous: string[] = []) => [
  ...previous,
  ...value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
];
const ksArg = (value: string) =>
  value.split(',').map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 1 || n > 1000) {
      throw new InvalidArgumentError(`'${s}' is not a cut-off; use integers like 5,10,20.`);
    }
    return n;
  });

/** Adds the dataset and evaluation options to a command. */
export function addEvalOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('-s, --source <source>', 'dataset')
        .choices(['generator', 'online-retail', 'movielens', 'rsc15', 'rsc15-dev', 'files'])
        .default('generator'),
    )
    .addOption(
      new Option(
        '--datasets <dir>',
        'root of the real datasets (online-retail/, movielens-small/, rsc15-sample/); default: ../shared/data beside the repository',
      ).env('RECSYS_DATASETS'),
    )
    .option('--cut <iso>', 'time cut, ISO-8601 with zone (defaults per dataset)')
    .option(
      '--file <path>',
      'fixture JSON (source files): split at --cut, or the train half with --test-file',
    )
    .option('--test-file <path>', 'fixture JSON holding the test half (source files)')
    .addOption(
      new Option('--template <name>', 'generator template').choices(TEMPLATE_NAMES).default('retail'),
    )
    .option('--seed <n>', 'seed of the generator, the random baseline and sampling', intArg('--seed'), 1)
    .option('--items <n>', 'generator: catalog size', intArg('--items'))
    .option('--events <n>', 'generator: approximate event count', intArg('--events'))
    .addOption(
      new Option(
        '-p, --protocol <protocol>',
        'user-level, next-item, or cold-items (eval only: neighbours of items first sold after the cut)',
      )
        .choices(['user', 'next-item', 'cold-items'])
        .default('user'),
    )
    .option('-k, --k <list>', 'cut-offs, comma-separated', ksArg, [5, 10, 20])
    .option(
      '--profile <name|path>',
      'engine profile (a built-in name such as online-retail, or a JSON/YAML file)',
    )
    .option('--config <json>', 'engine config JSON merged over the profile')
    .option('--segment-by <traits>', 'break results down by user traits, e.g. country', listArg)
    .option('--embeddings', 'embed item text with the built-in encoder (embedding signal and ILD)')
    .option(
      '--max-users <n>',
      'evaluate at most n users (or sessions), sampled with --seed',
      intArg('--max-users'),
    )
    .addOption(
      new Option('--surface <surface>', 'engine surface for the user protocol').choices([...SURFACES]),
    )
    .option('--no-progress', 'no progress bar');
}

/** Loads the dataset the options name. */
export async function datasetFromCli(o: DatasetCliOptions): Promise<EvalDataset> {
  const { loadEvalDataset } = await import('../lab/eval');
  switch (o.source) {
    case 'generator':
      return loadEvalDataset({
        source: 'generator',
        template: o.template,
        seed: o.seed,
        ...(o.items !== undefined ? { items: o.items } : {}),
        ...(o.events !== undefined ? { events: o.events } : {}),
        ...(o.cut !== undefined ? { cut: o.cut } : {}),
      });
    case 'online-retail':
    case 'movielens':
      return loadEvalDataset({
        source: o.source,
        ...(o.datasets !== undefined ? { dataDir: o.datasets } : {}),
        ...(o.cut !== undefined ? { cut: o.cut } : {}),
      });
    case 'rsc15':
    case 'rsc15-dev':
      return loadEvalDataset({
        source: o.source,
        ...(o.datasets !== undefined ? { dataDir: o.datasets } : {}),
      });
    case 'files':
      if (o.file === undefined) throw new InvalidArgumentError('--source files needs --file <fixture.json>.');
      return loadEvalDataset({
        source: 'files',
        file: o.file,
        ...(o.testFile !== undefined ? { testFile: o.testFile } : {}),
        ...(o.cut !== undefined ? { cut: o.cut } : {}),
      });
  }
}

/** Profile config with `--config` merged over it (shallow per top-level key is enough for overrides). */
export async function configFromCli(
  o: Pick<EvalCliOptions, 'profile' | 'config'>,
): Promise<PartialEngineConfig> {
  const { loadProfile } = await import('../config');
  const base = o.profile !== undefined ? loadProfile(o.profile).config : {};
  if (o.config === undefined) return base;
  let extra: PartialEngineConfig;
  try {
    extra = JSON.parse(o.config) as PartialEngineConfig;
  } catch (error) {
    throw new InvalidArgumentError(`--config is not valid JSON: ${(error as Error).message}`);
  }
  return mergeDeep(base, extra);
}

function mergeDeep<T>(a: T, b: unknown): T {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null || Array.isArray(b)) {
    return (b === undefined ? a : b) as T;
  }
  const out: Record<string, unknown> = { ...(a as Record<string, unknown>) };
  for (const [k, v] of Object.entries(b)) out[k] = mergeDeep(out[k], v);
  return out as T;
}

/** A progress bar on stderr (only on a terminal). */
export function progressBar(enabled: boolean): {
  onProgress?: (done: number, total: number) => void;
  stop: () => void;
} {
  if (!enabled || !process.stderr.isTTY) return { stop: () => {} };
  const bar = new cliProgress.SingleBar(
    { stream: process.stderr, format: 'evaluating [{bar}] {percentage}% {value}/{total} | {eta}s left' },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    onProgress: (done, total) => {
      if (!started) {
        bar.start(total, 0);
        started = true;
      }
      bar.setTotal(total);
      bar.update(done);
    },
    stop: () => {
      if (started) bar.stop();
    },
  };
}

/** Evaluation options from CLI options. */
export async function evalOptionsFromCli(o: EvalCliOptions): Promise<EvalOptions> {
  if (o.protocol === 'cold-items') {
    throw new InvalidArgumentError(
      "-p cold-items is a protocol of 'recsys eval' alone; it tunes its one parameter on its own fold.",
    );
  }
  return {
    protocol: o.protocol,
    ks: o.k,
    config: await configFromCli(o),
    seed: o.seed,
    ...(o.segmentBy ? { segmentBy: o.segmentBy } : {}),
    ...(o.embeddings ? { embeddings: true } : {}),
    ...(o.maxUsers !== undefined ? { maxUsers: o.maxUsers } : {}),
    ...(o.surface !== undefined ? { surface: o.surface } : {}),
  };
}

/**
 * `recsys eval`: offline evaluation on a strict time split (no database needed).
 *
 * @example recsys eval --source online-retail --profile online-retail -k 10
 */
export function registerEvalCommand(program: Command): void {
  addEvalOptions(
    program
      .command('eval')
      .description(
        'offline evaluation on a strict time split: baselines, engine ablations and the engine, per segment',
      ),
  )
    .option('-m, --methods <list>', 'methods to run (default: all of the protocol)', listArg)
    .option('--json', 'print the report as JSON instead of tables')
    .option('-o, --out <file>', 'also write the report as JSON to a file')
    .addHelpText(
      'after',
      `
Examples:
  recsys eval                                          # generated retail shop, works on a fresh clone
  recsys eval -s online-retail --profile online-retail -k 10
  recsys eval -s online-retail -p next-item --max-users 2000
  recsys eval -s rsc15 -p next-item -k 20            # session-rec's RSC15 sample, validation day
  recsys eval -s files --file train.json --test-file test.json --segment-by country
  recsys eval -s online-retail --cut 2011-07-01T00:00:00+01:00 -p cold-items -k 10,20,50`,
    )
    .action(async (o: EvalCliOptions & { methods?: string[]; json?: boolean; out?: string }) => {
      const dataset = await datasetFromCli(o);
      if (o.protocol === 'cold-items') {
        const { formatColdItemReport, runColdItemProtocol } = await import('../lab/eval/coldItemProtocol');
        const report = await runColdItemProtocol(dataset, { k: o.k });
        const json = JSON.stringify(
          report,
          (_key, value: unknown) => (value instanceof Map ? Object.fromEntries(value) : value),
          2,
        );
        if (o.out !== undefined) await writeFile(o.out, `${json}\n`);
        console.log(o.json ? json : formatColdItemReport(report, o.k));
        return;
      }
      const options = await evalOptionsFromCli(o);
      const progress = progressBar(o.progress && !o.json);
      const { formatReportTable, runEvaluation } = await import('../lab/eval');
      let report: Awaited<ReturnType<typeof runEvaluation>>;
      try {
        report = await runEvaluation(dataset, {
          ...options,
          ...(o.methods ? { methods: o.methods } : {}),
          ...(progress.onProgress ? { onProgress: progress.onProgress } : {}),
        });
      } finally {
        progress.stop();
      }
      if (o.out !== undefined) await writeFile(o.out, `${JSON.stringify(report, null, 2)}\n`);
      console.log(o.json ? JSON.stringify(report, null, 2) : formatReportTable(report));
    });
}
