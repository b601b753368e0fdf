import { fmix32, fnv1a32 } from '@recsys/engine/random';

/** Counters in the table: 2^20 (4 MiB), so that visitors rarely share one. */
const SLOTS = 1 << 20;

/**
 * Change counters in shared memory, one per namespace and one per (namespace, visitor) — hashed
 * into a fixed table, so two visitors may share a counter. The engine thread bumps them as it
 * applies changes (with {@link ChangeVersions}); another thread reads them with no message between
 * the two, to tell whether a list it holds may still be served (see `NearCache`).
 *
 * Why counters in a shared table and not messages: a change must stop the other thread from
 * serving an older list at once, with nothing in flight between "applied" and "known there". A
 * shared counter is read where the list would be served; a message could arrive after a request
 * was already answered from the older list. Sharing a counter only costs the visitors who share it
 * a miss.
 */
export class ChangeStamps {
  private readonly counters: Int32Array;

  /** @param buffer another thread's table (see {@link buffer}); a new one when absent */
  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(SLOTS * 4)) {
    this.counters = new Int32Array(buffer);
  }

  /** The counter of a namespace's changes (catalog, configuration, rules, a rebuild). */
  namespaceSlot(namespaceId: string): number {
    return fmix32(fnv1a32(namespaceId)) & (this.counters.length - 1);
  }

  /** The counter of one visitor's changes (`userKey` as the engine keys profiles). */
  userSlot(namespaceId: string, userKey: string): number {
    return fmix32(fnv1a32(userKey, fnv1a32(namespaceId))) & (this.counters.length - 1);
  }

  /** Counts a change; call it once the change is in the engine. */
  bump(slot: number): void {
    Atomics.add(this.counters, slot, 1);
  }

  read(slot: number): number {
    return Atomics.load(this.counters, slot);
  }
}
