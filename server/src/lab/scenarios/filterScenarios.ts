import { commonCategory, DAY, probes } from './probes';
import type { Scenario } from './types';

export const includeTags: Scenario = {
  id: 'filters.include-tags',
  version: 1,
  description: 'includeTagsAny is honoured: every returned item carries one of the tags',
  threshold: 1,
  direction: 'min',
  async run(ctx) {
    const tag = commonCategory(ctx);
    if (!tag)
      return { value: 0, detail: 'no categorised items', skipped: 'the catalog has no category:* tags' };
    let total = 0;
    let matching = 0;
    const offenders: string[] = [];
    for (const probe of probes(ctx)) {
      const res = await probe.call({ filters: { includeTagsAny: [tag] } });
      for (const item of res.items) {
        total++;
        if (ctx.catalog.get(item.itemId)?.tags.includes(tag)) matching++;
        else if (offenders.length < 5) offenders.push(`${probe.label}→${item.itemId}`);
      }
    }
    if (total === 0)
      return { value: 0, detail: `no items returned for ${tag}`, violations: ['every list was empty'] };
    return {
      value: matching / total,
      detail: `${matching}/${total} items carry ${tag}${offenders.length ? `; offenders ${offenders.join(', ')}` : ''}`,
    };
  },
};

export const neverBlocked: Scenario = {
  id: 'filters.never-unavailable',
  version: 1,
  description: 'blocked (archived) and out-of-stock items are never shown',
  threshold: 0,
  direction: 'max',
  async run(ctx) {
    const hidden = [...ctx.catalog.values()].filter((i) => i.archivedAt || !i.available).length;
    let total = 0;
    const offenders: string[] = [];
    for (const probe of probes(ctx)) {
      const res = await probe.call({});
      for (const item of res.items) {
        total++;
        const view = ctx.catalog.get(item.itemId);
        if (!view || view.archivedAt || !view.available) offenders.push(`${probe.label}→${item.itemId}`);
      }
    }
    return {
      value: offenders.length,
      detail: `${offenders.length} of ${total} shown items are archived, out of stock or unknown (catalog has ${hidden} such items)${offenders.length ? `: ${offenders.slice(0, 5).join(', ')}` : ''}`,
      ...(total === 0 ? { violations: ['every list was empty'] } : {}),
    };
  },
};

export const priceBounds: Scenario = {
  id: 'filters.price-bounds',
  version: 1,
  description: 'priceBetween is honoured: every returned item is priced within the bounds',
  threshold: 1,
  direction: 'min',
  async run(ctx) {
    const prices = [...ctx.catalog.values()]
      .filter((i) => i.price !== null && !i.archivedAt && i.available)
      .map((i) => i.price as number)
      .sort((a, b) => a - b);
    if (prices.length < 4)
      return { value: 0, detail: 'too few priced items', skipped: 'fewer than 4 priced items' };
    const lo = prices[Math.floor(prices.length * 0.25)]!;
    const hi = prices[Math.floor(prices.length * 0.75)]!;
    let total = 0;
    let inside = 0;
    const offenders: string[] = [];
    for (const probe of probes(ctx)) {
      const res = await probe.call({ filters: { priceBetween: [lo, hi] } });
      for (const item of res.items) {
        total++;
        const price = ctx.catalog.get(item.itemId)?.price;
        if (price !== null && price !== undefined && price >= lo && price <= hi) inside++;
        else if (offenders.length < 5) offenders.push(`${item.itemId}@${price}`);
      }
    }
    if (total === 0)
      return { value: 0, detail: `no items in [${lo}, ${hi}]`, violations: ['every list was empty'] };
    return {
      value: inside / total,
      detail: `${inside}/${total} items within [${lo}, ${hi}]${offenders.length ? `; outside: ${offenders.join(', ')}` : ''}`,
    };
  },
};

export const purchasedExcluded: Scenario = {
  id: 'exclusions.purchased',
  version: 1,
  description:
    'items bought in the last 30 days are excluded where configured (cart surface; forUser with excludePurchased)',
  threshold: 0,
  direction: 'max',
  async run(ctx) {
    // Inside the default 30-day exclusion window, with a day of margin for clock skew.
    const since = new Date(ctx.now.getTime() - 29 * DAY).toISOString();
    const recent = await ctx.api.events.list.query({ type: 'purchase', since, limit: 500 });
    const byUser = new Map<string, Set<string>>();
    for (const e of recent.events) {
      if (!e.userId || !e.itemId) continue;
      const set = byUser.get(e.userId) ?? new Set<string>();
      set.add(e.itemId);
      byUser.set(e.userId, set);
    }
    const buyers = [...byUser].sort((a, b) => b[1].size - a[1].size || a[0].localeCompare(b[0])).slice(0, 5);
    if (buyers.length === 0) {
      return {
        value: 0,
        detail: 'no purchases in the last 29 days',
        skipped:
          'no purchases in the last 29 days to exclude (the data has none, or its history is old: seed with --shift-to-now)',
      };
    }
    let shown = 0;
    let checked = 0;
    const offenders: string[] = [];
    for (const [userId, bought] of buyers) {
      // The user's full purchase list within the window (the sample above may be partial).
      const own = await ctx.api.events.list.query({ userId, type: 'purchase', since, limit: 1000 });
      for (const e of own.events) if (e.itemId) bought.add(e.itemId);
      const other = ctx.hotItems.find((i) => !bought.has(i));
      const lists = [
        await ctx.api.recs.forUser.query({ userId, k: ctx.k, overrides: { excludePurchased: true } }),
        ...(other ? [await ctx.api.recs.cart.query({ userId, itemIds: [other], k: ctx.k })] : []),
      ];
      for (const list of lists) {
        for (const item of list.items) {
          checked++;
          if (bought.has(item.itemId)) {
            shown++;
            if (offenders.length < 5) offenders.push(`${userId}:${list.surface}→${item.itemId}`);
          }
        }
      }
    }
    return {
      value: shown,
      detail: `${shown} purchased items shown among ${checked} for ${buyers.length} recent buyers${offenders.length ? `: ${offenders.join(', ')}` : ''}`,
    };
  },
};

export const cartExcluded: Scenario = {
  id: 'exclusions.cart-items',
  version: 1,
  description: 'cart complements never contain the items already in the cart',
  threshold: 0,
  direction: 'max',
  async run(ctx) {
    const carts = [ctx.hotItems.slice(0, 1), ctx.hotItems.slice(0, 3), ctx.hotItems.slice(3, 6)].filter(
      (c) => c.length > 0,
    );
    if (carts.length === 0)
      return { value: 0, detail: 'no items with behaviour', skipped: 'no recent events' };
    let violations = 0;
    let total = 0;
    for (const cart of carts) {
      const res = await ctx.api.recs.cart.query({ itemIds: cart, k: ctx.k });
      total += res.items.length;
      violations += res.items.filter((i) => cart.includes(i.itemId)).length;
    }
    return {
      value: violations,
      detail: `${violations} cart items among ${total} complements for ${carts.length} carts`,
    };
  },
};
