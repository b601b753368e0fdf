import { randomUUID } from 'node:crypto';
import type { RecommendedItem, RecsResponse } from '@recsys/engine/protocol';
import type { ItemView } from '../../index';
import type { Scenario, ScenarioContext } from './types';

type Extra = {
  filters?: {
    includeTagsAny?: string[];
    excludeTagsAny?: string[];
    priceBetween?: [number | null, number | null];
  };
  overrides?: { diversity?: { lambda?: number }; excludePurchased?: boolean };
  explain?: boolean;
  seed?: number;
};

interface Probe {
  label: string;
  call: (extra: Extra) => Promise<RecsResponse>;
}

const DAY = 86_400_000;

/** The lists a shop shows: home for warm users, item pages, cart, trending. */
function probes(ctx: ScenarioContext, max = 4): Probe[] {
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

function categoryOf(item: ItemView | undefined): string | undefined {
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

const scoreSum = (items: readonly RecommendedItem[]) => items.reduce((s, i) => s + i.score, 0);
const fmt = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(3));

/** The most common category among active items, so filters keep lists non-empty. */
function commonCategory(ctx: ScenarioContext): string | undefined {
  const counts = new Map<string, number>();
  for (const item of ctx.catalog.values()) {
    const c = categoryOf(item);
    if (c && !item.archivedAt && item.available) counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]?.[0];
}

const includeTags: Scenario = {
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

const neverBlocked: Scenario = {
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

const priceBounds: Scenario = {
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

const purchasedExcluded: Scenario = {
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

const cartExcluded: Scenario = {
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

const coldStart: Scenario = {
  id: 'coldstart.breadth',
  version: 1,
  description: 'a first-time visitor gets a full list spanning at least 3 categories',
  threshold: 3,
  direction: 'min',
  async run(ctx) {
    const res = await ctx.api.recs.forUser.query({ anonymousId: `scenario-cold-${randomUUID()}`, k: ctx.k });
    const categories = new Set(res.items.map((i) => categoryOf(ctx.catalog.get(i.itemId))).filter(Boolean));
    const minItems = Math.min(
      ctx.k,
      [...ctx.catalog.values()].filter((i) => !i.archivedAt && i.available).length,
    );
    if (![...ctx.catalog.values()].some((i) => categoryOf(i))) {
      // Breadth cannot be measured without categories; a short list is still a failure.
      return {
        value: 0,
        detail: `${res.items.length} items; the catalog has no category:* tags`,
        ...(res.items.length < minItems
          ? { violations: [`only ${res.items.length} of ${minItems} items`] }
          : { skipped: `the catalog has no category:* tags (${res.items.length} items returned)` }),
      };
    }
    return {
      value: categories.size,
      detail: `${res.items.length} items across ${categories.size} categories`,
      ...(res.items.length < minItems
        ? { violations: [`only ${res.items.length} of ${minItems} items`] }
        : {}),
    };
  },
};

const newItems: Scenario = {
  id: 'coldstart.new-items',
  version: 1,
  description: 'a new item with no behaviour surfaces next to its textual twin (text similarity)',
  threshold: 1,
  direction: 'min',
  writes: true,
  async run(ctx) {
    const twin = ctx.hotItems
      .map((id) => ctx.catalog.get(id))
      .find((i) => i && !i.archivedAt && i.available && i.title);
    if (!twin)
      return { value: 0, detail: 'no item to copy', skipped: 'no active item with behaviour and a title' };
    const probeId = `scenario-new-${randomUUID().slice(0, 8)}`;
    await ctx.api.items.upsert.mutate({
      items: [
        {
          itemId: probeId,
          title: twin.title,
          description: twin.description,
          price: twin.price,
          currency: twin.currency,
          tags: twin.tags,
        },
      ],
    });
    const deadline = Date.now() + ctx.waitMs;
    let rank = 0;
    let polls = 0;
    try {
      // Embeddings are computed off the request path; wait for them, bounded.
      for (;;) {
        polls++;
        // Anywhere in the twin's longest list: behaviour rightly outranks text for established items.
        const res = await ctx.api.recs.similar.query({ itemId: twin.itemId, k: 100 });
        rank = res.items.find((i) => i.itemId === probeId)?.rank ?? 0;
        if (rank > 0 || Date.now() >= deadline) break;
        await new Promise((r) => setTimeout(r, 250));
      }
    } finally {
      await ctx.api.items.remove.mutate({ itemIds: [probeId] });
    }
    return {
      value: rank > 0 ? 1 : 0,
      detail:
        rank > 0
          ? `new item ${probeId} (copy of ${twin.itemId}) at rank ${rank} of similar(${twin.itemId}, k=100) after ${polls} poll(s)`
          : `new item ${probeId} never appeared in similar(${twin.itemId}) within ${ctx.waitMs} ms (are text embeddings enabled?)`,
    };
  },
};

async function diversityPairs(ctx: ScenarioContext, lambdas: [number | undefined, number]) {
  const out: Array<{ base: RecommendedItem[]; other: RecommendedItem[] }> = [];
  for (const userId of ctx.warmUsers.slice(0, 5)) {
    const at = (lambda: number | undefined) =>
      ctx.api.recs.forUser.query({
        userId,
        k: ctx.k,
        ...(lambda === undefined ? {} : { overrides: { diversity: { lambda } } }),
      });
    const base = await at(1);
    const other = await at(lambdas[0]);
    if (base.items.length >= 2) out.push({ base: base.items, other: other.items });
  }
  return out;
}

const diversityEffect: Scenario = {
  id: 'diversity.mmr-effect',
  version: 1,
  description: 'λ=0.5 raises intra-list diversity over λ=1.0 while keeping ≥50% of the relevance score',
  threshold: 0.01,
  direction: 'min',
  async run(ctx) {
    const pairs = await diversityPairs(ctx, [0.5, 1]);
    if (pairs.length === 0) return { value: 0, detail: 'no warm users with lists', skipped: 'no warm users' };
    let gain = 0;
    let kept = 0;
    let overlap = 0;
    for (const { base, other } of pairs) {
      gain += intraListDiversity(ctx, other) - intraListDiversity(ctx, base);
      kept += scoreSum(base) > 0 ? scoreSum(other) / scoreSum(base) : 1;
      const ids = new Set(base.map((i) => i.itemId));
      overlap += other.filter((i) => ids.has(i.itemId)).length / base.length;
    }
    const n = pairs.length;
    const retention = kept / n;
    return {
      value: gain / n,
      detail: `ILD gain ${fmt(gain / n)}, relevance kept ${fmt(retention)}, overlap ${fmt(overlap / n)} over ${n} users`,
      ...(retention < 0.5
        ? { violations: [`relevance collapsed: only ${fmt(retention)} of the λ=1 score kept`] }
        : {}),
    };
  },
};

const diversityConfigured: Scenario = {
  id: 'diversity.configured-relevance',
  version: 1,
  description: "the namespace's configured diversity keeps ≥60% of the pure-relevance score",
  threshold: 0.6,
  direction: 'min',
  async run(ctx) {
    const pairs = await diversityPairs(ctx, [undefined, 1]);
    if (pairs.length === 0) return { value: 0, detail: 'no warm users with lists', skipped: 'no warm users' };
    let kept = 0;
    let gain = 0;
    for (const { base, other } of pairs) {
      kept += scoreSum(base) > 0 ? scoreSum(other) / scoreSum(base) : 1;
      gain += intraListDiversity(ctx, other) - intraListDiversity(ctx, base);
    }
    return {
      value: kept / pairs.length,
      detail: `served lists keep ${fmt(kept / pairs.length)} of the λ=1 relevance, ILD gain ${fmt(gain / pairs.length)} over ${pairs.length} users`,
    };
  },
};

const explainReasons: Scenario = {
  id: 'explain.reasons',
  version: 1,
  description: 'explain: true returns at least one reason for every item',
  threshold: 1,
  direction: 'min',
  async run(ctx) {
    let total = 0;
    let explained = 0;
    const missing: string[] = [];
    for (const probe of probes(ctx, 2)) {
      const res = await probe.call({ explain: true });
      for (const item of res.items) {
        total++;
        if (item.reasons && item.reasons.length > 0 && item.reasons.every((r) => r.text)) explained++;
        else if (missing.length < 5) missing.push(`${probe.label}→${item.itemId}`);
      }
    }
    if (total === 0) return { value: 0, detail: 'no items returned', violations: ['every list was empty'] };
    return {
      value: explained / total,
      detail: `${explained}/${total} items explained${missing.length ? `; without reasons: ${missing.join(', ')}` : ''}`,
    };
  },
};

const seedDeterminism: Scenario = {
  id: 'determinism.seed',
  version: 2,
  description: 'the same request with the same seed returns the same list',
  threshold: 1,
  direction: 'min',
  async run(ctx) {
    let same = 0;
    let total = 0;
    const differing: string[] = [];
    for (const probe of probes(ctx, 2).filter((p) => !p.label.includes('new visitor'))) {
      const key = (r: RecsResponse) => r.items.map((i) => i.itemId).join(',');
      let a = key(await probe.call({ seed: 42 }));
      let b = key(await probe.call({ seed: 42 }));
      if (a !== b) {
        // Determinism is about identical data; a write (events or vectors another scenario or the
        // shop sent) may have been applied between the two calls. One more pair tells them apart.
        a = key(await probe.call({ seed: 42 }));
        b = key(await probe.call({ seed: 42 }));
      }
      total++;
      if (a === b) same++;
      else differing.push(probe.label);
    }
    return {
      value: total ? same / total : 0,
      detail: `${same}/${total} request pairs identical${differing.length ? `; differing: ${differing.join(', ')}` : ''}`,
    };
  },
};

/** Every scenario, in the order they run. */
export const SCENARIOS: readonly Scenario[] = [
  includeTags,
  neverBlocked,
  priceBounds,
  purchasedExcluded,
  cartExcluded,
  coldStart,
  newItems,
  diversityEffect,
  diversityConfigured,
  explainReasons,
  seedDeterminism,
];
