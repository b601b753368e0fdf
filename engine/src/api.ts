import type {
  EngineConfig,
  PartialEngineConfig,
  RequestOverrides,
  SignalName,
  Surface,
} from './config/engineConfig';
import type { RecTrace } from './pipeline/traceRequest';
import type { FallbackSource } from './protocol';
import type { RuleDefinition, RuleEffect } from './rules/types';
import type { EngineEvent, EngineItem } from './types';
import type { ColdComplements, VectorSource } from './vectors/types';

/** Request-level filters; all are conjunctive. */
export interface RecFilters {
  /** Lowest price (inclusive). Items without a price are excluded when a price bound is given. */
  priceMin?: number;
  /** Highest price (inclusive). */
  priceMax?: number;
  /** Keep only items carrying at least one of these tags. */
  includeTagsAny?: string[];
  /** Drop items carrying any of these tags. */
  excludeTagsAny?: string[];
  /** Drop these items. */
  excludeIds?: string[];
}

/** One recommendation request. */
export interface RecRequest {
  surface: Surface;
  /** How many items to return (1…1000). */
  k: number;
  userKey?: string;
  /** The user's current session: its items weigh most when choosing `forUser` anchors. */
  sessionId?: string;
  /** Anchor item for `similar`. */
  itemId?: string;
  /** Items in the cart (`cart` surface); they are excluded from the result. */
  cartItemIds?: string[];
  /**
   * Restricts the list to items tagged `category:<value>` (value without the prefix), on any
   * surface; `trending` also ranks by the category's own popularity. A thin list is filled with that
   * category's best-sellers only. An unknown category yields an empty list.
   * @example { surface: 'trending', k: 8, category: 'socks' }
   */
  category?: string;
  /**
   * Items of the visitor's current session, oldest first, used as extra anchors on `forUser`,
   * `similar` and `cart`: the last item weighs 1, the one before 0.5, then 0.25, … (0.5^steps back
   * from the end; at most `profile.maxAnchors` are used). They are merged with the profile's (or
   * the anchor item's, or the cart's) anchors, keeping the larger weight for an item in both.
   * Read-only: no index or profile changes, so evaluation and previews can pass a session without
   * recording it. Context items are not excluded from the result (pass them in
   * `filters.excludeIds` for that). Unknown ids are ignored.
   * @default undefined (no context)
   * @example { surface: 'forUser', k: 10, userKey: 'u1', contextItemIds: ['sku-3', 'sku-9'] }
   */
  contextItemIds?: string[];
  /** Traits for this request, merged over those set with `setUserTraits`. */
  traits?: Record<string, string>;
  filters?: RecFilters;
  /** Attach reasons to every item. */
  explain?: boolean;
  /** Seeded deterministic tie-break (and jitter when `ranking.seedJitter` > 0). */
  seed?: number;
  overrides?: RequestOverrides;
  /** Evaluation time (epoch ms); defaults to the engine clock. Rule schedules are read at this time. */
  now?: number;
  /**
   * Return the decision trace (`RecResult.trace`): what each signal proposed, what each filter
   * removed and why, and each item's score as the sum of its parts. Costs nothing when off.
   * @default false
   * @example { surface: 'similar', itemId: 'sku-1', k: 8, trace: true }
   */
  trace?: boolean;
  /**
   * Where the list is shown (`home`, `pdp`, …): merchandising rules may apply to some placements only.
   * @example { surface: 'forUser', k: 8, placement: 'home' }
   */
  placement?: string;
  /**
   * The shopper's country (ISO 3166-1 alpha-2, upper case): items not sold there (see
   * `EngineItem.markets`) are never listed, and price filters read the market's price.
   * @default undefined (every market)
   * @example { surface: 'forUser', k: 8, userKey: 'u1', country: 'DE' }
   */
  country?: string;
  /**
   * The named rule set this request is served under (see `RuleDefinition.ruleSet`): its rules apply
   * besides the base set's. Servers set it from the visitor's experiment variant.
   * @default undefined (the base set only)
   */
  ruleSet?: string;
}

/** Why an item was recommended: one entry per contributing signal. */
export interface Reason {
  signal: SignalName;
  /** The signal's share of the item's score (weight × normalised signal score). */
  contribution: number;
  /** Human-readable explanation, e.g. "often bought with Blue Mug". */
  text: string;
  /** The item the explanation refers to (the anchor), when there is one. */
  relatedItemId?: string;
}

export type { FallbackSource } from './protocol';

/** A recommendation list. */
export interface RecResult {
  items: Array<{ itemId: string; score: number; reasons?: Reason[] }>;
  /** `used`: the list was topped up (`filled` items from `sources`) or is shorter than `k`. */
  fallback: { used: boolean; sources: FallbackSource[]; filled: number };
  /** The decision trace, when the request asked for one (`trace: true`). */
  trace?: RecTrace;
  /**
   * What each merchandising rule did to this list (undefined when no rule changed it). Worded when
   * first read, so lists nobody inspects do not pay for it.
   */
  ruleEffects?: RuleEffect[];
}

/** One product-bundle request (`Engine.bundle`). */
export interface BundleRequest {
  /** The anchor: the product page's item. It leads the bundle. */
  itemId: string;
  /**
   * Most items, the anchor included (2–4).
   * @default `bundle.maxItems` of the config (3)
   * @example { itemId: 'sku-1', maxItems: 4 }
   */
  maxItems?: number;
  /** The visitor, for trait-conditioned merchandising rules. */
  userKey?: string;
  traits?: Record<string, string>;
  /** The same filters as every list (price range, tags, excluded ids). */
  filters?: RecFilters;
  /**
   * Where the bundle is shown, for placement-conditioned rules (bundles follow the `cart` surface's rules).
   * @default 'bundle'
   */
  placement?: string;
  /** Evaluation time (epoch ms); defaults to the engine clock. */
  now?: number;
  /** The shopper's country: partners not sold there are left out, and the price is the market's. */
  country?: string;
  /**
   * A bundle fixed by a merchandiser (a bundle experiment's variant) instead of the computed one:
   * these partners in order — those unavailable, not sold in the country, blocked or filtered out
   * are left out, and `maxItems` still caps the bundle — and this discount (percent; absent: the
   * config's `bundle.discountPercent`). Their reason's signal is `fixed`.
   * @example { itemId: 'sku-1', fixed: { partnerItemIds: ['sku-7', 'sku-9'], discountPercent: 10 } }
   */
  fixed?: { partnerItemIds: string[]; discountPercent?: number };
}

/** Why a bundle item is in the bundle. */
export interface BundleReason {
  /** `fixed`: a partner a merchandiser chose (see `BundleRequest.fixed`). */
  signal: 'anchor' | 'boughtTogether' | 'fixed';
  text: string;
  /** The anchor the partner is bought with. */
  relatedItemId?: string;
}

/** One item of a bundle. */
export interface BundleItem {
  itemId: string;
  /** `anchor`: the product page's item (first); `partner`: an item bought with it. */
  role: 'anchor' | 'partner';
  /** The partner's ranking score (bought-together + weighted co-visitation + cohesion); 1 for the anchor. */
  score: number;
  reason: BundleReason;
}

/** The bundle's price: the sum of its items' prices, and the discounted price when the shop set one. */
export interface BundlePrice {
  total: number;
  currency: string | null;
  /** `bundle.discountPercent` of the config; 0 when none. */
  discountPercent: number;
  /** `total` less the discount, in cents; null when no discount is configured. */
  bundlePrice: number | null;
  savings: number;
}

/** Why a bundle is empty. */
export type BundleEmptyReason =
  | 'unknown-item'
  | 'anchor-unavailable'
  | 'no-partners'
  | 'partners-unavailable';

/** A suggested bundle: the anchor and 1–3 partners, or no items and the reason. */
export interface BundleResult {
  anchorItemId: string;
  /** Anchor first, then partners in the order chosen; empty when there is no bundle. */
  items: BundleItem[];
  /** Null when the bundle is empty, an item has no price, or the items' currencies differ. */
  price: BundlePrice | null;
  /** Set when `items` is empty. */
  emptyReason?: BundleEmptyReason;
  /** A sentence for the operator saying why the bundle is empty. */
  message?: string;
}

/** One member of a group (`Engine.group`): a resolved user key (`userId` or `anon:<anonymousId>`). */
export interface GroupMember {
  userKey: string;
  /** Traits for this member, merged over those set with `setUserTraits`. */
  traits?: Record<string, string>;
}

/** How members' scores combine: `min` (everyone must like it) or `avg`. */
export type GroupRule = 'min' | 'avg';

/** A recommendation for several people at once (a household, a gift). */
export interface GroupRequest {
  /** 2–10 members. */
  members: GroupMember[];
  /** How many items to return. */
  k: number;
  /** @default 'min' */
  rule?: GroupRule;
  /**
   * Items whose normalised score clears `threshold` for every member are "strong fits": up to
   * `maxLocked` of them (best combined first) lead the list whatever the rule ranks above them.
   * @default undefined (no locking)
   * @example { threshold: 0.6, maxLocked: 3 }
   */
  strongFit?: { threshold: number; maxLocked: number };
  filters?: RecFilters;
  country?: string;
  /** Where the list is shown, for placement-conditioned rules (group lists follow `forUser`'s rules). */
  placement?: string;
  /** Attach each member's normalised score to every item, and say what was locked and why. */
  explain?: boolean;
  seed?: number;
  now?: number;
}

/** One item of a group list. */
export interface GroupItem {
  itemId: string;
  /** The combined score (after the rule and any boosts). */
  score: number;
  /** Placed at the top as a strong fit for everyone. */
  locked: boolean;
  /** With `explain`: each member's normalised score in [0, 1], in member order. */
  memberScores?: number[];
}

/** A group list, with how it was combined. */
export interface GroupResult {
  items: GroupItem[];
  rule: GroupRule;
  /** The threshold and cap asked for (null: none). */
  strongFit: { threshold: number; maxLocked: number } | null;
  /** Items locked at the top, in order. */
  locked: string[];
  /** Candidates scored (the union of the members' own lists). */
  candidates: number;
  /** Set when strong-fit locking was asked for and no candidate cleared the bar for every member. */
  warning?: string;
}

/** Reordering caller-supplied candidates (search results, a category page) for one visitor. */
export interface RerankRequest {
  /** The candidates in their original order (unknown ids are allowed: they keep their positions). */
  itemIds: string[];
  userKey?: string;
  sessionId?: string;
  traits?: Record<string, string>;
  filters?: RecFilters;
  country?: string;
  /** For placement-conditioned rules; reranked lists follow `forUser`'s rules. */
  placement?: string;
  explain?: boolean;
  seed?: number;
  now?: number;
}

/** Why a candidate was left out of a reranked list. */
export type RerankRemovedReason = 'unavailable' | 'not-sold-in-country' | 'filtered' | 'rule';

/** A reranked list. */
export interface RerankResult {
  /**
   * The list: known candidates ordered by the visitor's signals and the rules, unknown ids at their
   * original positions. Each keeps its 1-based `originalRank`.
   */
  items: Array<{
    itemId: string;
    score: number;
    originalRank: number;
    /** False for ids the catalog does not know (kept in place, not scored). */
    known: boolean;
    reasons?: Reason[];
  }>;
  /** Known candidates left out, and why (out of stock or archived, not sold in the country, the request's filters, a block or filter rule). */
  removed: Array<{ itemId: string; originalRank: number; reason: RerankRemovedReason }>;
  /** Ids the catalog does not know (kept at their positions). */
  unknownItemIds: string[];
  /** Repeated ids after their first occurrence (dropped). */
  duplicateItemIds: string[];
}

/** A rule set compiled against one engine's catalog, for previews (see `Engine.prepareRules`). */
export interface PreparedRules {
  readonly size: number;
  readonly definitions: readonly RuleDefinition[];
}

/** What `setRules` installed. */
export interface RulesSummary {
  /** Rules given, disabled ones included. */
  rules: number;
  /** Enabled rules. */
  enabled: number;
  /** Enabled rules whose schedule is in force at `now` (their request conditions aside). */
  inForce: number;
}

/** Counters for monitoring. */
export interface EngineStats {
  /** Catalog items known through `upsertItems`. */
  items: number;
  /** Events accepted by `addEvents`. */
  events: number;
  /** User profiles held. */
  users: number;
  /** Stored co-visitation neighbour links (i→j and j→i count once each, halved). */
  covisitPairs: number;
  /** Cached embedding neighbour lists, and lookups served from / missing the cache so far. */
  embeddingCache: { items: number; hits: number; misses: number };
}

/** The in-memory recommendation engine for one namespace. */
export interface Engine {
  /** Adds or replaces items; archived or unavailable items keep their history but are never recommended. */
  upsertItems(items: EngineItem[]): void;
  /** Feeds behaviour; indexes update immediately. Any order is tolerated (mostly ascending `ts` is fastest). */
  addEvents(events: EngineEvent[]): void;
  /** Moves an anonymous profile into a user's profile. Idempotent: the source profile is removed. */
  mergeUsers(fromKey: string, intoKey: string): void;
  /** Drops everything personal about a user (profile, traits, pending co-visit context). */
  forgetUser(userKey: string): void;
  /** Sets non-PII traits (segment, country, …); later events also count toward per-trait popularity. */
  setUserTraits(userKey: string, traits: Record<string, string>): void;
  /** Injects (or removes) the vector source used for embedding signals and diversity. */
  setVectors(source: VectorSource | undefined): void;
  /**
   * Injects (or removes) the complement lists of items without behaviour (see `ColdComplements`):
   * a brand-new item on `similar` or in a cart then gets bought-together candidates before its
   * first co-purchase.
   */
  setColdComplements(source: ColdComplements | undefined): void;
  /** Replaces the config (merged over the defaults) without a restart. */
  setConfig(config: PartialEngineConfig): void;
  getConfig(): EngineConfig;
  /**
   * Replaces the merchandising rules, compiled once here (not per request). Invalid definitions
   * throw a `RuleValidationError` naming each field; the rules in force are then unchanged.
   * Schedules are read at each request's time, so an expired rule stops applying without a call.
   * @example engine.setRules([{ id: 'pin-hero', kind: 'pin', items: { itemIds: ['sku-9'] }, slot: 0 }])
   */
  setRules(rules: RuleDefinition[], now?: number): RulesSummary;
  /** The rule definitions in force (as given to `setRules`). */
  getRules(): RuleDefinition[];
  /**
   * Which enabled rules with a schedule are in force at `now` (default: the engine clock), as a
   * short string: '' when no rule has a schedule; two calls return the same string exactly when the
   * same scheduled rules are in force. A cache of answers keys on it, so an opening or closing
   * window is in the next answer.
   * @example engine.scheduleState() // '10': the first scheduled rule in force, the second not
   */
  scheduleState(now?: number): string;
  /**
   * Until when `scheduleState(now)`'s answer holds (ms since the epoch): the next start or end of a
   * scheduled rule, or the end of the minute while a rule has recurring windows; Infinity when no
   * enabled rule has a schedule. A cache that cannot ask `scheduleState` at each read (another
   * thread's) keeps an answer no longer than this.
   * @example engine.scheduleUntil(Date.parse('2024-01-01T00:00:00Z')) // the next start or end
   */
  scheduleUntil(now?: number): number;
  /** Compiles a rule set without installing it: pass it to `recommend` or `rerankList` to preview. */
  prepareRules(rules: RuleDefinition[]): PreparedRules;
  /**
   * Synchronous recommendation; `options.rules` ranks with a prepared rule set instead of the
   * installed one (previews).
   */
  recommend(req: RecRequest, options?: { rules?: PreparedRules }): RecResult;
  /**
   * A product bundle for a product page: the anchor and the items usually bought with it, with
   * reasons and the bundle price. Deterministic for the same data.
   * @example engine.bundle({ itemId: 'sku-1' })
   */
  bundle(req: BundleRequest): BundleResult;
  /**
   * A list for several people at once: each member's own signals score every candidate, scores are
   * normalised per member and combined with `rule`; strong fits for everyone can be locked on top.
   * @example engine.group({ members: [{ userKey: 'u1' }, { userKey: 'u2' }], k: 10, rule: 'min' })
   */
  group(req: GroupRequest): GroupResult;
  /**
   * Reorders caller-supplied candidates for one visitor with the profile's signals and the rules;
   * unknown ids keep their positions, unavailable or filtered ones are removed and reported.
   * @example engine.rerank({ itemIds: ['sku-4', 'sku-1', 'sku-9'], userKey: 'u1' })
   */
  rerank(req: RerankRequest): RerankResult;
  /**
   * Applies a rule set to an already ranked list (a served list from the log) as if its items were
   * the only candidates: blocks and filters remove, boosts and buries re-sort, pins and injects
   * place. What a rule change would have done to lists already served. Returns the item ids.
   */
  rerankList(
    items: ReadonlyArray<{ itemId: string; score: number }>,
    req: RecRequest,
    rules?: PreparedRules,
  ): string[];
  /** The item as the catalog keeps it: every field but `description`, which ranking never reads. */
  getItem(itemId: string): EngineItem | undefined;
  stats(): EngineStats;
  /**
   * The learned state (catalog, traits, event log, every behaviour index, config) as one versioned,
   * checksummed buffer, for `createEngine({ snapshot })` to start from instead of replaying every
   * event. `meta` (JSON values) is stored beside it, readable without a restore through
   * `readEngineSnapshotMeta`. Rules, vectors and caches are not included.
   * @example writeFileSync('ns.snapshot', engine.snapshot({ namespaceId: 'shop', watermark: 812 }))
   */
  snapshot(meta?: Record<string, unknown>): Uint8Array;
  /**
   * Gives back the room to grow a bulk load left in the indexes: lists grown one event at a time
   * keep spare slots, and the co-occurrence pools half again their live size (about 200 MB at
   * 100k items and 2M events). Nothing it answers changes; events applied later grow what they
   * touch again. Call it once after loading many events, before serving.
   * @example engine.addEvents(history); engine.trimMemory();
   */
  trimMemory(): void;
}
