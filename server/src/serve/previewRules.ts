import type { RuleDefinition, RuleEffect } from '@recsys/engine';
import { type Surface, userKeyOf } from '@recsys/engine/protocol';
import type { NamespaceRuntime } from '../replicate/namespaceRuntime';
import type { ServeInput } from './EngineService';
import { recRequestOf } from './serveList';

/** A dry run of a rule change, as the engines answer it (see `rules/preview.ts` for the whole). */
export interface RulePreviewJob {
  /** The whole rule set as it would be after the change. */
  proposed: RuleDefinition[];
  /** Requests to rank twice: with the rules in force, and with `proposed`. */
  requests: Array<{ surface: Surface; input: ServeInput }>;
  /** Served lists (from the log) to re-rank twice, as if their items were the only candidates. */
  served: Array<{
    surface: Surface;
    placement: string | undefined;
    userId: string | null;
    anonymousId: string | null;
    items: Array<{ itemId: string; score: number }>;
  }>;
  /** How many of `served` to return side by side; the rest are only counted. */
  showServed: number;
}

export interface RulePreviewLists {
  requests: Array<{ before: string[]; after: string[]; effects: RuleEffect[] }>;
  served: Array<{ before: string[]; after: string[] }>;
  /** Served lists the change would have changed. */
  touched: number;
}

/**
 * Ranks each request with the rules in force and with the proposed set (compiled once for the
 * whole job, never installed), and re-ranks each served list both ways. Synchronous: one job takes
 * the engine thread for its length, so callers bound it (see `rules/preview.ts`).
 */
export function previewRules(rt: NamespaceRuntime, job: RulePreviewJob): RulePreviewLists {
  const proposed = rt.engine.prepareRules(job.proposed);
  const now = Date.now();
  const requests = job.requests.map(({ surface, input }) => {
    const req = { ...recRequestOf(rt, surface, input), now };
    const before = rt.engine.recommend(req).items.map((i) => i.itemId);
    const after = rt.engine.recommend(req, { rules: proposed });
    return { before, after: after.items.map((i) => i.itemId), effects: after.ruleEffects ?? [] };
  });
  const served: RulePreviewLists['served'] = [];
  let touched = 0;
  for (const list of job.served) {
    const userKey = userKeyOf(list.userId ?? undefined, list.anonymousId ?? undefined, rt.aliases);
    const req = {
      surface: list.surface,
      k: list.items.length,
      now,
      ...(userKey ? { userKey } : {}),
      ...(list.placement ? { placement: list.placement } : {}),
    };
    const before = rt.engine.rerankList(list.items, req);
    const after = rt.engine.rerankList(list.items, req, proposed);
    const changed = before.length !== after.length || before.some((id, i) => after[i] !== id);
    if (changed) touched++;
    if (served.length < job.showServed) served.push({ before, after });
  }
  return { requests, served, touched };
}
