/**
 * Simulated shoppers for the demo: visits that go through the real API the way the shop's pages do —
 * a widget's list is requested (and logged as served), the visitor sees its first row (`impression`s), and
 * sometimes clicks an item, adds it to the cart and buys it, each event carrying the list's
 * `requestId`, rank, surface and widget. Without them a fresh demo has history but no served lists,
 * so the admin console's charts of lists, impressions and the click → add → purchase funnel would
 * stay empty until someone browses.
 */
import { randomUUID } from 'node:crypto';
import type { RecsResponse } from '@recsys/engine/protocol';
import { mulberry32 } from '@recsys/engine/random';
import type { Catalog, RecsysApi } from './catalog';

/** How many simulated visits, and how often. */
export interface ShopperOptions {
  /**
   * Visits made at once when the shoppers start, so the charts have data right away.
   * @default 120
   * @example 0
   */
  burst?: number;
  /**
   * Then one visit every this many milliseconds, until the shop stops; 0 for none.
   * @default 5000
   * @example 1000
   */
  everyMs?: number;
  /**
   * Seed of the visits' choices: the same seed makes the same choices (the lists may differ).
   * @default 7
   * @example 42
   */
  seed?: number;
  /** Known customers who sometimes shop signed in (the rest are anonymous visitors). */
  userIds?: string[];
  /** A visit that failed (e.g. while the server stops); the shoppers go on. */
  onError?: (error: unknown) => void;
}

/** What the shoppers did so far. */
export interface ShopperStats {
  visits: number;
  lists: number;
  impressions: number;
  clicks: number;
  adds: number;
  purchases: number;
}

export interface RunningShoppers {
  /** Resolves once the burst is done. */
  ready: Promise<void>;
  stats(): ShopperStats;
  /** Stops the timer and waits for the visit under way. */
  stop(): Promise<void>;
}

/** The shop's widgets a visit may see: the procedure behind each and its widget name. */
const WIDGETS = [
  { surface: 'forUser', widget: 'home-top-picks' },
  { surface: 'trending', widget: 'home-trending' },
  { surface: 'trending', widget: 'category-trending' },
  { surface: 'similar', widget: 'pdp-similar' },
  { surface: 'cart', widget: 'cart-recs' },
] as const;

/** Chances along the funnel, per visit: a click on the list, an add after a click, a purchase after an add. */
const CLICK = 0.35;
const ADD = 0.4;
const BUY = 0.5;

/** Makes one simulated visit: one widget's list, its impression, and what the visitor then did. */
export async function simulateVisit(
  api: RecsysApi,
  catalog: Catalog,
  random: () => number,
  userIds: readonly string[] = [],
): Promise<Omit<ShopperStats, 'visits'>> {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const products = [...catalog.products.values()].filter((p) => p.available);
  const who =
    userIds.length > 0 && random() < 0.3
      ? { userId: pick(userIds) }
      : { anonymousId: `demo-shopper-${Math.floor(random() * 400)}` };
  const { surface, widget } = pick(WIDGETS);
  const product = pick(products);
  const input = { ...who, k: 8, placement: widget };
  let list: RecsResponse;
  if (surface === 'similar') list = await api.recs.similar.query({ ...input, itemId: product.itemId });
  else if (surface === 'cart') list = await api.recs.cart.query({ ...input, itemIds: [product.itemId] });
  else if (surface === 'forUser') list = await api.recs.forUser.query(input);
  else if (widget === 'category-trending')
    list = await api.recs.trending.query({ ...input, category: product.category });
  else list = await api.recs.trending.query(input);

  const context = (rank: number) => ({
    requestId: list.requestId,
    rank,
    surface: list.surface,
    widget,
    ...(list.experiment ? { experiment: list.experiment.id, variant: list.experiment.variant } : {}),
  });
  const event = (type: string, itemId: string, meta: Record<string, unknown>, value?: number) => ({
    eventId: randomUUID(),
    type,
    ...who,
    itemId,
    ts: new Date().toISOString(),
    ...(value === undefined ? {} : { value }),
    meta,
  });
  const events: ReturnType<typeof event>[] = [];
  const done = { lists: 1, impressions: 0, clicks: 0, adds: 0, purchases: 0 };
  if (list.items.length > 0) {
    // As the widgets do: one impression per item that came into view (here the first row of four).
    for (const item of list.items.slice(0, 4)) {
      events.push(event('impression', item.itemId, { recommended: true, ...context(item.rank) }));
      done.impressions++;
    }
    if (random() < CLICK) {
      const item = pick(list.items);
      const price = catalog.products.get(item.itemId)?.price ?? undefined;
      events.push(event('click', item.itemId, { recommended: true, ...context(item.rank) }));
      done.clicks++;
      if (random() < ADD) {
        events.push(
          event('add', item.itemId, { recommended: true, ...context(item.rank), unitPrice: price }, 1),
        );
        done.adds++;
        if (random() < BUY) {
          const orderId = `demo-order-${randomUUID().slice(0, 8)}`;
          events.push(
            event(
              'purchase',
              item.itemId,
              { recommended: true, ...context(item.rank), orderId, unitPrice: price },
              1,
            ),
          );
          done.purchases++;
        }
      }
    }
  }
  if (events.length) {
    const result = await api.events.batch.mutate({ events: events as never });
    const first = result.rejected[0];
    if (first) throw new Error(`a simulated event was refused at ${first.path}: ${first.message}`);
  }
  return done;
}

/**
 * Starts the simulated shoppers: a burst of visits, then one every `everyMs` until `stop()`.
 * Visits run one at a time, so they never compete with real visitors for more than one request.
 */
export function startShoppers(
  api: RecsysApi,
  catalog: Catalog,
  options: ShopperOptions = {},
): RunningShoppers {
  const random = mulberry32(options.seed ?? 7);
  const stats: ShopperStats = { visits: 0, lists: 0, impressions: 0, clicks: 0, adds: 0, purchases: 0 };
  let stopped = false;
  let current: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;

  const visit = async () => {
    try {
      const done = await simulateVisit(api, catalog, random, options.userIds);
      stats.visits++;
      for (const key of Object.keys(done) as Array<keyof typeof done>) stats[key] += done[key];
    } catch (error) {
      if (!stopped) options.onError?.(error);
    }
  };
  const ready = (async () => {
    for (let i = 0; i < (options.burst ?? 120) && !stopped; i++) await visit();
  })();
  current = ready;
  const everyMs = options.everyMs ?? 5000;
  if (everyMs > 0) {
    const tick = () => {
      timer = setTimeout(() => {
        current = current.then(visit).then(() => {
          if (!stopped) tick();
        });
      }, everyMs);
      timer.unref();
    };
    void ready.then(() => {
      if (!stopped) tick();
    });
  }
  return {
    ready,
    stats: () => ({ ...stats }),
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await current;
      await ready;
    },
  };
}
