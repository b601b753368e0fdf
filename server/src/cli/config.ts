import type { Command } from 'commander';
import { UserError } from '../errors';
import { type GlobalOptions, withDatabase } from './context';

const positiveInt = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new UserError('BAD_REQUEST', `"${value}" is not a version number; use a whole number like 3.`);
  return n;
};

/** `recsys config show|list|set|activate|rollback`: versioned engine configuration per namespace. */
export function registerConfigCommand(program: Command, globals: () => GlobalOptions) {
  const config = program
    .command('config')
    .description('engine configuration per namespace: immutable versions, switched at run time');

  config
    .command('show')
    .description('print the active configuration (stored subset; --resolved for every setting)')
    .requiredOption('-n, --namespace <id>', 'namespace')
    .option('--resolved', 'print the full configuration after merging over the engine defaults')
    .option('--json', 'print JSON')
    .action((opts: { namespace: string; resolved?: boolean; json?: boolean }) =>
      withDatabase(globals(), async (database) => {
        const { getActiveConfig } = await import('../config');
        const active = await getActiveConfig(database, opts.namespace);
        if (opts.json) return console.log(JSON.stringify(active, null, 2));
        const label =
          active.version === null ? 'engine defaults (no version active)' : `version ${active.version}`;
        console.log(
          `${opts.namespace}: ${label}${active.name ? ` "${active.name}"` : ''}  hash ${active.hash}`,
        );
        if (active.note) console.log(`note: ${active.note}`);
        console.log(JSON.stringify(opts.resolved ? active.resolved : active.config, null, 2));
      }),
    );

  config
    .command('list')
    .description('list stored versions, newest first (* = active)')
    .requiredOption('-n, --namespace <id>', 'namespace')
    .option('--json', 'print JSON')
    .action((opts: { namespace: string; json?: boolean }) =>
      withDatabase(globals(), async (database) => {
        const { listConfigs } = await import('../config');
        const versions = await listConfigs(database, opts.namespace);
        if (opts.json) return console.log(JSON.stringify(versions, null, 2));
        if (versions.length === 0) {
          console.log(
            `No config versions in "${opts.namespace}" (engine defaults). Add one with \`recsys config set\`.`,
          );
          return;
        }
        for (const v of versions) {
          console.log(
            [`${v.active ? '*' : ' '}${v.version}`, v.createdAt, v.hash, v.name ?? '-', v.note ?? ''].join(
              '\t',
            ),
          );
        }
      }),
    );

  config
    .command('set <fileOrProfile>')
    .description(
      'store a new version from a JSON/YAML file or a built-in profile (online-retail, movielens, defaults)',
    )
    .requiredOption('-n, --namespace <id>', 'namespace')
    .option('--activate', 'make it the active version now')
    .option('--name <name>', 'profile name (default: the file\'s "name")')
    .option('--note <note>', 'why this version exists (default: the file\'s "note")')
    .option('--json', 'print JSON')
    .action(
      (
        fileOrProfile: string,
        opts: { namespace: string; activate?: boolean; name?: string; note?: string; json?: boolean },
      ) =>
        withDatabase(globals(), async (database) => {
          const { loadProfile, saveConfig } = await import('../config');
          const profile = loadProfile(fileOrProfile);
          const saved = await saveConfig(database, opts.namespace, {
            config: profile.config,
            name: opts.name ?? profile.name,
            note: opts.note ?? profile.note,
            activate: opts.activate ?? false,
          });
          if (opts.json) return console.log(JSON.stringify(saved, null, 2));
          console.log(
            `Saved version ${saved.version} of "${opts.namespace}" (hash ${saved.hash})${
              saved.active
                ? ', active now; running servers reload it within a poll.'
                : `. Activate: recsys config activate ${saved.version} -n ${opts.namespace}`
            }`,
          );
        }),
    );

  config
    .command('activate <version>')
    .description('switch to a stored version (running servers reload it within a poll)')
    .requiredOption('-n, --namespace <id>', 'namespace')
    .action((version: string, opts: { namespace: string }) =>
      withDatabase(globals(), async (database) => {
        const { activateConfig } = await import('../config');
        const result = await activateConfig(database, opts.namespace, positiveInt(version));
        console.log(
          `Activated version ${result.version} of "${opts.namespace}" (was ${result.previous ?? 'defaults'}).`,
        );
      }),
    );

  config
    .command('rollback')
    .description('return to the version active before the last activation')
    .requiredOption('-n, --namespace <id>', 'namespace')
    .action((opts: { namespace: string }) =>
      withDatabase(globals(), async (database) => {
        const { rollbackConfig } = await import('../config');
        const result = await rollbackConfig(database, opts.namespace);
        console.log(
          `Rolled back "${opts.namespace}" to ${result.version === null ? 'engine defaults' : `version ${result.version}`} (was ${result.previous ?? 'defaults'}).`,
        );
      }),
    );
}
