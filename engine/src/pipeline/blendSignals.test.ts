import { describe, expect, it } from 'vitest';
import type { SignalName } from '../config/engineConfig';
import { mulberry32 } from '../util/random';
import { blendSignals, type Candidate, compareCandidates } from './blendSignals';
import { SignalScores } from './signalScores';

/** Random signals over `ids` candidate ids, with many equal scores (ties) when `coarse`. */
function randomSignals(seed: number, ids: number, coarse: boolean) {
  const random = mulberry32(seed);
  const signals = new Map<SignalName, SignalScores>();
  for (const name of ['covisit', 'embedding', 'popular'] as const) {
    const s = new SignalScores();
    for (let id = 0; id < ids; id++) {
      if (random() < 0.6) s.push(id, coarse ? 1 + Math.floor(random() * 3) : random());
    }
    signals.set(name, s);
  }
  return signals;
}

const weights = { covisit: 1, embedding: 0.5, popular: 0.25 };
const itemIdOf = (id: number) => `item-${String(id).padStart(4, '0')}`;
const popularityOf = (id: number) => (id * 7919) % 13;

function readAll(list: { length: number; at(i: number): Candidate | undefined }) {
  return Array.from({ length: list.length }, (_, i) => {
    const c = list.at(i)!;
    return { itemId: c.itemId, score: c.score, tie: c.tie, pop: c.pop };
  });
}

describe('blendSignals', () => {
  it('orders candidates the same whether it sorts the head only or everything, ties and seeds included', () => {
    for (let trial = 0; trial < 40; trial++) {
      const coarse = trial % 2 === 0;
      const seed = trial % 3 === 0 ? trial : undefined;
      const run = (head: number | undefined) =>
        readAll(
          blendSignals(randomSignals(trial, 300, coarse), weights, itemIdOf, 300, seed, 0.01, {
            popularityOf,
            ...(head !== undefined ? { head } : {}),
          }),
        );
      const full = run(undefined);
      // The reference: every candidate made and sorted by the comparator.
      const reference = [...full].sort((a, b) =>
        compareCandidates(a as unknown as Candidate, b as unknown as Candidate),
      );
      expect(full).toEqual(reference);
      for (const head of [1, 7, 40, 299, 1_000]) expect(run(head)).toEqual(full);
    }
  });

  it('reads the rest in order after the head when asked for a position past it', () => {
    const list = blendSignals(randomSignals(1, 200, false), weights, itemIdOf, 200, undefined, 0, {
      popularityOf,
      head: 5,
    });
    const scores = readAll(list).map((c) => c.score);
    expect(scores.length).toBeGreaterThan(100);
    for (let i = 1; i < scores.length; i++) expect(scores[i]).toBeLessThanOrEqual(scores[i - 1]!);
  });
});
