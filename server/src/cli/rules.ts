/**
 * Longer than the ~450-line guideline on purpose: the `rules` and `overrides` command groups, which
 * share the local-or-remote target, the definition parsing and the preview printing.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import type { RuleDefinition, Surface } from '@recsys/engine';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { UserError } from '../errors';
import type { PreviewReport, RulesFile, StoredOverride, StoredRule } from '../rules';
import { type GlobalOptions, withDatabase } from './context';
import { openRemoteClient } from './remote';

/** `--url`/`--key`: go through a running server instead of opening its database. */
interface Target {
  namespace?: string;
  url?: string;
  key?: string;
}

type ImportResult = { created: string[]; updated: string[]; unchanged: string[]; removed: string[] };
type OverrideArgs = {
  kind: 'pin' | 'boost' | 'bury' | 'block';
  itemIds: string[];
  slot?: number | undefined;
  multiplier?: number | undefined;
  surfaces?: Surface[] | undefined;
  placements?: string[] | undefined;
  expiresAt: string;
  reason: string;
  id?: string | undefined;
};

/** What the commands need, from the database directly or through `admin.rules.*`/`admin.overrides.*`. */
interface RulesApi {
  list(filter: { kind?: string; enabled?: boolean; ruleSet?: string | null }): Promise<StoredRule[]>;
  get(ruleId: string): Promise<
    StoredRule & {
      history: Array<{ version: number; action: string; actor: string; at: string; note: string | null }>;
    }
  >;
  create(rule: RuleDefinition, note?: string): Promise<StoredRule>;
  update(rule: RuleDefinition, note?: string): Promise<StoredRule>;
  setEnabled(ruleId: string, enabled: boolean, note?: string): Promise<StoredRule>;
  remove(ruleId: string): Promise<{ version: number }>;
  exportAll(): Promise<RulesFile>;
  importAll(rules: RuleDefinition[], mode: 'merge' | 'replace'): Promise<ImportResult>;
  preview(input: {
    change: { upsert?: RuleDefinition[]; remove?: string[] };
    requests?: Array<Record<string, unknown>>;
    sample?: number;
  }): Promise<PreviewReport>;
  overrides(): Promise<StoredOverride[]>;
  addOverride(input: OverrideArgs): Promise<StoredRule>;
  cancelOverride(ruleId: string, note?: string): Promise<StoredRule>;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];
const intArg = (value: string) => {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('use a whole number.');
  return Number(value);
};
const numArg = (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('use a positive number, e.g. 3 or 0.5.');
  return n;
};

/** A duration like `48h`, `2d` or `90m`, in hours. */
const durationArg = (value: string) => {
  const m = /^(\d+(?:\.\d+)?)([mhd])$/.exec(value);
  if (!m) throw new InvalidArgumentError('use a duration like 90m, 48h or 2d.');
  return Number(m[1]) * { m: 1 / 60, h: 1, d: 24 }[m[2] as 'm' | 'h' | 'd'];
};

/** Inline JSON (starting with `{` or `[`), `-` for standard input, or a file path. */
async function readJson(source: string, what: string): Promise<unknown> {
  let text = source;
  if (source === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    text = Buffer.concat(chunks).toString('utf8');
  } else if (!/^\s*[[{]/.test(source)) {
    try {
      text = await readFile(source, 'utf8');
    } catch (error) {
      throw new UserError(
        'BAD_REQUEST',
        `Cannot read ${what} from "${source}": ${(error as Error).message}.`,
      );
    }
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UserError('BAD_REQUEST', `${what} is not valid JSON (${(error as Error).message}).`);
  }
}

/** A rule list from JSON: one definition, a list, or an exported file's `rules`. */
function asRules(value: unknown): RuleDefinition[] {
  if (Array.isArray(value)) return value as RuleDefinition[];
  if (value && typeof value === 'object' && Array.isArray((value as { rules?: unknown }).rules)) {
    return (value as { rules: RuleDefinition[] }).rules;
  }
  return [value as RuleDefinition];
}

/** Action, items, conditions and (unless an override, whose expiry is listed) the schedule. */
function describeRule(r: StoredRule, schedule = true): string {
  const d = r.definition as RuleDefinition & Record<string, unknown>;
  const action =
    d.kind === 'pin'
      ? `slot ${d.slot}`
      : d.kind === 'boost' || d.kind === 'bury'
        ? [
            d.multiplier !== undefined ? `×${d.multiplier}` : '',
            d.add !== undefined ? `+${d.add}` : '',
            d.subtract !== undefined ? `−${d.subtract}` : '',
          ]
            .filter(Boolean)
            .join(' ')
        : d.kind === 'inject'
          ? `${d.count ?? 1} at ${d.slot ?? 'end'}`
          : '';
  const items = JSON.stringify(d.items);
  const when = d.when ? ` when ${JSON.stringify(d.when)}` : '';
  const window = schedule && d.schedule ? ` schedule ${JSON.stringify(d.schedule)}` : '';
  const set = d.ruleSet !== undefined ? ` in rule set ${d.ruleSet}` : '';
  return `${action ? `${action} ` : ''}${items}${when}${window}${set}`;
}

/** The side-by-side table of one preview list, differences marked. */
export function formatPreview(report: PreviewReport): string {
  const out: string[] = [];
  for (const list of report.lists) {
    const title =
      'request' in list.source
        ? `request ${JSON.stringify(list.source.request)}`
        : `served ${list.source.servedAt} (${list.source.surface}, ${list.source.requestId})`;
    out.push(`${list.changed ? '*' : ' '} ${title}${list.changed ? '' : ' — unchanged'}`);
    const width = Math.max(6, ...list.rows.map((r) => (r.before ?? '').length));
    out.push(`    slot  ${'before'.padEnd(width)}  after`);
    for (const r of list.rows) {
      const mark = r.mark === 'same' ? '' : `  [${r.mark}]`;
      out.push(
        `    ${String(r.slot).padStart(4)}  ${(r.before ?? '-').padEnd(width)}  ${r.after ?? '-'}${mark}`,
      );
    }
    if (list.removed.length > 0) out.push(`    removed: ${list.removed.join(', ')}`);
    for (const e of list.effects) out.push(`    ${e.ruleId} (${e.kind}): ${e.effect}`);
  }
  const s = report.servedLastDay;
  out.push(
    `Served lists of the last 24 h it would have changed: ${s.touched} of ${s.lists}${s.capped ? ' (the newest only)' : ''}.`,
  );
  return out.join('\n');
}

/** `recsys rules …` and `recsys overrides …`. */
export function registerRulesCommands(program: Command, globals: () => GlobalOptions) {
  const withTarget = (cmd: Command) =>
    cmd
      .option('-n, --namespace <id>', "namespace (with --url: the --key's namespace)")
      .addOption(
        new Option('--url <url>', 'a running server to go through, instead of opening the database').env(
          'RECSYS_URL',
        ),
      )
      .addOption(
        new Option('--key <secretKey>', 'a secret key of the namespace, for --url').env('RECSYS_KEY'),
      );

  const rules = program
    .command('rules')
    .description(
      'merchandising rules (pin, boost, bury, block, filter, inject): in the database, or through a running server with --url and --key',
    );

  withTarget(rules.command('list').description('list the rules (overrides: `recsys overrides list`)'))
    .option('--kind <kind>', 'only rules of this kind')
    .option('--enabled', 'only enabled rules')
    .option('--disabled', 'only disabled rules')
    .option('--rule-set <id>', 'only the rules of this rule set (an experiment variant rules:<id>)')
    .option('--base', 'only the base rules (those of no rule set, applied to everyone)')
    .option('--json', 'print JSON')
    .action(
      (
        opts: Target & {
          kind?: string;
          enabled?: boolean;
          disabled?: boolean;
          ruleSet?: string;
          base?: boolean;
          json?: boolean;
        },
      ) =>
        withRules(globals(), opts, async (api) => {
          const filter: { kind?: string; enabled?: boolean; ruleSet?: string | null } = {};
          if (opts.kind) filter.kind = opts.kind;
          if (opts.enabled) filter.enabled = true;
          if (opts.disabled) filter.enabled = false;
          if (opts.base) filter.ruleSet = null;
          if (opts.ruleSet) filter.ruleSet = opts.ruleSet;
          const list = await api.list(filter);
          if (opts.json) return console.log(JSON.stringify(list));
          if (list.length === 0) return console.error('No rules.');
          for (const r of list) {
            console.log(
              `${r.ruleId}\t${r.kind}\t${r.enabled ? 'enabled' : 'disabled'}\tpriority ${r.definition.priority ?? 0}\tv${r.version}\t${describeRule(r)}`,
            );
          }
        }),
    );

  withTarget(
    rules.command('show <ruleId>').description('one rule with its audit trail (who changed what, when)'),
  )
    .option('--json', 'print JSON')
    .action((ruleId: string, opts: Target & { json?: boolean }) =>
      withRules(globals(), opts, async (api) => {
        const r = await api.get(ruleId);
        if (opts.json) return console.log(JSON.stringify(r));
        console.log(`${r.ruleId}\t${r.kind}\t${r.enabled ? 'enabled' : 'disabled'}\tv${r.version}`);
        console.log(JSON.stringify(r.definition, null, 2));
        for (const h of r.history)
          console.log(`v${h.version}\t${h.action}\t${h.at}\t${h.actor}${h.note ? `\t${h.note}` : ''}`);
      }),
    );

  withTarget(
    rules
      .command('add <definition>')
      .description(
        'add rules from JSON: inline (\'{"id":…}\'), a file, or - for standard input; one rule or a list',
      ),
  )
    .option('--update', 'replace rules that exist (same id) instead of refusing them')
    .option(
      '--rule-set <id>',
      'put the rules in this rule set: only visitors of an experiment variant rules:<id> see them',
    )
    .option('--note <text>', 'why, for the audit trail')
    .action((definition: string, opts: Target & { update?: boolean; ruleSet?: string; note?: string }) =>
      withRules(globals(), opts, async (api) => {
        for (const given of asRules(await readJson(definition, 'the rule'))) {
          const rule =
            opts.ruleSet === undefined ? given : ({ ...given, ruleSet: opts.ruleSet } as RuleDefinition);
          const saved = opts.update ? await api.update(rule, opts.note) : await api.create(rule, opts.note);
          console.log(
            `${opts.update ? 'Updated' : 'Added'} ${saved.ruleId} (${saved.kind}, v${saved.version}).`,
          );
        }
      }),
    );

  for (const [verb, enabled] of [
    ['disable', false],
    ['enable', true],
  ] as const) {
    withTarget(rules.command(`${verb} <ruleId>`).description(`${verb} a rule (it is kept)`))
      .option('--note <text>', 'why, for the audit trail')
      .action((ruleId: string, opts: Target & { note?: string }) =>
        withRules(globals(), opts, async (api) => {
          const r = await api.setEnabled(ruleId, enabled, opts.note);
          console.log(`${enabled ? 'Enabled' : 'Disabled'} ${r.ruleId} (v${r.version}).`);
        }),
      );
  }

  withTarget(rules.command('remove <ruleId>').description('delete a rule (its audit trail stays)')).action(
    (ruleId: string, opts: Target) =>
      withRules(globals(), opts, async (api) => {
        const r = await api.remove(ruleId);
        console.log(`Removed ${ruleId} (v${r.version}).`);
      }),
  );

  withTarget(
    rules
      .command('preview [definition]')
      .description(
        'dry run: lists with and without the change side by side, and how many served lists of the last day it would change (needs --url)',
      ),
  )
    .option('--remove <ruleId>', 'preview removing this rule (repeatable)', collect)
    .option(
      '--request <json>',
      'a request to rank, e.g. \'{"surface":"forUser","userId":"u-1"}\' (repeatable)',
      collect,
    )
    .option('--sample <n>', 'served lists to show when no --request is given', intArg, 5)
    .option('--json', 'print JSON')
    .action(
      (
        definition: string | undefined,
        opts: Target & { remove?: string[]; request?: string[]; sample: number; json?: boolean },
      ) =>
        withRules(globals(), opts, async (api) => {
          const change: { upsert?: RuleDefinition[]; remove?: string[] } = {};
          if (definition) change.upsert = asRules(await readJson(definition, 'the rule'));
          if (opts.remove) change.remove = opts.remove;
          const requests = [];
          for (const r of opts.request ?? [])
            requests.push((await readJson(r, '--request')) as Record<string, unknown>);
          const report = await api.preview({
            change,
            ...(requests.length > 0 ? { requests } : {}),
            sample: opts.sample,
          });
          console.log(opts.json ? JSON.stringify(report) : formatPreview(report));
        }),
    );

  withTarget(rules.command('export').description('write every rule as one JSON document'))
    .option('-o, --out <file>', 'write to this file instead of standard output')
    .action((opts: Target & { out?: string }) =>
      withRules(globals(), opts, async (api) => {
        const file = await api.exportAll();
        const text = `${JSON.stringify(file, null, 2)}\n`;
        if (!opts.out) return void process.stdout.write(text);
        await writeFile(opts.out, text);
        console.error(`Wrote ${file.rules.length} rules to ${opts.out}.`);
      }),
    );

  withTarget(
    rules
      .command('import <file>')
      .description(
        'read rules from an exported JSON document (or a list); all or nothing, unchanged rules untouched',
      ),
  )
    .option('--replace', 'also remove rules the document does not hold')
    .action((file: string, opts: Target & { replace?: boolean }) =>
      withRules(globals(), opts, async (api) => {
        const result = await api.importAll(
          asRules(await readJson(file, 'the rules file')),
          opts.replace ? 'replace' : 'merge',
        );
        console.log(
          `Created ${result.created.length}, updated ${result.updated.length}, unchanged ${result.unchanged.length}, removed ${result.removed.length}.`,
        );
      }),
    );

  const overrides = program
    .command('overrides')
    .description('manual overrides: a pin, boost, bury or block with an expiry and a reason');

  withTarget(overrides.command('list').description('list overrides, newest first, with their state'))
    .option('--json', 'print JSON')
    .action((opts: Target & { json?: boolean }) =>
      withRules(globals(), opts, async (api) => {
        const list = await api.overrides();
        if (opts.json) return console.log(JSON.stringify(list));
        if (list.length === 0) return console.error('No overrides.');
        for (const o of list) {
          console.log(
            `${o.ruleId}\t${o.state}\t${o.kind}\tuntil ${o.expiresAt}\t${describeRule(o, false)}\t${o.reason ?? ''}\t${o.createdBy}`,
          );
        }
      }),
    );

  withTarget(
    overrides
      .command('add')
      .description('e.g. --kind boost --item sku-1 --multiplier 3 --for 48h --reason "weekend promo"'),
  )
    .requiredOption('-k, --kind <kind>', 'pin, boost, bury or block', (v: string) => {
      if (!['pin', 'boost', 'bury', 'block'].includes(v))
        throw new InvalidArgumentError('use pin, boost, bury or block.');
      return v;
    })
    .requiredOption('-i, --item <itemId>', 'the item (repeatable)', collect)
    .requiredOption('-r, --reason <text>', 'why: listed with the override')
    .option('--slot <n>', 'pin: 0-based position', intArg)
    .option('-m, --multiplier <x>', 'boost (≥ 1) or bury (0–1) factor', numArg)
    .option('--for <duration>', 'how long from now: 90m, 48h, 2d', durationArg)
    .option('--until <instant>', 'when it ends, ISO-8601 (e.g. 2026-12-27T00:00:00Z)')
    .option('--surface <surface>', 'only on this surface (repeatable)', collect)
    .option('--placement <placement>', 'only on this placement (repeatable)', collect)
    .option('--id <ruleId>', 'its id (default ovr-<random>)')
    .action(
      (
        opts: Target & {
          kind: OverrideArgs['kind'];
          item: string[];
          reason: string;
          slot?: number;
          multiplier?: number;
          for?: number;
          until?: string;
          surface?: string[];
          placement?: string[];
          id?: string;
        },
      ) =>
        withRules(globals(), opts, async (api) => {
          if ((opts.for === undefined) === (opts.until === undefined)) {
            throw new UserError(
              'BAD_REQUEST',
              'Give --for <duration> or --until <instant>: an override always expires.',
            );
          }
          const expiresAt = opts.until ?? new Date(Date.now() + opts.for! * 3_600_000).toISOString();
          const created = await api.addOverride({
            kind: opts.kind,
            itemIds: opts.item,
            slot: opts.slot,
            multiplier: opts.multiplier,
            surfaces: opts.surface as OverrideArgs['surfaces'],
            placements: opts.placement,
            expiresAt,
            reason: opts.reason,
            id: opts.id,
          });
          console.log(`Added override ${created.ruleId} (${created.kind}) until ${created.expiresAt}.`);
        }),
    );

  withTarget(
    overrides.command('cancel <ruleId>').description('end an override now (it stays listed as cancelled)'),
  )
    .option('--note <text>', 'why, for the audit trail')
    .action((ruleId: string, opts: Target & { note?: string }) =>
      withRules(globals(), opts, async (api) => {
        await api.cancelOverride(ruleId, opts.note);
        console.log(`Cancelled ${ruleId}.`);
      }),
    );
}

/** Runs `fn` with the rules API the options select: a server (`--url`) or the database. */
async function withRules(
  globals: GlobalOptions,
  opts: Target,
  fn: (api: RulesApi) => Promise<void>,
): Promise<void> {
  if (opts.url) return fn(await openRemote(opts.url, opts.key, opts.namespace));
  if (opts.key) {
    throw new UserError(
      'BAD_REQUEST',
      '--key is for --url (a running server); without --url the CLI opens the database directly.',
    );
  }
  const namespaceId = opts.namespace;
  if (!namespaceId) {
    throw new UserError(
      'BAD_REQUEST',
      'Pass the namespace with -n <id> (or --url <server> --key <sk_…> to go through a running server).',
    );
  }
  const actor = `cli:${safeUser()}`;
  return withDatabase(globals, async (database) => {
    const store = await import('../rules');
    const api: RulesApi = {
      list: (filter) => store.listRules(database, namespaceId, filter),
      get: (ruleId) => store.getRule(database, namespaceId, ruleId),
      create: (rule, note) => store.createRule(database, namespaceId, rule, actor, { note: note ?? null }),
      update: (rule, note) => store.updateRule(database, namespaceId, rule, actor, note ?? null),
      setEnabled: (ruleId, enabled, note) =>
        store.setRuleEnabled(database, namespaceId, ruleId, enabled, actor, { note: note ?? null }),
      remove: (ruleId) => store.removeRule(database, namespaceId, ruleId, actor),
      exportAll: () => store.exportRules(database, namespaceId),
      importAll: (rules, mode) => store.importRules(database, namespaceId, rules, mode, actor),
      preview: () => {
        throw new UserError(
          'BAD_REQUEST',
          'A preview ranks lists, which needs the engines of a running server: pass --url <server> --key <sk_…>.',
        );
      },
      overrides: () => store.listOverrides(database, namespaceId),
      addOverride: (input) =>
        store.addOverride(
          database,
          namespaceId,
          {
            ...input,
            when:
              input.surfaces || input.placements
                ? {
                    ...(input.surfaces ? { surfaces: input.surfaces } : {}),
                    ...(input.placements ? { placements: input.placements } : {}),
                  }
                : undefined,
          },
          actor,
        ),
      cancelOverride: (ruleId, note) =>
        store.setRuleEnabled(database, namespaceId, ruleId, false, actor, {
          origin: 'override',
          note: note ?? null,
        }),
    };
    await fn(api);
  });
}

function safeUser(): string {
  try {
    return userInfo().username || 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The rules API of a running server, through `admin.rules.*` and `admin.overrides.*`. */
async function openRemote(
  url: string,
  key: string | undefined,
  namespace: string | undefined,
): Promise<RulesApi> {
  const { client, call } = await openRemoteClient(url, key, namespace);
  const r = client.admin.rules;
  const o = client.admin.overrides;
  return {
    list: (filter) => call(() => r.list.query(filter as { kind?: 'pin' })),
    get: (ruleId) => call(() => r.get.query({ ruleId })),
    create: (rule, note) => call(() => r.create.mutate({ rule, ...(note ? { note } : {}) })),
    update: (rule, note) => call(() => r.update.mutate({ rule, ...(note ? { note } : {}) })),
    setEnabled: (ruleId, enabled, note) =>
      call(() => (enabled ? r.enable : r.disable).mutate({ ruleId, ...(note ? { note } : {}) })),
    remove: (ruleId) => call(() => r.remove.mutate({ ruleId })),
    exportAll: () => call(() => r.export.query()),
    importAll: (rules, mode) => call(() => r.import.mutate({ rules, mode })),
    preview: (input) => call(() => r.preview.mutate(input as Parameters<typeof r.preview.mutate>[0])),
    overrides: () => call(() => o.list.query()),
    addOverride: ({ surfaces, placements, ...rest }) =>
      call(() =>
        o.add.mutate({
          ...rest,
          ...(surfaces ? { surfaces } : {}),
          ...(placements ? { placements } : {}),
        }),
      ),
    cancelOverride: (ruleId, note) => call(() => o.cancel.mutate({ ruleId, ...(note ? { note } : {}) })),
  };
}
