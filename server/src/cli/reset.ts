import type { Command } from 'commander';
import { type GlobalOptions, withDatabase } from './context';

/** `recsys reset`: empty a namespace's data (keys and configs kept unless --all). */
export function registerResetCommand(program: Command, globals: () => GlobalOptions) {
  program
    .command('reset')
    .description("delete a namespace's events, users and items (keys and config versions kept unless --all)")
    .requiredOption('-n, --namespace <id>', 'namespace')
    .option('--all', 'also delete API keys and config versions')
    .option('--reports-dir <dir>', 'where the evidence file goes', 'reports')
    .option('--json', 'print the evidence as JSON')
    .action((opts: { namespace: string; all?: boolean; reportsDir: string; json?: boolean }) =>
      withDatabase(globals(), async (database) => {
        const { resetNamespace } = await import('../ingest/resetNamespace');
        const { writeEvidence } = await import('../lab/simulate/evidence');
        const result = await resetNamespace(database, opts.namespace, { all: opts.all ?? false });
        const path = writeEvidence(opts.reportsDir, opts.namespace, 'reset', { kind: 'reset', ...result });
        if (opts.json) console.log(JSON.stringify(result, null, 2));
        else {
          console.log(`Reset "${opts.namespace}":`);
          for (const [table, n] of Object.entries(result.deleted))
            console.log(`  ${table.padEnd(16)} ${n} deleted`);
        }
        console.error(`Evidence: ${path}`);
      }),
    );
}
