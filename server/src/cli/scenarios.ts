import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { UserError } from '../errors';
import type { ScenarioResult } from '../lab/scenarios';
import { type GlobalOptions, withDatabase } from './context';

/** Exit code when a scenario fails or a guardrail is breached (CI gates on it). */
export const EXIT_CHECK_FAILED = 3;

interface ScenariosCliOptions {
  namespace: string;
  url?: string;
  key?: string;
  only?: string;
  csv?: string;
  k: number;
  waitMs: number;
  guardrails?: string;
  embeddings?: string;
  json?: boolean;
  list?: boolean;
}

/** `recsys scenarios`: behavioural checks through the real API. */
export function registerScenariosCommand(program: Command, globals: () => GlobalOptions) {
  program
    .command('scenarios')
    .description(
      'run the behavioural scenario suite through the API: an in-process server over the configured database, or --url/--key. Exit codes: 0 all passed, 3 a scenario failed, 2 bad input, 1 crash',
    )
    .option('-n, --namespace <id>', 'namespace to check')
    .option('--url <url>', 'check a running server instead (with --key)')
    .option('--key <secretKey>', 'secret key of the namespace on --url', process.env.RECSYS_SECRET_KEY)
    .option('--only <ids>', 'comma-separated scenario ids')
    .option('--csv <file>', 'also write the results as CSV')
    .option('-k <k>', 'list length requested', (v) => Number.parseInt(v, 10), 10)
    .option(
      '--wait-ms <ms>',
      'longest wait for server-side work (embeddings)',
      (v) => Number.parseInt(v, 10),
      30_000,
    )
    .option('--guardrails <file>', 'guardrails YAML: scenario thresholds for the namespace')
    .option(
      '--embeddings <setting>',
      'in-process server: builtin | off | transformer:<dir>',
      process.env.RECSYS_EMBEDDINGS,
    )
    .option('--json', 'print results as JSON')
    .option('--list', 'list the scenarios and exit')
    .action(async (opts: ScenariosCliOptions) => {
      const {
        buildScenarioContext,
        createApiClient,
        formatScenarioTable,
        runScenarios,
        SCENARIOS,
        scenariosToCsv,
        startInProcessServer,
      } = await import('../lab/scenarios');
      if (opts.list) {
        for (const s of SCENARIOS) {
          console.log(
            `${s.id}@${s.version}\t${s.direction === 'min' ? '>=' : '<='} ${s.threshold}\t${s.description}`,
          );
        }
        return;
      }
      if (!opts.namespace) throw new UserError('BAD_REQUEST', 'Pass the namespace to check with -n <id>.');
      if (opts.url && !opts.key)
        throw new UserError('BAD_REQUEST', '--url needs --key (a secret key of the namespace).');
      const { loadGuardrails, rulesFor } = await import('../lab/simulate/guardrails');
      const rules = opts.guardrails ? rulesFor(loadGuardrails(opts.guardrails), opts.namespace) : undefined;
      const run = async (url: string, key: string) => {
        const ctx = await buildScenarioContext(createApiClient(url, key), opts.namespace, {
          k: opts.k,
          waitMs: opts.waitMs,
        });
        return runScenarios(ctx, {
          only: opts.only
            ?.split(',')
            .map((s) => s.trim())
            .filter(Boolean),
          thresholds: rules?.scenarios.thresholds,
          onResult: (r) => {
            if (!opts.json) console.error(`  ${r.status.toUpperCase().padEnd(4)} ${r.id} (${r.ms} ms)`);
          },
        });
      };
      let results: ScenarioResult[];
      if (opts.url) results = await run(opts.url, opts.key!);
      else {
        const { createEncoder, parseEmbeddingsSetting } = await import('../config/settings');
        results = await withDatabase(globals(), async (database) => {
          const encoder = await createEncoder(parseEmbeddingsSetting(opts.embeddings));
          const server = await startInProcessServer(database, opts.namespace, { encoder });
          try {
            return await run(server.url, server.key);
          } finally {
            await server.close();
            await encoder?.dispose();
          }
        });
      }
      if (opts.csv) writeFileSync(opts.csv, scenariosToCsv(results));
      console.log(opts.json ? JSON.stringify(results, null, 2) : formatScenarioTable(results));
      if (results.some((r) => r.status === 'fail')) process.exitCode = EXIT_CHECK_FAILED;
    });
}
