import type { Surface } from '@recsys/engine/protocol';
import { z } from 'zod';
import { UserError } from '../errors';
import { idSchema } from '../ingest/contracts/common';
import { listEvents } from '../ingest/events';
import { getItems } from '../ingest/items';
import { getUser } from '../ingest/users';
import { EngineNotReadyError, type ServeInput } from '../serve/EngineService';
import { assertPlacedHere } from './engines';
import { type Context, router, secretProcedure } from './init';

/** How many of a visitor's or an item's latest events a lookup shows. */
const RECENT_EVENTS = 20;
/** How many items each list of a lookup shows. */
const LIST_LENGTH = 10;

/** One list as the engine would rank it now, with the reasons of each item. */
interface LookedUpList {
  surface: Surface;
  /** What the list is, in words, for the page that shows it. */
  label: string;
  items: Array<{ itemId: string; title: string | null; score: number; reasons: string[] }>;
  fallbackUsed: boolean;
}

/**
 * The lists `asks` would get now, ranked by this replica's engine with `explain` on — a look, not a
 * serve: nothing is logged, no experiment assigns the visitor (these are the control's lists).
 * `lists: null` and a note when this server cannot rank.
 */
async function rankNow(
  ctx: Context & { principal: { namespaceId: string } },
  asks: Array<{ surface: Surface; label: string; input: Omit<ServeInput, 'k' | 'explain'> }>,
): Promise<{ lists: LookedUpList[] | null; note: string | null }> {
  const host = ctx.services.engines;
  const namespaceId = ctx.principal.namespaceId;
  if (!host) return { lists: null, note: 'This server runs without recommendations (--no-engine).' };
  assertPlacedHere(ctx, namespaceId);
  try {
    const lists: LookedUpList[] = [];
    for (const { surface, label, input } of asks) {
      const list = await host.serve(namespaceId, surface, { ...input, k: LIST_LENGTH, explain: true });
      lists.push({
        surface,
        label,
        fallbackUsed: list.fallback.used,
        items: list.items.map((item) => ({
          itemId: item.itemId,
          title: item.title,
          score: item.score,
          reasons: (item.reasons ?? []).map((r) => r.text),
        })),
      });
    }
    return { lists, note: null };
  } catch (error) {
    if (!(error instanceof EngineNotReadyError)) throw error;
    return { lists: null, note: 'The engine is still loading its indexes; look again in a moment.' };
  }
}

/**
 * What an operator looks up in the console's catalog: a visitor (who they are, what they did, what
 * each personal list would show them now) and an item (its record, its latest events, its
 * neighbours). Reads only, for viewers too.
 */
export const lookupRouter = router({
  /** A signed-in user: traits and linked anonymous ids, latest events, and their lists now. */
  user: secretProcedure.input(z.object({ userId: idSchema }).strict()).query(async ({ ctx, input }) => {
    const { database } = ctx.services;
    const namespaceId = ctx.principal.namespaceId;
    const [user, recent] = await Promise.all([
      getUser(database, namespaceId, input.userId),
      listEvents(database, namespaceId, { userId: input.userId, limit: RECENT_EVENTS }),
    ]);
    const ranked = await rankNow(ctx, [
      { surface: 'forUser', label: 'For you', input: { userId: input.userId } },
      { surface: 'recentlyViewed', label: 'Recently viewed', input: { userId: input.userId } },
      { surface: 'buyAgain', label: 'Buy again', input: { userId: input.userId } },
    ]);
    return { userId: input.userId, user, events: recent.events, ...ranked };
  }),
  /** An item: its record, latest events, and the neighbours shoppers see beside it. */
  item: secretProcedure.input(z.object({ itemId: idSchema }).strict()).query(async ({ ctx, input }) => {
    const { database } = ctx.services;
    const namespaceId = ctx.principal.namespaceId;
    const [item] = await getItems(database, namespaceId, [input.itemId]);
    if (!item) {
      throw new UserError(
        'NOT_FOUND',
        `No item "${input.itemId}" in "${namespaceId}"; search the catalog (admin.catalog.list) for its id.`,
      );
    }
    const recent = await listEvents(database, namespaceId, { itemId: input.itemId, limit: RECENT_EVENTS });
    const ranked = await rankNow(ctx, [
      { surface: 'similar', label: 'Similar items', input: { itemId: input.itemId } },
      { surface: 'cart', label: 'Bought with it (its cart list)', input: { itemIds: [input.itemId] } },
    ]);
    return { item, events: recent.events, ...ranked };
  }),
});
