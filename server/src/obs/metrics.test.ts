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

describe('request metrics', () => {
  it('give every scrape the totals counted so far, per label set, as one prom-client inc per request would', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const serve = (namespace: string, surface: string, fallbackUsed: boolean, configVersion: number | null) =>
      metrics.served(namespace, surface, { fallbackUsed, empty: false, configVersion });
    metrics.observe('recs.similar', 'OK', 0.002);
    metrics.observe('recs.similar', 'OK', 0.003);
    metrics.observe('recs.similar', 'UNAUTHORIZED', 0.001);
    serve('shop', 'similar', false, 3);
    serve('shop', 'similar', true, 4);
    serve('other', 'forUser', false, null);
    metrics.recsCache('shop', 'hit');
    metrics.recsCache('shop', 'hit');
    metrics.recsCache('shop', 'miss');
    let text = await metrics.registry.metrics();
    expect(text).toMatch(/recsys_requests_total\{procedure="recs.similar",code="OK"\} 2\n/);
    expect(text).toMatch(/recsys_requests_total\{procedure="recs.similar",code="UNAUTHORIZED"\} 1\n/);
    expect(text).toMatch(/recsys_request_errors_total\{procedure="recs.similar",code="UNAUTHORIZED"\} 1\n/);
    expect(text).toMatch(/recsys_request_duration_seconds_count\{procedure="recs.similar"\} 3\n/);
    expect(text).toMatch(/recsys_recs_lists_total\{namespace="shop",surface="similar",fallback="none"\} 1\n/);
    expect(text).toMatch(/recsys_recs_lists_total\{namespace="shop",surface="similar",fallback="used"\} 1\n/);
    expect(text).toMatch(/recsys_config_version\{namespace="shop"\} 4\n/);
    expect(text).toMatch(/recsys_config_version\{namespace="other"\} 0\n/);
    expect(text).toMatch(/recsys_recs_cache_hits_total\{namespace="shop"\} 2\n/);
    expect(text).toMatch(/recsys_recs_cache_misses_total\{namespace="shop"\} 1\n/);

    // Counted again after a scrape: added to what the last scrape read, never counted twice.
    metrics.observe('recs.similar', 'OK', 0.002);
    serve('shop', 'similar', false, 2);
    metrics.recsCache('shop', 'hit');
    expect(await metrics.requests.get()).toMatchObject({
      values: expect.arrayContaining([{ labels: { procedure: 'recs.similar', code: 'OK' }, value: 3 }]),
    });
    text = await metrics.registry.metrics();
    expect(text).toMatch(/recsys_requests_total\{procedure="recs.similar",code="OK"\} 3\n/);
    expect(text).toMatch(/recsys_recs_lists_total\{namespace="shop",surface="similar",fallback="none"\} 2\n/);
    expect(text).toMatch(/recsys_config_version\{namespace="shop"\} 2\n/);
    expect(text).toMatch(/recsys_config_version\{namespace="other"\} 0\n/);
    expect(text).toMatch(/recsys_recs_cache_hits_total\{namespace="shop"\} 3\n/);
  });
});
