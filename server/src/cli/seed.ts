import { DATASET_NAMES, type DatasetName } from '@recsys/fixtures';
import { Presets, SingleBar } from 'cli-progress';
import { type Command, Option } from 'commander';
import { UserError } from '../errors';
import type { SeedSource } from '../lab/simulate/seed';
import { type GlobalOptions, withDatabase } from './context';

export interface SeedCliOptions {
  namespace: string;
  dataset?: string;
  /** Absent: `defaultDataDir`, looked up when a dataset is seeded. */
  datasets?: string;
  shiftToNow?: boolean;
  batchSize: number;
  reportsDir: string;
  progress: boolean;
  json?: boolean;
}

/** Builds the seed source from a positional fixture path or `--dataset`. */
export function seedSourceFrom(
  fixture: string | undefined,
  opts: { dataset?: string; datasets: string },
): SeedSource {
  if (fixture && opts.dataset) {
    throw new UserError('BAD_REQUEST', 'Give either a fixture file or --dataset, not both.');
  }
  if (opts.dataset) {
    if (!(DATASET_NAMES as readonly string[]).includes(opts.dataset)) {
      throw new UserError(
        'BAD_REQUEST',
        `Unknown dataset "${opts.dataset}"; use one of ${DATASET_NAMES.join(', ')}.`,
      );
    }
    return { kind: 'dataset', name: opts.dataset as DatasetName, dataDir: opts.datasets };
  }
  if (!fixture) {
    throw new UserError(
      'BAD_REQUEST',
      'Nothing to seed: pass a fixture file (JSON/YAML, explicit data or { "generate": {...} }) or --dataset online-retail|movielens.',
    );
  }
  return { kind: 'fixture', path: fixture };
}

/** `--datasets <dir>`: from the environment or the flag; see {@link datasetsDir} for the default. */
export function datasetsOption(description: string): Option {
  return new Option('--datasets <dir>', `${description} (default: ../shared/data beside the repository)`).env(
    'RECSYS_DATASETS',
  );
}

/** The `--datasets` folder, or the default one (imported on use, with the lab). */
export async function datasetsDir(opts: { datasets?: string | undefined }): Promise<string> {
  return opts.datasets ?? (await import('../lab/eval')).defaultDataDir;
}

/** A progress bar on stderr per phase; silent when stderr is not a terminal or `--no-progress`. */
export function createProgress(enabled: boolean) {
  const bar = new SingleBar(
    {
      format: '  {phase} [{bar}] {value}/{total}',
      hideCursor: true,
      stream: process.stderr,
      clearOnComplete: false,
    },
    Presets.shades_classic,
  );
  let phase: string | undefined;
  return {
    update(next: string, done: number, total: number) {
      if (!enabled) return;
      if (next !== phase) {
        if (phase) bar.stop();
        phase = next;
        bar.start(total, 0, { phase: next.padEnd(6) });
      }
      bar.update(done, { phase: next.padEnd(6) });
    },
    stop() {
      if (enabled && phase) bar.stop();
    },
  };
}

const intArg = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new UserError('BAD_REQUEST', `"${value}" is not a positive whole number.`);
  return n;
};

/** `recsys seed`: load a fixture or dataset into a namespace through the store functions the API uses. */
export function registerSeedCommand(program: Command, globals: () => GlobalOptions) {
  program
    .command('seed [fixture]')
    .description(
      'load a fixture file (JSON/YAML) or a real dataset into a namespace; writes an evidence file',
    )
    .requiredOption('-n, --namespace <id>', 'namespace (created when missing)')
    .option('--dataset <name>', `real dataset instead of a fixture: ${DATASET_NAMES.join(' | ')}`)
    .addOption(datasetsOption('data root holding online-retail/ and movielens-small/'))
    .option('--shift-to-now', 'move timestamps so the newest event is now (recency signals look live)')
    .option('--batch-size <n>', 'rows per store call (one short transaction each)', intArg, 500)
    .option('--reports-dir <dir>', 'where evidence files go', 'reports')
    .option('--no-progress', 'no progress bar')
    .option('--json', 'print the evidence as JSON on stdout')
    .action((fixture: string | undefined, opts: SeedCliOptions) =>
      withDatabase(globals(), async (database) => {
        const source = seedSourceFrom(fixture, { ...opts, datasets: await datasetsDir(opts) });
        const { loadSeed, seedNamespace } = await import('../lab/simulate/seed');
        const { writeEvidence } = await import('../lab/simulate/evidence');
        const loaded = await loadSeed(source);
        const progress = createProgress(opts.progress && Boolean(process.stderr.isTTY));
        const result = await seedNamespace(database, opts.namespace, loaded, {
          batchSize: opts.batchSize,
          shiftTo: opts.shiftToNow ? new Date() : undefined,
          onProgress: (phase, done, total) => progress.update(phase, done, total),
        }).finally(() => progress.stop());
        const path = writeEvidence(opts.reportsDir, opts.namespace, 'seed', {
          kind: 'seed',
          at: new Date().toISOString(),
          ...result,
        });
        if (opts.json) console.log(JSON.stringify(result, null, 2));
        else {
          const line = (
            name: string,
            c: { total: number; accepted: number; duplicates: number; rejected: number },
          ) =>
            `  ${name.padEnd(7)} ${c.total} read, ${c.accepted} stored, ${c.duplicates} duplicates, ${c.rejected} rejected`;
          console.log(
            `Seeded "${opts.namespace}" from ${result.source} in ${(result.timings.totalMs / 1000).toFixed(1)} s`,
          );
          console.log(line('items', result.items));
          console.log(line('users', result.users));
          console.log(line('events', result.events));
          console.log(
            `  segments: ${Object.entries(result.summary.users.bySegment)
              .map(([k, v]) => `${k} ${v}`)
              .join(', ')}`,
          );
        }
        console.error(`Evidence: ${path}`);
        const rejected = result.items.rejected + result.users.rejected + result.events.rejected;
        if (rejected > 0) {
          const first = [
            ...result.items.rejectedSamples,
            ...result.users.rejectedSamples,
            ...result.events.rejectedSamples,
          ][0];
          console.error(
            `warning: ${rejected} row(s) rejected; first: index ${first?.index} ${first?.path}: ${first?.message}. See the evidence file.`,
          );
        }
      }),
    );
}
