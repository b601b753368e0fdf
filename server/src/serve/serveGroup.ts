import type { GroupRequest, RerankRequest } from '@recsys/engine';
import { type GroupResponse, type RerankResponse, userKeyOf } from '@recsys/engine/protocol';
import type { NamespaceRuntime } from '../replicate/namespaceRuntime';
import { displayPrice } from '../replicate/rows';
import type { EngineGroup, EngineRerank, GroupServeInput, RerankServeInput } from './EngineService';
import { recFiltersOf } from './serveList';

/** The display fields a response carries for one item, at the request country's price. */
function displayOf(rt: NamespaceRuntime, itemId: string, country: string | undefined) {
  const d = rt.display.get(itemId);
  return {
    title: d?.title ?? null,
    ...displayPrice(d, country),
    url: d?.url ?? null,
    imageUrl: d?.imageUrl ?? null,
  };
}

/**
 * Ranks one group list of a namespace (`Engine.group`) and joins the display fields. A member with
 * neither a known user nor a visitor id still counts, as a cold visitor (the catalog-wide signals).
 */
export function serveGroup(rt: NamespaceRuntime, input: GroupServeInput): EngineGroup {
  const request: GroupRequest = {
    members: input.members.map((m, i) => ({
      // A member no id identifies (an unproven userId was dropped) is a cold visitor: a key no
      // stored id can hold (ids refuse control characters), distinct per member.
      userKey: userKeyOf(m.userId, m.anonymousId, rt.aliases) ?? `\u0000group-member-${i}`,
    })),
    k: input.k,
    rule: input.rule,
    filters: recFiltersOf(input.filters),
    explain: input.explain,
  };
  if (input.strongFit) request.strongFit = input.strongFit;
  if (input.country) request.country = input.country;
  if (input.placement) request.placement = input.placement;
  if (input.seed !== undefined) request.seed = input.seed;
  const result = rt.engine.group(request);
  const items: GroupResponse['items'] = result.items.map((item, i) => {
    const out: GroupResponse['items'][number] = {
      itemId: item.itemId,
      rank: i + 1,
      score: item.score,
      ...displayOf(rt, item.itemId, input.country),
      locked: item.locked,
    };
    if (item.memberScores) out.memberScores = item.memberScores;
    return out;
  });
  const group: EngineGroup = {
    items,
    summary: {
      rule: result.rule,
      strongFit: result.strongFit,
      locked: result.locked,
      candidates: result.candidates,
    },
    userIds: input.members.map(
      (m) => m.userId ?? (m.anonymousId ? (rt.aliases.get(m.anonymousId) ?? null) : null),
    ),
    configVersion: rt.configVersion,
  };
  if (result.warning) group.warning = result.warning;
  return group;
}

/** Reranks a caller's candidates for one visitor (`Engine.rerank`) and joins the display fields. */
export function serveRerank(rt: NamespaceRuntime, input: RerankServeInput): EngineRerank {
  const request: RerankRequest = { itemIds: input.itemIds, filters: recFiltersOf(input.filters) };
  const userKey = userKeyOf(input.userId, input.anonymousId, rt.aliases);
  if (userKey) request.userKey = userKey;
  if (input.sessionId) request.sessionId = input.sessionId;
  if (input.traits) request.traits = input.traits;
  if (input.country) request.country = input.country;
  if (input.placement) request.placement = input.placement;
  if (input.seed !== undefined) request.seed = input.seed;
  if (input.explain) request.explain = true;
  const result = rt.engine.rerank(request);
  const items: RerankResponse['items'] = result.items.map((item, i) => {
    const out: RerankResponse['items'][number] = {
      itemId: item.itemId,
      rank: i + 1,
      score: item.score,
      ...(item.known
        ? displayOf(rt, item.itemId, input.country)
        : { title: null, price: null, currency: null, url: null, imageUrl: null }),
      originalRank: item.originalRank,
      known: item.known,
    };
    if (input.explain) out.reasons = item.reasons ?? [];
    return out;
  });
  return {
    items,
    unknownItemIds: result.unknownItemIds,
    removed: result.removed,
    duplicateItemIds: result.duplicateItemIds,
    userId: input.userId ?? (input.anonymousId ? (rt.aliases.get(input.anonymousId) ?? null) : null),
    configVersion: rt.configVersion,
  };
}
