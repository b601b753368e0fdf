import { and, eq, sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { experiments } from '../db/schema';
import { UserError } from '../errors';
import type { Logger } from '../obs/logger';
import { type GuardrailMetric, type Guardrails, WINDOWED_GUARDRAIL_METRICS } from './contracts';
import {
  type ExperimentResults,
  readServiceSums,
  readVariantSums,
  serviceWindow,
  type VariantSums,
  variantRates,
} from './results';
import {
  type Experiment,
  getExperiment,
  listRunningExperiments,
  recordExperimentEvent,
  transitionExperiment,
} from './store';

/** One variant outside one bound. */
export interface GuardrailBreach {
  variant: string;
  metric: GuardrailMetric;
  value: number;
  min?: number;
  max?: number;
}

/** What one evaluation found. */
export interface GuardrailEvaluation {
  breaches: GuardrailBreach[];
  /** Variants below the minimum sample: no decision is made about them yet. */
  undecided: string[];
}

const WINDOWED: ReadonlySet<GuardrailMetric> = new Set(WINDOWED_GUARDRAIL_METRICS);

/** One variant's rates as the guardrails read them. */
export interface VariantRatesForGuardrails {
  visitors: number;
  /** Over the whole experiment. */
  rates: Record<GuardrailMetric, number | null>;
  /** Over the guardrails' recent service window (the windowed metrics are judged on these). */
  recent?: Partial<Record<GuardrailMetric, number | null>>;
}

/**
 * Checks every variant's rates against the guardrails' bounds. A variant with fewer visitors than
 * `minSample` is never judged (its rates are noise), and neither is a rate without a denominator.
 * The windowed metrics — p95 serving time, error rate, empty and fallback lists — are judged on the
 * recent rates when given, rather than on the whole experiment.
 */
export function judgeGuardrails(
  guardrails: Guardrails,
  variants: Map<string, VariantRatesForGuardrails>,
): GuardrailEvaluation {
  const breaches: GuardrailBreach[] = [];
  const undecided: string[] = [];
  for (const [variant, v] of variants) {
    if (v.visitors < guardrails.minSample) {
      undecided.push(variant);
      continue;
    }
    for (const rule of guardrails.rules) {
      const recent = WINDOWED.has(rule.metric) ? v.recent?.[rule.metric] : undefined;
      const value = recent !== undefined ? recent : v.rates[rule.metric];
      if (value === null) continue;
      if ((rule.min !== undefined && value < rule.min) || (rule.max !== undefined && value > rule.max)) {
        breaches.push({
          variant,
          metric: rule.metric,
          value,
          ...(rule.min !== undefined ? { min: rule.min } : {}),
          ...(rule.max !== undefined ? { max: rule.max } : {}),
        });
      }
    }
  }
  return { breaches, undecided };
}

/**
 * {@link judgeGuardrails} on counts read from the database; with `recent` (per variant, how it was
 * served over the guardrails' window: see {@link readServiceSums}), the windowed metrics are judged
 * on it.
 */
export function evaluateGuardrails(
  guardrails: Guardrails,
  sums: Map<string, VariantSums>,
  recent?: Map<string, VariantSums>,
): GuardrailEvaluation {
  const variants = new Map<string, VariantRatesForGuardrails>();
  for (const [variant, s] of sums) {
    const recentSums = recent?.get(variant);
    variants.set(variant, {
      visitors: s.visitors,
      rates: variantRates(s),
      ...(recentSums ? { recent: variantRates(recentSums) } : {}),
    });
  }
  return judgeGuardrails(guardrails, variants);
}

/** Where an experiment stands against its guardrails, as the next evaluation would judge it. */
export interface GuardrailStatus extends GuardrailEvaluation {
  /** Breaching evaluations in a row so far, and how many pause the experiment. */
  streak: number;
  consecutive: number;
  minSample: number;
  rules: Guardrails['rules'];
}

/** {@link GuardrailStatus} from an experiment and its results (what the console shows per variant). */
export function guardrailStatus(
  experiment: Pick<Experiment, 'guardrails' | 'breachStreak'>,
  results: Pick<ExperimentResults, 'variants' | 'service'>,
): GuardrailStatus {
  const recent = new Map(results.service.variants.map((v) => [v.key, v.metrics]));
  const variants = new Map<string, VariantRatesForGuardrails>();
  for (const v of results.variants) {
    const windowed = recent.get(v.key);
    variants.set(v.key, {
      visitors: v.visitors,
      rates: v.metrics,
      ...(windowed ? { recent: windowed } : {}),
    });
  }
  const { guardrails } = experiment;
  return {
    ...judgeGuardrails(guardrails, variants),
    streak: experiment.breachStreak,
    consecutive: guardrails.consecutive,
    minSample: guardrails.minSample,
    rules: guardrails.rules,
  };
}

/** The outcome of checking one running experiment. */
export interface GuardrailCheck extends GuardrailEvaluation {
  namespaceId: string;
  experimentId: string;
  /** Consecutive evaluations with a breach, this one included. */
  streak: number;
  /** Whether this check paused the experiment. */
  paused: boolean;
  /** Whether the webhook accepted the notification (null when there is none, or no pause). */
  notified: boolean | null;
  /** In a dry run (nothing written, nobody notified): whether this evaluation would have paused it. */
  wouldPause?: boolean;
}

/** Options of {@link checkExperimentGuardrails}. */
export interface GuardrailCheckOptions {
  log: Logger;
  /** Called after an automatic pause (the server drops its cached running experiments). */
  onPaused?: (namespaceId: string, experimentId: string) => void;
  /** How long the webhook may take, ms. @default 5_000 */
  webhookTimeoutMs?: number;
  /**
   * Evaluate only: the streak is not counted, nothing is paused and no webhook is called; the result
   * says what the evaluation would have done (`streak`, `wouldPause`).
   * @default false
   */
  dryRun?: boolean;
  /**
   * The time of the evaluation: the guardrails' service window (`guardrails.windowMinutes`) ends here.
   * @default new Date()
   */
  now?: Date;
}

/** One breach in words; a metric judged over the recent service window says which window. */
const describeBreach = (windowMinutes: number) => (b: GuardrailBreach) =>
  `${b.variant}: ${b.metric} ${b.value.toFixed(4)} ${b.min !== undefined && b.value < b.min ? `< min ${b.min}` : `> max ${b.max}`}${WINDOWED.has(b.metric) ? ` over the last ${windowMinutes} min` : ''}`;

/** Slack-compatible incoming-webhook body (`text` is what Slack shows). */
export function pauseNotification(
  namespaceId: string,
  e: Experiment,
  breaches: GuardrailBreach[],
  streak: number,
) {
  return {
    text: `:warning: Experiment "${e.name}" (${e.id}) in ${namespaceId} was paused automatically: guardrails breached in ${streak} consecutive evaluations. Traffic is back on the control. ${breaches.map(describeBreach(e.guardrails.windowMinutes)).join('; ')}. Resume with \`recsys experiments resume ${e.id}\` once fixed.`,
  };
}

/** What became of a notification: the change log keeps it (the host only: a webhook URL is a secret). */
interface Delivery {
  channel: 'webhook';
  host: string;
  delivered: boolean;
  /** The webhook's HTTP status, when it answered. */
  status?: number;
  /** Why it was not delivered, when it did not answer. */
  error?: string;
}

async function notify(url: string, body: unknown, timeoutMs: number, log: Logger): Promise<Delivery> {
  const host = new URL(url).host;
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!res.ok) log.warn({ status: res.status }, 'experiment webhook refused the notification');
    return { channel: 'webhook', host, delivered: res.ok, status: res.status };
  } catch (error) {
    log.warn({ err: error }, 'experiment webhook unreachable');
    const reason =
      error instanceof Error && error.name === 'TimeoutError'
        ? `no answer in ${timeoutMs} ms`
        : 'unreachable';
    return { channel: 'webhook', host, delivered: false, error: reason };
  }
}

/**
 * One guardrail evaluation of a running experiment: counts consecutive breaching evaluations, and
 * when they reach `consecutive` pauses the experiment (everyone gets the control at once; recorded
 * with actor `guardrails` and the breaches), logs it and POSTs the Slack-compatible webhook. A clean
 * evaluation resets the count. Experiments that are not running are left alone.
 */
export async function checkExperimentGuardrails(
  database: Database,
  namespaceId: string,
  experimentId: string,
  options: GuardrailCheckOptions,
): Promise<GuardrailCheck> {
  const experiment = await getExperiment(database, namespaceId, experimentId);
  const base = { namespaceId, experimentId, paused: false, notified: null };
  if (experiment.status !== 'running') {
    return { ...base, breaches: [], undecided: [], streak: experiment.breachStreak };
  }
  const span = serviceWindow(experiment.guardrails.windowMinutes, options.now ?? new Date());
  const evaluation = evaluateGuardrails(
    experiment.guardrails,
    await readVariantSums(database, namespaceId, experiment),
    await readServiceSums(database, namespaceId, experiment, span),
  );
  if (options.dryRun) {
    const streak = evaluation.breaches.length ? experiment.breachStreak + 1 : 0;
    const wouldPause = evaluation.breaches.length > 0 && streak >= experiment.guardrails.consecutive;
    return { ...base, ...evaluation, streak, wouldPause };
  }
  const where = and(eq(experiments.namespaceId, namespaceId), eq(experiments.id, experimentId));
  const [row] = await database.db
    .update(experiments)
    .set({ breachStreak: evaluation.breaches.length ? sql`${experiments.breachStreak} + 1` : 0 })
    .where(and(where, eq(experiments.status, 'running')))
    .returning({ streak: experiments.breachStreak });
  const streak = row?.streak ?? 0;
  if (!row || !evaluation.breaches.length || streak < experiment.guardrails.consecutive) {
    return { ...base, ...evaluation, streak };
  }
  try {
    await transitionExperiment(database, namespaceId, experimentId, 'pause', 'guardrails', {
      reason: `guardrails breached in ${streak} consecutive evaluations`,
      breaches: evaluation.breaches,
    });
  } catch (error) {
    // Paused or completed meanwhile (by a person, or another replica's evaluation): nothing to do.
    if (error instanceof UserError && error.code === 'CONFLICT') return { ...base, ...evaluation, streak };
    throw error;
  }
  options.onPaused?.(namespaceId, experimentId);
  options.log.warn(
    { namespaceId, experimentId, breaches: evaluation.breaches, streak },
    `experiment ${experimentId} paused by its guardrails: ${evaluation.breaches.map(describeBreach(experiment.guardrails.windowMinutes)).join('; ')}`,
  );
  const url = experiment.guardrails.webhookUrl;
  if (url === undefined) return { ...base, ...evaluation, streak, paused: true, notified: null };
  const delivery = await notify(
    url,
    pauseNotification(namespaceId, experiment, evaluation.breaches, streak),
    options.webhookTimeoutMs ?? 5_000,
    options.log,
  );
  await recordExperimentEvent(database, namespaceId, experimentId, 'notify', 'guardrails', { ...delivery });
  return { ...base, ...evaluation, streak, paused: true, notified: delivery.delivered };
}

/** Evaluates the guardrails of every running experiment of a namespace (what a scheduled job runs). */
export async function checkNamespaceGuardrails(
  database: Database,
  namespaceId: string,
  options: GuardrailCheckOptions,
): Promise<GuardrailCheck[]> {
  const out: GuardrailCheck[] = [];
  for (const e of await listRunningExperiments(database, namespaceId)) {
    out.push(await checkExperimentGuardrails(database, namespaceId, e.id, options));
  }
  return out;
}
