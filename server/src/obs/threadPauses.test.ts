import { describe, expect, it } from 'vitest';
import { watchThreadPauses } from './threadPauses';

/** Allocates enough short-lived objects that V8 must scavenge its young generation several times. */
function churn(): number {
  let kept = 0;
  for (let i = 0; i < 2_000_000; i++) kept += [i, { i }].length;
  return kept;
}

describe('watchThreadPauses', () => {
  it("reports the thread's garbage-collection pauses by kind and how long its event loop was blocked", async () => {
    const pauses = watchThreadPauses();
    try {
      churn();
      const block = async () => {
        const until = performance.now() + 60;
        while (performance.now() < until);
        await new Promise((r) => setTimeout(r, 30));
      };
      // The delay monitor's first tick only starts its clock, and it may come after the first block
      // on a loaded machine; it comes before the 30 ms wait ends (its timer is due first). So the
      // second block makes a tick at least 50 ms late, however loaded the machine is. The wait also
      // lets the GC entries, delivered asynchronously, reach the observer.
      await block();
      await block();
      const report = pauses.take();
      expect(report.gc.some((p) => p.kind === 'minor' && p.ms > 0)).toBe(true);
      expect(report.loopDelayMaxMs).toBeGreaterThanOrEqual(30);
      expect(report.loopDelayP99Ms).toBeLessThanOrEqual(report.loopDelayMaxMs);
      // Each report holds what happened since the previous one.
      expect(pauses.take().gc).not.toBe(report.gc);
    } finally {
      pauses.stop();
    }
  });
});
