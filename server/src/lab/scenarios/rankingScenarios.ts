/** Scenarios about how a list is ranked: cold start, new items, diversity, explanations, seeds. */
import { randomUUID } from 'node:crypto';
import type { RecommendedItem, RecsResponse } from '@recsys/engine/protocol';
import { categoryOf, fmt, intraListDiversity, probes, scoreSum } from './probes';
import type { Scenario, ScenarioContext } from './types';

export const coldStart: Scenario = {
  id: 'coldstart.breadth',
  version: 1,
  description: 'a first-time visitor gets a full list spanning at least 3 categories',
  threshold: 3,
  direction: 'min',
  async run(ctx) {
    const res = await ctx.api.recs.forUser.query({ anonymousId: `scenario-cold-${randomUUID()}`, k: ctx.k });
    const categories = new Set(res.items.map((i) => categoryOf(ctx.catalog.get(i.itemId))).filter(Boolean));
    const minItems = Math.min(
      ctx.k,
      [...ctx.catalog.values()].filter((i) => !i.archivedAt && i.available).length,
    );
    if (![...ctx.catalog.values()].some((i) => categoryOf(i))) {
      // Breadth cannot be measured without categories; a short list is still a failure.
      return {
        value: 0,
        detail: `${res.items.length} items; the catalog has no category:* tags`,
        ...(res.items.length < minItems
          ? { violations: [`only ${res.items.length} of ${minItems} items`] }
          : { skipped: `the catalog has no category:* tags (${res.items.length} items returned)` }),
      };
    }
    return {
      value: categories.size,
      detail: `${res.items.length} items across ${categories.size} categories`,
      ...(res.items.length < minItems
        ? { violations: [`only ${res.items.length} of ${minItems} items`] }
        : {}),
    };
  },
};

export const newItems: Scenario = {
  id: 'coldstart.new-items',
  version: 1,
  description: 'a new item with no behaviour surfaces next to its textual twin (text similarity)',
  threshold: 1,
  direction: 'min',
  writes: true,
  async run(ctx) {
    const twin = ctx.hotItems
      .map((id) => ctx.catalog.get(id))
      .find((i) => i && !i.archivedAt && i.available && i.title);
    if (!twin)
      return { value: 0, detail: 'no item to copy', skipped: 'no active item with behaviour and a title' };
    const probeId = `scenario-new-${randomUUID().slice(0, 8)}`;
    await ctx.api.items.upsert.mutate({
      items: [
        {
          itemId: probeId,
          title: twin.title,
          description: twin.description,
          price: twin.price,
          currency: twin.currency,
          tags: twin.tags,
        },
      ],
    });
    const deadline = Date.now() + ctx.waitMs;
    let rank = 0;
    let polls = 0;
    try {
      // Embeddings are computed off the request path; wait for them, bounded.
      for (;;) {
        polls++;
        // Anywhere in the twin's longest list: behaviour rightly outranks text for established items.
        const res = await ctx.api.recs.similar.query({ itemId: twin.itemId, k: 100 });
        rank = res.items.find((i) => i.itemId === probeId)?.rank ?? 0;
        if (rank > 0 || Date.now() >= deadline) break;
        await new Promise((r) => setTimeout(r, 250));
      }
    } finally {
      await ctx.api.items.remove.mutate({ itemIds: [probeId] });
    }
    return {
      value: rank > 0 ? 1 : 0,
      detail:
        rank > 0
          ? `new item ${probeId} (copy of ${twin.itemId}) at rank ${rank} of similar(${twin.itemId}, k=100) after ${polls} poll(s)`
          : `new item ${probeId} never appeared in similar(${twin.itemId}) within ${ctx.waitMs} ms (are text embeddings enabled?)`,
    };
  },
};

async function diversityPairs(ctx: ScenarioContext, lambdas: [number | undefined, number]) {
  const out: Array<{ base: RecommendedItem[]; other: RecommendedItem[] }> = [];
  for (const userId of ctx.warmUsers.slice(0, 5)) {
    const at = (lambda: number | undefined) =>
      ctx.api.recs.forUser.query({
        userId,
        k: ctx.k,
        ...(lambda === undefined ? {} : { overrides: { diversity: { lambda } } }),
      });
    const base = await at(1);
    const other = await at(lambdas[0]);
    if (base.items.length >= 2) out.push({ base: base.items, other: other.items });
  }
  return out;
}

export const diversityEffect: Scenario = {
  id: 'diversity.mmr-effect',
  version: 1,
  description: 'λ=0.5 raises intra-list diversity over λ=1.0 while keeping ≥50% of the relevance score',
  threshold: 0.01,
  direction: 'min',
  async run(ctx) {
    const pairs = await diversityPairs(ctx, [0.5, 1]);
    if (pairs.length === 0) return { value: 0, detail: 'no warm users with lists', skipped: 'no warm users' };
    let gain = 0;
    let kept = 0;
    let overlap = 0;
    for (const { base, other } of pairs) {
      gain += intraListDiversity(ctx, other) - intraListDiversity(ctx, base);
      kept += scoreSum(base) > 0 ? scoreSum(other) / scoreSum(base) : 1;
      const ids = new Set(base.map((i) => i.itemId));
      overlap += other.filter((i) => ids.has(i.itemId)).length / base.length;
    }
    const n = pairs.length;
    const retention = kept / n;
    return {
      value: gain / n,
      detail: `ILD gain ${fmt(gain / n)}, relevance kept ${fmt(retention)}, overlap ${fmt(overlap / n)} over ${n} users`,
      ...(retention < 0.5
        ? { violations: [`relevance collapsed: only ${fmt(retention)} of the λ=1 score kept`] }
        : {}),
    };
  },
};

export const diversityConfigured: Scenario = {
  id: 'diversity.configured-relevance',
  version: 1,
  description: "the namespace's configured diversity keeps ≥60% of the pure-relevance score",
  threshold: 0.6,
  direction: 'min',
  async run(ctx) {
    const pairs = await diversityPairs(ctx, [undefined, 1]);
    if (pairs.length === 0) return { value: 0, detail: 'no warm users with lists', skipped: 'no warm users' };
    let kept = 0;
    let gain = 0;
    for (const { base, other } of pairs) {
      kept += scoreSum(base) > 0 ? scoreSum(other) / scoreSum(base) : 1;
      gain += intraListDiversity(ctx, other) - intraListDiversity(ctx, base);
    }
    return {
      value: kept / pairs.length,
      detail: `served lists keep ${fmt(kept / pairs.length)} of the λ=1 relevance, ILD gain ${fmt(gain / pairs.length)} over ${pairs.length} users`,
    };
  },
};

export const explainReasons: Scenario = {
  id: 'explain.reasons',
  version: 1,
  description: 'explain: true returns at least one reason for every item',
  threshold: 1,
  direction: 'min',
  async run(ctx) {
    let total = 0;
    let explained = 0;
    const missing: string[] = [];
    for (const probe of probes(ctx, 2)) {
      const res = await probe.call({ explain: true });
      for (const item of res.items) {
        total++;
        if (item.reasons && item.reasons.length > 0 && item.reasons.every((r) => r.text)) explained++;
        else if (missing.length < 5) missing.push(`${probe.label}→${item.itemId}`);
      }
    }
    if (total === 0) return { value: 0, detail: 'no items returned', violations: ['every list was empty'] };
    return {
      value: explained / total,
      detail: `${explained}/${total} items explained${missing.length ? `; without reasons: ${missing.join(', ')}` : ''}`,
    };
  },
};

export const seedDeterminism: Scenario = {
  id: 'determinism.seed',
  version: 2,
  description: 'the same request with the same seed returns the same list',
  threshold: 1,
  direction: 'min',
  async run(ctx) {
    let same = 0;
    let total = 0;
    const differing: string[] = [];
    for (const probe of probes(ctx, 2).filter((p) => !p.label.includes('new visitor'))) {
      const key = (r: RecsResponse) => r.items.map((i) => i.itemId).join(',');
      let a = key(await probe.call({ seed: 42 }));
      let b = key(await probe.call({ seed: 42 }));
      if (a !== b) {
        // Determinism is about identical data; a write (events or vectors another scenario or the
        // shop sent) may have been applied between the two calls. One more pair tells them apart.
        a = key(await probe.call({ seed: 42 }));
        b = key(await probe.call({ seed: 42 }));
      }
      total++;
      if (a === b) same++;
      else differing.push(probe.label);
    }
    return {
      value: total ? same / total : 0,
      detail: `${same}/${total} request pairs identical${differing.length ? `; differing: ${differing.join(', ')}` : ''}`,
    };
  },
};
