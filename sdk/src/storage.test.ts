import { afterEach, describe, expect, it, vi } from 'vitest';
import { createCookieStore, createMemoryStore, createStoreChain, createWebStore } from './storage';
import { resetBrowserState } from './testing/collector';

afterEach(() => {
  vi.restoreAllMocks();
  resetBrowserState();
});

describe('stores', () => {
  it('reads from the first store that has a value and writes to all of them', () => {
    const a = createMemoryStore();
    const b = createMemoryStore();
    const chain = createStoreChain([a, b]);
    b.set('k', 'from-b');
    expect(chain.get('k')).toBe('from-b');
    chain.set('k', 'v');
    expect([a.get('k'), b.get('k')]).toEqual(['v', 'v']);
    chain.remove('k');
    expect(chain.get('k')).toBeNull();
  });

  it('round-trips cookie values that need encoding', () => {
    const c = createCookieStore();
    c.set('rsys_test', 'a b;c=d', 60);
    expect(c.get('rsys_test')).toBe('a b;c=d');
    c.remove('rsys_test');
    expect(c.get('rsys_test')).toBeNull();
  });

  it('never throws when the storage getter throws (Safari private mode, sandboxed iframes)', () => {
    vi.spyOn(window, 'localStorage', 'get').mockImplementation(() => {
      throw new DOMException('denied', 'SecurityError');
    });
    const s = createWebStore('localStorage');
    expect(() => s.set('k', 'v')).not.toThrow();
    expect(s.get('k')).toBeNull();
    expect(() => s.remove('k')).not.toThrow();
  });

  it('never throws when writing exceeds the quota', () => {
    vi.spyOn(Storage.prototype, 'setItem').mockImplementation(() => {
      throw new DOMException('full', 'QuotaExceededError');
    });
    expect(() => createWebStore('localStorage').set('k', 'v')).not.toThrow();
  });
});
