/*
 * Longer than the ~450-line guideline on purpose: this is the engine's whole public configuration —
 * every option with its TSDoc (what it does, its default, an example) next to the defaults — so an
 * operator reads one file to know every knob; the types alone are half of it.
 */
import type { SignalName, Surface } from '../protocol';
import type { EventWeights } from '../types';

export { SIGNALS, type SignalName, SURFACES, type Surface } from '../protocol';

/** Per-signal blend weights. A missing or zero weight switches the signal off for that surface. */
export type SignalWeights = Partial<Record<SignalName, number>>;

/** Item-to-item co-occurrence settings (co-visitation and bought-together). */
export interface CovisitConfig {
  /**
   * Two interactions of one session/user count as co-visitation only when at most this far apart.
   * @default 86_400_000 (24 hours)
   * @example { windowMs: 2 * 3_600_000 } // same browsing burst only
   */
  windowMs: number;
  /**
   * Half-life of a co-occurrence: a pair seen this long ago counts half as much as one seen now.
   * @default 1_209_600_000 (14 days)
   * @example { halfLifeMs: 30 * 86_400_000 }
   */
  halfLifeMs: number;
  /**
   * Neighbours considered per anchor item at request time. Roughly 3×topK are stored per item;
   * the weakest are pruned when the store overflows.
   * @default 50
   * @example { topK: 100 }
   */
  topK: number;
  /**
   * Only pair items seen in the same `sessionId` (falls back to the user when an event has no session).
   * When false, a user's interactions within {@link CovisitConfig.windowMs} pair across sessions.
   * @default false
   * @example { sessionOnly: true }
   */
  sessionOnly: boolean;
  /**
   * Largest basket (order or cart session) used for bought-together; later items in a bigger basket
   * displace the oldest, so one wholesale order cannot create thousands of pairs.
   * @default 60
   * @example { maxBasket: 30 }
   */
  maxBasket: number;
  /**
   * Recent items remembered per session/user for pairing; bounds the cost of one event.
   * @default 30
   * @example { maxContextItems: 50 }
   */
  maxContextItems: number;
  /**
   * Additive smoothing (in event-weight units) in the normalisation
   * `c(i,j) / sqrt((n(i) + s) · (n(j) + s))`, so a pair of items seen once does not score as high as
   * a pair seen together hundreds of times.
   * @default 1
   * @example { smoothing: 5 }
   */
  smoothing: number;
}

/**
 * Session-aware signals: directed transitions (`transition`) and session kNN (`sessionKnn`), read on
 * requests that continue a session (`contextItemIds`, or a `sessionId` the engine has seen events of).
 */
export interface SessionConfig {
  /**
   * Earlier events of a session each new event links back to; the d-th one back counts 1/d.
   * @default 10
   * @example { transitionSteps: 3 }
   */
  transitionSteps: number;
  /**
   * Two events of a session further apart than this are no transition (a return after a break).
   * @default 3_600_000 (1 hour)
   * @example { transitionMaxGapMs: 1_800_000 }
   */
  transitionMaxGapMs: number;
  /**
   * Half-life of a transition.
   * @default 1_209_600_000 (14 days)
   * @example { transitionHalfLifeMs: 30 * 86_400_000 }
   */
  transitionHalfLifeMs: number;
  /**
   * Additive smoothing (event-weight units) of an item's out-mass in `c(i→j) / (out(i) + s)`.
   * @default 1
   * @example { transitionSmoothing: 5 }
   */
  transitionSmoothing: number;
  /**
   * Successors read per session item at request time.
   * @default 50
   * @example { transitionTopK: 100 }
   */
  transitionTopK: number;
  /**
   * Latest session items whose successors are read (the latest weighs 1).
   * @default 3
   * @example { contextSteps: 1 } // the last item only, as sequential rules do
   */
  contextSteps: number;
  /**
   * Weight of each step back among those items: the one before the latest weighs this, then its square.
   * @default 0.15
   * @example { contextDecay: 0.5 }
   */
  contextDecay: number;
  /**
   * Neighbour sessions that vote in `sessionKnn`.
   * @default 100
   * @example { knnNeighbors: 200 }
   */
  knnNeighbors: number;
  /**
   * Most recent sessions sharing an item with the current one that `sessionKnn` compares.
   * @default 500
   * @example { knnSample: 1000 }
   */
  knnSample: number;
  /**
   * Order inside a neighbour session: an item k clicks away from the click the two sessions share
   * votes with weight exp(−k / knnPositionDecay); 0 lets every item of the neighbour vote equally.
   * @default 1
   * @example { knnPositionDecay: 3 }
   */
  knnPositionDecay: number;
  /**
   * Items of the current session get a neighbour session's vote only when that neighbour returned to
   * them (clicked them more than once); false lets every neighbour vote for them, as V-SkNN does —
   * better on every dataset measured so far (RSC15, the generated shops), where shoppers do return.
   * @default false
   * @example { knnReturnsOnly: true }
   */
  knnReturnsOnly: boolean;
  /**
   * Session-kNN votes for an item of the current session are scaled by how often shoppers return to
   * that item (its share of repeat transitions against the shop's), shrunk to the shop-wide share
   * with this much out-mass (event-weight units; 1 ≈ 20 views): where the data says nobody comes
   * back to an item, it is not shown again. 0 turns the scaling off (every reminder counts in full).
   * @default 1
   * @example { returnEvidence: 5 }
   */
  returnEvidence: number;
  /**
   * Sessions remembered for `sessionKnn` (the least recently active is forgotten first).
   * @default 100_000
   * @example { maxSessions: 500_000 }
   */
  maxSessions: number;
  /**
   * Clicks remembered per session.
   * @default 50
   * @example { maxSessionItems: 20 }
   */
  maxSessionItems: number;
  /**
   * Sessions remembered per item (the most recent).
   * @default 1000
   * @example { maxSessionsPerItem: 500 }
   */
  maxSessionsPerItem: number;
  /**
   * Events without a session id are grouped per user; a silence longer than this starts a new session.
   * @default 1_800_000 (30 minutes)
   * @example { sessionGapMs: 3_600_000 }
   */
  sessionGapMs: number;
  /**
   * Whether items of the current session may be recommended again (ranked by how often shoppers
   * return to them: self-transitions and neighbour sessions). The anchor of `similar` (its own
   * product page) is never shown; `cart` never shows what is in the cart.
   * @default { forUser: true, similar: true, cart: false, buyAgain: true, trending: true, recentlyViewed: true }
   * @example { reshowSessionItems: { similar: false } }
   */
  reshowSessionItems: Record<Surface, boolean>;
  /**
   * MMR trade-off (as `diversity.lambda`) on requests that carry a session (`contextItemIds`, or a
   * `sessionId` with events): a shopper comparing similar items wants them, not a spread. A request's
   * own `overrides.diversity.lambda` still wins; brand and category caps still apply.
   * @default 1 (no MMR re-ranking)
   * @example { diversityLambda: 0.9 }
   */
  diversityLambda: number;
}

/** Popularity and trending settings. */
export interface PopularityConfig {
  /**
   * Half-life of the popularity counters.
   * @default 604_800_000 (7 days)
   * @example { halfLifeMs: 86_400_000 }
   */
  halfLifeMs: number;
  /**
   * Half-life of the short ("now") trending counter.
   * @default 86_400_000 (1 day)
   * @example { trendingShortMs: 6 * 3_600_000 }
   */
  trendingShortMs: number;
  /**
   * Half-life of the long (baseline) trending counter. Must be longer than `trendingShortMs`.
   * @default 1_209_600_000 (14 days)
   * @example { trendingLongMs: 30 * 86_400_000 }
   */
  trendingLongMs: number;
  /**
   * Smoothing, in weighted events per day, added to the baseline in
   * `trend = (short − long) / sqrt(long + smoothing)`: a handful of views cannot make an item trend.
   * @default 2
   * @example { trendingSmoothing: 10 }
   */
  trendingSmoothing: number;
  /**
   * Minimum support of a trend: distinct users who touched the item, counted with the short
   * half-life (a user from one half-life ago counts ½). Below it an item does not trend — one order,
   * one shopper or a handful of visitors cannot put items at the top of "Trending now". Events count
   * per person too: within one short window a user adds their strongest action on an item once. 0
   * turns the minimum off.
   * @default 3
   * @example { trendingMinUsers: 10 }
   */
  trendingMinUsers: number;
}

/** User profile settings. */
export interface ProfileConfig {
  /**
   * Half-life of a user's interactions and tag affinities (anchor choice, affinity). Buy-again
   * recency has its own {@link ProfileConfig.buyAgainHalfLifeMs}.
   * @default 1_209_600_000 (14 days)
   * @example { halfLifeMs: 30 * 86_400_000 }
   */
  halfLifeMs: number;
  /**
   * Half-life of the recency factor in the buy-again score
   * `(1 + ln(orders)) · 0.5^(age of last purchase / buyAgainHalfLifeMs)`. Separate from
   * {@link ProfileConfig.halfLifeMs} because re-order cycles (weeks to months) are much longer than
   * browsing interest; a long half-life lets order frequency lead. Read at request time only.
   * @default 7_776_000_000 (90 days)
   * @example { buyAgainHalfLifeMs: 30 * 86_400_000 } // fast-moving consumables
   */
  buyAgainHalfLifeMs: number;
  /**
   * How much what sells now lifts a past purchase in the buy-again score: the score above is
   * multiplied by `(1 + popularity)^buyAgainPopularityExponent`, popularity being the item's decayed
   * popularity (`popularity.halfLifeMs`) across all shoppers. Among items a customer ordered equally
   * often, the ones still selling well are the ones re-ordered (a shop's range turns over; gift-ware
   * is seasonal). A multiplier, not a blended signal: `popular` only scores the catalog-wide top
   * list, so it cannot order a customer's slow sellers among themselves. 0 leaves the score as it is.
   * Read at request time only.
   * @default 0
   * @example { buyAgainPopularityExponent: 0.5 }
   */
  buyAgainPopularityExponent: number;
  /**
   * How much what sells now lifts an item in the `revisit` score
   * `visits · 0.5^(age of last touch / halfLifeMs) · (1 + popularity)^revisitPopularityExponent`,
   * visits being the user's sessions that touched the item (views included). A shopper returns to
   * few of the many items they glanced at: the ones that also sell well are the ones returned to.
   * 0 ranks by visits and recency alone. Read at request time only.
   * @default 1
   * @example { revisitPopularityExponent: 0.5 }
   */
  revisitPopularityExponent: number;
  /**
   * Multiplier for items from the user's current session when choosing anchors.
   * @default 3
   * @example { sessionBoost: 5 }
   */
  sessionBoost: number;
  /**
   * Extra multiplier for the single most recent item.
   * @default 2
   * @example { latestBoost: 1 } // no extra weight for the latest item
   */
  latestBoost: number;
  /**
   * Interacted items kept per user (the weakest is evicted).
   * @default 50
   * @example { maxItems: 100 }
   */
  maxItems: number;
  /**
   * Anchors (strongest profile items) expanded through co-visitation for `forUser`.
   * @default 10
   * @example { maxAnchors: 5 }
   */
  maxAnchors: number;
  /**
   * Purchased items remembered per user (least recently bought evicted first).
   * @default 200
   * @example { maxPurchases: 500 }
   */
  maxPurchases: number;
  /**
   * Category and brand tags remembered per user for affinity (the weakest is evicted).
   * @default 50
   * @example { maxTags: 20 }
   */
  maxTags: number;
  /**
   * Length of the recently-viewed list.
   * @default 50
   * @example { maxRecentlyViewed: 20 }
   */
  maxRecentlyViewed: number;
}

/** Diversity settings. */
export interface DiversityConfig {
  /**
   * MMR trade-off: 1 = pure relevance, 0 = pure novelty. Similarity is embedding cosine when
   * vectors are set, else tag overlap (Jaccard).
   * @default 0.8
   * @example { lambda: 0.6 }
   */
  lambda: number;
  /**
   * Most items of one brand (`brand:*` tag) per list; 0 means no cap. Recently viewed and buy-again
   * lists (the visitor's own history) are never capped unless the request asks.
   * @default 3
   * @example { maxPerBrand: 2 }
   */
  maxPerBrand: number;
  /**
   * Most items of one primary category (first `category:*` tag) per list; 0 means no cap.
   * @default 0
   * @example { maxPerCategory: 3 }
   */
  maxPerCategory: number;
}

/** How thin results are filled. */
export interface FallbackConfig {
  /**
   * Whether a result shorter than `k` is filled with category best-sellers, then overall popular items.
   * Off by default for `buyAgain` and `recentlyViewed`, whose meaning a filler would break.
   * @default { forUser: true, similar: true, cart: true, trending: true, buyAgain: false, recentlyViewed: false }
   * @example { enabled: { buyAgain: true } }
   */
  enabled: Record<Surface, boolean>;
}

/** Ranking settings. */
export interface RankingConfig {
  /**
   * Candidates taken from each generating signal (popular, trending, segment, embedding) per request;
   * also the length of the cached embedding neighbour list per item.
   * @default 100
   * @example { candidatesPerSignal: 300 }
   */
  candidatesPerSignal: number;
  /**
   * Amplitude of deterministic noise added to blended scores when a request carries a `seed`, so
   * that different seeds reorder near-ties (items whose scores differ by less than about this much)
   * and a shop can rotate what equally good lists show; 0 makes the seed only break exact ties.
   * Requests without a seed are never jittered.
   * @default 0.02
   * @example { seedJitter: 0 }
   */
  seedJitter: number;
}

/** Product bundles ("frequently bought together", `Engine.bundle`). */
export interface BundleConfig {
  /**
   * Most items in a bundle, the anchor included (2–4): the anchor and up to `maxItems − 1` partners.
   * @default 3
   * @example { maxItems: 4 }
   */
  maxItems: number;
  /**
   * Weakest bought-together score (the normalised co-purchase score, 0…1) a partner needs with the
   * anchor. Below it an item is not "usually bought together", however often it is browsed with it.
   * @default 0.05
   * @example { minScore: 0.1 }
   */
  minScore: number;
  /**
   * Weight of co-visitation (items seen in the same session or by the same visitor) added to the
   * bought-together score when ranking partners; it never admits a partner on its own.
   * @default 0.3
   * @example { covisitWeight: 0 } // co-purchases only
   */
  covisitWeight: number;
  /**
   * Weight of how often a candidate is bought with the partners already chosen (not only the
   * anchor), so a bundle of three goes together as a whole rather than as two separate pairs.
   * @default 0.5
   * @example { cohesionWeight: 1 }
   */
  cohesionWeight: number;
  /**
   * Discount on the sum of the items' prices when bought as a bundle, in percent (0–90). 0: no
   * bundle price is offered (the total alone is returned).
   * @default 0
   * @example { discountPercent: 10 }
   */
  discountPercent: number;
}

/** The whole engine configuration (one per namespace). */
export interface EngineConfig {
  /**
   * Weight of each event type in every signal.
   * @default { view: 0.05, click: 0.2, add: 0.7, purchase: 1, custom: 0.1, rate: 0.5 }
   * @example { eventWeights: { view: 0.1 } }
   */
  eventWeights: EventWeights;
  /** @default see {@link CovisitConfig} */
  covisit: CovisitConfig;
  /** @default see {@link PopularityConfig} */
  popularity: PopularityConfig;
  /** @default see {@link SessionConfig} */
  session: SessionConfig;
  /** @default see {@link ProfileConfig} */
  profile: ProfileConfig;
  /**
   * Signal weights per surface. Each signal's scores are normalised to [0, 1] per request and then
   * summed with these weights. On `similar` and `cart` only the item-relation signals (`covisit`,
   * `boughtTogether`, `embedding`) propose candidates; every other signal there (e.g. `popular`)
   * only re-ranks them, so a thin list is topped up by the reported fallback instead of by popular
   * items posing as related ones. On the other surfaces every weighted signal proposes candidates
   * (on `forUser`, popular/trending/segment are the cold-start starter list).
   * @default see {@link defaultEngineConfig}
   * @example { blend: { similar: { embedding: 1.5 } } }
   */
  blend: Record<Surface, SignalWeights>;
  /**
   * Whether items the user bought within {@link EngineConfig.purchaseExclusionWindowMs} are removed.
   * Repeat purchases dominate many shops (e.g. wholesale), so this is per surface; it never applies
   * to `buyAgain`.
   * @default { forUser: false, similar: false, cart: true, buyAgain: false, trending: false, recentlyViewed: false }
   * @example { excludePurchased: { forUser: true } }
   */
  excludePurchased: Record<Surface, boolean>;
  /**
   * On `forUser` ("top picks") where `excludePurchased` is off, items the user bought this recently are
   * still left out: a shopper who just ordered something should not see it lead their picks (buy-again
   * has its own surface). 0 turns it off; a request's `overrides.excludePurchased: false` too.
   * @default 86_400_000 (1 day)
   * @example { justBoughtWindowMs: 7 * 86_400_000 }
   */
  justBoughtWindowMs: number;
  /**
   * How far back a purchase excludes the item (see `excludePurchased`).
   * @default 2_592_000_000 (30 days)
   * @example { purchaseExclusionWindowMs: 7 * 86_400_000 }
   */
  purchaseExclusionWindowMs: number;
  /** @default see {@link DiversityConfig} */
  diversity: DiversityConfig;
  /** @default see {@link FallbackConfig} */
  fallback: FallbackConfig;
  /** @default see {@link RankingConfig} */
  ranking: RankingConfig;
  /** @default see {@link BundleConfig} */
  bundle: BundleConfig;
}

/** A deep-partial of T: every field, at every depth, may be omitted. */
export type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

/** What `createEngine({ config })` and `setConfig` accept: any subset, merged over the defaults. */
export type PartialEngineConfig = DeepPartial<EngineConfig>;

/**
 * The per-request subset of the config a caller may override.
 *
 * @example { blend: { trending: 0 }, diversity: { lambda: 0.5 }, excludePurchased: true }
 */
export interface RequestOverrides {
  /** Signal weights for this request, merged over the surface's configured weights. */
  blend?: SignalWeights;
  /** Diversity settings for this request. */
  diversity?: Partial<DiversityConfig>;
  /** Exclude purchased items for this request (ignored on `buyAgain`). */
  excludePurchased?: boolean;
  /** Purchase exclusion window for this request. */
  purchaseExclusionWindowMs?: number;
  /** Turn the fallback fill on or off for this request. */
  fallback?: boolean;
}

const DAY = 86_400_000;

/** The defaults every partial config is merged over. */
export const defaultEngineConfig: EngineConfig = {
  eventWeights: { view: 0.05, click: 0.2, add: 0.7, purchase: 1, custom: 0.1, rate: 0.5 },
  covisit: {
    windowMs: DAY,
    halfLifeMs: 14 * DAY,
    topK: 50,
    sessionOnly: false,
    maxBasket: 60,
    maxContextItems: 30,
    smoothing: 1,
  },
  popularity: {
    halfLifeMs: 7 * DAY,
    trendingShortMs: DAY,
    trendingLongMs: 14 * DAY,
    trendingSmoothing: 2,
    trendingMinUsers: 3,
  },
  session: {
    transitionSteps: 10,
    transitionMaxGapMs: 3_600_000,
    transitionHalfLifeMs: 14 * DAY,
    transitionSmoothing: 1,
    transitionTopK: 50,
    contextSteps: 3,
    contextDecay: 0.15,
    knnNeighbors: 100,
    knnSample: 500,
    knnPositionDecay: 1,
    knnReturnsOnly: false,
    returnEvidence: 1,
    maxSessions: 100_000,
    maxSessionItems: 50,
    maxSessionsPerItem: 1000,
    sessionGapMs: 1_800_000,
    reshowSessionItems: {
      forUser: true,
      similar: true,
      cart: false,
      buyAgain: true,
      trending: true,
      recentlyViewed: true,
    },
    diversityLambda: 1,
  },
  profile: {
    halfLifeMs: 14 * DAY,
    buyAgainHalfLifeMs: 90 * DAY,
    buyAgainPopularityExponent: 0,
    revisitPopularityExponent: 1,
    sessionBoost: 3,
    latestBoost: 2,
    maxItems: 50,
    maxAnchors: 10,
    maxPurchases: 200,
    maxTags: 50,
    maxRecentlyViewed: 50,
  },
  blend: {
    forUser: {
      covisit: 1,
      boughtTogether: 0.5,
      embedding: 0.5,
      affinity: 0.3,
      buyAgain: 0.3,
      // What the shopper keeps coming back to (views included): purchases are rare, returns are not.
      revisit: 2,
      segment: 0.3,
      popular: 0.2,
      trending: 0.1,
      // Only read when the request continues a session; then what the session does next leads.
      sessionKnn: 8,
      transition: 1,
    },
    similar: { covisit: 1, boughtTogether: 0.5, embedding: 0.8, popular: 0.05, sessionKnn: 2, transition: 1 },
    // Complements, not look-alikes: what is bought with the cart, barely what is browsed with it.
    cart: { boughtTogether: 1, covisit: 0.2, popular: 0.05, sessionKnn: 1, transition: 0.5 },
    buyAgain: { buyAgain: 1 },
    trending: { trending: 1, popular: 0.1 },
    recentlyViewed: { recent: 1 },
  },
  excludePurchased: {
    forUser: false,
    similar: false,
    cart: true,
    buyAgain: false,
    trending: false,
    recentlyViewed: false,
  },
  purchaseExclusionWindowMs: 30 * DAY,
  justBoughtWindowMs: DAY,
  diversity: { lambda: 0.8, maxPerBrand: 3, maxPerCategory: 0 },
  fallback: {
    enabled: {
      forUser: true,
      similar: true,
      cart: true,
      trending: true,
      buyAgain: false,
      recentlyViewed: false,
    },
  },
  ranking: { candidatesPerSignal: 100, seedJitter: 0.02 },
  bundle: { maxItems: 3, minScore: 0.05, covisitWeight: 0.3, cohesionWeight: 0.5, discountPercent: 0 },
};
