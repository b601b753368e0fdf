import { describe, expect, it } from 'vitest';
import { EventLog, type IngestEvent } from './EventLog';

const event = (i: number): IngestEvent => ({
  type: i % 5 === 0 ? 'purchase' : 'view',
  item: i % 7,
  userKey: `u${i % 3}`,
  sessionId: i % 4 === 0 ? undefined : `s${i % 11}`,
  ts: 1_000 + i,
  // Some events carry a value, an order, both or neither.
  value: i % 5 === 0 ? i * 1.5 : i % 13 === 0 ? 0 : undefined,
  orderId: i % 5 === 0 || i % 9 === 0 ? `o${Math.floor(i / 10)}` : undefined,
});

function replayed(log: EventLog): IngestEvent[] {
  const out: IngestEvent[] = [];
  log.replay((e) => out.push(e));
  return out;
}

describe('EventLog', () => {
  it('replays every event as appended, with the value and order of those that had one', () => {
    const log = new EventLog();
    const events = Array.from({ length: 3_000 }, (_, i) => event(i));
    for (const e of events) log.append(e);
    expect(log.length).toBe(3_000);
    expect(replayed(log)).toEqual(events);
  });

  it('keeps each value and order on its own event when a forgotten user’s events are skipped', () => {
    const log = new EventLog();
    const events = Array.from({ length: 300 }, (_, i) => event(i));
    for (const e of events) log.append(e);
    log.forget('u1');
    expect(replayed(log)).toEqual(events.filter((e) => e.userKey !== 'u1'));
  });

  it('gives back its room to grow when trimmed, and goes on appending after it', () => {
    const log = new EventLog();
    const events = Array.from({ length: 5_000 }, (_, i) => event(i));
    for (const e of events.slice(0, 2_100)) log.append(e);
    log.trim();
    for (const e of events.slice(2_100)) log.append(e);
    log.trim();
    expect(replayed(log)).toEqual(events);
    // 21 bytes an event (33 when every event had a value and an order column), 12 more for one with a
    // value and 8 for one with an order.
    const valued = events.filter((e) => e.value !== undefined).length;
    const ordered = events.filter((e) => e.orderId !== undefined).length;
    expect(log.byteLength).toBe(21 * events.length + 12 * valued + 8 * ordered);
  });
});
