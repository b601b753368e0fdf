import type { EngineEvent, EngineItem } from './types';

/** Shared fixtures for engine tests (not exported from the package). */
export const T0 = Date.UTC(2024, 0, 1);
export const MIN = 60_000;
export const DAY = 86_400_000;

/** An available, non-archived item; override anything. */
export function item(itemId: string, overrides: Partial<EngineItem> = {}): EngineItem {
  return {
    itemId,
    title: itemId.toUpperCase(),
    available: true,
    archived: false,
    tags: [],
    createdAt: 0,
    ...overrides,
  };
}

/** One event at T0 + offset minutes. */
export function ev(
  type: EngineEvent['type'],
  itemId: string,
  userKey: string,
  minute: number,
  extra: Partial<EngineEvent> = {},
): EngineEvent {
  return { type, itemId, userKey, sessionId: `${userKey}-s`, ts: T0 + minute * MIN, ...extra };
}

/** `users` users who each view every item of `itemIds` within one session. */
export function coViews(itemIds: string[], users: number, prefix = 'u'): EngineEvent[] {
  const out: EngineEvent[] = [];
  for (let u = 0; u < users; u++) {
    for (const [i, id] of itemIds.entries()) out.push(ev('view', id, `${prefix}${u}`, i));
  }
  return out;
}
