import type {
  BundleRequest,
  BundleResult,
  Engine,
  EngineStats,
  GroupRequest,
  GroupResult,
  PreparedRules,
  RecRequest,
  RecResult,
  RerankRequest,
  RerankResult,
  RulesSummary,
} from './api';
import type { EngineConfig, PartialEngineConfig } from './config/engineConfig';
import { resolveEngineConfig } from './config/resolveEngineConfig';
import { BehaviorIndexes } from './indexes/BehaviorIndexes';
import { Catalog, soldIn } from './indexes/Catalog';
import { EventLog } from './indexes/EventLog';
import { validateEvent } from './indexes/validateEvent';
import { beginRules, rerankWithRules } from './pipeline/applyRules';
import { createEligibility, DenseMemo } from './pipeline/createEligibility';
import { type RecommendState, recommend } from './pipeline/recommend';
import { recommendGroup } from './pipeline/recommendGroup';
import { rerankCandidates } from './pipeline/rerankCandidates';
import { suggestBundle } from './pipeline/suggestBundle';
import { RuleItemIndex, RuleSet } from './rules/compileRules';
import type { RuleDefinition } from './rules/types';
import { readEngineSnapshot, writeEngineSnapshot } from './snapshot/engineSnapshot';
import type { EngineEvent, EngineItem } from './types';
import { EmbeddingNeighbors, type NeighborCacheOptions } from './vectors/EmbeddingNeighbors';
import type { ColdComplements, VectorSource } from './vectors/types';

/** Options of {@link createEngine}. */
export interface CreateEngineOptions {
  /**
   * Config merged over {@link defaultEngineConfig}.
   * @default {}
   * @example { config: { diversity: { maxPerBrand: 2 } } }
   */
  config?: PartialEngineConfig;
  /**
   * Clock for decay and windows (epoch ms). Fix it for offline evaluation at a time cut.
   * @default Date.now
   * @example { now: () => Date.parse('2011-10-01T00:00:00Z') }
   */
  now?: () => number;
  /**
   * Cache of per-item embedding neighbour lists (used when the vector source reports `versionOf`,
   * as {@link IvfIndex} does). `maxItems: 0` turns it off.
   * @default { maxItems: 20_000, ttlMs: 3_600_000 }
   * @example { embeddingCache: { maxItems: 100_000 } }
   */
  embeddingCache?: NeighborCacheOptions;
  /**
   * Bytes from {@link Engine.snapshot}: the engine starts with the indexes, catalog, traits and event
   * log they hold instead of empty (its config included: `config` is ignored). Rules and vectors are
   * not in a snapshot: set them as usual. Throws {@link EngineSnapshotError} when the bytes are
   * truncated, altered, of another format or not a snapshot.
   * @default undefined
   * @example createEngine({ snapshot: await readFile('ns.snapshot') })
   */
  snapshot?: Uint8Array;
}

/** The part of the config that shapes stored indexes; changing it rebuilds them from the event log. */
function indexShape(c: EngineConfig): string {
  // Profile fields read only at request time do not shape any index: changing them needs no replay.
  const { buyAgainHalfLifeMs, buyAgainPopularityExponent, sessionBoost, latestBoost, maxAnchors, ...stored } =
    c.profile;
  const {
    transitionTopK,
    contextSteps,
    contextDecay,
    knnNeighbors,
    knnSample,
    knnPositionDecay,
    knnReturnsOnly,
    returnEvidence,
    reshowSessionItems,
    diversityLambda,
    ...sessionStored
  } = c.session;
  return JSON.stringify([c.eventWeights, c.covisit, c.popularity, stored, sessionStored]);
}

/**
 * Creates an in-memory engine for one namespace.
 *
 * @example
 * const engine = createEngine({ config: { covisit: { windowMs: 3_600_000 } } });
 * engine.upsertItems(items);
 * engine.addEvents(events);
 * engine.recommend({ surface: 'similar', itemId: 'sku-1', k: 8, explain: true });
 */
export function createEngine(options: CreateEngineOptions = {}): Engine {
  const clock = options.now ?? Date.now;
  const restored = options.snapshot === undefined ? undefined : readEngineSnapshot(options.snapshot).state;
  let config = restored?.config ?? resolveEngineConfig(options.config);
  const catalog = restored?.catalog ?? new Catalog();
  const traits = restored?.traits ?? new Map<string, Record<string, string>>();
  const log = restored?.log ?? new EventLog();
  let vectors: VectorSource | undefined;
  let coldComplements: ColdComplements | undefined;
  let events = restored?.events ?? 0;
  const memo = new DenseMemo();
  const neighbors = new EmbeddingNeighbors(options.embeddingCache);
  const build = () => new BehaviorIndexes(config, catalog, traits);
  let behavior = restored?.behavior ?? build();
  let rules = new RuleItemIndex(new RuleSet([]), catalog);
  /** Prepared (preview) rule sets follow catalog changes too, while anyone holds them. */
  const prepared = new Set<WeakRef<RuleItemIndex>>();
  const prepare = (defs: RuleDefinition[]) => new RuleItemIndex(new RuleSet(defs), catalog);
  const indexOf = (p: PreparedRules | undefined): RuleItemIndex => {
    if (p === undefined) return rules;
    if (!(p instanceof PreparedRuleSet))
      throw new Error('recommend: options.rules must come from prepareRules.');
    return p.index;
  };
  const stateFor = (req: RecRequest, index: RuleItemIndex): RecommendState => ({
    config,
    catalog,
    behavior,
    vectors,
    neighbors,
    coldComplements,
    traits,
    now: req.now ?? clock(),
    memo,
    rules: index.set.size > 0 ? index : undefined,
  });

  return {
    upsertItems(items: EngineItem[]): void {
      if (!Array.isArray(items)) throw new Error('upsertItems: expected an array of items.');
      catalog.upsert(items);
      const ids = items.map((item) => catalog.ids.get(item.itemId)!);
      rules.refresh(ids);
      for (const ref of prepared) {
        const index = ref.deref();
        if (index === undefined) prepared.delete(ref);
        else index.refresh(ids);
      }
    },

    addEvents(batch: EngineEvent[]): void {
      if (!Array.isArray(batch)) throw new Error('addEvents: expected an array of events.');
      // Validate the whole batch first so a bad event never leaves it half-applied.
      batch.forEach(validateEvent);
      for (const e of batch) {
        // Impressions are what the engine itself showed: learning from them would feed its own lists
        // back into co-visitation, popularity and "recently viewed". They are kept for attribution.
        if (e.type === 'impression') continue;
        events++;
        if (e.itemId === undefined) continue;
        const ingest = {
          type: e.type,
          item: catalog.ids.intern(e.itemId),
          userKey: e.userKey,
          sessionId: e.sessionId,
          ts: e.ts,
          value: e.value,
          orderId: e.orderId,
        };
        log.append(ingest);
        behavior.ingest(ingest);
      }
    },

    mergeUsers(fromKey: string, intoKey: string): void {
      if (typeof fromKey !== 'string' || typeof intoKey !== 'string' || !fromKey || !intoKey) {
        throw new Error('mergeUsers: fromKey and intoKey must be non-empty strings.');
      }
      if (fromKey === intoKey) return;
      behavior.mergeUsers(fromKey, intoKey);
      log.alias(fromKey, intoKey);
      const fromTraits = traits.get(fromKey);
      if (fromTraits !== undefined) {
        traits.set(intoKey, { ...fromTraits, ...traits.get(intoKey) });
        traits.delete(fromKey);
      }
    },

    forgetUser(userKey: string): void {
      behavior.forgetUser(userKey);
      traits.delete(userKey);
      log.forget(userKey);
    },

    setUserTraits(userKey: string, next: Record<string, string>): void {
      if (typeof next !== 'object' || next === null) {
        throw new Error(`setUserTraits(${JSON.stringify(userKey)}): traits must be an object of strings.`);
      }
      for (const [k, v] of Object.entries(next)) {
        if (typeof v !== 'string') {
          throw new Error(
            `setUserTraits(${JSON.stringify(userKey)}): trait ${k} must be a string (got ${JSON.stringify(v)}).`,
          );
        }
      }
      traits.set(userKey, { ...next });
    },

    setVectors(source: VectorSource | undefined): void {
      if (source !== vectors) neighbors.clear();
      vectors = source;
    },

    setColdComplements(source: ColdComplements | undefined): void {
      coldComplements = source;
    },

    setConfig(partial: PartialEngineConfig): void {
      const next = resolveEngineConfig(partial);
      const rebuild = indexShape(next) !== indexShape(config);
      config = next;
      if (rebuild) {
        behavior = build();
        log.replay((e) => {
          behavior.ingest(e);
        });
      }
    },

    getConfig(): EngineConfig {
      return structuredClone(config);
    },

    setRules(defs: RuleDefinition[], now?: number): RulesSummary {
      const next = prepare(defs);
      rules = next;
      const at = now ?? clock();
      return {
        rules: next.set.definitions.length,
        enabled: next.set.size,
        inForce: next.set.rules.filter((r) => next.set.scheduled(r, at)).length,
      };
    },

    getRules(): RuleDefinition[] {
      return structuredClone([...rules.set.definitions]);
    },

    scheduleState(now?: number): string {
      return rules.set.scheduleState(now ?? clock());
    },

    scheduleUntil(now?: number): number {
      return rules.set.scheduleUntil(now ?? clock());
    },

    prepareRules(defs: RuleDefinition[]): PreparedRules {
      const index = prepare(defs);
      prepared.add(new WeakRef(index));
      return new PreparedRuleSet(index);
    },

    recommend(req: RecRequest, options?: { rules?: PreparedRules }): RecResult {
      return recommend(req, stateFor(req, indexOf(options?.rules)));
    },

    bundle(req: BundleRequest): BundleResult {
      if (typeof req?.itemId !== 'string' || req.itemId.length === 0) {
        throw new Error('bundle: itemId must be a non-empty string.');
      }
      if (req.maxItems !== undefined && !Number.isFinite(req.maxItems)) {
        throw new Error(`bundle: maxItems must be a number from 2 to 4 (got ${String(req.maxItems)}).`);
      }
      if (req.country !== undefined && !/^[A-Z]{2}$/.test(req.country)) {
        throw new Error(
          `bundle: country must be an upper-case ISO 3166-1 alpha-2 code (got ${req.country}).`,
        );
      }
      return suggestBundle(req, stateFor({ surface: 'cart', k: 1, now: req.now }, rules));
    },

    group(req: GroupRequest): GroupResult {
      return recommendGroup(req, stateFor({ surface: 'forUser', k: req.k, now: req.now }, rules));
    },

    rerank(req: RerankRequest): RerankResult {
      return rerankCandidates(req, stateFor({ surface: 'forUser', k: 1, now: req.now }, rules));
    },

    rerankList(items, req, prepared?: PreparedRules): string[] {
      const state = stateFor(req, indexOf(prepared));
      const ids: number[] = [];
      const scores: number[] = [];
      for (const item of items) {
        const id = catalog.ids.get(item.itemId);
        if (id === undefined) continue;
        // A list served in another market: what this one does not sell never shows.
        const known = catalog.info(id)?.item;
        if (known !== undefined && !soldIn(known, req.country)) continue;
        ids.push(id);
        scores.push(item.score);
      }
      const traitsOf = {
        ...(req.userKey !== undefined ? traits.get(req.userKey) : undefined),
        ...req.traits,
      };
      const ruled = beginRules(
        state.rules,
        {
          surface: req.surface,
          placement: req.placement,
          anchorItemId: req.surface === 'similar' ? req.itemId : undefined,
          cartItemIds: req.cartItemIds,
          ruleSet: req.ruleSet,
          traits: traitsOf,
          now: state.now,
        },
        catalog,
      );
      const base = {
        catalog,
        filters: undefined,
        excludedItems: [],
        profile: undefined,
        purchasedSince: undefined,
        country: req.country,
      };
      const eligible = createEligibility({ ...base, memo });
      const order = rerankWithRules(ruled, ids, scores, req.k, eligible, () =>
        createEligibility({ ...base, memo: new DenseMemo(), ignoreStock: true }),
      );
      return order.map((id) => catalog.ids.keyOf(id));
    },

    getItem(itemId: string): EngineItem | undefined {
      const id = catalog.ids.get(itemId);
      const item = id === undefined ? undefined : catalog.info(id)?.item;
      if (item === undefined) return undefined;
      const copy: EngineItem = { ...item, tags: [...item.tags] };
      if (item.markets !== undefined) copy.markets = structuredClone(item.markets);
      return copy;
    },

    trimMemory(): void {
      behavior.trim();
      log.trim();
    },

    snapshot(meta: Record<string, unknown> = {}): Uint8Array {
      return writeEngineSnapshot(
        { config, catalog, traits, log, events, behavior },
        { ...meta, createdAt: clock(), events, items: catalog.size },
      );
    },

    stats(): EngineStats {
      return {
        items: catalog.size,
        events,
        users: behavior.profiles.size,
        covisitPairs: behavior.covisit.pairCount(),
        embeddingCache: { items: neighbors.size, hits: neighbors.hits, misses: neighbors.misses },
      };
    },
  };
}

/** The handle `prepareRules` returns: opaque to callers, the compiled index inside. */
class PreparedRuleSet implements PreparedRules {
  constructor(readonly index: RuleItemIndex) {}
  get size(): number {
    return this.index.set.size;
  }
  get definitions() {
    return this.index.set.definitions;
  }
}
