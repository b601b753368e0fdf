/**
 * A small key/value store. Every implementation swallows its own errors:
 * Safari private mode, blocked third-party storage, sandboxed iframes and SSR
 * all throw on access, and tracking must never crash a shop page.
 */
export interface KeyValueStore {
  get(key: string): string | null;
  /** `maxAge` in seconds; only cookies expire, the other stores keep values until removed. */
  set(key: string, value: string, maxAge?: number): void;
  remove(key: string): void;
}

/** Options of the first-party cookie store. */
export interface CookieOptions {
  /** Cookie `Domain`, e.g. `.example.com` to share ids across subdomains. */
  domain?: string;
}

export function createCookieStore(options: CookieOptions = {}): KeyValueStore {
  const write = (key: string, value: string, maxAge: number): void => {
    try {
      const secure = location.protocol === 'https:' ? '; Secure' : '';
      const domain = options.domain ? `; domain=${options.domain}` : '';
      // biome-ignore lint/suspicious/noDocumentCookie: the Cookie Store API is async and missing in older Safari/Firefox
      document.cookie = `${key}=${encodeURIComponent(value)}; path=/; max-age=${maxAge}; SameSite=Lax${domain}${secure}`;
    } catch {
      // cookies unavailable (SSR, sandbox): the next store in the chain keeps the value
    }
  };
  return {
    get(key) {
      try {
        for (const part of document.cookie.split('; ')) {
          const eq = part.indexOf('=');
          // an expired cookie may linger as `name=` until the next read: treat empty as unset
          if (part.slice(0, eq) === key) return decodeURIComponent(part.slice(eq + 1)) || null;
        }
      } catch {
        // unreadable cookies behave as "not set"
      }
      return null;
    },
    set: (key, value, maxAge = 31_536_000) => write(key, value, maxAge),
    // RFC 6265: max-age <= 0 deletes; -1 because some engines (happy-dom) keep `name=` on 0
    remove: (key) => write(key, '', -1),
  };
}

/** Wraps `localStorage` / `sessionStorage`; the property getter itself may throw, so it is read on every call. */
export function createWebStore(name: 'localStorage' | 'sessionStorage'): KeyValueStore {
  return {
    get(key) {
      try {
        return globalThis[name].getItem(key);
      } catch {
        return null;
      }
    },
    set(key, value) {
      try {
        globalThis[name].setItem(key, value);
      } catch {
        // quota exceeded or storage blocked: keep going in memory
      }
    },
    remove(key) {
      try {
        globalThis[name].removeItem(key);
      } catch {
        // nothing stored, nothing to remove
      }
    },
  };
}

/** Keys of a web storage area, or `[]` when it is unavailable. */
export function listWebStoreKeys(name: 'localStorage' | 'sessionStorage'): string[] {
  try {
    const s = globalThis[name];
    const keys: string[] = [];
    for (let i = 0; i < s.length; i++) {
      const k = s.key(i);
      if (k !== null) keys.push(k);
    }
    return keys;
  } catch {
    return [];
  }
}

export function createMemoryStore(): KeyValueStore {
  const map = new Map<string, string>();
  return {
    get: (key) => map.get(key) ?? null,
    set: (key, value) => void map.set(key, value),
    remove: (key) => void map.delete(key),
  };
}

/**
 * Reads from the first store that has the key, writes to all of them, so a
 * cleared cookie is restored from localStorage and blocked storage still
 * leaves a working in-memory copy (put a memory store last).
 */
export function createStoreChain(stores: KeyValueStore[]): KeyValueStore {
  return {
    get(key) {
      for (const s of stores) {
        const v = s.get(key);
        if (v !== null) return v;
      }
      return null;
    },
    set: (key, value, maxAge) => {
      for (const s of stores) s.set(key, value, maxAge);
    },
    remove: (key) => {
      for (const s of stores) s.remove(key);
    },
  };
}
