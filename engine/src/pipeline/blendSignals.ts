import type { SignalName, SignalWeights } from '../config/engineConfig';
import { SIGNALS } from '../config/engineConfig';
import { seededUnit } from '../util/random';
import type { SignalScores } from './signalScores';

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
// Per slot of the current request: item id, score, seeded tie key. Valid until the next request.
let slotIds = new Int32Array(0);
let slotScores = new Float64Array(0);
let slotTies = new Float64Array(0);
let selectScratch = new Float64Array(0);
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

/** Candidates best first, read by position; what {@link diversify} walks. `Candidate[]` is one. */
export interface RankedList {
  readonly length: number;
  at(index: number): Candidate | undefined;
}

/**
 * The blended candidates in {@link compareCandidates} order. Only the best `head` (and any tied
 * with the last of them) are made and sorted up front; the rest, all scoring below them, are made
 * and sorted the first time a position past the head is read. A request reads a few dozen of its
 * hundreds or thousands of candidates, and making and sorting them all was most of the blend's
 * cost. Reads the per-request scratch: use it before the engine ranks the next request.
 */
class RankedCandidates implements RankedList {
  private readonly list: Candidate[];
  private restMade = false;

  constructor(
    readonly length: number,
    private readonly threshold: number,
    private readonly make: (slot: number) => Candidate,
  ) {
    this.list = [];
    for (let slot = 0; slot < length; slot++) {
      if (slotScores[slot]! >= threshold) this.list.push(make(slot));
    }
    this.list.sort(compareCandidates);
    if (this.list.length === length) this.restMade = true;
  }

  at(index: number): Candidate | undefined {
    if (index >= this.list.length && !this.restMade) this.makeRest();
    return this.list[index];
  }

  private makeRest() {
    this.restMade = true;
    const rest: Candidate[] = [];
    for (let slot = 0; slot < this.length; slot++) {
      if (!(slotScores[slot]! >= this.threshold)) rest.push(this.make(slot));
    }
    rest.sort(compareCandidates);
    for (const c of rest) this.list.push(c);
  }
}

/**
 * Normalises each signal to [0, 1] by dividing by its largest score in this request (so signals with
 * different units blend), then sums them with the weights. Only `generators` (all signals when
 * undefined) may introduce a candidate; the others add to candidates already there. Ordering:
 * score, then the seeded key when a seed is given, then recent popularity (`popularityOf`, higher
 * first), then itemId — the same data, request and seed always yield the same list. `head`: how
 * many of the best are likely read (see {@link RankedCandidates}); the order is the same whatever
 * it is.
 */
export function blendSignals(
  signals: Map<SignalName, SignalScores>,
  weights: SignalWeights,
  itemIdOf: (id: number) => string,
  idCount: number,
  seed: number | undefined,
  seedJitter: number,
  options: {
    generators?: ReadonlySet<SignalName>;
    popularityOf?: (id: number) => number;
    head?: number;
    /**
     * Final say on the candidates' scores before ranking (merchandising boosts and buries): given
     * the first `count` ids and their scores, rewrites the scores in place. One call per request.
     */
    adjust?: ((ids: Int32Array, scores: Float64Array, count: number) => void) | undefined;
  } = {},
): RankedList {
  const { generators, popularityOf } = options;
  let total = 0;
  for (const s of signals.values()) total += s.size;
  if (partsScratch.length < total * SIGNALS.length)
    partsScratch = new Float64Array(total * SIGNALS.length * 2);
  if (slotIds.length < total) {
    slotIds = new Int32Array(total * 2);
    slotScores = new Float64Array(total * 2);
    slotTies = new Float64Array(total * 2);
  }
  const parts = partsScratch;
  parts.fill(0, 0, total * SIGNALS.length);
  let count = 0;
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
      for (let e = 0; e < s.size; e++) if (s.scores[e]! > max) max = s.scores[e]!;
      if (!(max > 0)) continue;
      for (let e = 0; e < s.size; e++) {
        const id = s.ids[e]!;
        const raw = s.scores[e]!;
        if (!(raw > 0) || id >= idCount) continue;
        const part = (weight * raw) / max;
        let slot: number;
        if (stamps[id] === epoch) slot = slots[id]!;
        else if (!generates) continue;
        else {
          stamps[id] = epoch;
          slot = count++;
          slots[id] = slot;
          slotIds[slot] = id;
          slotScores[slot] = 0;
          slotTies[slot] = 0;
        }
        parts[slot * SIGNALS.length + index] = part;
        slotScores[slot] = slotScores[slot]! + part;
      }
    }
  }
  if (seed !== undefined) {
    for (let slot = 0; slot < count; slot++) {
      const tie = seededUnit(seed, itemIdOf(slotIds[slot]!));
      slotTies[slot] = tie;
      if (seedJitter > 0) slotScores[slot] = slotScores[slot]! + seedJitter * (tie - 0.5);
    }
  }
  if (options.adjust !== undefined) options.adjust(slotIds, slotScores, count);
  const head = options.head ?? count;
  const threshold = head >= count ? Number.NEGATIVE_INFINITY : nthLargest(count, head);
  return new RankedCandidates(count, threshold, (slot) => {
    const id = slotIds[slot]!;
    return {
      id,
      itemId: itemIdOf(id),
      score: slotScores[slot]!,
      parts,
      at: slot * SIGNALS.length,
      tie: slotTies[slot]!,
      pop: popularityOf?.(id) ?? 0,
    };
  });
}

/** The `n`-th largest of `slotScores[0, count)` (1-based, n ≤ count), by quickselect on a copy. */
function nthLargest(count: number, n: number): number {
  if (selectScratch.length < count) selectScratch = new Float64Array(count * 2);
  const a = selectScratch;
  a.set(slotScores.subarray(0, count));
  // Descending order: position n − 1 holds the answer.
  const target = n - 1;
  let lo = 0;
  let hi = count - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >>> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! > pivot) i++;
      while (a[j]! < pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else break;
  }
  return a[target]!;
}

/**
 * Score descending, then seeded key, then recent popularity descending, then itemId. Answers −1, 0
 * or 1, never a difference of doubles: a fractional result is a new heap number on every call from
 * `Array.prototype.sort`, hundreds per request.
 */
export function compareCandidates(a: Candidate, b: Candidate): number {
  if (a.score !== b.score) return a.score > b.score ? -1 : 1;
  if (a.tie !== b.tie) return a.tie < b.tie ? -1 : 1;
  if (a.pop !== b.pop) return a.pop > b.pop ? -1 : 1;
  return a.itemId < b.itemId ? -1 : a.itemId > b.itemId ? 1 : 0;
}
