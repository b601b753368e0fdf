import { EVENT_TYPES } from '../protocol';
import type { LearnedEventType } from '../types';
import { Interner } from '../util/Interner';

// Impressions never reach the log (the engine does not learn from them), so every stored code is a learned type.
const TYPES = EVENT_TYPES.filter((t): t is LearnedEventType => t !== 'impression');
const TYPE_CODE = new Map(TYPES.map((t, i) => [t, i]));

/** An event after validation, with the item interned. */
export interface IngestEvent {
  type: LearnedEventType;
  item: number;
  userKey: string;
  sessionId: string | undefined;
  ts: number;
  value: number | undefined;
  orderId: string | undefined;
}

/**
 * A compact columnar copy of every accepted item event (≈ 40 bytes each), so that changing an
 * index-shaping setting (half-lives, windows, event weights) can rebuild the indexes exactly instead
 * of mixing old and new semantics. Merges are kept as aliases and forgotten users as tombstones, so a
 * replay reproduces them.
 */
export class EventLog {
  private types = new Uint8Array(1024);
  private items = new Int32Array(1024);
  private users = new Int32Array(1024);
  private sessions = new Int32Array(1024);
  private orders = new Int32Array(1024);
  private ts = new Float64Array(1024);
  private values = new Float64Array(1024);
  private count = 0;
  private readonly userKeys = new Interner();
  private readonly sessionKeys = new Interner();
  private readonly orderKeys = new Interner();
  private readonly aliases = new Map<number, number>();
  private readonly forgotten = new Set<number>();

  get length(): number {
    return this.count;
  }

  append(e: IngestEvent): void {
    if (this.count === this.types.length) this.grow();
    const i = this.count++;
    this.types[i] = TYPE_CODE.get(e.type)!;
    this.items[i] = e.item;
    this.users[i] = this.userKeys.intern(e.userKey);
    this.sessions[i] = e.sessionId === undefined ? -1 : this.sessionKeys.intern(e.sessionId);
    this.orders[i] = e.orderId === undefined ? -1 : this.orderKeys.intern(e.orderId);
    this.ts[i] = e.ts;
    this.values[i] = e.value ?? Number.NaN;
  }

  /** Later replays attribute `fromKey`'s events to `intoKey`. */
  alias(fromKey: string, intoKey: string): void {
    const from = this.userKeys.get(fromKey);
    if (from === undefined) return;
    const into = this.userKeys.intern(intoKey);
    if (from !== into) this.aliases.set(from, into);
  }

  /** Later replays skip this user's events. */
  forget(userKey: string): void {
    const id = this.userKeys.get(userKey);
    if (id === undefined) return;
    this.forgotten.add(id);
    for (const [from, into] of this.aliases) if (into === id) this.forgotten.add(from);
  }

  /** Replays the retained events in arrival order. */
  replay(fn: (e: IngestEvent) => void): void {
    for (let i = 0; i < this.count; i++) {
      let user = this.users[i]!;
      for (let hops = 0; hops < 32; hops++) {
        const next = this.aliases.get(user);
        if (next === undefined) break;
        user = next;
      }
      if (this.forgotten.has(user) || this.forgotten.has(this.users[i]!)) continue;
      const session = this.sessions[i]!;
      const order = this.orders[i]!;
      const value = this.values[i]!;
      fn({
        type: TYPES[this.types[i]!]!,
        item: this.items[i]!,
        userKey: this.userKeys.keyOf(user),
        sessionId: session < 0 ? undefined : this.sessionKeys.keyOf(session),
        ts: this.ts[i]!,
        value: Number.isNaN(value) ? undefined : value,
        orderId: order < 0 ? undefined : this.orderKeys.keyOf(order),
      });
    }
  }

  private grow(): void {
    const cap = this.types.length * 2;
    const grow = <T extends Uint8Array | Int32Array | Float64Array>(a: T, make: (n: number) => T): T => {
      const next = make(cap);
      next.set(a);
      return next;
    };
    this.types = grow(this.types, (n) => new Uint8Array(n));
    this.items = grow(this.items, (n) => new Int32Array(n));
    this.users = grow(this.users, (n) => new Int32Array(n));
    this.sessions = grow(this.sessions, (n) => new Int32Array(n));
    this.orders = grow(this.orders, (n) => new Int32Array(n));
    this.ts = grow(this.ts, (n) => new Float64Array(n));
    this.values = grow(this.values, (n) => new Float64Array(n));
  }
}
