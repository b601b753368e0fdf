/** Settings of a {@link SessionKnnIndex}. */
export interface SessionKnnIndexOptions {
  /** Sessions remembered in all; the least recently active is forgotten first. */
  maxSessions: number;
  /** Clicks remembered per session (the oldest are dropped). */
  maxSessionItems: number;
  /** Sessions remembered per item (the least recent are dropped). Bounds the neighbour sample's cost. */
  maxSessionsPerItem: number;
  /** A context key silent for longer than this starts a new session (keys without a session id). */
  sessionGapMs: number;
}

/** Settings of one {@link SessionKnnIndex.scores} query. */
export interface SessionKnnQuery {
  /** Neighbour sessions that vote. */
  k: number;
  /** Most recent sessions sharing an item with the current one that similarity is computed for. */
  sampleSize: number;
  /** A session to leave out (the current one, when it is indexed itself). */
  exclude?: number | undefined;
  /**
   * Order within the neighbour: its click q votes with exp(−|q − p| / positionDecay), p being the
   * neighbour's latest click of the shared item, so what the neighbour did right around (after) that
   * item counts most (as STAN, Garg et al. 2019). 0: every item of the neighbour votes equally.
   */
  positionDecay?: number | undefined;
  /**
   * An item of the current session gets a neighbour's vote only when that neighbour clicked it more
   * than once (returned to it): sharing an item is why the neighbour was chosen, not evidence that
   * shoppers come back to it.
   */
  returnsOnly?: boolean | undefined;
}

interface StoredSession {
  key: string;
  owner: string;
  /**
   * Clicks, oldest first (repeats kept); also what membership is tested on. A Set of the distinct
   * items beside it cost ~200 bytes per session (20 MB for the benchmark's 100,000 sessions) to
   * speed up scans of at most `maxSessionItems` numbers.
   */
  clicks: number[];
  lastTs: number;
}

/**
 * Recent sessions and, per item, the sessions holding it: the `sessionKnn` signal, in the spirit of
 * V-SkNN (Ludewig & Jannach 2018). A session continues to be updated as its events arrive; a
 * request compares the current session with the most recent sessions sharing an item with it,
 * weighting the current session's items by position (later clicks weigh more), and lets the `k`
 * most similar vote for their items, each vote decayed by how far back the shared item lies.
 */
export class SessionKnnIndex {
  private readonly sessions = new Map<number, StoredSession>();
  private readonly keys = new Map<string, number>();
  private readonly byItem = new Map<number, number[]>();
  private next = 0;

  constructor(private readonly opts: SessionKnnIndexOptions) {}

  /** Records `item` at `ts` as the next click of `contextKey` (owned by `owner`). */
  add(contextKey: string, owner: string, item: number, ts: number): void {
    let id = this.keys.get(contextKey);
    let s = id === undefined ? undefined : this.sessions.get(id);
    if (s !== undefined && ts - s.lastTs > this.opts.sessionGapMs) s = undefined;
    if (s === undefined || id === undefined) {
      id = this.next++;
      s = { key: contextKey, owner, clicks: [], lastTs: ts };
      this.sessions.set(id, s);
      this.keys.set(contextKey, id);
      if (this.sessions.size > this.opts.maxSessions) this.evictOldest();
    } else {
      // Keep the map in activity order: the first entry is always the least recently active session.
      this.sessions.delete(id);
      this.sessions.set(id, s);
    }
    if (ts > s.lastTs) s.lastTs = ts;
    const isNew = !s.clicks.includes(item);
    s.clicks.push(item);
    if (s.clicks.length > this.opts.maxSessionItems) s.clicks.shift();
    if (isNew) {
      let list = this.byItem.get(item);
      if (list === undefined) {
        list = [];
        this.byItem.set(item, list);
      }
      list.push(id);
      if (list.length > 2 * this.opts.maxSessionsPerItem) this.compact(item, list);
    }
  }

  /** The session number of `contextKey` (undefined when unknown). */
  sessionOf(contextKey: string): number | undefined {
    return this.keys.get(contextKey);
  }

  /** The clicks of `contextKey`'s current session, oldest first (empty when unknown). */
  clicksOf(contextKey: string): readonly number[] {
    const id = this.keys.get(contextKey);
    return (id === undefined ? undefined : this.sessions.get(id)?.clicks) ?? [];
  }

  /** Sessions held. */
  get size(): number {
    return this.sessions.size;
  }

  /**
   * Calls `vote(item, score, via)` for every item of the `k` sessions most similar to `clicks`
   * (oldest first, repeats kept), summed per item by the caller. Similarity: click position p of L
   * (the item's latest) weighs p/L; sim = Σ weights of shared items / distinct items. A neighbour's
   * vote is sim / step, step counting back from the end to the latest click it shares (`via`).
   */
  scores(
    clicks: readonly number[],
    q: SessionKnnQuery,
    vote: (item: number, score: number, via: number) => void,
  ): void {
    const L = clicks.length;
    if (L === 0) return;
    const weight = new Map<number, number>();
    for (let i = 0; i < L; i++) weight.set(clicks[i]!, (i + 1) / L);
    // The most recent sessions sharing an item. Per-item lists ascend in session number (creation
    // order), so walking all lists back from their tails at once, newest number first, yields the
    // union newest first: O(sampleSize × items) per request, no sort of the whole union.
    const lists: number[][] = [];
    const at: number[] = [];
    for (const item of weight.keys()) {
      const list = this.byItem.get(item);
      if (list === undefined || list.length === 0) continue;
      lists.push(list);
      at.push(list.length - 1);
    }
    const picked = new Set<number>();
    while (picked.size < q.sampleSize) {
      let best = -1;
      for (let l = 0; l < lists.length; l++) {
        if (at[l]! >= 0 && (best < 0 || lists[l]![at[l]!]! > lists[best]![at[best]!]!)) best = l;
      }
      if (best < 0) break;
      const id = lists[best]![at[best]!]!;
      at[best]!--;
      if (id !== q.exclude && this.sessions.has(id)) picked.add(id);
    }
    const sample = [...picked].sort(
      (a, b) => this.sessions.get(b)!.lastTs - this.sessions.get(a)!.lastTs || b - a,
    );
    const neighbours: Array<{ id: number; sim: number; rank: number }> = [];
    sample.forEach((id, rank) => {
      const theirs = this.sessions.get(id)!.clicks;
      let sum = 0;
      for (const [item, w] of weight) if (theirs.includes(item)) sum += w;
      if (sum > 0) neighbours.push({ id, sim: sum / weight.size, rank });
    });
    neighbours.sort((a, b) => b.sim - a.sim || a.rank - b.rank);
    if (neighbours.length > q.k) neighbours.length = q.k;
    for (const n of neighbours) {
      const nclicks = this.sessions.get(n.id)!.clicks;
      let via = -1;
      let step = 1;
      for (; step <= L; step++) {
        if (nclicks.includes(clicks[L - step]!)) {
          via = clicks[L - step]!;
          break;
        }
      }
      const score = n.sim / step;
      const lambda = q.positionDecay ?? 0;
      const votes = (item: number) =>
        !q.returnsOnly || !weight.has(item) || nclicks.indexOf(item) !== nclicks.lastIndexOf(item);
      if (!(lambda > 0) || via < 0) {
        // Each distinct item once, at its first click.
        for (let c = 0; c < nclicks.length; c++) {
          const item = nclicks[c]!;
          if (nclicks.indexOf(item) === c && votes(item)) vote(item, score, via);
        }
        continue;
      }
      const p = nclicks.lastIndexOf(via);
      // An item clicked more than once in the neighbour votes once, from its closest click.
      const best = new Map<number, number>();
      for (let c = 0; c < nclicks.length; c++) {
        const w = Math.exp(-Math.abs(c - p) / lambda);
        const item = nclicks[c]!;
        if (w > (best.get(item) ?? 0)) best.set(item, w);
      }
      for (const [item, w] of best) if (votes(item)) vote(item, score * w, via);
    }
  }

  /** Hands `fromOwner`'s sessions to `toOwner` (profile merge). */
  reassignOwner(fromOwner: string, toOwner: string): void {
    for (const s of this.sessions.values()) if (s.owner === fromOwner) s.owner = toOwner;
  }

  /** Forgets every session of `owner`: a session's clicks are personal. */
  dropOwner(owner: string): void {
    for (const [id, s] of this.sessions) {
      if (s.owner !== owner) continue;
      this.sessions.delete(id);
      if (this.keys.get(s.key) === id) this.keys.delete(s.key);
    }
  }

  /**
   * Swaps each session's clicks and each item's session list for an exact-size copy: arrays grown
   * by `push` keep spare room (see `UserProfile.trim`). Called after a bulk load.
   */
  trim(): void {
    for (const s of this.sessions.values()) s.clicks = s.clicks.slice();
    for (const [item, list] of this.byItem) this.byItem.set(item, list.slice());
  }

  private evictOldest(): void {
    const first = this.sessions.keys().next();
    if (first.done) return;
    const s = this.sessions.get(first.value)!;
    this.sessions.delete(first.value);
    if (this.keys.get(s.key) === first.value) this.keys.delete(s.key);
  }

  /** Drops forgotten sessions from an item's list and keeps its most recent `maxSessionsPerItem`. */
  private compact(item: number, list: number[]): void {
    const live = list.filter((id) => this.sessions.has(id));
    const keep = live.slice(Math.max(0, live.length - this.opts.maxSessionsPerItem));
    this.byItem.set(item, keep);
  }
}
