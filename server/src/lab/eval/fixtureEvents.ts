import type { EngineEvent, EngineItem } from '@recsys/engine';
import { userKeyOf } from '@recsys/engine/protocol';
import type { FixtureEvent, FixtureItem } from '@recsys/fixtures';

/**
 * Fixture rows → engine rows, for in-process evaluation and benchmarks that
 * feed an engine without going through the database. Aliasing follows the
 * same rule as the engine host: a userId wins, else the anonymous id.
 */
export function fixtureItemToEngine(item: FixtureItem, fallbackCreatedAt = 0): EngineItem {
  return {
    itemId: item.itemId,
    title: item.title,
    description: item.description,
    price: item.price,
    currency: item.currency,
    available: item.available,
    archived: item.archived,
    tags: item.tags,
    parentId: item.parentId,
    createdAt: item.createdAt ? Date.parse(item.createdAt) : fallbackCreatedAt,
  };
}

export function fixtureEventToEngine(event: FixtureEvent): EngineEvent | undefined {
  const userKey = userKeyOf(event.userId, event.anonymousId);
  if (!userKey) return undefined;
  return {
    type: event.type,
    itemId: event.itemId,
    userKey,
    sessionId: event.sessionId,
    ts: Date.parse(event.ts),
    value: event.value,
    orderId: event.meta?.orderId,
  };
}
