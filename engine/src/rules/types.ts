/**
 * Merchandising rules as data: what an operator stores, what the engine compiles when they change
 * (`Engine.setRules`) and applies to every list after scoring, in this order of precedence:
 *
 *   block > filter > pin > inject > boost/bury > engine score
 *
 * and, within one kind, the higher `priority` first (ties: the rule id, alphabetically).
 */
import type { Surface } from '../protocol';

/** What a rule does. */
export const RULE_KINDS = ['block', 'filter', 'pin', 'inject', 'boost', 'bury'] as const;
export type RuleKind = (typeof RULE_KINDS)[number];

/** Days of the week as schedules name them (local to the schedule's time zone). */
export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/**
 * Which items a rule acts on. Every given field must hold (AND); inside a list field, any entry
 * may match (OR). An empty matcher `{}` matches every item.
 * @example { tags: ['brand:acme'], priceMin: 20 }
 */
export interface ItemMatch {
  /** These items. */
  itemIds?: string[];
  /**
   * Items carrying any of these tags. `*` is a wildcard: `brand:*` (any brand), `color:bl*`.
   * @example ['category:shoes', 'color:black']
   */
  tags?: string[];
  /** Lowest price, inclusive (items without a price never match a price bound). */
  priceMin?: number;
  /** Highest price, inclusive. */
  priceMax?: number;
  /** Only in-stock (`true`) or only out-of-stock (`false`) items. */
  available?: boolean;
  /**
   * Items created at or after this instant (ISO-8601 with a zone, e.g. `2026-12-01T00:00:00Z`).
   * @example '2026-11-01T00:00:00Z'
   */
  createdAfter?: string;
}

/**
 * When a rule applies, from the request. Every given field must hold (AND); inside a list, any
 * entry may match (OR). No conditions: every request of the namespace.
 */
export interface RuleConditions {
  /** Only these surfaces (`forUser`, `similar`, `cart`, …). */
  surfaces?: Surface[];
  /** Only requests sent with one of these `placement`s (`home`, `pdp`, …). */
  placements?: string[];
  /** Only lists anchored on one of these items (`similar`). */
  anchorItemIds?: string[];
  /** Only lists anchored on an item of one of these categories (value without `category:`). */
  anchorCategories?: string[];
  /** Only when the cart holds one of these items. */
  cartItemIds?: string[];
  /** Only when the cart holds an item carrying one of these tags (`*` wildcards allowed). */
  cartTags?: string[];
  /** Only users whose `segment` trait is one of these. */
  segments?: string[];
  /** Only users whose trait `key` is one of the listed values, for every key given. */
  traits?: Record<string, string[]>;
  /** Only users whose `country` trait is one of these (ISO 3166 codes, any case). */
  countries?: string[];
}

/** A weekly window in local time: `from` ≤ local time < `to` on the listed days. */
export interface RecurringWindow {
  /** Local days the window starts on. @example ['sat', 'sun'] */
  days: Weekday[];
  /** Local start, `HH:MM` (24 h). @example '09:00' */
  from: string;
  /** Local end, `HH:MM`, exclusive; earlier than `from` means the window runs past midnight. */
  to: string;
}

/**
 * When a rule is in force. `start` and `end` are instants: ISO-8601 with a zone (`…Z`,
 * `…+01:00`), or a local date-time without one (`2026-12-24T18:00`), read in `timeZone`.
 * Evaluated against each request's clock, so an expired rule stops applying without a restart.
 */
export interface RuleSchedule {
  /** In force from this instant (inclusive). */
  start?: string;
  /** Until this instant (exclusive). */
  end?: string;
  /**
   * IANA time zone for local `start`/`end` and for `recurring` windows.
   * @default 'UTC'
   * @example 'Europe/Berlin'
   */
  timeZone?: string;
  /** In force only inside one of these weekly windows (and inside start/end). */
  recurring?: RecurringWindow[];
}

interface RuleBase {
  /** Unique within the namespace: letters, digits, `-`, `_`, `.`, `:` (1–128). */
  id: string;
  /** What the rule is for, in words. */
  name?: string;
  /** Higher first among rules of one kind. @default 0 */
  priority?: number;
  /** Disabled rules are kept but never applied. @default true */
  enabled?: boolean;
  /**
   * The named rule set the rule belongs to: it applies only to requests served under that set
   * (visitors assigned to an experiment variant `rules:<ruleSet>`), never to anyone else. Absent:
   * the base set, in force for every request (those of rule-set variants included).
   * Same characters as `id`.
   * @example 'summer-sale'
   */
  ruleSet?: string;
  when?: RuleConditions;
  schedule?: RuleSchedule;
}

/** Never show matching items. */
export interface BlockRule extends RuleBase {
  kind: 'block';
  items: ItemMatch;
}

/** Show only matching items (several active filters: an item must match every one). */
export interface FilterRule extends RuleBase {
  kind: 'filter';
  items: ItemMatch;
}

/**
 * Put one matching item at `slot` (0 = first). With a query, the best-scored matching candidate,
 * else the first listed id, else the newest matching item.
 */
export interface PinRule extends RuleBase {
  kind: 'pin';
  items: ItemMatch;
  /** 0-based position. */
  slot: number;
  /** May pin an out-of-stock (never an archived or blocked) item. @default false */
  allowUnavailable?: boolean;
}

/**
 * Add matching items that were not candidates (a new collection), from `slot` on: listed ids in
 * their order, then the newest.
 */
export interface InjectRule extends RuleBase {
  kind: 'inject';
  items: ItemMatch;
  /** How many to add. @default 1 */
  count?: number;
  /** 0-based position of the first; default: the end of the list. */
  slot?: number;
  /** May inject out-of-stock (never archived or blocked) items. @default false */
  allowUnavailable?: boolean;
}

/** Raise matching items: score × multiplier + add. */
export interface BoostRule extends RuleBase {
  kind: 'boost';
  items: ItemMatch;
  /** ≥ 1. @default 1 */
  multiplier?: number;
  /** ≥ 0, in score units (a top candidate scores about 1). @default 0 */
  add?: number;
}

/** Lower matching items: score × multiplier − subtract. */
export interface BuryRule extends RuleBase {
  kind: 'bury';
  items: ItemMatch;
  /** 0…1. @default 1 */
  multiplier?: number;
  /** ≥ 0, subtracted from the score. @default 0 */
  subtract?: number;
}

/** One merchandising rule. */
export type RuleDefinition = BlockRule | FilterRule | PinRule | InjectRule | BoostRule | BuryRule;

/** What one rule did to one list, in words (and what conflicts were resolved). */
export interface RuleEffect {
  ruleId: string;
  kind: RuleKind | 'conflict';
  /** e.g. "pinned sku-9 at slot 0", "removed 3 items", "lost slot 0 to pin-a (higher priority)". */
  effect: string;
  itemIds: string[];
}
