/**
 * The next-item protocol: for every prefix of a test session, each session-aware method predicts the
 * next item; the engine is only read, never fed, so a prefix cannot leak into its indexes.
 */
import type { EvalDataset } from './dataset';
import type { EvalOptions, EvalReport, EvalReportRow, PreparedEvaluation } from './runEvaluation';
import { addLift, listMetrics, sample } from './scoring';
import type { TrainIndex } from './trainIndex';

/** A test session of the next-item protocol: its items in time order (unknown items dropped). */
interface TestSession {
  key: string;
  warm: boolean;
  items: string[];
}

/** Test sessions with at least two items known in train (candidates are all training items). */
export function testSessions(
  dataset: EvalDataset,
  train: TrainIndex,
  options: Pick<EvalOptions, 'maxUsers' | 'seed'>,
): TestSession[] {
  const sessions = new Map<
    string,
    { user: string | undefined; events: Array<{ ts: number; item: string; i: number }> }
  >();
  dataset.test.forEach((e, i) => {
    if (e.itemId === undefined || !train.interactions.has(e.itemId) || !train.catalogSet.has(e.itemId))
      return;
    let s = sessions.get(e.sessionId);
    if (s === undefined) {
      s = { user: e.userId, events: [] };
      sessions.set(e.sessionId, s);
    }
    s.events.push({ ts: Date.parse(e.ts), item: e.itemId, i });
  });
  const out: TestSession[] = [];
  for (const [key, s] of [...sessions].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    if (s.events.length < 2) continue;
    s.events.sort((a, b) => a.ts - b.ts || a.i - b.i);
    out.push({
      key,
      warm: s.user !== undefined && train.users.has(s.user),
      items: s.events.map((e) => e.item),
    });
  }
  return sample(out, options.maxUsers, options.seed ?? 1, (s) => s.key);
}

export function runNextItemProtocol(
  prepared: PreparedEvaluation,
  dataset: EvalDataset,
  options: EvalOptions,
  ks: number[],
): EvalReport {
  const sessions = testSessions(dataset, prepared.train, options);
  const maxK = Math.max(...ks);
  const methods = prepared.methods.filter((m) => m.session !== undefined);
  const points = sessions.reduce((n, s) => n + s.items.length - 1, 0);
  const total = points * methods.length;
  let done = 0;
  const rows: EvalReportRow[] = [];
  for (const method of methods) {
    const t = performance.now();
    const segments = new Map<string, Array<{ list: string[]; relevant: Set<string> }>>([
      ['all', []],
      ['warm', []],
      ['cold', []],
    ]);
    for (const s of sessions) {
      for (let n = 1; n < s.items.length; n++) {
        const list = method.session!({ sessionKey: s.key, prefix: s.items.slice(0, n), k: maxK });
        const entry = { list, relevant: new Set([s.items[n]!]) };
        segments.get('all')!.push(entry);
        segments.get(s.warm ? 'warm' : 'cold')!.push(entry);
        done++;
        if (options.onProgress && (done % 200 === 0 || done === total)) options.onProgress(done, total);
      }
    }
    prepared.timings[`${method.name}/next-item`] = performance.now() - t;
    for (const [segment, entries] of segments) {
      if (entries.length === 0) continue;
      rows.push({
        method: method.name,
        relevance: 'next-item',
        segment,
        users: entries.length,
        metrics: listMetrics(entries, ks, prepared),
      });
    }
  }
  addLift(rows);
  return {
    dataset: dataset.name,
    protocol: 'next-item',
    ks,
    rows,
    timings: prepared.timings,
    methods: Object.fromEntries(methods.map((m) => [m.name, m.description])),
    notes: [
      `${sessions.length} test sessions, ${points} next-item predictions; cut ${new Date(prepared.train.cut).toISOString()}.`,
      'users column = prediction points; test events of items unknown in train are dropped (candidates are all training items).',
      'the engine is only read during prediction: a session prefix never enters its indexes.',
    ],
  };
}
