import type { RecParams, Surface } from './types';

/** Widget type names accepted in `type` / `data-recsys-widget`, in camelCase or kebab-case. */
export type WidgetType = Surface | 'for-user' | 'top-picks' | 'home' | 'buy-again' | 'recently-viewed';

const ALIASES: Record<string, Surface> = {
  foruser: 'forUser',
  toppicks: 'forUser',
  home: 'forUser',
  similar: 'similar',
  cart: 'cart',
  buyagain: 'buyAgain',
  trending: 'trending',
  recentlyviewed: 'recentlyViewed',
};

/** Default headings, so every widget has a label for its region even when the page sets none. */
export const DEFAULT_TITLES: Record<Surface, string> = {
  forUser: 'Recommended for you',
  similar: 'You may also like',
  cart: 'Complete your order',
  buyAgain: 'Buy it again',
  trending: 'Trending now',
  recentlyViewed: 'Recently viewed',
};

/**
 * Maps a widget type name (`for-user`, `forUser`, `buy-again`, ...) to its API surface.
 * @throws Error naming the accepted values when the type is unknown.
 */
export function toSurface(type: string): Surface {
  const surface = ALIASES[type.replace(/[-_\s]/g, '').toLowerCase()];
  if (!surface) {
    throw new Error(
      `Unknown recommendation widget type "${type}". Use one of: for-user, similar, cart, buy-again, trending, recently-viewed.`,
    );
  }
  return surface;
}

/** Inputs a widget turns into request parameters. */
export interface RequestInput {
  itemId?: string | undefined;
  itemIds?: readonly string[] | undefined;
  category?: string | undefined;
  limit: number;
  filters?: Record<string, unknown> | undefined;
  explain?: boolean | undefined;
}

/**
 * Builds the `recommend` parameters for a surface, sending only what that surface uses.
 * @throws Error when a surface is missing the input it needs (a product id for `similar`, cart ids for `cart`).
 */
export function buildParams(surface: Surface, input: RequestInput): RecParams {
  const params: RecParams = { k: input.limit };
  if (surface === 'similar') {
    if (!input.itemId) {
      throw new Error('The "similar" widget needs a product id: set data-item-id="…" (or the itemId prop).');
    }
    params.itemId = input.itemId;
  }
  if (surface === 'cart') {
    if (!input.itemIds) {
      throw new Error(
        'The "cart" widget needs the cart contents: set data-item-ids="a,b" (or the itemIds prop).',
      );
    }
    params.itemIds = [...input.itemIds];
  }
  if (input.category) params.category = input.category;
  if (input.filters) params.filters = input.filters;
  // On a product page, "recently viewed" leaves out the product the shopper is looking at.
  if (surface === 'recentlyViewed' && input.itemId) {
    const excludeIds = (input.filters?.excludeIds as string[] | undefined) ?? [];
    params.filters = { ...input.filters, excludeIds: [...excludeIds, input.itemId] };
  }
  if (input.explain) params.explain = true;
  return params;
}
