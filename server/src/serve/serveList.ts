import { createHash } from 'node:crypto';
import type { RecFilters, RecRequest, TraceRuleEffect } from '@recsys/engine';
import { type Surface, userKeyOf } from '@recsys/engine/protocol';
import type { NamespaceRuntime } from '../replicate/namespaceRuntime';
import { displayPrice } from '../replicate/rows';
import type { EngineList, ListValidity, ServeInput } from './EngineService';
import type { ResponseCache, StoredList } from './ResponseCache';

/** The engine's filters for the filters of a validated `recs.*` input. */
export function recFiltersOf(f: ServeInput['filters']): RecFilters {
  const filters: RecFilters = {};
  if (f?.priceBetween) {
    const [priceMin, priceMax] = f.priceBetween;
    if (priceMin !== null) filters.priceMin = priceMin;
    if (priceMax !== null) filters.priceMax = priceMax;
  }
  if (f?.includeTagsAny) filters.includeTagsAny = f.includeTagsAny;
  if (f?.excludeTagsAny) filters.excludeTagsAny = f.excludeTagsAny;
  if (f?.excludeIds) filters.excludeIds = f.excludeIds;
  return filters;
}

/** The engine request for a validated `recs.*` input (what {@link serveList} ranks, and previews). */
export function recRequestOf(rt: NamespaceRuntime, surface: Surface, input: ServeInput): RecRequest {
  const userKey = userKeyOf(input.userId, input.anonymousId, rt.aliases);
  const filters = recFiltersOf(input.filters);
  const request: RecRequest = { surface, k: input.k, explain: input.explain, filters };
  if (userKey) request.userKey = userKey;
  if (input.sessionId) request.sessionId = input.sessionId;
  if (input.itemId) request.itemId = input.itemId;
  if (input.itemIds) request.cartItemIds = input.itemIds;
  if (input.category) request.category = input.category;
  if (input.seed !== undefined) request.seed = input.seed;
  if (input.traits) request.traits = input.traits;
  if (input.contextItemIds) request.contextItemIds = input.contextItemIds;
  if (input.overrides) request.overrides = input.overrides;
  if (input.trace) request.trace = true;
  if (input.placement) request.placement = input.placement;
  if (input.country) request.country = input.country;
  if (input.ruleSet) request.ruleSet = input.ruleSet;
  return request;
}

/**
 * Ranks one list of a namespace and joins the display fields responses carry (title, price, url,
 * image) and, with `explain`, the reasons.
 */
export function serveList(rt: NamespaceRuntime, surface: Surface, input: ServeInput): EngineList {
  return rankList(rt, recRequestOf(rt, surface, input), input);
}

/**
 * {@link serveList} through the response cache: the same list for the same key while it lives.
 * `explain` and `bypassCache` requests are ranked now and not stored; a list stored from a sampled
 * traced request is stored without its trace. With shared change counters, each list says until
 * when and on which counters it may be served again from another thread (`validity`).
 */
export function serveListCached(
  rt: NamespaceRuntime,
  surface: Surface,
  input: ServeInput,
  cache: ResponseCache,
): EngineList | Promise<EngineList> {
  if (input.explain || input.bypassCache) return serveList(rt, surface, input);
  const now = Date.now();
  const request = recRequestOf(rt, surface, input);
  const key = responseCacheKey(rt, request, input.experiment, now);
  // Read in this turn, with the versions in the key: a change applied later moves a counter. The
  // visitor as the engine keys them: a login moves an anonymous id's counter (it keys the visitor
  // until then), and a linked id is never linked to anyone else (a user's erasure rebuilds the
  // namespace, which moves the namespace's counter).
  const stamps = rt.versions.readStamps([request.userKey]);
  const scheduleUntil = stamps ? rt.engine.scheduleUntil(now) : 0;
  const validity = (expiresAt: number): ListValidity | undefined =>
    stamps && { slots: stamps.slots, values: stamps.values, until: Math.min(expiresAt, scheduleUntil) };
  const miss = (): EngineList => {
    const list = rankList(rt, request, input);
    const { trace: _trace, ...stored } = list;
    const expiresAt = cache.set(key, stored);
    list.cache = 'miss';
    const valid = validity(expiresAt);
    if (valid) list.validity = valid;
    return list;
  };
  const hit = (found: StoredList): EngineList => {
    const list: EngineList = { ...found.list, cache: 'hit' };
    const valid = validity(found.expiresAt);
    if (valid) list.validity = valid;
    return list;
  };
  const found = cache.get(key);
  if (found instanceof Promise) return found.then((f) => (f ? hit(f) : miss()));
  return found ? hit(found) : miss();
}

/**
 * The key of a list in the response cache: everything that changes the answer. The engine request
 * (surface, visitor as the engine keys it after a login, anchor items, filters, k, country, traits,
 * rule set, the variant's parameters, …), the experiment it is served under and which scheduled rules
 * are in force now are hashed; beside them, in clear, the namespace and the versions that move when
 * something changes (see `ChangeVersions`): the namespace's newest applied change (catalog,
 * embeddings, configuration, rules) and the visitor's (their events, traits, a login).
 */
export function responseCacheKey(
  rt: NamespaceRuntime,
  request: RecRequest,
  experiment: ServeInput['experiment'],
  now = Date.now(),
): string {
  const { trace: _trace, explain: _explain, ...asked } = request;
  // One character per scheduled rule (overrides all have an end): hashed, not spelled out in the key.
  const schedule = rt.engine.scheduleState(now);
  const digest = createHash('sha1')
    .update(JSON.stringify([asked, experiment?.id ?? null, experiment?.variant ?? null, schedule]))
    .digest('base64url');
  const { versions } = rt;
  return `${rt.namespaceId}:${versions.namespace(now)}:${versions.user(request.userKey, now)}:${digest}`;
}

/**
 * Ranks `request` and joins the display fields (see {@link serveList}).
 *
 * Objects are assigned field by field rather than spread from conditional objects: this runs for
 * every request, and each `...(cond ? { x } : {})` is a temporary object.
 */
function rankList(rt: NamespaceRuntime, request: RecRequest, input: ServeInput): EngineList {
  const result = rt.engine.recommend(request);
  const items = result.items.map((item, i) => {
    const d = rt.display.get(item.itemId);
    const { price, currency } = displayPrice(d, input.country);
    const out: EngineList['items'][number] = {
      itemId: item.itemId,
      rank: i + 1,
      score: item.score,
      title: d?.title ?? null,
      price,
      currency,
      url: d?.url ?? null,
      imageUrl: d?.imageUrl ?? null,
    };
    if (input.explain) out.reasons = item.reasons ?? [];
    return out;
  });
  const list: EngineList = {
    items,
    fallback: result.fallback,
    userId: input.userId ?? (input.anonymousId ? (rt.aliases.get(input.anonymousId) ?? null) : null),
    configVersion: rt.configVersion,
  };
  if (input.experiment) list.experiment = input.experiment;
  if (input.ruleSet) list.ruleSet = input.ruleSet;
  if (result.trace) {
    // Rules report their effects on the result (when the engine applies rules).
    const effects = (result as { ruleEffects?: TraceRuleEffect[] }).ruleEffects;
    list.trace = { ...result.trace, rules: effects ?? result.trace.rules };
  }
  return list;
}
