/**
 * Longer than the ~450-line guideline on purpose: one module per command group, as for every `recsys`
 * command. Its subcommands share the option parsing, the local-or-remote target and the table
 * printing; split by subcommand, those shared pieces would be spread over a dozen files.
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { UserError } from '../errors';
import type { BanditAllocations, Reallocation } from '../experiments/bandit/allocations';
import type { CreateExperimentInput } from '../experiments/contracts';
import type { GuardrailCheck } from '../experiments/guardrails';
import type { Breakdown, ExperimentResults, ResultsOptions } from '../experiments/results';
import type { Experiment, ExperimentAction, ExperimentChange } from '../experiments/store';
import { type GlobalOptions, withDatabase } from './context';
import { openRemoteClient } from './remote';
import { EXIT_CHECK_FAILED } from './scenarios';

/** `--url`/`--key`: go through a running server instead of opening its database. */
interface RemoteOptions {
  namespace?: string;
  url?: string;
  key?: string;
}

/** The experiment procedures, whether they run on the database here or on a server. */
interface ExperimentsApi {
  create(input: CreateExperimentInput): Promise<Experiment>;
  list(): Promise<Experiment[]>;
  get(id: string): Promise<Experiment & { changes: ExperimentChange[] }>;
  step(action: ExperimentAction, id: string, reason?: string): Promise<Experiment>;
  results(id: string, options: ResultsOptions): Promise<ExperimentResults>;
  checkGuardrails(id?: string): Promise<GuardrailCheck[]>;
  allocations(id: string): Promise<BanditAllocations>;
  reallocate(id: string | undefined, dryRun: boolean): Promise<Reallocation[]>;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];
const numberArg = (what: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`${what} must be a number.`);
  return n;
};
const intArg = (value: string) => {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('use a whole number.');
  return Number(value);
};

/**
 * `--variant key=kind[:argument][@weight]`, e.g. `control=control`, `retail=profile:online-retail`,
 * `v3=config:3@2`, `hidden=surface:off`, `summer=rules:summer-sale`, `kit=bundle:sku-2,sku-3:10%`
 * (partner items, comma-separated, and an optional discount).
 */
export function parseVariant(text: string): CreateExperimentInput['variants'][number] {
  const m = /^([^=@]+)=([a-z]+)(?::([^@]+))?(?:@([0-9.]+))?$/.exec(text);
  if (!m) {
    throw new UserError(
      'BAD_REQUEST',
      `--variant "${text}": write key=kind[:argument][@weight], e.g. control=control, retail=profile:online-retail, v3=config:3, hidden=surface:off, summer=rules:summer-sale`,
    );
  }
  const [, key, kind, arg, weightText] = m as unknown as [
    string,
    string,
    string,
    string | undefined,
    string | undefined,
  ];
  const weight = weightText === undefined ? {} : { weight: Number(weightText) };
  const need = (what: string) => {
    if (arg === undefined)
      throw new UserError('BAD_REQUEST', `--variant "${text}": kind ${kind} needs :${what}`);
    return arg;
  };
  switch (kind) {
    case 'control':
      return { key, kind, ...weight };
    case 'config':
      return { key, kind, version: Number(need('<version>')), ...weight };
    case 'profile':
      return { key, kind, profile: need('<profile>'), ...weight };
    case 'surface': {
      const on = need('on|off');
      if (on !== 'on' && on !== 'off')
        throw new UserError('BAD_REQUEST', `--variant "${text}": surface takes :on or :off`);
      return { key, kind, enabled: on === 'on', ...weight };
    }
    case 'rules':
      return { key, kind, ruleSetId: need('<rule-set-id>'), ...weight };
    case 'bundle': {
      const given = need('<partner>,<partner>[:<discount>%]');
      const discount = /:(\d+(?:\.\d+)?)%$/.exec(given);
      const partners = (discount ? given.slice(0, discount.index) : given).split(',').filter(Boolean);
      return {
        key,
        kind,
        partnerItemIds: partners,
        ...(discount ? { discountPercent: Number(discount[1]) } : {}),
        ...weight,
      };
    }
    default:
      throw new UserError(
        'BAD_REQUEST',
        `--variant "${text}": kind is one of control, config, profile, surface, rules, bundle`,
      );
  }
}

/** `metric<=0.2`, `metric>=0.01` or `0.01<=metric<=0.2`. */
export function parseGuardrail(text: string): { metric: string; min?: number; max?: number } {
  // Metric names may hold digits (p95LatencyMs).
  const both = /^([0-9.]+)<=([A-Za-z][A-Za-z0-9]*)<=([0-9.]+)$/.exec(text);
  if (both) return { metric: both[2] as string, min: Number(both[1]), max: Number(both[3]) };
  const one = /^([A-Za-z][A-Za-z0-9]*)(<=|>=)([0-9.]+)$/.exec(text);
  if (!one) {
    throw new UserError(
      'BAD_REQUEST',
      `--guardrail "${text}": write metric>=min, metric<=max or min<=metric<=max, e.g. emptyListRate<=0.2`,
    );
  }
  const value = Number(one[3]);
  return one[2] === '<='
    ? { metric: one[1] as string, max: value }
    : { metric: one[1] as string, min: value };
}

const pct = (x: number | null, digits = 1) => (x === null ? '—' : `${(x * 100).toFixed(digits)}%`);
const signedPct = (x: number | null) => (x === null ? '—' : `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`);
const money = (x: number | null) => (x === null ? '—' : x.toFixed(2));
export const pad = (rows: string[][]) => {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
};

/** The metrics over seen exposures (lists with an impression), or why there are none. */
function seenExposure(r: ExperimentResults): string[] {
  if (r.variants.every((v) => v.seenMetrics === null)) {
    return ['Seen exposure: none (no impression events for these lists: impressions were not sent)', ''];
  }
  return [
    'Over seen exposures only (lists with an impression event; visitors from their first seen list)',
    pad([
      ['variant', 'seen', 'seen visitors', 'CTR', 'add-to-cart', 'conversion', 'revenue/visitor'],
      ...r.variants.map((v) => [
        v.key,
        String(v.seen ?? 0),
        String(v.seenVisitors ?? 0),
        pct(v.seenMetrics?.ctr ?? null),
        pct(v.seenMetrics?.addToCartRate ?? null),
        pct(v.seenMetrics?.conversionRate ?? null),
        money(v.seenMetrics?.revenuePerVisitor ?? null),
      ]),
    ]),
    '',
  ];
}

/**
 * How each variant was served: p95 serving time and the share of its requests that failed, over the
 * whole experiment and over the recent window the service guardrails judge; left out while no list
 * has a recorded time and no request failed.
 */
function serviceLines(r: ExperimentResults): string[] {
  if (!r.variants.some((v) => v.metrics.p95LatencyMs !== null || v.failed > 0)) return [];
  const ms = (x: number | null) => (x === null ? '—' : `${x.toFixed(1)} ms`);
  const last = `last ${r.service.windowMinutes} min`;
  return [
    `Service (requests assigned to each variant; the guardrails judge the ${last}, since ${r.service.since})`,
    pad([
      ['variant', 'p95 latency', 'failed', 'error rate', `p95 (${last})`, `error rate (${last})`],
      ...r.variants.map((v) => {
        const recent = r.service.variants.find((s) => s.key === v.key);
        return [
          v.key,
          ms(v.metrics.p95LatencyMs),
          String(v.failed),
          pct(v.metrics.errorRate, 2),
          ms(recent?.metrics.p95LatencyMs ?? null),
          pct(recent?.metrics.errorRate ?? null, 2),
        ];
      }),
    ]),
    '',
  ];
}

/** The results as the terminal shows them. */
export function formatResults(r: ExperimentResults): string {
  const e = r.experiment;
  // Bundle experiments: the share of served bundles whose every item was added to a cart.
  const bundles = r.variants.some((v) => v.kind === 'bundle');
  const lines = [
    `${e.id} "${e.name}" — ${e.status}${e.startedAt ? ` since ${e.startedAt}` : ''}; primary metric ${e.primaryMetric}, tuned for a ${pct(e.minimumDetectableEffect, 0)} lift; traffic ${pct(e.traffic, 0)}`,
    '',
    pad([
      [
        'variant',
        'kind',
        'weight',
        'lists',
        'visitors',
        'CTR',
        'add-to-cart',
        'conversion',
        'revenue/visitor',
        ...(bundles ? ['bundle acceptance'] : []),
        'seen',
        'seen visitors',
      ],
      ...r.variants.map((v) => [
        v.key === r.control ? `${v.key} (control)` : v.key,
        v.kind,
        String(v.weight),
        String(v.lists),
        String(v.visitors),
        pct(v.metrics.ctr),
        pct(v.metrics.addToCartRate),
        pct(v.metrics.conversionRate),
        money(v.metrics.revenuePerVisitor),
        ...(bundles ? [pct(v.metrics.bundleAcceptance)] : []),
        v.seen === null ? '—' : String(v.seen),
        v.seenVisitors === null ? '—' : String(v.seenVisitors),
      ]),
    ]),
    '',
    ...seenExposure(r),
    ...serviceLines(r),
    'Lift against the control: always-valid 95% interval and p-value (valid whenever you look; * = significant)',
    pad([
      ['variant', 'metric', 'control', 'variant', 'lift', '95% interval', 'p', ''],
      ...r.comparisons.map((c) => {
        const rate = c.metric === 'revenuePerVisitor' ? money : pct;
        return [
          c.variant,
          c.metric,
          rate(c.control),
          rate(c.treatment),
          c.lift ? signedPct(c.lift.estimate) : 'null',
          c.lift ? `[${signedPct(c.lift.ci[0])}, ${signedPct(c.lift.ci[1])}]` : (c.note ?? ''),
          c.lift ? (c.lift.pValue < 0.0001 ? '<0.0001' : c.lift.pValue.toPrecision(2)) : '',
          `${c.lift?.significant ? '*' : ''}${c.cuped ? ' (CUPED)' : ''}`,
        ];
      }),
    ]),
    '',
    `Sample ratio: χ² ${r.srm.chiSquare.toFixed(2)}, p ${r.srm.pValue.toPrecision(2)} — ${r.srm.mismatch ? 'MISMATCH: do not trust the lifts' : r.bandit ? 'as allocated over time' : 'as configured'}`,
  ];
  if (r.bandit) {
    const now = r.bandit.history.at(-1);
    lines.push(
      `Bandit on ${r.bandit.settings.metric}: ${r.bandit.history.length} allocation${r.bandit.history.length === 1 ? '' : 's'}, now ${formatWeights(now?.weights ?? {})} (since ${now?.at ?? '—'}); see \`recsys experiments allocations ${e.id}\``,
    );
  }
  if (r.plannedVisitorsPerVariant !== null) {
    lines.push(
      `Planned: ${r.plannedVisitorsPerVariant.toLocaleString('en')} visitors per variant give 80% power for a ${pct(e.minimumDetectableEffect, 0)} lift in ${e.primaryMetric} at the control's current rate`,
    );
  }
  lines.push(...breakdownLines(r), ...customEventLines(r));
  for (const note of r.notes) lines.push(`Note: ${note}`);
  return lines.join('\n');
}

/**
 * The breakdown table: per slice and variant, counts and rates, and the primary metric's lift against
 * the control in that slice with its always-valid interval (every metric's is in `--json`).
 */
function breakdownLines(r: ExperimentResults): string[] {
  if (!r.breakdown) return [];
  const primary = r.experiment.primaryMetric;
  const liftOf = (slice: string, variant: string) => {
    const lift = r.breakdown?.comparisons.find(
      (c) => c.slice === slice && c.variant === variant && c.metric === primary,
    )?.lift;
    return lift ? `${signedPct(lift.estimate)} (${signedPct(lift.ci[0])} to ${signedPct(lift.ci[1])})` : '—';
  };
  return [
    '',
    `By ${r.breakdown.by} (lift per slice with its always-valid interval; many slices are many comparisons)`,
    pad([
      [
        r.breakdown.by,
        'variant',
        'lists',
        'visitors',
        'CTR',
        'add-to-cart',
        'conversion',
        'revenue/visitor',
        `${primary} lift`,
      ],
      ...r.breakdown.slices.map((s) => [
        // A list whose request named no segment (or logged before segments were recorded).
        r.breakdown?.by === 'segment' && s.slice === '' ? '(none)' : s.slice,
        s.variant,
        String(s.lists),
        String(s.visitors),
        pct(s.metrics.ctr),
        pct(s.metrics.addToCartRate),
        pct(s.metrics.conversionRate),
        money(s.metrics.revenuePerVisitor),
        liftOf(s.slice, s.variant),
      ]),
    ]),
  ];
}

/** Per custom event and variant: visitors who sent it after their first list, their share, the events. */
function customEventLines(r: ExperimentResults): string[] {
  if (!r.customEvents) return [];
  return [
    '',
    'Custom events (visitors who sent one after their first list)',
    pad([
      ['event', 'variant', 'visitors', 'share', 'events'],
      ...r.customEvents.map((c) => [c.name, c.variant, String(c.visitors), pct(c.share), String(c.events)]),
    ]),
  ];
}

const formatWeights = (weights: Record<string, number>) =>
  Object.entries(weights)
    .map(([k, w]) => `${k} ${pct(w)}`)
    .join(', ');

/** A bandit's allocation history as the terminal shows it. */
export function formatAllocations(a: BanditAllocations): string {
  const keys = a.history[0]?.arms.map((arm) => arm.key) ?? [];
  const lines = [
    `${a.experimentId} — ${a.status}; Thompson sampling on ${a.settings.metric}, ${pct(a.settings.holdout, 0)} holdout on "${a.control}", floor ${pct(a.settings.floor, 0)} per arm`,
    '',
    pad([
      ['#', 'since', 'by', ...keys],
      ...a.history.map((h) => [String(h.seq), h.at, h.actor, ...keys.map((k) => pct(h.weights[k] ?? 0))]),
    ]),
  ];
  const last = a.history.at(-1);
  if (last && last.seq > 0) {
    lines.push(
      '',
      `Evidence behind #${last.seq}:`,
      pad([
        ['arm', 'trials', 'successes', a.settings.metric, 'P(best)', 'share'],
        ...last.arms.map((arm) => [
          arm.key,
          String(arm.trials),
          String(arm.successes),
          pct(arm.trials > 0 ? arm.successes / arm.trials : null, 2),
          pct(arm.probabilityBest),
          pct(arm.weight),
        ]),
      ]),
    );
  }
  return lines.join('\n');
}

function formatExperiment(e: Experiment): string {
  const variants = e.variants
    .map((v) => {
      const arg =
        v.kind === 'config'
          ? `:${v.version}`
          : v.kind === 'profile'
            ? `:${v.profile}`
            : v.kind === 'surface'
              ? `:${v.enabled ? 'on' : 'off'}`
              : v.kind === 'rules'
                ? `:${v.ruleSetId}`
                : v.kind === 'bundle'
                  ? `:${v.partnerItemIds.join(',')}${v.discountPercent !== undefined ? `:${v.discountPercent}%` : ''}`
                  : '';
      return `${v.key}=${v.kind}${arg}@${Number(v.weight.toFixed(4))}`;
    })
    .join(' ');
  return `${e.id}\t${e.status}\t${e.name}\t${variants}${e.allocation === 'bandit' ? `\tbandit on ${e.bandit?.metric}` : ''}`;
}

/** `recsys experiments …`: A/B tests of configurations, profiles, surfaces and rule sets. */
export function registerExperimentsCommand(program: Command, globals: () => GlobalOptions) {
  const experiments = program
    .command('experiments')
    .description(
      'A/B experiments: create, start, pause, resume, complete, read results; through the database or a running server (--url, --key)',
    );
  const withTarget = (cmd: Command) =>
    cmd
      .option('-n, --namespace <id>', "namespace (with --url: the --key's namespace)")
      .addOption(
        new Option('--url <url>', 'a running server to go through instead of opening the database').env(
          'RECSYS_URL',
        ),
      )
      .addOption(
        new Option('--key <secretKey>', 'a secret key of the namespace, for --url').env('RECSYS_KEY'),
      );

  withTarget(experiments.command('create <id>'))
    .description('create a draft experiment; the first --variant is the control')
    .option('--name <name>', 'what it is called in lists and results (default: the id)')
    .option('--hypothesis <text>', 'what you expect and why')
    .option(
      '--variant <key=kind[:arg][@weight]>',
      'a variant (repeatable): control=control, retail=profile:online-retail, v3=config:3, hidden=surface:off, summer=rules:summer-sale, kit=bundle:sku-2,sku-3:10%',
      collect,
    )
    .option('--traffic <share>', 'share of targeted visitors in the experiment, 0–1', numberArg('--traffic'))
    .option('--surface <surface>', 'run on this surface only (repeatable)', collect)
    .option('--placement <placement>', 'run on this placement only (repeatable)', collect)
    .option(
      '--anchor <itemId>',
      "run on this product page only: the request's itemId (repeatable; bundle experiments need it or --anchor-category)",
      collect,
    )
    .option(
      '--anchor-category <name>',
      "run on the product pages of items in this category (repeatable; the item's category:<name> tag)",
      collect,
    )
    .option('--segment <segment>', 'visitors whose traits.segment is this (repeatable)', collect)
    .option('--country <code>', 'visitors whose traits.country is this (repeatable)', collect)
    .option('--metric <metric>', 'primary metric: ctr | addToCartRate | conversionRate | revenuePerVisitor')
    .option('--mde <lift>', 'relative lift to detect, e.g. 0.05', numberArg('--mde'))
    .option(
      '--guardrail <rule>',
      'a bound on a metric per variant (repeatable), e.g. emptyListRate<=0.2, p95LatencyMs<=250, errorRate<=0.01',
      collect,
    )
    .option('--min-sample <visitors>', 'visitors per variant before a guardrail can breach', intArg)
    .option('--consecutive <n>', 'breaching evaluations in a row that pause the experiment', intArg)
    .option(
      '--guardrail-window <minutes>',
      'minutes of recent service p95LatencyMs, errorRate, emptyListRate and fallbackRate are judged over (default 60)',
      intArg,
    )
    .option('--webhook <url>', 'Slack-compatible webhook told about automatic pauses')
    .option(
      '--bandit [metric]',
      'a bandit: weights follow Thompson sampling on ctr (default), addToCartRate or conversionRate, recomputed every 30 minutes; needs exactly one --surface',
    )
    .option(
      '--holdout <share>',
      'bandit: share of traffic always on the control (default 0.1)',
      numberArg('--holdout'),
    )
    .option('--floor <share>', 'bandit: least share of traffic per arm (default 0.05)', numberArg('--floor'))
    .option('--json', 'print JSON')
    .action(
      (
        id: string,
        opts: RemoteOptions & {
          name?: string;
          hypothesis?: string;
          variant?: string[];
          traffic?: number;
          surface?: string[];
          placement?: string[];
          anchor?: string[];
          anchorCategory?: string[];
          segment?: string[];
          country?: string[];
          metric?: string;
          mde?: number;
          guardrail?: string[];
          minSample?: number;
          consecutive?: number;
          guardrailWindow?: number;
          webhook?: string;
          bandit?: string | true;
          holdout?: number;
          floor?: number;
          json?: boolean;
        },
      ) =>
        withExperimentsApi(globals(), opts, async (api) => {
          const target = {
            ...(opts.surface ? { surfaces: opts.surface } : {}),
            ...(opts.placement ? { placements: opts.placement } : {}),
            ...(opts.anchor ? { anchorItemIds: opts.anchor } : {}),
            ...(opts.anchorCategory ? { anchorCategories: opts.anchorCategory } : {}),
            ...(opts.segment ? { segments: opts.segment } : {}),
            ...(opts.country ? { countries: opts.country } : {}),
          };
          const guardrails = {
            ...(opts.minSample !== undefined ? { minSample: opts.minSample } : {}),
            ...(opts.consecutive !== undefined ? { consecutive: opts.consecutive } : {}),
            ...(opts.guardrailWindow !== undefined ? { windowMinutes: opts.guardrailWindow } : {}),
            ...(opts.webhook ? { webhookUrl: opts.webhook } : {}),
            rules: (opts.guardrail ?? []).map(parseGuardrail),
          };
          if (!opts.bandit && (opts.holdout !== undefined || opts.floor !== undefined)) {
            throw new UserError(
              'BAD_REQUEST',
              '--holdout and --floor are for a bandit: add --bandit [metric].',
            );
          }
          const bandit = opts.bandit
            ? {
                allocation: 'bandit',
                bandit: {
                  ...(typeof opts.bandit === 'string' ? { metric: opts.bandit } : {}),
                  ...(opts.holdout !== undefined ? { holdout: opts.holdout } : {}),
                  ...(opts.floor !== undefined ? { floor: opts.floor } : {}),
                },
              }
            : {};
          const input = {
            id,
            name: opts.name ?? id,
            ...(opts.hypothesis ? { hypothesis: opts.hypothesis } : {}),
            variants: (opts.variant ?? []).map(parseVariant),
            ...(opts.traffic !== undefined ? { traffic: opts.traffic } : {}),
            target,
            ...(opts.metric ? { primaryMetric: opts.metric } : {}),
            ...(opts.mde !== undefined ? { minimumDetectableEffect: opts.mde } : {}),
            guardrails,
            ...bandit,
          } as CreateExperimentInput;
          const created = await api.create(input);
          if (opts.json) return console.log(JSON.stringify(created, null, 2));
          console.log(`Created ${created.id} (draft): ${formatExperiment(created).split('\t')[3]}`);
          for (const v of created.variants) {
            if (v.notApplied?.length) {
              console.log(
                `  ${v.key}: its ${v.notApplied.map((k) => `"${k}"`).join(', ')} settings shape the indexes every list shares, so they stay as in the control; its blend, diversity, purchase exclusion and fallback apply`,
              );
            }
            if (v.kind === 'bundle')
              console.log(
                `  ${v.key}: recs.bundle on ${[...(created.target.anchorItemIds ?? []), ...(created.target.anchorCategories ?? []).map((c) => `category ${c}`)].join(', ')} serves the anchor with ${v.partnerItemIds.join(', ')}${v.discountPercent !== undefined ? ` at ${v.discountPercent}% off` : ''} (unavailable ones left out)`,
              );
            if (v.kind === 'rules')
              console.log(
                `  ${v.key}: the base rules plus rule set "${v.ruleSetId}" (see \`recsys rules list --rule-set ${v.ruleSetId}\`)`,
              );
          }
          if (created.bandit) {
            console.log(
              `  a bandit on ${created.bandit.metric}: ${pct(created.bandit.holdout, 0)} always on "${created.variants[0]?.key}", at least ${pct(created.bandit.floor, 0)} per arm; the bandit-reallocate job moves the rest (see \`recsys experiments allocations ${created.id}\`)`,
            );
          }
          console.log(`Start it with: recsys experiments start ${created.id}`);
        }),
    );

  withTarget(experiments.command('list'))
    .description('list experiments, newest first')
    .option('--json', 'print JSON')
    .action((opts: RemoteOptions & { json?: boolean }) =>
      withExperimentsApi(globals(), opts, async (api) => {
        const list = await api.list();
        if (opts.json) return console.log(JSON.stringify(list, null, 2));
        if (!list.length)
          return console.log('No experiments yet. Create one with `recsys experiments create`.');
        for (const e of list) console.log(formatExperiment(e));
      }),
    );

  withTarget(experiments.command('show <id>'))
    .description('an experiment and every recorded change')
    .option('--json', 'print JSON')
    .action((id: string, opts: RemoteOptions & { json?: boolean }) =>
      withExperimentsApi(globals(), opts, async (api) => {
        const e = await api.get(id);
        if (opts.json) return console.log(JSON.stringify(e, null, 2));
        console.log(formatExperiment(e));
        for (const c of e.changes) {
          const d = c.detail;
          const reason =
            typeof d.reason === 'string'
              ? `  "${d.reason}"`
              : c.action === 'notify'
                ? `  webhook ${d.host}: ${d.delivered ? 'delivered' : `not delivered (${d.status ?? d.error})`}`
                : '';
          console.log(
            `  ${c.at}  ${c.action.padEnd(10)} ${c.fromStatus ?? '—'} → ${c.toStatus ?? '—'}  by ${c.actor}${reason}`,
          );
        }
      }),
    );

  const steps: Array<[ExperimentAction, string]> = [
    ['start', 'start a draft: visitors are assigned from now on'],
    ['pause', 'pause: everyone gets the control at once; exposures so far are kept'],
    ['resume', 'resume a paused experiment (recorded)'],
    ['complete', 'end the experiment for good'],
  ];
  for (const [action, description] of steps) {
    withTarget(experiments.command(`${action} <id>`))
      .description(description)
      .option('--reason <text>', 'why, kept in the change log')
      .option('--json', 'print JSON')
      .action((id: string, opts: RemoteOptions & { reason?: string; json?: boolean }) =>
        withExperimentsApi(globals(), opts, async (api) => {
          const e = await api.step(action, id, opts.reason);
          if (opts.json) return console.log(JSON.stringify(e, null, 2));
          console.log(`${e.id} is ${e.status}.`);
        }),
      );
  }

  withTarget(experiments.command('results <id>'))
    .description(
      'exposures, metrics and lifts per variant with always-valid intervals, and the sample-ratio check',
    )
    .option(
      '--cuped <days>',
      "narrow the intervals with each visitor's behaviour in the days before the start (CUPED)",
      intArg,
    )
    .option(
      '--by <slice>',
      "also show counts and rates per UTC day, per surface or per segment (the request's traits.segment): day | surface | segment",
    )
    .option(
      '--custom <name>',
      'also show the share of visitors who sent a custom event with this meta.name (repeatable)',
      collect,
    )
    .option('--json', 'print JSON')
    .action(
      (
        id: string,
        opts: RemoteOptions & { json?: boolean; cuped?: number; by?: string; custom?: string[] },
      ) =>
        withExperimentsApi(globals(), opts, async (api) => {
          const r = await api.results(id, {
            ...(opts.cuped === undefined ? {} : { cupedDays: opts.cuped }),
            // Checked where the other options are, so the CLI and the procedure say the same.
            ...(opts.by === undefined ? {} : { breakdown: opts.by as Breakdown }),
            ...(opts.custom === undefined ? {} : { customEvents: opts.custom }),
          });
          console.log(opts.json ? JSON.stringify(r, null, 2) : formatResults(r));
        }),
    );

  withTarget(experiments.command('guardrails [id]'))
    .description(
      'evaluate the guardrails of one running experiment, or all of them, now (run it every few minutes); enough consecutive breaches pause the experiment and call its webhook',
    )
    .option('--json', 'print JSON')
    .action((id: string | undefined, opts: RemoteOptions & { json?: boolean }) =>
      withExperimentsApi(globals(), opts, async (api) => {
        const checks = await api.checkGuardrails(id);
        if (opts.json) return console.log(JSON.stringify(checks, null, 2));
        if (!checks.length) return console.log('No running experiments.');
        for (const c of checks) {
          const state = c.paused
            ? `PAUSED${c.notified === null ? '' : c.notified ? ', webhook notified' : ', webhook FAILED'}`
            : c.breaches.length
              ? 'breach'
              : 'ok';
          const breaches = c.breaches
            .map(
              (b) =>
                `${b.variant} ${b.metric} ${b.value.toFixed(4)}${b.min !== undefined ? ` min ${b.min}` : ''}${b.max !== undefined ? ` max ${b.max}` : ''}`,
            )
            .join('; ');
          const undecided = c.undecided.length ? `  below min sample: ${c.undecided.join(', ')}` : '';
          console.log(
            `${c.experimentId}\t${state}\tstreak ${c.streak}${breaches ? `\t${breaches}` : ''}${undecided}`,
          );
        }
      }),
    );

  withTarget(experiments.command('allocations <id>'))
    .description(
      "a bandit's allocation over time: each reallocation's weights, and the evidence behind the latest",
    )
    .option('--json', 'print JSON')
    .action((id: string, opts: RemoteOptions & { json?: boolean }) =>
      withExperimentsApi(globals(), opts, async (api) => {
        const a = await api.allocations(id);
        console.log(opts.json ? JSON.stringify(a, null, 2) : formatAllocations(a));
      }),
    );

  withTarget(experiments.command('reallocate [id]'))
    .description(
      'recompute the allocation of one running bandit, or all of them, now (the bandit-reallocate job does it every 30 minutes)',
    )
    .option('--dry-run', 'print the allocation it would make; change nothing')
    .option('--json', 'print JSON')
    .action((id: string | undefined, opts: RemoteOptions & { dryRun?: boolean; json?: boolean }) =>
      withExperimentsApi(globals(), opts, async (api) => {
        const done = await api.reallocate(id, opts.dryRun ?? false);
        if (opts.json) return console.log(JSON.stringify(done, null, 2));
        if (!done.length) return console.log('No running bandits.');
        for (const r of done) {
          const what =
            r.outcome === 'reallocated'
              ? `${r.dryRun ? 'would reallocate' : 'reallocated'}: ${formatWeights(r.allocation?.weights ?? {})} (was ${formatWeights(r.previous)})`
              : `${r.outcome} (${r.reason ?? ''})`;
          console.log(`${r.experimentId}\t${what}`);
        }
      }),
    );

  experiments
    .command('simulate')
    .description(
      'simulate many experiments read every day: --aa prints the false-positive share (must be ≤ 5%) beside a daily-peeked z-test; --effect prints the power at the planned sample size (must be ≥ 80%). Exit code 3 when a bound fails',
    )
    .option('--aa', 'A/A: no difference between the arms (the default without --effect)')
    .option('--effect <lift>', 'a planted relative lift, e.g. 0.05', numberArg('--effect'))
    .option('--runs <n>', 'simulated experiments', intArg, 1000)
    .option('--days <n>', 'days each runs (read once a day)', intArg, 30)
    .option('--base-rate <rate>', "the control's conversion rate", numberArg('--base-rate'), 0.05)
    .option('--visitors <n>', 'visitors per arm per day in an A/A run', intArg, 2000)
    .option('--mde <lift>', 'the lift the test is tuned for (default: --effect, or 0.05)', numberArg('--mde'))
    .option('--seed <n>', 'random seed', intArg, 1)
    .option('--json', 'print JSON')
    .action(
      async (opts: {
        aa?: boolean;
        effect?: number;
        runs: number;
        days: number;
        baseRate: number;
        visitors: number;
        mde?: number;
        seed: number;
        json?: boolean;
      }) => {
        if (opts.aa && opts.effect !== undefined && opts.effect !== 0) {
          throw new UserError('BAD_REQUEST', '--aa means no effect; drop --effect, or --aa.');
        }
        if (opts.runs < 1 || opts.days < 1)
          throw new UserError('BAD_REQUEST', '--runs and --days must be at least 1.');
        const { simulateExperiments } = await import('../lab/experiments/simulateExperiments');
        const effect = opts.effect ?? 0;
        const r = simulateExperiments({
          runs: opts.runs,
          days: opts.days,
          effect,
          baseRate: opts.baseRate,
          visitorsPerDay: opts.visitors,
          seed: opts.seed,
          ...(opts.mde !== undefined ? { minimumDetectableEffect: opts.mde } : {}),
        });
        const held =
          effect === 0 ? r.sequentialSignificantShare <= 0.05 : r.sequentialSignificantShare >= 0.8;
        if (!held) process.exitCode = EXIT_CHECK_FAILED;
        if (opts.json) return console.log(JSON.stringify(r, null, 2));
        const n = (x: number) => x.toLocaleString('en');
        if (effect === 0) {
          console.log(
            `A/A: ${n(r.runs)} simulated experiments × ${r.days} days, ${n(r.visitorsPerArmPerDay)} visitors per arm per day, conversion ${pct(r.baseRate)} in both arms, results read every day`,
          );
          console.log(
            `  always-valid test (mSPRT) declared a winner:   ${pct(r.sequentialSignificantShare).padStart(6)}  (must be ≤ 5%: ${held ? 'ok' : 'FAILED'})`,
          );
          console.log(
            `  fixed-horizon z-test, peeked daily, declared:  ${pct(r.peekedZTestSignificantShare).padStart(6)}`,
          );
        } else {
          console.log(
            `Effect ${signedPct(effect)} on conversion ${pct(r.baseRate)}: the planner asked for ${n(r.plannedPerArm ?? 0)} visitors per arm (a read-once fixed-horizon test would need ${n(r.fixedHorizonPerArm ?? 0)})`,
          );
          console.log(
            `  ${n(r.runs)} simulated experiments × ${r.days} days, ${n(r.visitorsPerArmPerDay)} visitors per arm per day, results read every day`,
          );
          console.log(
            `  power reached (always-valid test): ${pct(r.sequentialSignificantShare)}  (must be ≥ 80%: ${held ? 'ok' : 'FAILED'})`,
          );
          if (r.medianDayToSignificance !== null)
            console.log(`  median day the winner was declared: ${r.medianDayToSignificance}`);
        }
        console.log(`  (${(r.elapsedMs / 1000).toFixed(1)} s, seed ${opts.seed})`);
      },
    );
}

async function withExperimentsApi(
  globals: GlobalOptions,
  opts: RemoteOptions,
  fn: (api: ExperimentsApi) => Promise<void>,
): Promise<void> {
  if (opts.url) return fn(await openRemoteApi(opts.url, opts.key, opts.namespace));
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
  return withDatabase(globals, async (database) => {
    const store = await import('../experiments/store');
    const { experimentResults } = await import('../experiments/results');
    const guardrails = await import('../experiments/guardrails');
    const bandits = await import('../experiments/bandit/allocations');
    // Changes made here reach running servers within their refresh interval (5 s).
    const actor = 'cli';
    await fn({
      create: (input) => store.createExperiment(database, namespaceId, input, actor),
      list: () => store.listExperiments(database, namespaceId),
      get: async (id) => ({
        ...(await store.getExperiment(database, namespaceId, id)),
        changes: await store.listExperimentChanges(database, namespaceId, id),
      }),
      step: (action, id, reason) =>
        store.transitionExperiment(
          database,
          namespaceId,
          id,
          action,
          actor,
          reason === undefined ? {} : { reason },
        ),
      results: (id, options) => experimentResults(database, namespaceId, id, options),
      checkGuardrails: async (id) => {
        const { createLogger } = await import('../obs/logger');
        const options = { log: createLogger() };
        return id
          ? [await guardrails.checkExperimentGuardrails(database, namespaceId, id, options)]
          : guardrails.checkNamespaceGuardrails(database, namespaceId, options);
      },
      allocations: (id) => bandits.listAllocations(database, namespaceId, id),
      reallocate: async (id, dryRun) =>
        id
          ? [await bandits.reallocateExperiment(database, namespaceId, id, { actor, dryRun })]
          : bandits.reallocateNamespace(database, namespaceId, { actor, dryRun }),
    });
  });
}

/** The experiment procedures of a running server (`admin.experiments.*`). */
async function openRemoteApi(
  url: string,
  key: string | undefined,
  namespace: string | undefined,
): Promise<ExperimentsApi> {
  const { client, call } = await openRemoteClient(url, key, namespace);
  const e = client.admin.experiments;
  return {
    create: (input) => call(() => e.create.mutate(input)) as Promise<Experiment>,
    list: () => call(() => e.list.query()) as Promise<Experiment[]>,
    get: (id) => call(() => e.get.query({ id })) as Promise<Experiment & { changes: ExperimentChange[] }>,
    step: (action, id, reason) =>
      call(() =>
        e[action].mutate({ id, ...(reason === undefined ? {} : { reason }) }),
      ) as Promise<Experiment>,
    results: (id, options) => call(() => e.results.query({ id, ...options })) as Promise<ExperimentResults>,
    checkGuardrails: (id) =>
      call(() => e.checkGuardrails.mutate(id === undefined ? {} : { id })) as Promise<GuardrailCheck[]>,
    allocations: (id) => call(() => e.allocations.query({ id })) as Promise<BanditAllocations>,
    reallocate: (id, dryRun) =>
      call(() => e.reallocate.mutate({ ...(id === undefined ? {} : { id }), dryRun })) as Promise<
        Reallocation[]
      >,
  };
}
