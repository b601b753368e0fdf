/**
 * Scenarios about merchandising rules: each writes its rule through `admin.rules.*` or
 * `admin.overrides.*`, measures the lists the shop would show, and removes what it wrote.
 */
import { randomUUID } from 'node:crypto';
import type { RuleDefinition } from '@recsys/engine';
import type { ItemView } from '../../index';
import { fmt, probes } from './probes';
import type { Scenario, ScenarioContext } from './types';

const active = (i: ItemView | undefined) => i !== undefined && !i.archivedAt && i.available;
const scenarioId = (what: string) => `scenario-${what}-${randomUUID().slice(0, 8)}`;

/** Runs `fn` with the rule in force, and removes it whatever happens. */
async function withRule<T>(ctx: ScenarioContext, rule: RuleDefinition, fn: () => Promise<T>): Promise<T> {
  await ctx.api.admin.rules.create.mutate({ rule, note: 'scenario (removed when it ends)' });
  try {
    return await fn();
  } finally {
    await ctx.api.admin.rules.remove.mutate({ ruleId: rule.id });
  }
}

/** Every probe's list, as item ids. */
async function lists(
  ctx: ScenarioContext,
  lambda?: number,
): Promise<Array<{ label: string; ids: string[] }>> {
  const out = [];
  for (const p of probes(ctx)) {
    // With a lambda: the relevance order alone, without the brand cap either (a boosted brand would hit it).
    const res = await p.call(
      lambda === undefined ? {} : { overrides: { diversity: { lambda, maxPerBrand: 0, maxPerCategory: 0 } } },
    );
    out.push({ label: p.label, ids: res.items.map((i) => i.itemId) });
  }
  return out;
}

/** Tags with a prefix among active items, most common first. */
function commonTags(ctx: ScenarioContext, prefix: string): Array<[string, number]> {
  const counts = new Map<string, number>();
  for (const item of ctx.catalog.values()) {
    if (!active(item)) continue;
    for (const t of item.tags) if (t.startsWith(prefix)) counts.set(t, (counts.get(t) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

export const blockTag: Scenario = {
  id: 'rules.block-tag',
  version: 1,
  description: 'a block rule on a tag: no list shows an item carrying it',
  threshold: 0,
  direction: 'max',
  writes: true,
  async run(ctx) {
    // The brand shown most before the rule, so the block has something to remove.
    const before = await lists(ctx);
    const shown = new Map<string, number>();
    for (const l of before) {
      for (const id of l.ids) {
        for (const t of ctx.catalog.get(id)?.tags ?? []) {
          if (t.startsWith('brand:')) shown.set(t, (shown.get(t) ?? 0) + 1);
        }
      }
    }
    const [tag, count] = [...shown].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0] ?? [];
    if (!tag) return { value: 0, detail: 'no brand in any list', skipped: 'the lists show no brand:* tag' };
    const rule: RuleDefinition = { id: scenarioId('block'), kind: 'block', items: { tags: [tag] } };
    const after = await withRule(ctx, rule, () => lists(ctx));
    const offenders = after.flatMap((l) =>
      l.ids.filter((id) => ctx.catalog.get(id)?.tags.includes(tag)).map((id) => `${l.label}→${id}`),
    );
    const total = after.reduce((n, l) => n + l.ids.length, 0);
    return {
      value: offenders.length,
      detail: `${tag} was shown ${count} times before the block; after it ${offenders.length} of ${total} items carry it${offenders.length ? `: ${offenders.slice(0, 5).join(', ')}` : ''}`,
      ...(total === 0 ? { violations: ['every list was empty after the block'] } : {}),
    };
  },
};

export const boostThird: Scenario = {
  id: 'rules.override-boost-third',
  version: 1,
  description: 'a manual override boosting the 3rd item ×3 improves its rank in every list',
  threshold: 1,
  direction: 'min',
  writes: true,
  async run(ctx) {
    let improved = 0;
    let tried = 0;
    const notes: string[] = [];
    for (const p of probes(ctx).slice(0, 6)) {
      const call = async () =>
        (await p.call({ overrides: { diversity: { lambda: 1 } } })).items.map((i) => i.itemId);
      const before = await call();
      const third = before[2];
      if (!third) continue;
      tried++;
      const ovr = await ctx.api.admin.overrides.add.mutate({
        kind: 'boost',
        itemIds: [third],
        multiplier: 3,
        hours: 1,
        reason: 'scenario: boost the third item',
      });
      try {
        const rank = (await call()).indexOf(third);
        if (rank >= 0 && rank < 2) improved++;
        notes.push(`${p.label}: ${third} 3→${rank < 0 ? 'gone' : rank + 1}`);
      } finally {
        await ctx.api.admin.overrides.cancel.mutate({ ruleId: ovr.ruleId, note: 'scenario done' });
      }
    }
    if (tried === 0)
      return { value: 0, detail: 'no list has 3 items', skipped: 'every list is shorter than 3' };
    return { value: improved / tried, detail: `${improved}/${tried} lists moved it up; ${notes.join('; ')}` };
  },
};

export const pinFirst: Scenario = {
  id: 'rules.pin-first',
  version: 1,
  description: 'a pin at slot 0 puts the item first in every list',
  threshold: 1,
  direction: 'min',
  writes: true,
  async run(ctx) {
    const taken = new Set(ctx.hotItems.slice(0, 6));
    const pick = [...ctx.catalog.values()].find((i) => active(i) && !taken.has(i.itemId));
    if (!pick) return { value: 0, detail: 'no item to pin', skipped: 'no active item outside the probes' };
    const rule: RuleDefinition = {
      id: scenarioId('pin'),
      kind: 'pin',
      items: { itemIds: [pick.itemId] },
      slot: 0,
    };
    const after = await withRule(ctx, rule, () => lists(ctx));
    const first = after.filter((l) => l.ids[0] === pick.itemId).length;
    const misses = after
      .filter((l) => l.ids[0] !== pick.itemId)
      .map((l) => `${l.label}→${l.ids[0] ?? 'empty'}`);
    return {
      value: after.length ? first / after.length : 0,
      detail: `${pick.itemId} first in ${first}/${after.length} lists${misses.length ? `; not in ${misses.slice(0, 5).join(', ')}` : ''}`,
    };
  },
};

export const brandInclude: Scenario = {
  id: 'rules.brand-include',
  version: 1,
  description: 'a filter rule keeping one brand: every shown item carries it',
  threshold: 1,
  direction: 'min',
  writes: true,
  async run(ctx) {
    const [tag] = commonTags(ctx, 'brand:')[0] ?? [];
    if (!tag) return { value: 0, detail: 'no brands', skipped: 'the catalog has no brand:* tags' };
    const rule: RuleDefinition = { id: scenarioId('include'), kind: 'filter', items: { tags: [tag] } };
    const after = await withRule(ctx, rule, () => lists(ctx));
    let total = 0;
    let matching = 0;
    const offenders: string[] = [];
    for (const l of after) {
      for (const id of l.ids) {
        total++;
        if (ctx.catalog.get(id)?.tags.includes(tag)) matching++;
        else if (offenders.length < 5) offenders.push(`${l.label}→${id}`);
      }
    }
    if (total === 0)
      return { value: 0, detail: `no ${tag} items shown`, violations: ['every list was empty'] };
    return {
      value: matching / total,
      detail: `${matching}/${total} items carry ${tag}${offenders.length ? `; offenders ${offenders.join(', ')}` : ''}`,
    };
  },
};

export const newItemExposure: Scenario = {
  id: 'rules.new-item-exposure',
  version: 1,
  description:
    'a new item boosted ×2.5 reaches at least 20% of 40 visitors’ lists, more than without the boost',
  threshold: 0.2,
  direction: 'min',
  writes: true,
  async run(ctx) {
    const twin = ctx.hotItems.map((id) => ctx.catalog.get(id)).find((i) => active(i) && i?.title);
    if (!twin)
      return { value: 0, detail: 'no item to copy', skipped: 'no active item with behaviour and a title' };
    const itemId = `scenario-launch-${randomUUID().slice(0, 8)}`;
    await ctx.api.items.upsert.mutate({
      items: [
        {
          itemId,
          title: twin.title,
          description: twin.description,
          price: twin.price,
          currency: twin.currency,
          tags: twin.tags,
        },
      ],
    });
    try {
      // A new item is a candidate through its text only: wait (bounded) for its embedding.
      const deadline = Date.now() + ctx.waitMs;
      for (;;) {
        const res = await ctx.api.recs.similar.query({ itemId: twin.itemId, k: 100 });
        if (res.items.some((i) => i.itemId === itemId) || Date.now() >= deadline) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      // Forty visitors: the warm users' home lists, then item pages of what the item resembles.
      const calls: Array<() => Promise<{ items: Array<{ itemId: string }> }>> = [];
      for (const userId of ctx.warmUsers) calls.push(() => ctx.api.recs.forUser.query({ userId, k: ctx.k }));
      const anchors = ctx.hotItems.filter((id) =>
        ctx.catalog.get(id)?.tags.some((t) => twin.tags.includes(t)),
      );
      for (let i = 0; calls.length < 40 && anchors.length > 0; i++) {
        const userId = ctx.warmUsers[i % Math.max(1, ctx.warmUsers.length)];
        calls.push(() =>
          ctx.api.recs.similar.query({ itemId: anchors[i % anchors.length]!, k: ctx.k, userId }),
        );
      }
      calls.length = Math.min(calls.length, 40);
      const exposure = async () => {
        let shown = 0;
        for (const call of calls) if ((await call()).items.some((i) => i.itemId === itemId)) shown++;
        return shown;
      };
      const without = await exposure();
      const rule: RuleDefinition = {
        id: scenarioId('launch'),
        kind: 'boost',
        items: { itemIds: [itemId] },
        multiplier: 2.5,
      };
      const boosted = await withRule(ctx, rule, exposure);
      const n = calls.length;
      return {
        value: n ? boosted / n : 0,
        detail: `${itemId} (a copy of ${twin.itemId}) in ${boosted}/${n} lists boosted, ${without}/${n} without`,
        ...(boosted <= without && without < n
          ? { violations: [`the boost did not widen its exposure (${boosted} vs ${without} lists)`] }
          : {}),
      };
    } finally {
      await ctx.api.items.remove.mutate({ itemIds: [itemId] });
    }
  },
};

/** An item's margin: `props.margin` when the catalog has it, else its price (a common proxy). */
function marginOf(item: ItemView | undefined): number {
  const m = (item?.props as Record<string, unknown> | undefined)?.margin;
  return typeof m === 'number' ? m : (item?.price ?? 0);
}

/** NDCG@k of `list` with graded relevance from `reference` (its first item most relevant). */
function ndcg(list: string[], reference: string[]): number {
  const rel = new Map(reference.map((id, i) => [id, reference.length - i]));
  const dcg = list.reduce((s, id, i) => s + (rel.get(id) ?? 0) / Math.log2(i + 2), 0);
  const ideal = reference.reduce((s, id, i) => s + rel.get(id)! / Math.log2(i + 2), 0);
  return ideal > 0 ? dcg / ideal : 1;
}

export const marginBoost: Scenario = {
  id: 'rules.margin-boost',
  version: 1,
  description:
    'boosting the highest-margin brand by 0 / 0.4 / 0.8 never lowers the shown margin and costs at most 0.02 NDCG per step',
  threshold: 0.02,
  direction: 'max',
  writes: true,
  async run(ctx) {
    const brands = new Map<string, number[]>();
    for (const item of ctx.catalog.values()) {
      if (!active(item)) continue;
      for (const t of item.tags)
        if (t.startsWith('brand:')) brands.set(t, [...(brands.get(t) ?? []), marginOf(item)]);
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
    const [tag] =
      [...brands]
        .filter(([, m]) => m.length >= 3)
        .sort((a, b) => mean(b[1]) - mean(a[1]) || a[0].localeCompare(b[0]))[0] ?? [];
    if (!tag)
      return {
        value: 0,
        detail: 'no brand with 3 items',
        skipped: 'no brand:* tag with at least 3 active items',
      };
    const steps = [0, 0.4, 0.8];
    const results: Array<{ w: number; margin: number; ndcg: number }> = [];
    let reference: Array<{ label: string; ids: string[] }> = [];
    for (const w of steps) {
      // Relevance order alone (λ = 1): what the boost trades against, without diversity's reshuffles.
      const measure = () => lists(ctx, 1);
      const got =
        w === 0
          ? await measure()
          : await withRule(
              ctx,
              { id: scenarioId('margin'), kind: 'boost', items: { tags: [tag] }, multiplier: 1 + w },
              measure,
            );
      if (w === 0) reference = got;
      const shown = got.flatMap((l) => l.ids);
      results.push({
        w,
        margin: mean(shown.map((id) => marginOf(ctx.catalog.get(id)))),
        ndcg: mean(got.map((l, i) => ndcg(l.ids, reference[i]?.ids ?? []))),
      });
    }
    const violations: string[] = [];
    let worst = 0;
    for (let i = 1; i < results.length; i++) {
      const [a, b] = [results[i - 1]!, results[i]!];
      if (b.margin < a.margin - 1e-9)
        violations.push(`margin fell from ${fmt(a.margin)} to ${fmt(b.margin)} at boost ${b.w}`);
      worst = Math.max(worst, a.ndcg - b.ndcg);
    }
    return {
      value: worst,
      detail: `${tag}: ${results.map((r) => `boost ${r.w} → margin ${fmt(r.margin)}, NDCG ${fmt(r.ndcg)}`).join('; ')}`,
      ...(violations.length ? { violations } : {}),
    };
  },
};
