/**
 * A list for several people at once (a household, a gift): every member's own `forUser` signals
 * score the same candidates, each member's scores are normalised to [0, 1] (divided by that
 * member's best), and the rule combines them: `min` (the least happy member decides: everyone must
 * like it) or `avg`. Strong fits — items that clear a threshold for every member — can be locked at
 * the top. Scoring goes through `recommend()` itself, so the group sees exactly the signals, filters
 * and market of a single member's list; the merchandising rules apply once, to the combined list.
 */
import type { GroupItem, GroupRequest, GroupResult, GroupRule, RecRequest } from '../api';
import { limits } from '../protocol';
import { type RecommendState, recommend } from './recommend';
import { forUserRules, placementEligibility, SCORING_OVERRIDES, withoutRules } from './scoreOnly';

/** Members a group may have. */
export const GROUP_MEMBERS = { min: limits.groupMembersMin, max: limits.groupMembersMax } as const;
/** Most candidates scored per member (the union of the members' own lists is capped by it). */
const MAX_CANDIDATES = 1000;

function validate(req: GroupRequest): void {
  const n = req.members?.length ?? 0;
  if (n < GROUP_MEMBERS.min || n > GROUP_MEMBERS.max) {
    throw new Error(`group: members must hold ${GROUP_MEMBERS.min}–${GROUP_MEMBERS.max} members (got ${n}).`);
  }
  for (const [i, m] of req.members.entries()) {
    if (typeof m?.userKey !== 'string' || m.userKey.length === 0) {
      throw new Error(`group: members[${i}].userKey must be a non-empty string.`);
    }
  }
  if (!Number.isInteger(req.k) || req.k < 1) throw new Error(`group: k must be a whole number ≥ 1.`);
  if (req.rule !== undefined && req.rule !== 'min' && req.rule !== 'avg') {
    throw new Error(`group: rule must be 'min' or 'avg' (got ${JSON.stringify(req.rule)}).`);
  }
  const fit = req.strongFit;
  if (fit !== undefined) {
    if (!(fit.threshold >= 0 && fit.threshold <= 1)) {
      throw new Error(
        'group: strongFit.threshold must be between 0 and 1 (scores are normalised per member).',
      );
    }
    if (!Number.isInteger(fit.maxLocked) || fit.maxLocked < 0) {
      throw new Error('group: strongFit.maxLocked must be a whole number ≥ 0.');
    }
  }
}

/** One member's scores of `candidates`, normalised to [0, 1] by that member's best score. */
function memberScores(
  base: RecRequest,
  state: RecommendState,
  candidates: ReadonlySet<number>,
): Map<number, number> {
  const { catalog } = state;
  const result = recommend({ ...base, k: candidates.size }, state, { onlyItems: candidates });
  let best = 0;
  for (const item of result.items) best = Math.max(best, item.score);
  const out = new Map<number, number>();
  if (best <= 0) return out;
  for (const item of result.items) {
    const id = catalog.ids.get(item.itemId);
    if (id !== undefined && item.score > 0) out.set(id, item.score / best);
  }
  return out;
}

const combine = (rule: GroupRule, scores: number[]) =>
  rule === 'min' ? Math.min(...scores) : scores.reduce((a, b) => a + b, 0) / scores.length;

/** See the top of this file. */
export function recommendGroup(req: GroupRequest, state: RecommendState): GroupResult {
  validate(req);
  const { catalog, now } = state;
  const rule = req.rule ?? 'min';
  // Members are scored without rules: the rules apply once, to the combined list, below.
  const scoring = withoutRules(state);
  const baseOf = (m: GroupRequest['members'][number]): RecRequest => {
    const r: RecRequest = { surface: 'forUser', k: 1, userKey: m.userKey, overrides: SCORING_OVERRIDES, now };
    if (m.traits) r.traits = m.traits;
    if (req.filters) r.filters = req.filters;
    if (req.country) r.country = req.country;
    if (req.seed !== undefined) r.seed = req.seed;
    return r;
  };
  const bases = req.members.map(baseOf);

  // 1. Candidates: the union of each member's own best items.
  const perMember = Math.max(1, Math.min(Math.floor(MAX_CANDIDATES / bases.length), Math.max(3 * req.k, 50)));
  const candidates = new Set<number>();
  for (const base of bases) {
    for (const item of recommend({ ...base, k: perMember }, scoring).items) {
      const id = catalog.ids.get(item.itemId);
      if (id !== undefined) candidates.add(id);
    }
  }

  // 2. Every member scores every candidate (0: none of their signals reaches it).
  const scores = candidates.size === 0 ? [] : bases.map((b) => memberScores(b, scoring, candidates));
  const ruled = forUserRules(state, req.placement, {});
  const ranked: Array<{ id: number; score: number; floor: number; avg: number; of: number[] }> = [];
  for (const id of candidates) {
    if (ruled?.hasBlockOrFilter && !ruled.allows(id)) continue;
    const of = scores.map((m) => m.get(id) ?? 0);
    const floor = Math.min(...of);
    const avg = combine('avg', of);
    let score = rule === 'min' ? floor : avg;
    if (ruled?.hasScoring) score = ruled.adjust(id, score);
    ranked.push({ id, score, floor, avg, of });
  }
  // Ties: the better average, then the item id (the same data gives the same list).
  ranked.sort(
    (a, b) =>
      b.score - a.score || b.avg - a.avg || (catalog.ids.keyOf(a.id) < catalog.ids.keyOf(b.id) ? -1 : 1),
  );

  // 3. Strong fits for everyone lead, best first.
  const fit = req.strongFit ?? null;
  const lockedIds = new Set<number>();
  if (fit !== null && fit.maxLocked > 0) {
    for (const c of ranked) {
      if (lockedIds.size >= Math.min(fit.maxLocked, req.k)) break;
      if (c.floor >= fit.threshold && c.floor > 0) lockedIds.add(c.id);
    }
  }
  let order = [
    ...ranked.filter((c) => lockedIds.has(c.id)),
    ...ranked.filter((c) => !lockedIds.has(c.id)),
  ].map((c) => c.id);

  // 4. Pins and injects place on the final list (block > filter > pin > boost/bury > score).
  if (ruled !== undefined) {
    const { eligible, ignoringStock } = placementEligibility(state, req.filters, req.country, ruled);
    order = ruled.place(order, req.k, eligible, ignoringStock);
  }
  order = order.slice(0, req.k);

  const byId = new Map(ranked.map((c) => [c.id, c]));
  const items: GroupItem[] = order.map((id) => {
    const c = byId.get(id);
    const out: GroupItem = { itemId: catalog.ids.keyOf(id), score: c?.score ?? 0, locked: lockedIds.has(id) };
    if (req.explain) out.memberScores = c?.of ?? req.members.map(() => 0);
    return out;
  });
  const result: GroupResult = {
    items,
    rule,
    strongFit: fit,
    locked: items.filter((i) => i.locked).map((i) => i.itemId),
    candidates: candidates.size,
  };
  if (fit !== null && lockedIds.size === 0) {
    const best = ranked.reduce((m, c) => Math.max(m, c.floor), 0);
    result.warning =
      `No item scores at least ${fit.threshold} for every member (the best for everyone scores ` +
      `${best.toFixed(2)}), so nothing is locked and the list is ranked by the ${rule} rule alone.`;
  }
  return result;
}
