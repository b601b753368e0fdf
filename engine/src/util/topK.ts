/** A scored id. */
export interface Scored {
  id: number;
  score: number;
}

function worse(a: Scored, b: Scored): boolean {
  return a.score < b.score || (a.score === b.score && a.id > b.id);
}

/**
 * The `limit` best ids of `ids` by `scoreOf` (positive scores only), best first, ties by lower id.
 * A bounded min-heap keeps this O(n log limit) without sorting the whole catalog.
 * Pass a number n to scan the ids 0 … n−1.
 */
export function topK(
  ids: Iterable<number> | number,
  scoreOf: (id: number) => number,
  limit: number,
  keep: (id: number) => boolean = () => true,
): Scored[] {
  const heap: Scored[] = [];
  if (limit <= 0) return heap;
  const offer = (id: number): void => {
    const score = scoreOf(id);
    if (!(score > 0)) return;
    if (heap.length === limit) {
      const min = heap[0]!;
      if (score < min.score || (score === min.score && id > min.id)) return;
    }
    if (!keep(id)) return;
    const entry = { id, score };
    if (heap.length < limit) {
      heap.push(entry);
      siftUp(heap, heap.length - 1);
    } else {
      heap[0] = entry;
      siftDown(heap, 0);
    }
  };
  if (typeof ids === 'number') for (let id = 0; id < ids; id++) offer(id);
  else for (const id of ids) offer(id);
  return heap.sort((a, b) => b.score - a.score || a.id - b.id);
}

function siftUp(heap: Scored[], i: number): void {
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (!worse(heap[i]!, heap[parent]!)) break;
    [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
    i = parent;
  }
}

function siftDown(heap: Scored[], i: number): void {
  for (;;) {
    const l = 2 * i + 1;
    const r = l + 1;
    let m = i;
    if (l < heap.length && worse(heap[l]!, heap[m]!)) m = l;
    if (r < heap.length && worse(heap[r]!, heap[m]!)) m = r;
    if (m === i) return;
    [heap[i], heap[m]] = [heap[m]!, heap[i]!];
    i = m;
  }
}
