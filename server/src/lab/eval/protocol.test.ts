import type { FixtureEvent, FixtureItem } from '@recsys/fixtures';
import { describe, expect, it } from 'vitest';
import { datasetFromSplit, type EvalDataset, loadEvalDataset } from './dataset';
import { testSessions } from './nextItemProtocol';
import { type EvalOptions, prepareEvaluation, runEvaluation, USER_METHODS } from './runEvaluation';
import { predictUsers, testUsers } from './userProtocol';

const CUT = '2024-02-20T00:00:00.000Z';
const cutMs = Date.parse(CUT);
const ALL_USER_METHODS = USER_METHODS.filter((m) => m !== 'engine-embedding');

function purchase(user: string, item: string, ts: string, order: string): FixtureEvent {
  return {
    eventId: `${order}-${item}-${user}`,
    type: 'purchase',
    itemId: item,
    userId: user,
    sessionId: order,
    ts,
    value: 1,
    meta: { orderId: order },
  };
}

async function generated(): Promise<EvalDataset> {
  return loadEvalDataset({
    source: 'generator',
    template: 'retail',
    seed: 3,
    items: 200,
    events: 5000,
    cut: CUT,
  });
}

describe('strict time split', () => {
  it('never lets a test event change a prediction: test-only items and co-occurrences change no list', async () => {
    const base = await generated();
    const trainItems = [...new Set(base.train.flatMap((e) => (e.itemId ? [e.itemId] : [])))].sort();
    const [p, q] = [trainItems[0]!, trainItems[1]!];
    const leakItem: FixtureItem = {
      itemId: 'only-in-test',
      title: 'Seen only after the cut',
      available: true,
      archived: false,
      tags: ['category:new'],
      props: {},
      createdAt: '2024-02-21T00:00:00.000Z',
    };
    // Every test user buys the test-only item and the pair (p, q) together, many times.
    const users = [...new Set(base.test.flatMap((e) => (e.userId ? [e.userId] : [])))];
    const burst: FixtureEvent[] = users.flatMap((u, i) =>
      [leakItem.itemId, p, q].map((item) =>
        purchase(u, item, new Date(cutMs + 3_600_000 * (i + 1)).toISOString(), `leak-${i}`),
      ),
    );
    const leaky: EvalDataset = { ...base, items: [...base.items, leakItem], test: [...base.test, ...burst] };

    const options: EvalOptions = { protocol: 'user', ks: [10], methods: [...ALL_USER_METHODS], seed: 5 };
    const a = await prepareEvaluation(base, options);
    const b = await prepareEvaluation(leaky, options);
    const evaluated = testUsers(base, a.train, {});
    const before = predictUsers(a, evaluated, 10);
    const after = predictUsers(b, evaluated, 10);
    expect(after.map((x) => `${x.method}/${x.relevance}`)).toEqual(
      before.map((x) => `${x.method}/${x.relevance}`),
    );
    for (const [i, prediction] of after.entries()) {
      expect(prediction.lists, `${prediction.method}/${prediction.relevance}`).toEqual(before[i]!.lists);
      for (const list of prediction.lists.values()) expect(list).not.toContain(leakItem.itemId);
    }
    // The engine was fed train events only.
    expect(b.engine?.stats().events).toBe(base.train.length);
  });

  it('predicts each next item from the session prefix without adding test events to the engine', async () => {
    const ds = await generated();
    const prepared = await prepareEvaluation(ds, { protocol: 'next-item', ks: [10] });
    const sessions = testSessions(ds, prepared.train, {});
    expect(sessions.length).toBeGreaterThan(5);
    const first = sessions[0]!;
    const predict = () =>
      prepared.methods.map((m) =>
        m.session?.({ sessionKey: first.key, prefix: first.items.slice(0, 1), k: 10 }),
      );
    const alone = predict();
    const report = await runEvaluation(ds, { protocol: 'next-item', ks: [10] });
    for (const s of sessions) {
      for (const m of prepared.methods) m.session?.({ sessionKey: s.key, prefix: s.items, k: 10 });
    }
    expect(predict()).toEqual(alone);
    expect(prepared.engine?.stats().events).toBe(ds.train.length);
    const engineRow = report.rows.find((r) => r.method === 'engine' && r.segment === 'all');
    expect(engineRow?.users).toBe(sessions.reduce((n, s) => n + s.items.length - 1, 0));
  });

  it('rejects a train/test pair that overlaps in time', () => {
    const ds = datasetFromSplit({ items: [], users: [], events: [] }, CUT, 'empty');
    const bad: EvalDataset = { ...ds, train: [purchase('u', 'a', '2024-02-21T00:00:00.000Z', 'o1')] };
    return expect(runEvaluation(bad, { protocol: 'user' })).rejects.toThrow(/is not before the cut/);
  });
});

describe('discovery relevance', () => {
  const items: FixtureItem[] = ['a', 'b', 'c', 'd', 'e'].map((id) => ({
    itemId: id,
    title: `Item ${id}`,
    available: true,
    archived: false,
    tags: [],
    props: {},
  }));
  const events = [
    purchase('u1', 'a', '2024-02-01T10:00:00.000Z', 'o1'),
    purchase('u1', 'b', '2024-02-01T10:00:00.000Z', 'o1'),
    purchase('u2', 'a', '2024-02-02T10:00:00.000Z', 'o2'),
    purchase('u2', 'c', '2024-02-02T10:00:00.000Z', 'o2'),
    purchase('u3', 'b', '2024-02-03T10:00:00.000Z', 'o3'),
    purchase('u3', 'd', '2024-02-03T10:00:00.000Z', 'o3'),
    // Test: u1 re-buys a and discovers c; u2 only re-buys (no discovery target).
    purchase('u1', 'a', '2024-02-25T10:00:00.000Z', 'o4'),
    purchase('u1', 'c', '2024-02-25T10:00:00.000Z', 'o4'),
    purchase('u2', 'a', '2024-02-26T10:00:00.000Z', 'o5'),
  ];
  const ds = datasetFromSplit({ items, users: [], events }, CUT, 'hand-made');

  it('excludes items bought before the cut from the recommendations and from the targets', async () => {
    const options: EvalOptions = { protocol: 'user', ks: [3], methods: [...ALL_USER_METHODS] };
    const prepared = await prepareEvaluation(ds, options);
    const predictions = predictUsers(prepared, testUsers(ds, prepared.train, {}), 3);
    const discovery = predictions.filter((p) => p.relevance === 'discovery');
    expect(discovery.map((p) => p.method)).not.toContain('buy-again');
    for (const p of discovery) {
      expect(p.lists.get('u1'), p.method).not.toContain('a');
      expect(p.lists.get('u1'), p.method).not.toContain('b');
      expect(p.lists.get('u2'), p.method).not.toContain('c');
    }
    const report = await runEvaluation(ds, options);
    const row = (method: string, relevance: string) =>
      report.rows.find((r) => r.method === method && r.relevance === relevance && r.segment === 'all')!;
    // u2 has nothing new to discover, so only u1 counts; u1's only target is c.
    expect(row('popular', 'discovery').users).toBe(1);
    expect(row('popular', 'all').users).toBe(2);
    // Popularity (distinct baskets): a=2, b=2, c=1, d=1 → after excluding a, b: c first, a hit at rank 1.
    expect(row('popular', 'discovery').metrics['ndcg@3']).toBe(1);
    expect(row('buy-again', 'all').metrics['hit@3']).toBe(1);
  });
});

describe('baselines', () => {
  it('give identical reports for the same seed and a different random list for another seed', async () => {
    const ds = await generated();
    const options: EvalOptions = {
      protocol: 'user',
      ks: [5, 10],
      methods: ['random', 'popular', 'covisit'],
      seed: 11,
    };
    const strip = (r: Awaited<ReturnType<typeof runEvaluation>>) => r.rows;
    const one = strip(await runEvaluation(ds, options));
    const two = strip(await runEvaluation(ds, options));
    expect(two).toEqual(one);
    const a = await prepareEvaluation(ds, { ...options, methods: ['random'] });
    const b = await prepareEvaluation(ds, { ...options, methods: ['random'], seed: 12 });
    const users = testUsers(ds, a.train, {});
    const la = predictUsers(a, users, 10)[0]!.lists;
    const lb = predictUsers(b, users, 10)[0]!.lists;
    expect(la).not.toEqual(lb);
    expect(predictUsers(a, users, 10)[0]!.lists).toEqual(la);
  });
});
