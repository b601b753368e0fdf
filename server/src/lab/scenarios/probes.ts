/** What every scenario uses: the probes (one per surface), item features and list measures. */
import { randomUUID } from 'node:crypto';
import type { RecommendedItem, RecsResponse } from '@recsys/engine/protocol';
import type { ItemView } from '../../index';
import type { ScenarioContext } from './types';

export type Extra = {
  filters?: {
    includeTagsAny?: string[];
    excludeTagsAny?: string[];
    priceBetween?: [number | null, number | null];
  };
  overrides?: {
    diversity?: { lambda?: number; maxPerBrand?: number; maxPerCategory?: number };
    excludePurchased?: boolean;
  };
  explain?: boolean;
  seed?: number;
};

interface Probe {
  label: string;
  call: (extra: Extra) => Promise<RecsResponse>;
}

export const DAY = 86_400_000;

/** The lists a shop shows: home for warm users, item pages, cart, trending. */
export function probes(ctx: ScenarioContext, max = 4): Probe[] {
  const { api, k } = ctx;
  const out: Probe[] = [];
  for (const userId of ctx.warmUsers.slice(0, max)) {
    out.push({ label: `forUser(${userId})`, call: (x) => api.recs.forUser.query({ userId, k, ...x }) });
  }
  for (const itemId of ctx.hotItems.slice(0, max)) {
    out.push({ label: `similar(${itemId})`, call: (x) => api.recs.similar.query({ itemId, k, ...x }) });
  }
  const cart = ctx.hotItems.slice(0, 2);
  if (cart.length) out.push({ label: 'cart', call: (x) => api.recs.cart.query({ itemIds: cart, k, ...x }) });
  out.push({ label: 'trending', call: (x) => api.recs.trending.query({ k, ...x }) });
  out.push({
    label: 'forUser(new visitor)',
    call: (x) => api.recs.forUser.query({ anonymousId: `scenario-${randomUUID()}`, k, ...x }),
  });
  return out;
}

export function categoryOf(item: ItemView | undefined): string | undefined {
  return item?.tags.find((t) => t.startsWith('category:'));
}

function jaccard(a: ReadonlySet<string>, b: ReadonlySet<string>): number {
  if (a.size === 0 && b.size === 0) return 1;
  let both = 0;
  for (const t of b) if (a.has(t)) both++;
  return both / (a.size + b.size - both);
}

/**
 * What an item is made of for diversity: its tags plus the words of its
 * title, so catalogs without tags (e.g. Online Retail) are still measurable.
 */
function features(ctx: ScenarioContext, itemId: string): Set<string> {
  const item = ctx.catalog.get(itemId);
  const words = (item?.title ?? '')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w.length > 2)
    .map((w) => `word:${w}`);
  return new Set([...(item?.tags ?? []), ...words]);
}

/** Intra-list diversity: mean pairwise (1 − Jaccard) over tags and title words. */
export function intraListDiversity(ctx: ScenarioContext, items: readonly { itemId: string }[]): number {
  const sets = items.map((i) => features(ctx, i.itemId));
  let sum = 0;
  let pairs = 0;
  for (let i = 0; i < sets.length; i++) {
    for (let j = i + 1; j < sets.length; j++) {
      sum += 1 - jaccard(sets[i]!, sets[j]!);
      pairs++;
    }
  }
  return pairs ? sum / pairs : 0;
}

export const scoreSum = (items: readonly RecommendedItem[]) => items.reduce((s, i) => s + i.score, 0);
export const fmt = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(3));

/** The most common category among active items, so filters keep lists non-empty. */
export function commonCategory(ctx: ScenarioContext): string | undefined {
  const counts = new Map<string, number>();
  for (const item of ctx.catalog.values()) {
    const c = categoryOf(item);
    if (c && !item.archivedAt && item.available) counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]?.[0];
}
