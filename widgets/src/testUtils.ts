import type { RecItem, RecParams, RecResponse, RecsClientLike, Surface, TrackMeta } from './types';

/**
 * IntersectionObserver stand-in for happy-dom (which has no layout): the test says how much of an element
 * is visible and every observer watching it is told, as a browser would.
 */
export class TestIntersectionObserver {
  static instances = new Set<TestIntersectionObserver>();
  readonly observed = new Set<Element>();
  constructor(
    private readonly callback: IntersectionObserverCallback,
    readonly options: IntersectionObserverInit = {},
  ) {
    TestIntersectionObserver.instances.add(this);
  }
  observe(el: Element): void {
    this.observed.add(el);
  }
  unobserve(el: Element): void {
    this.observed.delete(el);
  }
  disconnect(): void {
    this.observed.clear();
    TestIntersectionObserver.instances.delete(this);
  }
  takeRecords(): IntersectionObserverEntry[] {
    return [];
  }
  /** Reports `ratio` (0..1) of `el` visible to every observer watching it. */
  static show(el: Element, ratio: number): void {
    for (const io of TestIntersectionObserver.instances) {
      if (!io.observed.has(el)) continue;
      const entry = {
        target: el,
        isIntersecting: ratio > 0,
        intersectionRatio: ratio,
      } as IntersectionObserverEntry;
      io.callback([entry], io as unknown as IntersectionObserver);
    }
  }
  static install(): void {
    TestIntersectionObserver.instances.clear();
    (globalThis as { IntersectionObserver?: unknown }).IntersectionObserver = TestIntersectionObserver;
  }
}

interface Pending {
  surface: Surface;
  params: RecParams;
  resolve(res: RecResponse): void;
  reject(err: Error): void;
}

/** An in-memory client whose `recommend` calls stay pending until the test answers them. */
export function createTestClient() {
  const pending: Pending[] = [];
  const calls: Array<{ surface: Surface; params: RecParams }> = [];
  const tracked: Array<{ type: 'impression' | 'click'; itemId: string; meta: TrackMeta }> = [];
  const counters = { flushes: 0 };
  const client: RecsClientLike = {
    recommend(surface, params) {
      calls.push({ surface, params });
      return new Promise<RecResponse>((resolve, reject) =>
        pending.push({ surface, params, resolve, reject }),
      );
    },
    track(type, props) {
      tracked.push({ type, ...props });
    },
    flush() {
      counters.flushes++;
      return Promise.resolve();
    },
  };
  return {
    client,
    calls,
    tracked,
    counters,
    /** Answers the oldest pending request. */
    respond(items: RecItem[], extra: Partial<RecResponse> = {}): void {
      const p = pending.shift();
      if (!p) throw new Error('no pending recommend() call to respond to');
      p.resolve({
        requestId: `req-${calls.length}`,
        surface: p.surface,
        items,
        fallback: { used: false, sources: [], filled: 0 },
        ...extra,
      });
    },
    /** Fails the oldest pending request. */
    fail(message = 'network down'): void {
      const p = pending.shift();
      if (!p) throw new Error('no pending recommend() call to fail');
      p.reject(new Error(message));
    },
  };
}

/** `n` items `sku-1..n` with titles, EUR prices, urls and images. */
export function makeItems(n: number, overrides: Partial<RecItem> = {}): RecItem[] {
  return Array.from({ length: n }, (_, i) => ({
    itemId: `sku-${i + 1}`,
    rank: i + 1,
    score: 1 - i / 100,
    title: `Item ${i + 1}`,
    price: 10 + i,
    currency: 'EUR',
    url: `/p/sku-${i + 1}`,
    imageUrl: `/img/sku-${i + 1}.jpg`,
    ...overrides,
  }));
}
