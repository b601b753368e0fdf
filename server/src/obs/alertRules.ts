import { stringify } from 'yaml';
import { UserError } from '../errors';

/**
 * One tunable threshold of the alert rules: read from `env` by {@link alertThresholds}, with a
 * default that suits a small shop on one replica.
 */
interface Threshold {
  env: string;
  default: number;
  /** What the number means, printed in `recsys alerts --help` and the README. */
  help: string;
}

/** Every threshold, by name. */
export const ALERT_THRESHOLDS = {
  recsP95Seconds: {
    env: 'RECSYS_ALERT_RECS_P95_SECONDS',
    default: 0.25,
    help: 'p95 latency of recs.* over 5 minutes, in seconds',
  },
  errorRatio: {
    env: 'RECSYS_ALERT_ERROR_RATIO',
    default: 0.01,
    help: 'share of requests answered 500/503 over 5 minutes (0.01 = 1%)',
  },
  fallbackRatio: {
    env: 'RECSYS_ALERT_FALLBACK_RATIO',
    default: 0.5,
    help: 'share of lists, per namespace and surface, that needed the fallback over 30 minutes',
  },
  indexLagSeconds: {
    env: 'RECSYS_ALERT_INDEX_LAG_SECONDS',
    default: 30,
    help: 'seconds an event may wait between being stored and reaching the engine indexes',
  },
  servedLogBacklog: {
    env: 'RECSYS_ALERT_SERVED_LOG_BACKLOG',
    default: 10_000,
    help: 'served lists waiting to be written to the log (they pile up while the database is down)',
  },
} as const satisfies Record<string, Threshold>;

export type AlertThresholds = { -readonly [K in keyof typeof ALERT_THRESHOLDS]: number };

/** The thresholds from `env` (`RECSYS_ALERT_*`), else their defaults; refuses what is not a number ≥ 0. */
export function alertThresholds(env: Record<string, string | undefined> = process.env): AlertThresholds {
  const out = {} as AlertThresholds;
  for (const [name, threshold] of Object.entries(ALERT_THRESHOLDS) as Array<
    [keyof AlertThresholds, Threshold]
  >) {
    const raw = env[threshold.env];
    if (raw === undefined || raw.trim() === '') {
      out[name] = threshold.default;
      continue;
    }
    const value = Number(raw);
    if (!Number.isFinite(value) || value < 0) {
      throw new UserError(
        'BAD_REQUEST',
        `${threshold.env}="${raw}" is not a number ≥ 0; it is the ${threshold.help} (default ${threshold.default}).`,
      );
    }
    out[name] = value;
  }
  return out;
}

/** 5xx answers: the server's fault (client mistakes and rate limits are 4xx and not counted). */
const SERVER_ERRORS = 'INTERNAL_SERVER_ERROR|SERVICE_UNAVAILABLE|TIMEOUT';

/**
 * The Prometheus alert rules for a Recsys deployment, with the given thresholds, as a rules file
 * (`promtool check rules` accepts it). Every expression reads only metrics a server's `/metrics`
 * exposes (a test checks it against a live server).
 */
export function renderAlertRules(t: AlertThresholds = alertThresholds({})): string {
  const rules = [
    {
      alert: 'RecsysRecsLatencyHigh',
      expr: `histogram_quantile(0.95, sum by (le, procedure) (rate(recsys_request_duration_seconds_bucket{procedure=~"recs\\\\..*"}[5m]))) > ${t.recsP95Seconds}`,
      for: '10m',
      labels: { severity: 'warning' },
      annotations: {
        summary: '{{ $labels.procedure }} p95 latency is {{ $value | humanizeDuration }}',
        description: `p95 of {{ $labels.procedure }} has been above ${t.recsP95Seconds}s for 10 minutes (${ALERT_THRESHOLDS.recsP95Seconds.env}). Look at CPU, the engine's load and /readyz.`,
      },
    },
    {
      alert: 'RecsysErrorRateHigh',
      expr: `sum(rate(recsys_request_errors_total{code=~"${SERVER_ERRORS}"}[5m])) / sum(rate(recsys_requests_total[5m])) > ${t.errorRatio}`,
      for: '5m',
      labels: { severity: 'critical' },
      annotations: {
        summary: '{{ $value | humanizePercentage }} of requests fail with 500/503',
        description: `More than ${t.errorRatio * 100}% of requests answered 500 or 503 for 5 minutes (${ALERT_THRESHOLDS.errorRatio.env}). 503 with "database is unreachable" means the database; 500s quote a request id in the logs.`,
      },
    },
    {
      alert: 'RecsysFallbackShareHigh',
      expr: `sum by (namespace, surface) (rate(recsys_recs_lists_total{fallback="used"}[30m])) / sum by (namespace, surface) (rate(recsys_recs_lists_total[30m])) > ${t.fallbackRatio}`,
      for: '30m',
      labels: { severity: 'warning' },
      annotations: {
        summary:
          '{{ $labels.namespace }} {{ $labels.surface }}: {{ $value | humanizePercentage }} of lists need the fallback',
        description: `More than ${t.fallbackRatio * 100}% of {{ $labels.surface }} lists of {{ $labels.namespace }} were filled by the fallback for 30 minutes (${ALERT_THRESHOLDS.fallbackRatio.env}): events may have stopped arriving, or the catalog lost items.`,
      },
    },
    {
      alert: 'RecsysEventIndexLagHigh',
      expr: `max(recsys_event_index_lag_seconds) > ${t.indexLagSeconds}`,
      for: '5m',
      labels: { severity: 'warning' },
      annotations: {
        summary: 'Events reach the engine indexes {{ $value | humanizeDuration }} after being stored',
        description: `Events waited more than ${t.indexLagSeconds}s to reach the indexes for 5 minutes (${ALERT_THRESHOLDS.indexLagSeconds.env}): the engine thread is overloaded or the database slow.`,
      },
    },
    {
      alert: 'RecsysIndexStalled',
      expr: `max(recsys_index_applied_age_seconds) > ${t.indexLagSeconds}`,
      for: '5m',
      labels: { severity: 'critical' },
      annotations: {
        summary: 'The engines last applied database changes {{ $value | humanizeDuration }} ago',
        description: `No engine poll has finished for more than ${t.indexLagSeconds}s (${ALERT_THRESHOLDS.indexLagSeconds.env}): look for "engine poll failed" in the logs.`,
      },
    },
    {
      alert: 'RecsysServedListBacklog',
      expr: `max(recsys_served_lists_pending) > ${t.servedLogBacklog}`,
      for: '5m',
      labels: { severity: 'warning' },
      annotations: {
        summary: '{{ $value }} served lists are waiting to be logged',
        description: `More than ${t.servedLogBacklog} served lists have been waiting for 5 minutes (${ALERT_THRESHOLDS.servedLogBacklog.env}); at 50,000 the oldest are dropped. Is the database reachable?`,
      },
    },
    {
      alert: 'RecsysServedListsLost',
      expr: 'sum by (reason) (increase(recsys_served_lists_lost_total[15m])) > 0',
      labels: { severity: 'warning' },
      annotations: {
        summary: '{{ $value }} served lists were not logged ({{ $labels.reason }})',
        description:
          'dropped: the buffer was full while the database was down; rejected: the database refused them as data (see the logs). Attribution misses these lists.',
      },
    },
  ];
  const header = [
    '# Recsys alert rules, rendered by `recsys alerts` with these thresholds',
    ...Object.entries(ALERT_THRESHOLDS).map(
      ([name, threshold]) => `#   ${threshold.env}=${t[name as keyof AlertThresholds]}  (${threshold.help})`,
    ),
    '',
  ].join('\n');
  return header + stringify({ groups: [{ name: 'recsys', rules }] }, { lineWidth: 0 });
}
