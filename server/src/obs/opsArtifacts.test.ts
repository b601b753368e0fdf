import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { Database } from '../db/client';
import { ingestEvents } from '../ingest/events';
import { packagePath } from '../paths';
import { getTestDatabaseTargets, startTestServer, type TestTenant } from '../testing';
import { ALERT_THRESHOLDS, alertThresholds, renderAlertRules } from './alertRules';

const PROMTOOL = process.env.PROMTOOL_PATH ?? '/usr/bin/promtool';
const hasPromtool = existsSync(PROMTOOL);
if (!hasPromtool && process.env.CI === 'true') {
  throw new Error(
    `${PROMTOOL} is missing: the alert rules must be checked in CI (apt-get install prometheus).`,
  );
}
if (!hasPromtool) console.warn(`promtool not found at ${PROMTOOL} (set PROMTOOL_PATH): rule checks skipped.`);

const rulesFile = packagePath('ops', 'prometheus', 'recsys-alerts.yml');
const dashboardFile = packagePath('ops', 'grafana', 'recsys-dashboard.json');

interface Rule {
  alert: string;
  expr: string;
}
const rulesOf = (yaml: string): Rule[] =>
  (parse(yaml) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((g) => g.rules);

/** Every PromQL expression of the dashboard, panel by panel. */
function dashboardQueries(): Array<{ panel: string; expr: string }> {
  const dashboard = JSON.parse(readFileSync(dashboardFile, 'utf8')) as {
    panels: Array<{ title: string; targets?: Array<{ expr: string }> }>;
  };
  return dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
}

/** Labels Prometheus adds at scrape time (not in the exposition). */
const SCRAPE_LABELS = new Set(['instance', 'job']);

/** The metric names and the label names each selector of `expr` uses. */
function selectors(expr: string): Array<{ metric: string; labels: string[] }> {
  return [...expr.matchAll(/\b(recsys_[a-z0-9_]+)(\{([^}]*)\})?/g)].map((m) => ({
    metric: m[1]!,
    labels: [...(m[3] ?? '').matchAll(/(\w+)\s*(?:=~|!~|!=|=)/g)]
      .map((l) => l[1]!)
      .filter((l) => !SCRAPE_LABELS.has(l)),
  }));
}

/** Sample name → the label names it carries, from a `/metrics` text exposition. */
function exposed(text: string): Map<string, Set<string>> {
  const series = new Map<string, Set<string>>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{(.*)\})?\s/.exec(line);
    if (!m) continue;
    const labels = series.get(m[1]!) ?? new Set<string>();
    for (const l of (m[3] ?? '').matchAll(/(\w+)="/g)) labels.add(l[1]!);
    series.set(m[1]!, labels);
  }
  return series;
}

describe('the Prometheus alert rules', () => {
  const dir = mkdtempSync(join(tmpdir(), 'recsys-alerts-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('are checked in as `recsys alerts` renders them with the default thresholds', () => {
    expect(readFileSync(rulesFile, 'utf8')).toBe(renderAlertRules(alertThresholds({})));
  });

  it('put each RECSYS_ALERT_* threshold from the environment into its rule', () => {
    const rules = rulesOf(
      renderAlertRules(
        alertThresholds({
          RECSYS_ALERT_RECS_P95_SECONDS: '0.08',
          RECSYS_ALERT_ERROR_RATIO: '0.002',
          RECSYS_ALERT_FALLBACK_RATIO: '0.7',
          RECSYS_ALERT_INDEX_LAG_SECONDS: '90',
          RECSYS_ALERT_SERVED_LOG_BACKLOG: '25000',
        }),
      ),
    );
    const expr = (alert: string) => rules.find((r) => r.alert === alert)!.expr;
    expect(expr('RecsysRecsLatencyHigh')).toMatch(/ > 0\.08$/);
    expect(expr('RecsysErrorRateHigh')).toMatch(/ > 0\.002$/);
    expect(expr('RecsysFallbackShareHigh')).toMatch(/ > 0\.7$/);
    expect(expr('RecsysEventIndexLagHigh')).toMatch(/ > 90$/);
    expect(expr('RecsysIndexStalled')).toMatch(/ > 90$/);
    expect(expr('RecsysServedListBacklog')).toMatch(/ > 25000$/);
  });

  it('refuses a threshold that is not a number, naming the variable and what it means', () => {
    expect(() => alertThresholds({ RECSYS_ALERT_FALLBACK_RATIO: 'half' })).toThrow(
      `RECSYS_ALERT_FALLBACK_RATIO="half" is not a number ≥ 0; it is the ${ALERT_THRESHOLDS.fallbackRatio.help}`,
    );
  });

  it.skipIf(!hasPromtool)('pass `promtool check rules`, with the defaults and with tuned thresholds', () => {
    const tuned = join(dir, 'tuned.yml');
    writeFileSync(tuned, renderAlertRules(alertThresholds({ RECSYS_ALERT_RECS_P95_SECONDS: '0.1' })));
    for (const file of [rulesFile, tuned]) {
      const out = execFileSync(PROMTOOL, ['check', 'rules', file], { encoding: 'utf8' });
      expect(out).toContain(`SUCCESS: ${rulesOf(readFileSync(file, 'utf8')).length} rules found`);
    }
  });
});

/**
 * Metrics of a deployment in trouble, one minute apart (promtool's series notation), breaching
 * every default threshold: recs p95 ≈ 0.49 s, 1 request in 21 answered 500, two thirds of lists
 * from the fallback, events 45 s behind, no poll for 100 s, 20,000 lists waiting, lists dropped.
 */
const TROUBLE = [
  ['recsys_request_duration_seconds_bucket{procedure="recs.forUser",le="0.25"}', '0+0x40'],
  ['recsys_request_duration_seconds_bucket{procedure="recs.forUser",le="0.5"}', '0+60x40'],
  ['recsys_request_duration_seconds_bucket{procedure="recs.forUser",le="+Inf"}', '0+60x40'],
  ['recsys_requests_total{procedure="recs.forUser",code="OK"}', '0+60x40'],
  ['recsys_requests_total{procedure="recs.forUser",code="INTERNAL_SERVER_ERROR"}', '0+3x40'],
  ['recsys_request_errors_total{procedure="recs.forUser",code="INTERNAL_SERVER_ERROR"}', '0+3x40'],
  ['recsys_recs_lists_total{namespace="shop",surface="similar",fallback="used"}', '0+40x40'],
  ['recsys_recs_lists_total{namespace="shop",surface="similar",fallback="none"}', '0+20x40'],
  ['recsys_event_index_lag_seconds', '45x40'],
  ['recsys_index_applied_age_seconds', '100x40'],
  ['recsys_served_lists_pending', '20000x40'],
  ['recsys_served_lists_lost_total{reason="dropped"}', '0+1x40'],
] as const;

/** Thresholds just above each value of {@link TROUBLE}: nothing may fire but the lost lists. */
const TOLERANT = {
  RECSYS_ALERT_RECS_P95_SECONDS: '0.6',
  RECSYS_ALERT_ERROR_RATIO: '0.1',
  RECSYS_ALERT_FALLBACK_RATIO: '0.8',
  RECSYS_ALERT_INDEX_LAG_SECONDS: '120',
  RECSYS_ALERT_SERVED_LOG_BACKLOG: '50000',
};

describe.skipIf(!hasPromtool)('the alert expressions on recorded series (promtool test rules)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'recsys-alert-tests-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs each rule's expression over {@link TROUBLE} at 35 min; `firing` lists the alerts expected to return a sample. */
  function check(env: Record<string, string>, firing: string[]) {
    const rules = renderAlertRules(alertThresholds(env));
    writeFileSync(join(dir, 'rules.yml'), rules);
    const tests = {
      rule_files: ['rules.yml'],
      evaluation_interval: '1m',
      tests: [
        {
          interval: '1m',
          input_series: TROUBLE.map(([series, values]) => ({ series, values })),
          // count(): one sample when the alert's condition holds (whatever its value), none when not.
          promql_expr_test: rulesOf(rules).map((rule) => ({
            expr: `count(${rule.expr})`,
            eval_time: '35m',
            exp_samples: firing.includes(rule.alert) ? [{ labels: '{}', value: 1 }] : [],
          })),
        },
      ],
    };
    writeFileSync(join(dir, 'tests.yml'), JSON.stringify(tests));
    try {
      execFileSync(PROMTOOL, ['test', 'rules', join(dir, 'tests.yml')], { encoding: 'utf8', stdio: 'pipe' });
    } catch (error) {
      const { stdout, stderr } = error as { stdout: string; stderr: string };
      throw new Error(`promtool test rules failed:\n${stdout}\n${stderr}`);
    }
  }

  it('fires every alert at the default thresholds', () => {
    check({}, [
      'RecsysRecsLatencyHigh',
      'RecsysErrorRateHigh',
      'RecsysFallbackShareHigh',
      'RecsysEventIndexLagHigh',
      'RecsysIndexStalled',
      'RecsysServedListBacklog',
      'RecsysServedListsLost',
    ]);
  });

  it('fires none of the tuned ones when RECSYS_ALERT_* raise the thresholds above the values', () => {
    check(TOLERANT, ['RecsysServedListsLost']);
  });
});

describe.each(getTestDatabaseTargets())('the dashboard and the rules against /metrics on $name', (target) => {
  let database: Database & { drop(): Promise<void> };
  let stack: Awaited<ReturnType<typeof startTestServer>>;
  let metrics: Map<string, Set<string>>;
  let emptyConfigVersion: number;
  let tenant: TestTenant;

  beforeAll(async () => {
    database = await target.open();
    // Polls only when asked, so the lag test decides what each poll sees.
    stack = await startTestServer(database, { engine: { encoder: null, pollIntervalMs: 600_000 } });
    tenant = await stack.tenant('ops');
    await tenant.admin.items.upsert.mutate({ items: [{ itemId: 'ops-1', title: 'One', category: 'c' }] });
    await tenant.browser.recs.trending.query({ anonymousId: 'a-ops' });
    // A shop with nothing to recommend yet, on a configuration of its own.
    const empty = await stack.tenant('ops-empty');
    const saved = await empty.admin.admin.config.save.mutate({ config: {}, activate: true });
    await stack.engines!.catchUp();
    await empty.browser.recs.trending.query({ anonymousId: 'a-empty' });
    emptyConfigVersion = saved.version;
    // A failure, so the error counter has a series.
    await fetch(`${stack.url}/v1/rest/items/list`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    await tenant.admin.events.batch.mutate({
      events: [
        {
          eventId: 'ops-e1',
          type: 'view',
          itemId: 'ops-1',
          anonymousId: 'a-ops',
          ts: new Date().toISOString(),
        },
      ],
    });
    await stack.recLog!.flush();
    metrics = exposed(await (await fetch(`${stack.url}/metrics`)).text());
  });
  afterAll(async () => {
    await stack?.close();
    await database?.drop();
  });

  it('exposes every metric, and every label, that a dashboard query selects', () => {
    const missing: string[] = [];
    for (const { panel, expr } of dashboardQueries()) {
      for (const { metric, labels } of selectors(expr)) {
        const have = metrics.get(metric);
        if (!have) missing.push(`${panel}: ${metric}`);
        for (const label of labels)
          if (have && !have.has(label)) missing.push(`${panel}: ${metric}{${label}}`);
      }
    }
    expect(dashboardQueries().length).toBeGreaterThan(10);
    expect(missing).toEqual([]);
  });

  it('exposes every metric, and every label, that an alert rule selects', () => {
    const missing: string[] = [];
    const rules = rulesOf(readFileSync(rulesFile, 'utf8'));
    for (const { alert, expr } of rules) {
      const used = selectors(expr);
      expect(used.length, alert).toBeGreaterThan(0);
      for (const { metric, labels } of used) {
        const have = metrics.get(metric);
        if (!have) missing.push(`${alert}: ${metric}`);
        for (const label of labels)
          if (have && !have.has(label)) missing.push(`${alert}: ${metric}{${label}}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('counts lists by namespace, surface and fallback, and measures how long events wait for the index', async () => {
    const scrape = async () => (await (await fetch(`${stack.url}/metrics`)).text()).split('\n');
    const value = (lines: string[], prefix: string) =>
      Number(
        lines
          .find((l) => l.startsWith(prefix))
          ?.split(' ')
          .at(-1),
      );
    const before = await scrape();
    expect(value(before, 'recsys_recs_lists_total{namespace="ops",surface="trending",fallback=')).toBe(1);
    // Per namespace: the empty list, and the configuration each shop's lists were served with.
    expect(value(before, 'recsys_recs_empty_lists_total{namespace="ops-empty",surface="trending"}')).toBe(1);
    expect(value(before, 'recsys_config_version{namespace="ops-empty"}')).toBe(emptyConfigVersion);
    expect(value(before, 'recsys_config_version{namespace="ops"}')).toBe(0);

    // Stored 42 s ago, applied now.
    await ingestEvents(
      database,
      'ops',
      {},
      [
        {
          eventId: 'late-1',
          type: 'view',
          itemId: 'ops-1',
          anonymousId: 'a-ops',
          ts: new Date().toISOString(),
        },
      ],
      {
        receivedAt: new Date(Date.now() - 42_000),
      },
    );
    // The poll that applies it reports the wait (on a busy PostgreSQL it may take a few polls to
    // become visible: an open transaction elsewhere holds back what a poll may read).
    let after: string[] = [];
    await expect
      .poll(
        async () => {
          await stack.engines!.catchUp();
          after = await scrape();
          return value(after, 'recsys_event_index_lag_seconds');
        },
        { timeout: 240_000, interval: 50 },
      )
      .toBeGreaterThanOrEqual(42);
    expect(value(after, 'recsys_event_index_lag_seconds')).toBeLessThan(42 + 25);
    // The lag is the shop's whose event waited; the other shop had nothing waiting.
    expect(value(after, 'recsys_namespace_event_index_lag_seconds{namespace="ops"}')).toBeGreaterThanOrEqual(
      42,
    );
    expect(value(after, 'recsys_namespace_event_index_lag_seconds{namespace="ops-empty"}')).toBe(0);
    expect(value(after, 'recsys_index_applied_age_seconds')).toBeLessThan(5);
    // Nothing waiting: caught up.
    await stack.engines!.catchUp();
    const caughtUp = await scrape();
    expect(value(caughtUp, 'recsys_event_index_lag_seconds')).toBe(0);
    expect(value(caughtUp, 'recsys_namespace_event_index_lag_seconds{namespace="ops"}')).toBe(0);
    // A list with items is served and counted, but not as empty.
    expect((await tenant.browser.recs.recentlyViewed.query({ anonymousId: 'a-ops' })).items).not.toEqual([]);
    const served = await scrape();
    expect(value(served, 'recsys_recs_lists_total{namespace="ops",surface="recentlyViewed",')).toBe(1);
    expect(
      value(served, 'recsys_recs_empty_lists_total{namespace="ops",surface="recentlyViewed"}'),
    ).toBeNaN();
  });
});
