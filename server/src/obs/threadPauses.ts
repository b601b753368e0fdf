import { constants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';

/** V8's kinds of garbage-collection pause, as Prometheus labels. */
export type GcKind = 'minor' | 'major' | 'incremental' | 'weakcb';

/** What one thread's event loop lost to pauses since the previous report. */
export interface PauseReport {
  /** Each garbage-collection pause (at most {@link MAX_GC_PER_REPORT}), ms. */
  gc: Array<{ kind: GcKind; ms: number }>;
  /** Longest and 99th-percentile delay of a 10 ms timer, ms: GC pauses and long synchronous work. */
  loopDelayMaxMs: number;
  loopDelayP99Ms: number;
}

/** Pauses kept between two reports; a thread collecting more often than this is reported in part. */
export const MAX_GC_PER_REPORT = 1_000;

const KINDS = new Map<number, GcKind>([
  [constants.NODE_PERFORMANCE_GC_MINOR, 'minor'],
  [constants.NODE_PERFORMANCE_GC_MAJOR, 'major'],
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL, 'incremental'],
  [constants.NODE_PERFORMANCE_GC_WEAKCB, 'weakcb'],
]);

/**
 * Watches the calling thread's garbage-collection pauses and event-loop delay, for
 * {@link PauseReport}s taken at intervals. Why: with the HTTP thread apart, `/metrics` is answered
 * there, so Node's default metrics describe that thread; the engine thread's pauses, which every
 * request waits for, were invisible (at 1,000 requests/s its scavenges took 5–14 ms each).
 */
export function watchThreadPauses(): { take(): PauseReport; stop(): void } {
  let gc: PauseReport['gc'] = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (gc.length >= MAX_GC_PER_REPORT) break;
      // `detail` is where Node 16+ puts a GC entry's kind (its type, PerformanceEntry, does not say).
      const kind = KINDS.get((entry as { detail?: { kind?: number } }).detail?.kind ?? -1);
      if (kind) gc.push({ kind, ms: entry.duration });
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  return {
    take() {
      // The histogram is in ns and counts the timer's own 10 ms as delay too.
      const ms = (ns: number) => (Number.isFinite(ns) && ns > 0 ? Math.max(0, ns / 1e6 - 10) : 0);
      const report: PauseReport = {
        gc,
        loopDelayMaxMs: ms(delay.max),
        loopDelayP99Ms: ms(delay.percentile(99)),
      };
      gc = [];
      delay.reset();
      return report;
    },
    stop() {
      observer.disconnect();
      delay.disable();
    },
  };
}
