import type { SignalScores } from './collectSignals';
import type { SignalName, SignalWeights } from './config';
import { SIGNALS } from './config';
import { seededUnit } from './seededUnit';

/** A scored candidate. */
export interface Candidate {
  id: number;
  itemId: string;
  score: number;
  /**
   * Contributions (weight × normalised score) per signal live in `parts[at + signalIndex]`. The
   * buffer is reused by the next request: read it before calling the engine again.
   */
  parts: Float64Array;
  at: number;
  /** Seeded tie-break key in [0, 1) (0 without a seed). */
  tie: number;
  /** Second tie-break: recent popularity (higher first), so equal scores favour what sells now. */
  pop: number;
}

/** A candidate's contribution from the signal at `signalIndex` (see {@link SIGNALS}). */
export function contributionOf(c: Candidate, signalIndex: number): number {
  return c.parts[c.at + signalIndex]!;
}

// Reused across requests (they are synchronous): id → candidate slot, valid when stamped this epoch.
let stamps = new Uint32Array(0);
let slots = new Int32Array(0);
let epoch = 0;
// Contributions of the current request's candidates; valid until the next request.
let partsScratch = new Float64Array(0);

function beginEpoch(size: number): void {
  if (size > stamps.length) {
    const cap = Math.max(size, stamps.length * 2, 1024);
    stamps = new Uint32Array(cap);
    slots = new Int32Array(cap);
    epoch = 0;
  }
  epoch++;
  if (epoch === 0xffffffff) {
    stamps.fill(0);
    epoch = 1;
  }
}

/**
 * Normalises each signal to [0, 1] by dividing by its largest score in this request (so signals with
 * different units blend), then sums them with the weights. Only `generators` (all signals when
 * undefined) may introduce a candidate; the others add to candidates already there. Ordering:
 * score, then the seeded key when a seed is given, then recent popularity (`popularityOf`, higher
 * first), then itemId — the same data, request and seed always yield the same list.
 */
export function blendSignals(
  signals: Map<SignalName, SignalScores>,
  weights: SignalWeights,
  itemIdOf: (id: number) => string,
  idCount: number,
  seed: number | undefined,
  seedJitter: number,
  options: { generators?: ReadonlySet<SignalName>; popularityOf?: (id: number) => number } = {},
): Candidate[] {
  const { generators, popularityOf } = options;
  let total = 0;
  for (const s of signals.values()) total += s.size;
  if (partsScratch.length < total * SIGNALS.length)
    partsScratch = new Float64Array(total * SIGNALS.length * 2);
  const parts = partsScratch;
  parts.fill(0, 0, total * SIGNALS.length);
  const out: Candidate[] = [];
  beginEpoch(idCount);
  // Pass 0 adds the generating signals (creating candidates), pass 1 the re-ranking ones.
  for (let pass = 0; pass < 2; pass++) {
    for (let index = 0; index < SIGNALS.length; index++) {
      const signal = SIGNALS[index]!;
      const generates = generators === undefined || generators.has(signal);
      if (generates !== (pass === 0)) continue;
      const s = signals.get(signal);
      const weight = weights[signal] ?? 0;
      if (s === undefined || weight <= 0 || s.size === 0) continue;
      let max = 0;
      for (const v of s.scores) if (v > max) max = v;
      if (!(max > 0)) continue;
      for (let e = 0; e < s.ids.length; e++) {
        const id = s.ids[e]!;
        const raw = s.scores[e]!;
        if (!(raw > 0) || id >= idCount) continue;
        const part = (weight * raw) / max;
        let c: Candidate;
        if (stamps[id] === epoch) c = out[slots[id]!]!;
        else if (!generates) continue;
        else {
          stamps[id] = epoch;
          slots[id] = out.length;
          c = {
            id,
            itemId: itemIdOf(id),
            score: 0,
            parts,
            at: out.length * SIGNALS.length,
            tie: 0,
            pop: popularityOf?.(id) ?? 0,
          };
          out.push(c);
        }
        parts[c.at + index] = part;
        c.score += part;
      }
    }
  }
  if (seed !== undefined) {
    for (const c of out) {
      c.tie = seededUnit(seed, c.itemId);
      if (seedJitter > 0) c.score += seedJitter * (c.tie - 0.5);
    }
  }
  return out.sort(compareCandidates);
}

/** Score descending, then seeded key, then recent popularity descending, then itemId. */
export function compareCandidates(a: Candidate, b: Candidate): number {
  return (
    b.score - a.score ||
    a.tie - b.tie ||
    b.pop - a.pop ||
    (a.itemId < b.itemId ? -1 : a.itemId > b.itemId ? 1 : 0)
  );
}
