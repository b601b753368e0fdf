import type { EngineEvent, EngineItem } from '@recsys/engine';
import { userKeyOf } from '@recsys/engine/protocol';
import type { EventRow, ItemRow } from './reads';

/** Display fields the engine does not need but responses do. */
export interface ItemDisplay {
  title: string | null;
  price: number | null;
  currency: string | null;
  url: string | null;
  imageUrl: string | null;
}

export function toEngineItem(row: ItemRow): EngineItem {
  return {
    itemId: row.itemId,
    title: row.title ?? undefined,
    description: row.description ?? undefined,
    price: row.price ?? undefined,
    currency: row.currency ?? undefined,
    available: row.available,
    archived: row.archived,
    tags: row.tags,
    parentId: row.parentId ?? undefined,
    createdAt: row.createdMs,
  };
}

export function toDisplay(row: ItemRow): ItemDisplay {
  const props = row.props;
  const str = (v: unknown) => (typeof v === 'string' ? v : null);
  return {
    title: row.title,
    price: row.price,
    currency: row.currency,
    url: str(props.url),
    imageUrl: str(props.imageUrl),
  };
}

export function toEngineEvent(row: EventRow, aliases: ReadonlyMap<string, string>): EngineEvent | undefined {
  const userKey = userKeyOf(row.userId, row.anonymousId, aliases);
  if (!userKey) return undefined;
  return {
    type: row.type,
    itemId: row.itemId ?? undefined,
    userKey,
    sessionId: row.sessionId ?? undefined,
    ts: row.tsMs,
    value: row.value ?? undefined,
    orderId: row.orderId ?? undefined,
  };
}
