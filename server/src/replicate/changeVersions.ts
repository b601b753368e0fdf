import type { ChangeStamps } from './changeStamps';

/** Which change counters a list depends on and what they read when it was ranked (see `NearCache`). */
export interface StampReading {
  slots: number[];
  values: number[];
}

/**
 * The newest change this engine host applied to a namespace (catalog, embeddings, configuration,
 * rules, a rebuild) and to each user (their events, traits, a login), as the transaction id that
 * wrote it: what the response cache keys on, so a change makes the next request a miss.
 *
 * Why transaction ids, read by the poll, and not a counter bumped when a request writes: every
 * replica reads the same rows with the same `tx`, so replicas agree on a version without talking to
 * each other and can share entries in Redis; and a version moves only once the change is in this
 * host's engine, so no entry computed from the state before the change is ever stored under the
 * version after it (a counter bumped at ingestion, before the engine has the event, would cache the
 * old list under the new version for a whole TTL).
 *
 * A version is kept for `keepMs` after it was applied, then forgotten (the maps stay small: only
 * what changed in the last minute or so). Forgetting is safe once every entry stored under the
 * version it replaced has expired, on this replica and on the others, which apply the same change
 * within a poll: hence `keepMs` = TTL + a minute. Until then a host that has just loaded reports
 * the load's horizon, so it shares nothing with replicas that may not yet have applied what its load
 * read.
 */
export class ChangeVersions {
  private namespaceChange: { version: string; at: number } | undefined;
  private readonly users = new Map<string, { version: string; at: number }>();
  private floor: { version: string; at: number } | undefined;
  private prunedAt = 0;

  /**
   * @param keepMs how long a version is kept after it was applied
   * @param stamps the shared change counters this host bumps beside the versions, with the namespace
   *   they count for (see `ChangeStamps`)
   */
  constructor(
    private readonly keepMs: number,
    private readonly stamps?: { table: ChangeStamps; namespaceId: string },
  ) {}

  /** The namespace was loaded from every row written before transaction `horizon`. */
  loaded(horizon: number, now = Date.now()): void {
    this.bumpNamespace();
    this.floor = { version: `L${horizon}`, at: now };
    this.namespaceChange = undefined;
    this.users.clear();
  }

  /** A change applied to the whole namespace, written by transaction `tx`. */
  namespaceChanged(tx: number, now = Date.now()): void {
    this.bumpNamespace();
    if (this.namespaceChange && Number(this.namespaceChange.version) >= tx) return;
    this.namespaceChange = { version: String(tx), at: now };
  }

  /** A change applied to one user (`userKey` as the engine keys profiles), written by `tx`. */
  userChanged(userKey: string, tx: number, now = Date.now()): void {
    // Every call counts, an older row's too: it changed the engine now, after any earlier reading.
    if (this.stamps) this.stamps.table.bump(this.stamps.table.userSlot(this.stamps.namespaceId, userKey));
    this.prune(now);
    const known = this.users.get(userKey);
    if (known && Number(known.version) >= tx) return;
    // Deleted first so the map stays in the order of `at`, and pruning stops at the first kept one.
    this.users.delete(userKey);
    this.users.set(userKey, { version: String(tx), at: now });
  }

  /** The namespace's version, for a cache key. */
  namespace(now = Date.now()): string {
    this.prune(now);
    return this.namespaceChange?.version ?? this.floor?.version ?? '0';
  }

  /** A user's version (no user: the namespace's floor), for a cache key. */
  user(userKey: string | undefined, now = Date.now()): string {
    this.prune(now);
    return (
      (userKey === undefined ? undefined : this.users.get(userKey)?.version) ?? this.floor?.version ?? '0'
    );
  }

  /**
   * The shared counters a list depends on — the namespace's and the given visitors' — read now;
   * undefined without a shared table. Read it in the same turn as the state the list is ranked
   * from: a change applied after the reading moves a counter, and the list is not served again.
   */
  readStamps(userKeys: ReadonlyArray<string | undefined>): StampReading | undefined {
    if (!this.stamps) return undefined;
    const { table, namespaceId } = this.stamps;
    const slots = [table.namespaceSlot(namespaceId)];
    for (const userKey of userKeys)
      if (userKey !== undefined) slots.push(table.userSlot(namespaceId, userKey));
    return { slots, values: slots.map((slot) => table.read(slot)) };
  }

  private bumpNamespace(): void {
    if (this.stamps) this.stamps.table.bump(this.stamps.table.namespaceSlot(this.stamps.namespaceId));
  }

  /** Forgets what is older than `keepMs`; looks at most once a second. */
  private prune(now: number): void {
    if (now - this.prunedAt < 1_000) return;
    this.prunedAt = now;
    const before = now - this.keepMs;
    if (this.floor && this.floor.at < before) this.floor = undefined;
    if (this.namespaceChange && this.namespaceChange.at < before) this.namespaceChange = undefined;
    for (const [userKey, change] of this.users) {
      if (change.at >= before) break;
      this.users.delete(userKey);
    }
  }
}
