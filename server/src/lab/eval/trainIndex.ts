import type { FixtureEvent, FixtureItem } from '@recsys/fixtures';

const DAY = 86_400_000;

/** One user's history in train. */
export interface UserHistory {
  /** Distinct baskets (orders, else sessions) per item. */
  baskets: Map<string, number>;
  /** Last interaction time per item. */
  lastTs: Map<string, number>;
  /** Items in order of first interaction. */
  order: string[];
}

/** Everything the baselines and metrics read from the training half. Built once per evaluation. */
export interface TrainIndex {
  cut: number;
  /** Items that exist at the cut (created before it, or with no creation time) and are sellable. */
  catalog: string[];
  catalogSet: ReadonlySet<string>;
  /** Train events per item (for long-tail and novelty). */
  interactions: Map<string, number>;
  /** Distinct train baskets per item. */
  basketCount: Map<string, number>;
  /** Distinct baskets per item in the last 30 days before the cut. */
  recentBasketCount: Map<string, number>;
  /** Items by all-time basket popularity, ties by id. */
  popular: string[];
  /** Items by last-30-days basket popularity, then all-time, then id. */
  popularRecent: string[];
  users: Map<string, UserHistory>;
  /** Basket co-occurrence c(i, j) (distinct baskets), lazily built. */
  cooccurrence(): Map<string, Map<string, number>>;
}

/** Baskets group the lines of an order; without an order id, the session is the basket. */
export function basketOf(e: FixtureEvent): string {
  return e.meta?.orderId !== undefined ? `o:${e.meta.orderId}` : `s:${e.sessionId}`;
}

function byCountThenId(counts: Map<string, number>, ...more: Map<string, number>[]) {
  return (a: string, b: string): number => {
    const d = (counts.get(b) ?? 0) - (counts.get(a) ?? 0);
    if (d !== 0) return d;
    for (const m of more) {
      const e = (m.get(b) ?? 0) - (m.get(a) ?? 0);
      if (e !== 0) return e;
    }
    return a < b ? -1 : a > b ? 1 : 0;
  };
}

/** Largest basket used for co-occurrence, as in the reference (one wholesale order is not 10k pairs). */
export const MAX_BASKET = 60;

/** Builds the train-side index. `train` must hold only events before `cut`. */
export function buildTrainIndex(items: FixtureItem[], train: FixtureEvent[], cut: number): TrainIndex {
  const catalog: string[] = [];
  for (const item of items) {
    if (item.archived || !item.available) continue;
    if (item.createdAt !== undefined && !(Date.parse(item.createdAt) < cut)) continue;
    catalog.push(item.itemId);
  }
  const catalogSet = new Set(catalog);
  const interactions = new Map<string, number>();
  const basketItems = new Map<string, Set<string>>();
  const recentBaskets = new Map<string, Set<string>>();
  const users = new Map<string, UserHistory>();
  const userBaskets = new Map<string, Set<string>>();
  const recentFrom = cut - 30 * DAY;
  for (const e of train) {
    const item = e.itemId;
    if (item === undefined) continue;
    interactions.set(item, (interactions.get(item) ?? 0) + 1);
    const basket = basketOf(e);
    let set = basketItems.get(basket);
    if (set === undefined) {
      set = new Set();
      basketItems.set(basket, set);
    }
    set.add(item);
    const ts = Date.parse(e.ts);
    if (ts >= recentFrom) {
      let r = recentBaskets.get(item);
      if (r === undefined) {
        r = new Set();
        recentBaskets.set(item, r);
      }
      r.add(basket);
    }
    if (e.userId === undefined) continue;
    let h = users.get(e.userId);
    if (h === undefined) {
      h = { baskets: new Map(), lastTs: new Map(), order: [] };
      users.set(e.userId, h);
    }
    const key = `${e.userId}\u0000${item}\u0000${basket}`;
    if (!userBaskets.has(key)) {
      userBaskets.set(key, new Set());
      if (!h.baskets.has(item)) h.order.push(item);
      h.baskets.set(item, (h.baskets.get(item) ?? 0) + 1);
    }
    h.lastTs.set(item, Math.max(h.lastTs.get(item) ?? Number.NEGATIVE_INFINITY, ts));
  }
  const basketCount = new Map<string, number>();
  for (const set of basketItems.values())
    for (const item of set) basketCount.set(item, (basketCount.get(item) ?? 0) + 1);
  const recentBasketCount = new Map<string, number>();
  for (const [item, set] of recentBaskets) recentBasketCount.set(item, set.size);
  const sellable = [...basketCount.keys()].filter((i) => catalogSet.has(i));
  const popular = [...sellable].sort(byCountThenId(basketCount));
  const popularRecent = [...sellable].sort(byCountThenId(recentBasketCount, basketCount));
  let co: Map<string, Map<string, number>> | undefined;
  return {
    cut,
    catalog,
    catalogSet,
    interactions,
    basketCount,
    recentBasketCount,
    popular,
    popularRecent,
    users,
    cooccurrence() {
      if (co !== undefined) return co;
      co = new Map();
      for (const set of basketItems.values()) {
        const basket = [...set].slice(0, MAX_BASKET);
        for (const a of basket) {
          let row = co.get(a);
          if (row === undefined) {
            row = new Map();
            co.set(a, row);
          }
          for (const b of basket) if (a !== b) row.set(b, (row.get(b) ?? 0) + 1);
        }
      }
      return co;
    },
  };
}
