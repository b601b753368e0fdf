import type { SignalScores } from './collectSignals';
import type { SignalName, SignalWeights } from './config';
import { SIGNALS } from './config';
import { seededUnit } from './seededUnit';

/** A scored candidate with each signal's contribution (weight × normalised score). */
export interface Candidate {
  id: number;
  itemId: string;
  score: number;
  parts: Partial<Record<SignalName, number>>;
  /** Seeded tie-break key in [0, 1) (0 without a seed). */
  tie: number;
}

/**
 * Normalises each signal to [0, 1] by dividing by its largest score in this request (so signals with
 * different units blend), then sums them with the weights. Ordering: score, then the seeded key when a
 * seed is given, then itemId — the same data, request and seed always yield the same list.
 */
export function blendSignals(
  signals: Map<SignalName, SignalScores>,
  weights: SignalWeights,
  itemIdOf: (id: number) => string,
  seed: number | undefined,
  seedJitter: number,
): Candidate[] {
  const byId = new Map<number, Candidate>();
  for (const signal of SIGNALS) {
    const s = signals.get(signal);
    const weight = weights[signal] ?? 0;
    if (s === undefined || weight <= 0 || s.scores.size === 0) continue;
    let max = 0;
    for (const v of s.scores.values()) if (v > max) max = v;
    if (!(max > 0)) continue;
    for (const [id, raw] of s.scores) {
      if (!(raw > 0)) continue;
      const part = (weight * raw) / max;
      let c = byId.get(id);
      if (c === undefined) {
        c = { id, itemId: itemIdOf(id), score: 0, parts: {}, tie: 0 };
        byId.set(id, c);
      }
      c.parts[signal] = part;
      c.score += part;
    }
  }
  const out = [...byId.values()];
  if (seed !== undefined) {
    for (const c of out) {
      c.tie = seededUnit(seed, c.itemId);
      if (seedJitter > 0) c.score += seedJitter * (c.tie - 0.5);
    }
  }
  return out.sort(compareCandidates);
}

/** Score descending, then seeded key, then itemId. */
export function compareCandidates(a: Candidate, b: Candidate): number {
  return b.score - a.score || a.tie - b.tie || (a.itemId < b.itemId ? -1 : a.itemId > b.itemId ? 1 : 0);
}
