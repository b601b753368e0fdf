import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNamespace } from '../auth/namespaces';
import type { Database } from '../db/client';
import { ingestEvents } from '../ingest/events';
import { upsertItems } from '../ingest/items';
import { getTestDatabaseTargets } from '../testing';
import { dataQualityReport } from './dataQuality';

type Event = Record<string, unknown>;

/**
 * Ten days of a steady shop (10 views an hour from 08:00 to 19:59 UTC) with one flaw planted on
 * each of several days, so every line of the report has a day it must point at.
 */
function plantedEvents(): Event[] {
  const out: Event[] = [];
  for (let d = 1; d <= 10; d++) {
    const day = `2026-03-${String(d).padStart(2, '0')}`;
    for (let h = 8; h < 20; h++) {
      if (day === '2026-03-06' && h >= 12 && h < 15) continue; // a three-hour outage
      const perHour = day === '2026-03-09' && h === 15 ? 200 : 10; // a burst
      for (let k = 0; k < perHour; k++) {
        const second = k % 10;
        const minute = Math.floor(k / 10);
        const event: Event = {
          eventId: `${day}-${h}-${k}`,
          type: 'view',
          itemId: `sku-${k % 10}`,
          userId: `u-${k}`,
          anonymousId: `a-${k}`,
          sessionId: `s-${day}-${k}`,
          ts: `${day}T${String(h).padStart(2, '0')}:${String(minute).padStart(2, '0')}:${String(second * 5).padStart(2, '0')}Z`,
        };
        if (day === '2026-03-02' && h === 9 && k < 5) event['itemId'] = 'sku-ghost';
        if (day === '2026-03-03' && h === 10) {
          event['type'] = 'purchase';
          if (k >= 4) event['value'] = 1;
          if (k >= 2) event['meta'] = { unitPrice: 9.5, orderId: `o-${k}` };
        }
        if (day === '2026-03-04' && h === 11) delete event['userId'];
        if (day === '2026-03-05' && h === 16) delete event['sessionId'];
        if (day === '2026-03-08' && h === 9 && k >= 1 && k <= 3) {
          // Three more sends of event 0 (a retry without the same eventId), one of event 5.
          Object.assign(event, {
            itemId: 'sku-0',
            userId: 'u-0',
            anonymousId: 'a-0',
            ts: `${day}T09:00:00Z`,
          });
        }
        if (day === '2026-03-08' && h === 9 && k === 6) {
          Object.assign(event, {
            itemId: 'sku-5',
            userId: 'u-5',
            anonymousId: 'a-5',
            ts: `${day}T09:00:25Z`,
          });
        }
        out.push(event);
      }
    }
  }
  return out;
}

describe.each(getTestDatabaseTargets())('data-quality report on $name', (target) => {
  let database: Database & { drop(): Promise<void> };
  beforeAll(async () => {
    database = await target.open();
    await createNamespace(database, 'shop');
    await upsertItems(
      database,
      'shop',
      Array.from({ length: 10 }, (_, i) => ({ itemId: `sku-${i}`, title: `Item ${i}` })),
    );
    const all = plantedEvents();
    for (let i = 0; i < all.length; i += 500) {
      const result = await ingestEvents(database, 'shop', {}, all.slice(i, i + 500));
      expect(result.rejected).toEqual([]);
    }
  });
  afterAll(() => database.drop());

  it('counts, per day, events for unknown items, purchases without quantity or price, anonymous-only events and missing sessions', async () => {
    const report = await dataQualityReport(database, 'shop', { from: '2026-03-01', to: '2026-03-10' });
    const day = (d: string) => report.days.find((x) => x.day === d)!;
    expect(report.days.map((d) => d.events)).toEqual([120, 120, 120, 120, 120, 90, 120, 120, 310, 120]);
    expect(day('2026-03-02').unknownItem).toBe(5);
    expect(report.topUnknownItems).toEqual([{ itemId: 'sku-ghost', events: 5 }]);
    expect(day('2026-03-03')).toMatchObject({ purchases: 10, purchaseNoValue: 4, purchaseNoPrice: 2 });
    expect(day('2026-03-04').anonymousOnly).toBe(10);
    expect(day('2026-03-05').noSessionId).toBe(10);
    expect(report.totals).toMatchObject({
      events: 1360,
      unknownItem: 5,
      purchases: 10,
      purchaseNoValue: 4,
      purchaseNoPrice: 2,
      anonymousOnly: 10,
      noSessionId: 10,
    });
  });

  it('counts duplicate-looking events (same visitor, type, item and second) and shows their ids', async () => {
    const report = await dataQualityReport(database, 'shop', { from: '2026-03-01', to: '2026-03-10' });
    expect(report.days.filter((d) => d.duplicates > 0).map((d) => [d.day, d.duplicates])).toEqual([
      ['2026-03-08', 4],
    ]);
    expect(report.duplicateSamples).toEqual([
      {
        ts: '2026-03-08T09:00:00Z',
        type: 'view',
        itemId: 'sku-0',
        eventIds: ['2026-03-08-9-0', '2026-03-08-9-1', '2026-03-08-9-2', '2026-03-08-9-3'],
      },
      {
        ts: '2026-03-08T09:00:25Z',
        type: 'view',
        itemId: 'sku-5',
        eventIds: ['2026-03-08-9-5', '2026-03-08-9-6'],
      },
    ]);
  });

  it('finds the empty hours that neighbouring days fill, and the day and hour far above their trailing median', async () => {
    const report = await dataQualityReport(database, 'shop', { from: '2026-03-01', to: '2026-03-10' });
    expect(report.gaps).toEqual([{ day: '2026-03-06', from: '12:00', to: '15:00', expected: 30 }]);
    expect(report.spikes).toEqual([
      { scope: 'day', at: '2026-03-09', events: 310, median: 120, mad: 0, threshold: 174.8 },
      { scope: 'hour', at: '2026-03-09T15:00', events: 200, median: 10, mad: 0, threshold: 25.8 },
    ]);
    expect(report.days.find((d) => d.day === '2026-03-09')).toMatchObject({ daySpike: true, spikeHours: 1 });
    // Quiet night hours are empty every day: that is the pattern, not a gap.
    expect(report.totals.gapHours).toBe(3);
  });

  it('covers the two weeks up to the newest event by default, never days before the first', async () => {
    const report = await dataQualityReport(database, 'shop');
    expect([report.from, report.to]).toEqual(['2026-03-01', '2026-03-10']);
    const narrow = await dataQualityReport(database, 'shop', { from: '2026-03-08', to: '2026-03-09' });
    expect(narrow.days.map((d) => d.day)).toEqual(['2026-03-08', '2026-03-09']);
    // The spike is still measured against the days before the range.
    expect(narrow.spikes.map((s) => s.at)).toEqual(['2026-03-09', '2026-03-09T15:00']);
  });

  it('reports up to today when events stopped arriving recently, the missing hours as gaps, unfinished hours not', async () => {
    await createNamespace(database, 'stopped');
    const all = plantedEvents();
    for (let i = 0; i < all.length; i += 500)
      await ingestEvents(database, 'stopped', {}, all.slice(i, i + 500));
    const report = await dataQualityReport(database, 'stopped', { now: new Date('2026-03-12T12:00:00Z') });
    expect([report.from, report.to]).toEqual(['2026-03-01', '2026-03-12']);
    expect(report.gaps.filter((g) => g.day >= '2026-03-11')).toEqual([
      { day: '2026-03-11', from: '08:00', to: '20:00', expected: 120 },
      { day: '2026-03-12', from: '08:00', to: '12:00', expected: 40 },
    ]);
  });

  it('refuses days that are not YYYY-MM-DD, or a range that runs backwards', async () => {
    await expect(dataQualityReport(database, 'shop', { from: '03/01/2026' })).rejects.toThrow(
      '--from "03/01/2026" is not a day: write YYYY-MM-DD (UTC).',
    );
    await expect(
      dataQualityReport(database, 'shop', { from: '2026-03-09', to: '2026-03-01' }),
    ).rejects.toThrow('--from 2026-03-09 is after --to 2026-03-01.');
  });
});
