import type { Surface } from '@recsys/engine';
import { LRUCache } from 'lru-cache';
import { ChangeStamps } from '../replicate/changeStamps';
import type { EngineList, ListValidity, NearCacheSource, ServeInput } from './EngineService';

/** A list as kept here: the engine's answer without its trace, and what it depends on. */
interface NearList extends ListValidity {
  list: EngineList;
}

/**
 * The lists an engine host on another thread answered from its response cache, kept on the thread
 * that asked (the HTTP thread of `startHttpThread`), so a repeated request is answered there: no
 * message to the engine thread, and no waiting behind its work — a ranking, a poll applying
 * changes, a garbage collection pause of the engines' large heap, which measured 5–14 ms every second
 * or two at 1,000 requests/s and set the 99th percentile.
 *
 * A list is served again here only while the engine thread would serve it too: before its cache
 * entry expires (or a scheduled rule starts or stops), and while none of the shared change counters
 * it depends on (the namespace's, the visitor's; see `ChangeStamps`) has moved since the engine read
 * them. The engine thread moves a counter once a change is in its engine, and this thread reads it
 * before answering, so no list older than a change the engines have applied is served here.
 */
export class NearCache {
  private readonly lists: LRUCache<string, NearList>;
  private readonly stamps: ChangeStamps;

  constructor(source: NearCacheSource) {
    this.stamps = new ChangeStamps(source.stamps);
    this.lists = new LRUCache({ max: source.maxEntries });
  }

  /**
   * The key of a request, or undefined for one that must reach the engines (`explain`, a debug
   * request). The input is as the procedure validated it: requests asking the same thing in a
   * different field order are different keys, which costs a miss, never a wrong list. A sampled
   * trace does not change the list (the engines' cache keys without it too).
   */
  static keyOf(namespaceId: string, surface: Surface, input: ServeInput): string | undefined {
    if (input.explain || input.bypassCache) return undefined;
    if (input.trace !== undefined) {
      const { trace: _trace, ...asked } = input;
      return `${namespaceId}\u0000${surface}\u0000${JSON.stringify(asked)}`;
    }
    return `${namespaceId}\u0000${surface}\u0000${JSON.stringify(input)}`;
  }

  /** The list kept under `key` if it may still be served, as a list of its own; else undefined. */
  get(key: string, now = Date.now()): EngineList | undefined {
    const near = this.lists.get(key);
    if (near === undefined) return undefined;
    if (now < near.until && this.unchanged(near)) return { ...near.list, cache: 'hit' };
    this.lists.delete(key);
    return undefined;
  }

  /** Keeps a list the engines answered, if they said what it depends on. */
  set(key: string, answered: EngineList): void {
    const { validity, trace: _trace, cache: _cache, ...list } = answered;
    if (validity === undefined) return;
    this.lists.set(key, { list, slots: validity.slots, values: validity.values, until: validity.until });
  }

  private unchanged(near: NearList): boolean {
    for (let i = 0; i < near.slots.length; i++) {
      if (this.stamps.read(near.slots[i]!) !== near.values[i]) return false;
    }
    return true;
  }
}
