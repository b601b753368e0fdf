import type { Command } from 'commander';
import { UserError } from '../errors';
import { type GlobalOptions, withDatabase } from './context';
import { EXIT_CHECK_FAILED } from './scenarios';
import { datasetsDir, datasetsOption, seedSourceFrom } from './seed';

interface SimulateCliOptions {
  namespace?: string;
  name?: string;
  dataset?: string;
  datasets?: string;
  profile?: string;
  cut?: string;
  protocol?: 'user' | 'next-item';
  ks?: string;
  maxUsers?: number;
  scenarios?: string;
  guardrails?: string;
  batch?: string;
  reportsDir: string;
  embeddings?: string;
  shiftToNow: boolean;
}

/** `recsys simulate`: reset → seed → config → eval → scenarios → report bundle, once or for a batch. */
export function registerSimulateCommand(program: Command, globals: () => GlobalOptions) {
  program
    .command('simulate [fixture]')
    .description(
      'reset, seed, apply a config profile, evaluate offline, run scenarios and write reports/<namespace>/<timestamp>/. ' +
        'Exit codes: 0 every guardrail held, 3 a guardrail was breached or a scenario failed, 2 bad input, 1 crash (in --batch: any crashed run)',
    )
    .option('-n, --namespace <id>', 'namespace to (re)build; it is reset first')
    .option('--name <name>', 'run name in reports (default: the namespace)')
    .option('--dataset <name>', 'real dataset instead of a fixture: online-retail | movielens')
    .addOption(datasetsOption('data root of the real datasets'))
    .option('--profile <fileOrName>', 'config profile to save and activate (file or built-in name)')
    .option('--cut <iso>', 'evaluation cut (default: the dataset reference cut, else 80% through the data)')
    .option('--protocol <protocol>', 'evaluation protocol: user | next-item', 'user')
    .option('--ks <list>', 'cut-offs, comma-separated', '5,10,20')
    .option('--max-users <n>', 'evaluate at most n users', (v) => Number.parseInt(v, 10))
    .option('--scenarios <ids>', 'comma-separated scenario ids (default: all)')
    .option('--guardrails <file>', 'guardrails YAML (see server/guardrails.example.yml)')
    .option('--batch <file>', 'YAML list of runs; prints a pass/fail summary across them')
    .option('--reports-dir <dir>', 'where bundles go', 'reports')
    .option('--embeddings <setting>', 'builtin | off | transformer:<dir>', process.env.RECSYS_EMBEDDINGS)
    .option('--no-shift-to-now', "keep the data's own timestamps when seeding")
    .action((fixture: string | undefined, opts: SimulateCliOptions) =>
      withDatabase(globals(), async (database) => {
        const { loadGuardrails } = await import('../lab/simulate/guardrails');
        const { createEncoder, parseEmbeddingsSetting } = await import('../config/settings');
        const guardrails = opts.guardrails ? loadGuardrails(opts.guardrails) : undefined;
        const encoder = await createEncoder(parseEmbeddingsSetting(opts.embeddings));
        const log = (line: string) => console.error(`  ${line}`);
        try {
          if (opts.batch) {
            if (fixture || opts.dataset)
              throw new UserError(
                'BAD_REQUEST',
                '--batch takes its runs from the file; drop the fixture/--dataset.',
              );
            const { runBatch } = await import('../lab/simulate/batch');
            const result = await runBatch(database, opts.batch, {
              encoder,
              reportsDir: opts.reportsDir,
              log,
              ...(guardrails ? { guardrails } : {}),
            });
            for (const r of result.runs) {
              console.log(
                `${r.status.toUpperCase().padEnd(5)} ${r.name} (${r.namespaceId})  scenarios ${r.scenarios.passed}/${r.scenarios.failed}/${r.scenarios.skipped}${
                  r.error
                    ? `  error: ${r.error}`
                    : r.breaches.length
                      ? `  breaches: ${r.breaches.join('; ')}`
                      : ''
                }${r.bundleDir ? `  ${r.bundleDir}` : ''}`,
              );
            }
            const passed = result.runs.filter((r) => r.status === 'pass').length;
            console.log(`${passed} of ${result.runs.length} runs passed. Summary: ${result.summaryPath}`);
            if (result.errored) process.exitCode = 1;
            else if (!result.passed) process.exitCode = EXIT_CHECK_FAILED;
            return;
          }
          if (!opts.namespace)
            throw new UserError(
              'BAD_REQUEST',
              'Pass the namespace to simulate with -n <id> (or use --batch).',
            );
          const ks = (opts.ks ?? '5,10,20').split(',').map((v) => Number(v.trim()));
          if (ks.some((k) => !Number.isInteger(k) || k < 1))
            throw new UserError('BAD_REQUEST', `--ks "${opts.ks}" must list whole numbers like 5,10,20.`);
          if (opts.protocol !== 'user' && opts.protocol !== 'next-item') {
            throw new UserError(
              'BAD_REQUEST',
              `--protocol "${opts.protocol}" is unknown; use user or next-item.`,
            );
          }
          const { runSimulation } = await import('../lab/simulate/runSimulation');
          const { renderSummaryMd } = await import('../lab/simulate/report');
          const result = await runSimulation(database, {
            name: opts.name ?? opts.namespace,
            namespaceId: opts.namespace,
            source: seedSourceFrom(fixture, { ...opts, datasets: await datasetsDir(opts) }),
            profile: opts.profile,
            cut: opts.cut,
            eval: { protocol: opts.protocol, ks, ...(opts.maxUsers ? { maxUsers: opts.maxUsers } : {}) },
            scenarios: opts.scenarios
              ?.split(',')
              .map((s) => s.trim())
              .filter(Boolean),
            shiftToNow: opts.shiftToNow,
            guardrails,
            reportsDir: opts.reportsDir,
            encoder,
            log,
          });
          console.log(renderSummaryMd(result));
          console.log(`Report: ${result.bundleDir}/report.html`);
          if (!result.passed) process.exitCode = EXIT_CHECK_FAILED;
        } finally {
          await encoder?.dispose();
        }
      }),
    );
}
