/**
 * The user protocol: every user with an item in the test half gets one list per method, made "now =
 * cut" from their train history; scored on all test items and on discovery (items new to them).
 */
import type { EvalDataset } from './dataset';
import type { EvalOptions, EvalReport, EvalReportRow, PreparedEvaluation } from './runEvaluation';
import { addLift, listMetrics, sample } from './scoring';
import type { TrainIndex } from './trainIndex';

/** A user of the user protocol with their test items. */
interface TestUser {
  userId: string;
  warm: boolean;
  traits: Record<string, string>;
  relevant: Set<string>;
}

function traitsOf(dataset: EvalDataset): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  for (const u of dataset.users) {
    const t: Record<string, string> = {};
    for (const [k, v] of Object.entries(u.traits)) if (v !== undefined) t[k] = String(v);
    out.set(u.userId, t);
  }
  return out;
}

/** The users evaluated by the user protocol: everyone with a userId and an item in the test half. */
export function testUsers(
  dataset: EvalDataset,
  train: TrainIndex,
  options: Pick<EvalOptions, 'maxUsers' | 'seed'>,
): TestUser[] {
  const byUser = new Map<string, Set<string>>();
  for (const e of dataset.test) {
    if (e.userId === undefined || e.itemId === undefined) continue;
    let set = byUser.get(e.userId);
    if (set === undefined) {
      set = new Set();
      byUser.set(e.userId, set);
    }
    set.add(e.itemId);
  }
  const traits = traitsOf(dataset);
  const users = [...byUser.keys()].sort().map((userId) => ({
    userId,
    warm: train.users.has(userId),
    traits: traits.get(userId) ?? {},
    relevant: byUser.get(userId)!,
  }));
  return sample(users, options.maxUsers, options.seed ?? 1, (u) => u.userId);
}

/** Per-user predictions of one method under one relevance definition (exposed for leakage tests). */
export interface UserPredictions {
  method: string;
  relevance: 'all' | 'discovery';
  lists: Map<string, string[]>;
}

/** Runs every method for every test user, without scoring. */
export function predictUsers(
  prepared: PreparedEvaluation,
  users: TestUser[],
  k: number,
  onEach?: () => void,
): UserPredictions[] {
  const out: UserPredictions[] = [];
  for (const relevance of ['all', 'discovery'] as const) {
    for (const method of prepared.methods) {
      if (method.user === undefined || (relevance === 'discovery' && !method.discovery)) continue;
      const t = performance.now();
      const lists = new Map<string, string[]>();
      for (const u of users) {
        const history = prepared.train.users.get(u.userId);
        const exclude = relevance === 'discovery' ? new Set(history?.order ?? []) : new Set<string>();
        lists.set(
          u.userId,
          method.user({
            userId: u.userId,
            history,
            traits: u.traits,
            exclude,
            discovery: relevance === 'discovery',
            k,
          }),
        );
        onEach?.();
      }
      const key = `${method.name}/${relevance}`;
      prepared.timings[key] = (prepared.timings[key] ?? 0) + performance.now() - t;
      out.push({ method: method.name, relevance, lists });
    }
  }
  return out;
}

function traitSegments(users: TestUser[], by: string[], min: number): Map<string, string[]> {
  // user → extra segment names
  const out = new Map<string, string[]>();
  for (const trait of by) {
    const counts = new Map<string, number>();
    for (const u of users) {
      const v = u.traits[trait];
      if (v !== undefined) counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    for (const u of users) {
      const v = u.traits[trait];
      if (v === undefined) continue;
      const name = (counts.get(v) ?? 0) >= min ? `${trait}=${v}` : `${trait}=(other)`;
      out.set(u.userId, [...(out.get(u.userId) ?? []), name]);
    }
  }
  return out;
}

export function runUserProtocol(
  prepared: PreparedEvaluation,
  dataset: EvalDataset,
  options: EvalOptions,
  ks: number[],
): EvalReport {
  const { train } = prepared;
  const users = testUsers(dataset, train, options);
  const maxK = Math.max(...ks);
  const perRelevance = prepared.methods.reduce((n, m) => n + (m.user ? 1 + (m.discovery ? 1 : 0) : 0), 0);
  const total = users.length * perRelevance;
  let done = 0;
  const predictions = predictUsers(prepared, users, maxK, () => {
    done++;
    if (options.onProgress && (done % 50 === 0 || done === total)) options.onProgress(done, total);
  });
  const extra = traitSegments(users, options.segmentBy ?? [], options.minSegmentUsers ?? 20);
  const segmentOrder = ['all', 'warm', 'cold', 'new-items'];
  for (const names of extra.values())
    for (const n of names) if (!segmentOrder.includes(n)) segmentOrder.push(n);
  segmentOrder.splice(4, segmentOrder.length - 4, ...segmentOrder.slice(4).sort());
  const rows: EvalReportRow[] = [];
  for (const p of predictions) {
    const segments = new Map<string, Array<{ list: string[]; relevant: Set<string> }>>();
    const push = (segment: string, entry: { list: string[]; relevant: Set<string> }) => {
      let list = segments.get(segment);
      if (list === undefined) {
        list = [];
        segments.set(segment, list);
      }
      list.push(entry);
    };
    for (const u of users) {
      const history = train.users.get(u.userId);
      const relevant =
        p.relevance === 'discovery' && history !== undefined
          ? new Set([...u.relevant].filter((i) => !history.baskets.has(i)))
          : u.relevant;
      if (relevant.size === 0) continue;
      const entry = { list: p.lists.get(u.userId) ?? [], relevant };
      push('all', entry);
      push(u.warm ? 'warm' : 'cold', entry);
      for (const s of extra.get(u.userId) ?? []) push(s, entry);
      const fresh = new Set([...relevant].filter((i) => !train.interactions.has(i)));
      if (fresh.size > 0) push('new-items', { list: entry.list, relevant: fresh });
    }
    for (const segment of segmentOrder) {
      const entries = segments.get(segment);
      if (entries === undefined || entries.length === 0) continue;
      rows.push({
        method: p.method,
        relevance: p.relevance,
        segment,
        users: entries.length,
        metrics: listMetrics(entries, ks, prepared),
      });
    }
  }
  addLift(rows);
  const warm = users.filter((u) => u.warm).length;
  return {
    dataset: dataset.name,
    protocol: 'user',
    ks,
    rows,
    timings: prepared.timings,
    methods: Object.fromEntries(prepared.methods.map((m) => [m.name, m.description])),
    notes: [
      `${users.length} test users (${warm} warm, ${users.length - warm} cold); cut ${new Date(train.cut).toISOString()}; ` +
        `${train.catalog.length} catalog items exist at the cut.`,
      'discovery: targets exclude, and recommendations never contain, items the user had before the cut.',
      'new-items: relevant items without any train interaction (items created after the cut cannot be recommended).',
    ],
  };
}
