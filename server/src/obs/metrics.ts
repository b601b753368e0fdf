import { Counter, collectDefaultMetrics, Gauge, Histogram, type LabelValues, Registry } from 'prom-client';
import type { IndexFreshness } from '../serve/EngineService';
import type { PauseReport } from './threadPauses';

/**
 * Increments of a counter on the request path, kept as plain numbers per label set and added to
 * the prom-client counter when it is collected (each scrape, and `get()`). Why: prom-client sorts,
 * validates and hashes the labels on every `inc`, several times per recommendation request; a
 * label set seen before is here one map lookup by its values. A scrape reads the same totals.
 */
function createPendingCounts<L extends string>() {
  const byKey = new Map<string, { labels: LabelValues<L>; n: number }>();
  return {
    /** Adds `n` to the series `key` names; `labels` is only called the first time it is seen. */
    add(key: string, labels: () => LabelValues<L>, n = 1) {
      const entry = byKey.get(key);
      if (entry) entry.n += n;
      else byKey.set(key, { labels: labels(), n });
    },
    /** Passes what was added since the last call on to `counter`. */
    flushTo(counter: Counter<L>) {
      for (const entry of byKey.values()) {
        if (entry.n === 0) continue;
        counter.inc(entry.labels, entry.n);
        entry.n = 0;
      }
    },
  };
}

/**
 * Prometheus metrics of one server instance. A registry per instance (not
 * the global one) so several servers in one process — tests, benchmarks —
 * do not share counters.
 */
export function createMetrics(options: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'recsys_' });
  const pendingRequests = createPendingCounts<'procedure' | 'code'>();
  const requests = new Counter({
    name: 'recsys_requests_total',
    help: 'Requests by procedure (or HTTP route) and outcome code',
    labelNames: ['procedure', 'code'] as const,
    registers: [registry],
    collect() {
      pendingRequests.flushTo(this);
    },
  });
  const errors = new Counter({
    name: 'recsys_request_errors_total',
    help: 'Failed requests by procedure and error code',
    labelNames: ['procedure', 'code'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'recsys_request_duration_seconds',
    help: 'Request latency by procedure',
    labelNames: ['procedure'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const eventsIngested = new Counter({
    name: 'recsys_events_total',
    help: 'Events received by outcome (accepted, duplicate, rejected)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const pendingLists = createPendingCounts<'namespace' | 'surface' | 'fallback'>();
  const listsServed = new Counter({
    name: 'recsys_recs_lists_total',
    help: 'Recommendation lists served, by namespace, surface and whether the fallback filled any of it',
    labelNames: ['namespace', 'surface', 'fallback'] as const,
    registers: [registry],
    collect() {
      pendingLists.flushTo(this);
    },
  });
  const emptyLists = new Counter({
    name: 'recsys_recs_empty_lists_total',
    help: 'Recommendation lists served with no item at all (fallback included), by namespace and surface',
    labelNames: ['namespace', 'surface'] as const,
    registers: [registry],
  });
  // The last version served per namespace, set on the gauge when it is collected (as the counts).
  const lastConfigVersion = new Map<string, number>();
  const configVersion = new Gauge({
    name: 'recsys_config_version',
    help: 'The configuration version of the last list served per namespace (0: the built-in defaults)',
    labelNames: ['namespace'] as const,
    registers: [registry],
    collect() {
      for (const [namespace, version] of lastConfigVersion) this.set({ namespace }, version);
      lastConfigVersion.clear();
    },
  });
  const pendingCacheHits = createPendingCounts<'namespace'>();
  // Registered, and read through the registry: the request path adds to the pending counts.
  new Counter({
    name: 'recsys_recs_cache_hits_total',
    help: 'Recommendation lists answered from the response cache, by namespace',
    labelNames: ['namespace'] as const,
    registers: [registry],
    collect() {
      pendingCacheHits.flushTo(this);
    },
  });
  const pendingCacheMisses = createPendingCounts<'namespace'>();
  new Counter({
    name: 'recsys_recs_cache_misses_total',
    help: 'Recommendation lists ranked and stored because the response cache had none, by namespace (explain and traced debug requests bypass the cache and count in neither)',
    labelNames: ['namespace'] as const,
    registers: [registry],
    collect() {
      pendingCacheMisses.flushTo(this);
    },
  });
  const rateLimited = new Counter({
    name: 'recsys_rate_limited_total',
    help: 'Requests refused by a rate limit, by limit (key, ip, invalidKey) and namespace ("" when no valid key was given)',
    labelNames: ['limit', 'namespace'] as const,
    registers: [registry],
  });
  const clientDropped = new Counter({
    name: 'recsys_client_dropped_events_total',
    help: 'Events browsers report having dropped from their local queue (cap reached)',
    registers: [registry],
  });
  return {
    registry,
    requests,
    errors,
    duration,
    eventsIngested,
    listsServed,
    emptyLists,
    configVersion,
    rateLimited,
    clientDropped,
    /** Counts one served list of `namespace` (fallback share, empty lists, configuration in use). */
    served(
      namespace: string,
      surface: string,
      list: { fallbackUsed: boolean; empty: boolean; configVersion: number | null },
    ) {
      const fallback = list.fallbackUsed ? 'used' : 'none';
      pendingLists.add(`${namespace}\n${surface}\n${fallback}`, () => ({ namespace, surface, fallback }));
      if (list.empty) emptyLists.inc({ namespace, surface });
      lastConfigVersion.set(namespace, list.configVersion ?? 0);
    },
    /** Counts one list of `namespace` answered from the response cache ('hit') or ranked for it ('miss'). */
    recsCache(namespace: string, outcome: 'hit' | 'miss') {
      (outcome === 'hit' ? pendingCacheHits : pendingCacheMisses).add(namespace, () => ({ namespace }));
    },
    observe(procedure: string, code: string, seconds: number) {
      pendingRequests.add(`${procedure}\n${code}`, () => ({ procedure, code }));
      duration.observe({ procedure }, seconds);
      if (code !== 'OK') errors.inc({ procedure, code });
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/**
 * Exposes how current the engine indexes are: `recsys_event_index_lag_seconds` (how long the oldest
 * event of the last poll waited between being stored and being applied) and
 * `recsys_index_applied_age_seconds` (since the last poll finished: grows when polling is stuck).
 */
export function watchIndexFreshness(metrics: Metrics, source: () => IndexFreshness | undefined): void {
  const registers = [metrics.registry];
  new Gauge({
    name: 'recsys_event_index_lag_seconds',
    help: 'Seconds the oldest event applied by the last engine poll waited after being stored (0: none waiting)',
    registers,
    collect() {
      const fresh = source();
      if (fresh) this.set(fresh.lagSeconds);
    },
  });
  new Gauge({
    name: 'recsys_index_applied_age_seconds',
    help: 'Seconds since the engines last finished applying the database changes',
    registers,
    collect() {
      const fresh = source();
      if (fresh && fresh.appliedAt > 0) this.set((Date.now() - fresh.appliedAt) / 1000);
    },
  });
  new Gauge({
    name: 'recsys_namespace_event_index_lag_seconds',
    help: 'Per namespace: seconds the oldest of its events applied by the last engine poll waited after being stored (0: none waiting)',
    labelNames: ['namespace'] as const,
    registers,
    collect() {
      const fresh = source();
      if (!fresh?.namespaces) return;
      this.reset();
      for (const [namespace, lagSeconds] of Object.entries(fresh.namespaces))
        this.set({ namespace }, lagSeconds);
    },
  });
  new Gauge({
    name: 'recsys_engine_snapshot_age_seconds',
    help: 'Per namespace: seconds since the engine snapshot it was last restored from or written to was taken (absent: no snapshot)',
    labelNames: ['namespace'] as const,
    registers,
    collect() {
      const fresh = source();
      this.reset();
      for (const [namespace, at] of Object.entries(fresh?.snapshots ?? {}))
        this.set({ namespace }, Math.max(0, (Date.now() - at) / 1000));
    },
  });
}

/**
 * Exposes the engine thread's pauses when it is not the thread answering `/metrics`:
 * `recsys_engine_thread_gc_pause_seconds` (each garbage-collection pause, by kind) and
 * `recsys_engine_thread_event_loop_delay_seconds` (the longest and the 99th-percentile timer delay
 * of the last second reported). Every recommendation request waits for that thread, so its pauses
 * are what a latency spike in `recsys_request_duration_seconds` is most often made of.
 */
export function watchEngineThreadPauses(
  metrics: Metrics,
  subscribe: (listener: (report: PauseReport) => void) => void,
): void {
  const registers = [metrics.registry];
  const pauses = new Histogram({
    name: 'recsys_engine_thread_gc_pause_seconds',
    help: "Garbage-collection pauses of the engines' thread, by kind (minor: scavenge; major: mark-compact)",
    labelNames: ['kind'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers,
  });
  const delay = new Gauge({
    name: 'recsys_engine_thread_event_loop_delay_seconds',
    help: "Delay of a 10 ms timer on the engines' thread over the last second reported, by stat (max, p99)",
    labelNames: ['stat'] as const,
    registers,
  });
  subscribe((report) => {
    for (const { kind, ms } of report.gc) pauses.observe({ kind }, ms / 1000);
    delay.set({ stat: 'max' }, report.loopDelayMaxMs / 1000);
    delay.set({ stat: 'p99' }, report.loopDelayP99Ms / 1000);
  });
}

/** What the served-list log reports about itself; read at each scrape. */
export interface ServedListLogState {
  readonly pending: number;
  readonly dropped: number;
  readonly rejected: number;
  /** Traces left out (their lists kept) while the database failed or the buffer was large. */
  readonly tracesSkipped?: number;
}

/**
 * Exposes the served-list log's backlog and losses: `pending` grows while the database is down
 * (lists are kept for a retry), `dropped` counts lists lost to a full buffer, `rejected` lists the
 * database refused as data.
 */
export function watchServedListLog(metrics: Metrics, log: ServedListLogState): void {
  const registers = [metrics.registry];
  new Gauge({
    name: 'recsys_served_lists_pending',
    help: 'Served lists waiting to be written to the log',
    registers,
    collect() {
      this.set(log.pending);
    },
  });
  const counted = { dropped: 0, rejected: 0 };
  new Counter({
    name: 'recsys_served_lists_lost_total',
    help: 'Served lists not logged, by reason (dropped: buffer full while the database was down; rejected: refused as data)',
    labelNames: ['reason'] as const,
    registers,
    collect() {
      for (const reason of ['dropped', 'rejected'] as const) {
        this.inc({ reason }, log[reason] - counted[reason]);
        counted[reason] = log[reason];
      }
    },
  });
  let skipped = 0;
  new Counter({
    name: 'recsys_traces_skipped_total',
    help: 'Decision traces not stored although sampled (their lists were logged): the database was failing or the log buffer was large',
    registers,
    collect() {
      const now = log.tracesSkipped ?? 0;
      this.inc(now - skipped);
      skipped = now;
    },
  });
}
