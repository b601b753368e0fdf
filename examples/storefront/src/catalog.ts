import type { createNodeClient } from '@recsys/sdk/node';
import type { AppRouter, ItemView } from '@recsys/server';

export type RecsysApi = ReturnType<typeof createNodeClient<AppRouter>>;

/** A product as the shop renders it. */
export interface Product {
  itemId: string;
  title: string;
  description: string;
  price: number | null;
  currency: string;
  available: boolean;
  category: string;
  brand: string | null;
  /** Facets other than brand and category, e.g. `color: black`. */
  facets: Array<[string, string]>;
}

export interface Category {
  slug: string;
  name: string;
  count: number;
}

export interface Catalog {
  products: Map<string, Product>;
  categories: Category[];
  byCategory: Map<string, Product[]>;
}

const titleCase = (slug: string) =>
  slug
    .split(/[-_]/)
    .filter(Boolean)
    .map((w) => w[0]?.toUpperCase() + w.slice(1))
    .join(' ');

export function toProduct(item: ItemView): Product {
  let category = 'other';
  let brand: string | null = null;
  const facets: Array<[string, string]> = [];
  for (const tag of item.tags) {
    const colon = tag.indexOf(':');
    if (colon < 0) continue;
    const key = tag.slice(0, colon);
    const value = tag.slice(colon + 1);
    if (key === 'category') category = value;
    else if (key === 'brand') brand = titleCase(value);
    else facets.push([key, value]);
  }
  return {
    itemId: item.itemId,
    title: item.title ?? item.itemId,
    description: item.description ?? '',
    price: item.price,
    currency: item.currency ?? 'EUR',
    available: item.available,
    category,
    brand,
    facets,
  };
}

/**
 * Reads the catalog back from Recsys with the secret key. A real shop has its
 * own product database; the demo's catalog lives only in Recsys, so this is
 * the shop's "product service".
 */
export async function loadCatalog(api: RecsysApi): Promise<Catalog> {
  const products = new Map<string, Product>();
  let cursor: string | undefined;
  do {
    const page = await api.items.list.query({ limit: 1000, ...(cursor ? { cursor } : {}) });
    for (const item of page.items) products.set(item.itemId, toProduct(item));
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  const byCategory = new Map<string, Product[]>();
  for (const p of products.values()) {
    const list = byCategory.get(p.category);
    if (list) list.push(p);
    else byCategory.set(p.category, [p]);
  }
  const categories = [...byCategory]
    .map(([slug, list]) => ({ slug, name: titleCase(slug), count: list.length }))
    .sort((a, b) => a.name.localeCompare(b.name));
  return { products, categories, byCategory };
}

export { titleCase };
