import type { EngineEvent, EngineItem, EventType } from '@recsys/engine';

/** Display fields the engine does not need but responses do. */
export interface ItemDisplay {
  title: string | null;
  price: number | null;
  currency: string | null;
  url: string | null;
  imageUrl: string | null;
}

export interface ItemRow extends Record<string, unknown> {
  namespace_id: string;
  item_id: string;
  title: string | null;
  description: string | null;
  price: number | null;
  currency: string | null;
  available: boolean;
  archived: boolean;
  tags: string[];
  props: Record<string, unknown> | string;
  parent_id: string | null;
  created_ms: number;
}

export const ITEM_COLUMNS = `namespace_id, item_id, title, description, price, currency, available,
  archived_at IS NOT NULL AS archived, tags, props, parent_id,
  (extract(epoch from created_at) * 1000)::float8 AS created_ms`;

export interface EventRow extends Record<string, unknown> {
  namespace_id: string;
  type: EventType;
  item_id: string | null;
  user_id: string | null;
  anonymous_id: string | null;
  session_id: string | null;
  ts_ms: number;
  value: number | null;
  order_id: string | null;
}

export const EVENT_COLUMNS = `namespace_id, type, item_id, user_id, anonymous_id, session_id,
  (extract(epoch from ts) * 1000)::float8 AS ts_ms, value, meta->>'orderId' AS order_id`;

export function toEngineItem(row: ItemRow): EngineItem {
  return {
    itemId: row.item_id,
    title: row.title ?? undefined,
    description: row.description ?? undefined,
    price: row.price ?? undefined,
    currency: row.currency ?? undefined,
    available: row.available,
    archived: row.archived,
    tags: row.tags,
    parentId: row.parent_id ?? undefined,
    createdAt: Number(row.created_ms),
  };
}

export function toDisplay(row: ItemRow): ItemDisplay {
  const props =
    typeof row.props === 'string' ? (JSON.parse(row.props) as Record<string, unknown>) : row.props;
  const str = (v: unknown) => (typeof v === 'string' ? v : null);
  return {
    title: row.title,
    price: row.price,
    currency: row.currency,
    url: str(props.url),
    imageUrl: str(props.imageUrl),
  };
}

/** The identity the engine keys profiles by; see `EngineEvent.userKey`. */
export function userKeyOf(
  userId: string | null | undefined,
  anonymousId: string | null | undefined,
  aliases: ReadonlyMap<string, string>,
): string | undefined {
  if (userId) return userId;
  if (!anonymousId) return undefined;
  return aliases.get(anonymousId) ?? anonKey(anonymousId);
}

export const anonKey = (anonymousId: string) => `anon:${anonymousId}`;

export function toEngineEvent(row: EventRow, aliases: ReadonlyMap<string, string>): EngineEvent | undefined {
  const userKey = userKeyOf(row.user_id, row.anonymous_id, aliases);
  if (!userKey) return undefined;
  return {
    type: row.type,
    itemId: row.item_id ?? undefined,
    userKey,
    sessionId: row.session_id ?? undefined,
    ts: Number(row.ts_ms),
    value: row.value ?? undefined,
    orderId: row.order_id ?? undefined,
  };
}
