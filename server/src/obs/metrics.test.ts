import { describe, expect, it } from 'vitest';
import { createMetrics, watchServedListLog } from './metrics';

describe('served-list log metrics', () => {
  it('report the backlog and each kind of loss as the log counts them, at every scrape', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const state = { pending: 0, dropped: 0, rejected: 0, tracesSkipped: 0 };
    watchServedListLog(metrics, state);
    expect(await metrics.registry.metrics()).toMatch(/recsys_served_lists_pending 0/);

    Object.assign(state, { pending: 1_200, dropped: 3, rejected: 1 });
    let text = await metrics.registry.metrics();
    expect(text).toMatch(/recsys_served_lists_pending 1200/);
    expect(text).toMatch(/recsys_served_lists_lost_total\{reason="dropped"\} 3/);
    expect(text).toMatch(/recsys_served_lists_lost_total\{reason="rejected"\} 1/);

    expect(text).toMatch(/recsys_traces_skipped_total 0/);
    Object.assign(state, { pending: 0, dropped: 5, tracesSkipped: 2 });
    text = await metrics.registry.metrics();
    expect(text).toMatch(/recsys_served_lists_pending 0/);
    expect(text).toMatch(/recsys_served_lists_lost_total\{reason="dropped"\} 5/);
    expect(text).toMatch(/recsys_served_lists_lost_total\{reason="rejected"\} 1/);
    expect(text).toMatch(/recsys_traces_skipped_total 2/);
  });
});
