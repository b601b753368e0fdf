/**
 * The session-based baselines of Ludewig & Jannach, "Evaluation of session-based recommendation
 * algorithms" (2018), as session-rec implements them: V-SkNN (vector-multiplication session kNN) and
 * sequential rules (SR). Both read the training sessions only; lists are topped up with recent
 * popularity (session-rec leaves the rest unscored) and ties break by item id.
 */
import type { FixtureEvent } from '@recsys/fixtures';
import type { EvalMethod } from './baselines';
import type { TrainIndex } from './trainIndex';

/** A training session: its items in click order (repeats kept) and its last click time. */
export interface TrainSession {
  items: string[];
  lastTs: number;
}

/** Groups train events by `sessionId`, clicks in time order (ties by input order). */
export function trainSessions(events: readonly FixtureEvent[]): TrainSession[] {
  const by = new Map<string, Array<{ item: string; ts: number; i: number }>>();
  events.forEach((e, i) => {
    if (e.itemId === undefined) return;
    let list = by.get(e.sessionId);
    if (list === undefined) {
      list = [];
      by.set(e.sessionId, list);
    }
    list.push({ item: e.itemId, ts: Date.parse(e.ts), i });
  });
  const out: TrainSession[] = [];
  for (const list of by.values()) {
    list.sort((a, b) => a.ts - b.ts || a.i - b.i);
    out.push({ items: list.map((c) => c.item), lastTs: list[list.length - 1]!.ts });
  }
  return out;
}

const byScoreThenId = (a: [string, number], b: [string, number]) =>
  b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

/** The top `k` of `scores` (ties by id), then `fill` items not yet listed. */
export function rankAndFill(scores: Map<string, number>, k: number, fill: readonly string[]): string[] {
  const out = [...scores]
    .filter(([, s]) => s > 0)
    .sort(byScoreThenId)
    .slice(0, k)
    .map(([item]) => item);
  const have = new Set(out);
  for (const item of fill) {
    if (out.length >= k) break;
    if (!have.has(item)) out.push(item);
  }
  return out;
}

/** Settings of {@link vsknnScores}. */
export interface VsknnOptions {
  /** Neighbour sessions used. */
  k: number;
  /** Most recent sessions (sharing an item with the current one) that similarity is computed for. */
  sampleSize: number;
}

/**
 * Train sessions by recency (most recent first: last click time, then later input position), and
 * per item the positions of the sessions holding it, ascending (most recent first).
 */
export interface SessionIndex {
  sessions: TrainSession[];
  itemSets: Array<ReadonlySet<string>>;
  sessionsOf: Map<string, number[]>;
}

export function buildSessionIndex(input: TrainSession[]): SessionIndex {
  const sessions = input
    .map((s, i) => ({ s, i }))
    .sort((a, b) => b.s.lastTs - a.s.lastTs || b.i - a.i)
    .map((x) => x.s);
  const sessionsOf = new Map<string, number[]>();
  const itemSets = sessions.map((s, index) => {
    const set = new Set(s.items);
    for (const item of set) {
      let list = sessionsOf.get(item);
      if (list === undefined) {
        list = [];
        sessionsOf.set(item, list);
      }
      list.push(index);
    }
    return set;
  });
  return { sessions, itemSets, sessionsOf };
}

/**
 * V-SkNN scores of the next item after `prefix` (session-rec's `VMContextKNN` with its defaults:
 * `weighting='div'`, `weighting_score='div_score'`, reminders kept).
 *
 * - Candidates: the `sampleSize` most recent train sessions sharing an item with the prefix (ties:
 *   higher session index first).
 * - Similarity: the prefix's item at click position p (1-based, latest occurrence) of L clicks weighs
 *   p / L; sim = Σ weights of shared items / (distinct prefix items).
 * - The `k` most similar sessions (ties: more recent first) vote for each of their items with
 *   sim × 1/step, where step counts back from the prefix's end to the latest prefix item that
 *   neighbour holds.
 */
export function vsknnScores(
  index: SessionIndex,
  prefix: readonly string[],
  opts: VsknnOptions,
): Map<string, number> {
  const L = prefix.length;
  const pos = new Map<string, number>();
  prefix.forEach((item, i) => {
    pos.set(item, (i + 1) / L);
  });
  // The union of the items' session lists, most recent first, merged from their heads until the
  // sample is full: the same sample as sorting the whole union, without building it.
  const lists: number[][] = [];
  for (const item of pos.keys()) {
    const list = index.sessionsOf.get(item);
    if (list !== undefined) lists.push(list);
  }
  const at = lists.map(() => 0);
  const taken = new Set<number>();
  const sample: number[] = [];
  while (sample.length < opts.sampleSize) {
    let best = -1;
    for (let l = 0; l < lists.length; l++) {
      if (at[l]! < lists[l]!.length && (best < 0 || lists[l]![at[l]!]! < lists[best]![at[best]!]!)) best = l;
    }
    if (best < 0) break;
    const s = lists[best]![at[best]!++]!;
    if (!taken.has(s)) {
      taken.add(s);
      sample.push(s);
    }
  }
  const neighbours: Array<{ s: number; sim: number; rank: number }> = [];
  sample.forEach((s, rank) => {
    const set = index.itemSets[s]!;
    let sum = 0;
    for (const [item, w] of pos) if (set.has(item)) sum += w;
    if (sum > 0) neighbours.push({ s, sim: sum / pos.size, rank });
  });
  neighbours.sort((a, b) => b.sim - a.sim || a.rank - b.rank);
  const scores = new Map<string, number>();
  for (const n of neighbours.slice(0, opts.k)) {
    const set = index.itemSets[n.s]!;
    let decay = 0;
    for (let step = 1; step <= L; step++) {
      if (set.has(prefix[L - step]!)) {
        decay = 1 / step;
        break;
      }
    }
    for (const item of set) scores.set(item, (scores.get(item) ?? 0) + n.sim * decay);
  }
  return scores;
}

/** Settings of {@link sequentialRules}. */
export interface SequentialRulesOptions {
  /** Clicks back a rule reaches. @default 10 */
  steps: number;
  /** Rules kept per antecedent (the strongest). @default 20 */
  pruning: number;
}

/**
 * Sequential rules (session-rec's `SequentialRules`, `weighting='div'`): in each train session,
 * every click j adds 1/d to the rule (click j−d → click j) for d = 1…steps — self-rules included,
 * so a repeat click is a rule too. Each antecedent keeps its `pruning` strongest rules (ties by id).
 */
export function sequentialRules(
  sessions: readonly TrainSession[],
  opts: SequentialRulesOptions = { steps: 10, pruning: 20 },
): Map<string, Map<string, number>> {
  const rules = new Map<string, Map<string, number>>();
  for (const s of sessions) {
    for (let j = 1; j < s.items.length; j++) {
      const item = s.items[j]!;
      for (let d = 1; d <= Math.min(opts.steps, j); d++) {
        const prev = s.items[j - d]!;
        let row = rules.get(prev);
        if (row === undefined) {
          row = new Map();
          rules.set(prev, row);
        }
        row.set(item, (row.get(item) ?? 0) + 1 / d);
      }
    }
  }
  if (opts.pruning > 0) {
    for (const [item, row] of rules) {
      if (row.size > opts.pruning)
        rules.set(item, new Map([...row].sort(byScoreThenId).slice(0, opts.pruning)));
    }
  }
  return rules;
}

/** V-SkNN as an evaluation method (next-item protocol only). */
export function vsknnMethod(
  name: string,
  sessions: TrainSession[],
  train: TrainIndex,
  opts: VsknnOptions,
): EvalMethod {
  const index = buildSessionIndex(sessions);
  return {
    name,
    description: `V-SkNN (Ludewig & Jannach 2018): k=${opts.k} of the ${opts.sampleSize} most recent sessions sharing an item, position-decayed`,
    discovery: false,
    session: (q) => rankAndFill(vsknnScores(index, q.prefix, opts), q.k, train.popularRecent),
  };
}

/** Sequential rules from the last prefix item (next-item protocol only). */
export function sequentialRulesMethod(sessions: TrainSession[], train: TrainIndex): EvalMethod {
  const opts = { steps: 10, pruning: 20 };
  const rules = sequentialRules(sessions, opts);
  const empty = new Map<string, number>();
  return {
    name: 'sr',
    description: `sequential rules (Ludewig & Jannach 2018): ${opts.steps} steps, 1/d weights, ${opts.pruning} rules per item`,
    discovery: false,
    session: (q) =>
      rankAndFill(rules.get(q.prefix[q.prefix.length - 1] ?? '') ?? empty, q.k, train.popularRecent),
  };
}
