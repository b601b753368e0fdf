/** The item ids of a list, in order: what most list assertions compare. */
export const itemIds = (list: { items: ReadonlyArray<{ itemId: string }> }) =>
  list.items.map((i) => i.itemId);

/** A `view` of `itemId` by an anonymous visitor, now. */
export const viewNow = (eventId: string, itemId: string, anonymousId: string) => ({
  eventId,
  type: 'view' as const,
  itemId,
  anonymousId,
  ts: new Date().toISOString(),
});
