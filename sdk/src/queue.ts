import type { RecsysEvent } from '@recsys/protocol';
import { createWebStore, listWebStoreKeys } from './storage';
import { createUuid } from './uuid';

const QUEUE_PREFIX = 'rsys_q_';
const TAB_KEY = 'rsys_tab';
/** A tab's stored queue counts as abandoned when untouched this long; other tabs may then adopt it. */
export const QUEUE_LEASE_MS = 300_000;

/** What one tab keeps in localStorage under `rsys_q_<tabId>`. */
interface QueueRecord {
  /** Last write (ms): the tab's lease on these events. */
  t: number;
  /** Dropped-events counter not yet reported to the server. */
  d: number;
  e: RecsysEvent[];
  /** Set on `pagehide`: the tab let go, so a reload of the same tab may take it back at once. */
  c?: 1;
}

export interface EventQueue {
  /** Oldest first. The front may be in flight; it is removed only once the server answered. */
  readonly events: RecsysEvent[];
  dropped: number;
  push(event: RecsysEvent): void;
  /** Puts events back at the front (a failed batch), skipping ids already queued. */
  unshift(events: RecsysEvent[]): void;
  remove(ids: ReadonlySet<string>): void;
  clear(): void;
  /** Writes the queue to localStorage; `released` marks it free for a reload of this tab. */
  persist(released?: boolean): void;
  /** Forgets this tab's stored queue and tab id (consent withdrawn). */
  erase(): void;
}

function readRecord(local: ReturnType<typeof createWebStore>, key: string): QueueRecord | null {
  try {
    const r = JSON.parse(local.get(key) ?? 'null') as QueueRecord | null;
    return r && Array.isArray(r.e) ? r : null;
  } catch {
    return null;
  }
}

/**
 * The event queue, one per tab. Each tab persists its own queue under its own
 * key (tab id kept in sessionStorage, which survives reloads of that tab), so
 * two open tabs never send each other's events. Queues of tabs that were
 * closed or crashed are adopted by the next tab once their lease expired; a
 * rare double adoption only costs a duplicate send, which the server drops by
 * `eventId`.
 */
export function createEventQueue(cap: number, persistent: boolean, now: () => number = Date.now): EventQueue {
  const local = createWebStore('localStorage');
  const session = createWebStore('sessionStorage');
  const events: RecsysEvent[] = [];
  let key = '';

  const queue: EventQueue = {
    events,
    dropped: 0,
    push(event) {
      events.push(event);
      if (events.length > cap) {
        events.splice(0, events.length - cap);
        queue.dropped++;
      }
      queue.persist();
    },
    unshift(batch) {
      const have = new Set(events.map((e) => e.eventId));
      events.unshift(...batch.filter((e) => !have.has(e.eventId)));
      if (events.length > cap) {
        queue.dropped += events.length - cap;
        events.splice(0, events.length - cap);
      }
      queue.persist();
    },
    remove(ids) {
      let w = 0;
      for (const e of events) if (!ids.has(e.eventId)) events[w++] = e;
      events.length = w;
      queue.persist();
    },
    clear() {
      events.length = 0;
      queue.dropped = 0;
      queue.persist();
    },
    persist(released) {
      if (!key) return;
      if (!events.length && !queue.dropped) return local.remove(key);
      const rec: QueueRecord = { t: now(), d: queue.dropped, e: events };
      if (released) rec.c = 1;
      local.set(key, JSON.stringify(rec));
    },
    erase() {
      if (key) local.remove(key);
      session.remove(TAB_KEY);
      key = '';
    },
  };

  if (persistent) {
    let tab = session.get(TAB_KEY);
    const own = tab ? readRecord(local, QUEUE_PREFIX + tab) : null;
    // A fresh, unreleased record under our tab id means this is a duplicated
    // tab whose original is still running: take a new id, leave its events alone.
    if (!tab || (own && !own.c && now() - own.t < QUEUE_LEASE_MS)) {
      tab = createUuid().slice(0, 8);
      session.set(TAB_KEY, tab);
    } else if (own) {
      events.push(...own.e);
      queue.dropped = own.d || 0;
    }
    key = QUEUE_PREFIX + tab;
    for (const k of listWebStoreKeys('localStorage')) {
      if (!k.startsWith(QUEUE_PREFIX) || k === key) continue;
      const rec = readRecord(local, k);
      if (rec && now() - rec.t < QUEUE_LEASE_MS) continue;
      local.remove(k);
      if (rec) {
        queue.unshift(rec.e);
        queue.dropped += rec.d || 0;
      }
    }
    events.sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
    queue.persist();
  }
  return queue;
}
