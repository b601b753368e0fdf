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
  /** Price and currency per market where they differ from the item's own (absent: none differ). */
  markets?: Record<string, { price: number | null; currency: string | null }>;
}

/** The price and currency shoppers in `country` see (the item's own where the market sets none). */
export function displayPrice(
  d: ItemDisplay | undefined,
  country: string | undefined,
): { price: number | null; currency: string | null } {
  const market = country === undefined ? undefined : d?.markets?.[country];
  return market ?? { price: d?.price ?? null, currency: d?.currency ?? null };
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
    markets: row.markets ?? undefined,
  };
}

export function toDisplay(row: ItemRow): ItemDisplay {
  const props = row.props;
  const str = (v: unknown) => (typeof v === 'string' ? v : null);
  const display: ItemDisplay = {
    title: row.title,
    price: row.price,
    currency: row.currency,
    url: str(props.url),
    imageUrl: str(props.imageUrl),
  };
  for (const [country, offer] of Object.entries(row.markets ?? {})) {
    if (offer.price === undefined && offer.currency === undefined) continue;
    display.markets ??= {};
    display.markets[country] = {
      price: offer.price ?? row.price,
      currency: offer.currency ?? row.currency,
    };
  }
  return display;
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
