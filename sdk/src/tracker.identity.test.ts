import { afterEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { createCookieStore } from './storage';
import { ENDPOINT, KEY, settle, stubBeacon, useCollector } from './testing/collector';
import { createTracker, type Tracker, type TrackerOptions } from './tracker';

const collector = useCollector();
const open: Tracker[] = [];
const make = (options: Partial<TrackerOptions> = {}) => {
  const t = createTracker({ key: KEY, endpoint: ENDPOINT, fetch: collector.fetch, ...options });
  open.push(t);
  return t;
};
afterEach(() => {
  for (const t of open.splice(0)) t.destroy();
});
const cookie = (name: string) =>
  document.cookie
    .split('; ')
    .find((c) => c.startsWith(`${name}=`))
    ?.slice(name.length + 1);

describe('anonymous id', () => {
  it('persists one anonymous id in a first-party cookie and localStorage across page loads', () => {
    const first = make();
    const id = first.getIds().anonymousId!;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(cookie('rsys_aid')).toBe(id);
    expect(localStorage.getItem('rsys_aid')).toBe(id);
    first.destroy();
    expect(make().getIds().anonymousId).toBe(id);
  });

  it('restores the id from localStorage when the cookie was cleared', () => {
    const id = make().getIds().anonymousId;
    createCookieStore().remove('rsys_aid');
    expect(make().getIds().anonymousId).toBe(id);
  });

  it('writes cookies for the configured cookie domain', () => {
    const writes: string[] = [];
    const desc = Object.getOwnPropertyDescriptor(Document.prototype, 'cookie')!;
    vi.spyOn(document, 'cookie', 'set').mockImplementation((v: string) => {
      writes.push(v);
      desc.set!.call(document, v);
    });
    make({ cookieDomain: '.shop.example' }).getIds();
    expect(writes.find((w) => w.startsWith('rsys_aid='))).toMatch(
      /; path=\/; max-age=31536000; SameSite=Lax; domain=\.shop\.example$/,
    );
  });

  it('keeps working in memory when localStorage and cookies throw on access', async () => {
    vi.spyOn(window, 'localStorage', 'get').mockImplementation(() => {
      throw new DOMException('The operation is insecure.', 'SecurityError');
    });
    const blocked = () => {
      throw new DOMException('blocked', 'SecurityError');
    };
    // one own property shadowing Document.prototype.cookie, removed below
    Object.defineProperty(document, 'cookie', { configurable: true, get: blocked, set: blocked });
    onTestFinished(() => {
      delete (document as { cookie?: unknown }).cookie;
    });
    const t = make();
    t.view('sku-1');
    t.view('sku-2');
    await t.flush();
    const [a, b] = collector.events();
    expect(a!.anonymousId).toBeTruthy();
    expect(a!.anonymousId).toBe(b!.anonymousId);
    expect(a!.sessionId).toBe(b!.sessionId);
  });
});

describe('sessions', () => {
  it('keeps the session while active and starts a new one after 30 minutes of inactivity', async () => {
    const t = make();
    t.view('a');
    vi.advanceTimersByTime(29 * 60_000);
    t.view('b'); // activity extends the session
    vi.advanceTimersByTime(29 * 60_000);
    t.view('c');
    vi.advanceTimersByTime(30 * 60_000 + 1);
    t.view('d');
    await t.flush();
    const [a, b, c, d] = collector.events().map((e) => e.sessionId);
    expect(b).toBe(a);
    expect(c).toBe(a);
    expect(d).not.toBe(a);
  });

  it('honours a custom session timeout', async () => {
    const t = make({ sessionTimeout: 60_000 });
    t.view('a');
    vi.advanceTimersByTime(60_001);
    t.view('b');
    await t.flush();
    const [a, b] = collector.events();
    expect(b!.sessionId).not.toBe(a!.sessionId);
  });

  it('starts a new session at UTC midnight with sessionDayBoundary utc', async () => {
    vi.setSystemTime(new Date('2025-03-10T23:55:00Z'));
    const t = make({ sessionDayBoundary: 'utc' });
    t.view('a');
    vi.setSystemTime(new Date('2025-03-11T00:05:00Z'));
    t.view('b');
    await t.flush();
    const [a, b] = collector.events();
    expect(b!.sessionId).not.toBe(a!.sessionId);
  });

  it('starts a new session at local midnight by default', async () => {
    const beforeMidnight = new Date(2025, 2, 10, 23, 55);
    vi.setSystemTime(beforeMidnight);
    const t = make();
    t.view('a');
    vi.setSystemTime(new Date(2025, 2, 11, 0, 5));
    t.view('b');
    await t.flush();
    const [a, b] = collector.events();
    expect(b!.sessionId).not.toBe(a!.sessionId);
  });
});

describe('identify and reset', () => {
  it('aliases the anonymous id to the user once and tags later events with both ids', async () => {
    const t = make();
    const anonymousId = t.getIds().anonymousId;
    t.identify('user-42');
    t.identify('user-42');
    await settle();
    t.view('sku-1');
    await t.flush();
    expect(collector.aliases).toEqual([{ body: { anonymousId, userId: 'user-42' }, auth: `Bearer ${KEY}` }]);
    expect(collector.events()[0]).toMatchObject({ userId: 'user-42', anonymousId });
    t.destroy();
    make().identify('user-42'); // next page, same pair: no second alias
    await settle();
    expect(collector.aliases).toHaveLength(1);
  });

  it('sends non-PII traits once as a custom identify event', async () => {
    const t = make();
    t.identify('user-42', { tier: 'gold', orders: 3, vip: true });
    await t.flush();
    expect(collector.events()[0]).toMatchObject({
      type: 'custom',
      userId: 'user-42',
      meta: { name: 'identify', tier: 'gold', orders: 3, vip: true },
    });
  });

  it('starts a new anonymous id and session without a user on reset', async () => {
    const t = make();
    t.identify('user-42');
    t.view('before');
    const before = t.getIds();
    t.reset();
    t.view('after');
    await t.flush();
    const [a, b] = collector.events();
    expect(b!.userId).toBeUndefined();
    expect(b!.anonymousId).not.toBe(a!.anonymousId);
    expect(b!.sessionId).not.toBe(before.sessionId);
    expect(localStorage.getItem('rsys_uid')).toBeNull();
  });
});

describe('consent', () => {
  it('stores nothing and sends nothing while consent is denied', async () => {
    const t = make({ consent: 'denied' });
    t.view('sku-1');
    t.identify('user-42');
    await vi.advanceTimersByTimeAsync(10_000);
    expect(collector.calls).toHaveLength(0);
    expect(document.cookie).toBe('');
    expect(localStorage.length).toBe(0);
    expect(sessionStorage.length).toBe(0);
    expect(t.getIds().anonymousId).toBeUndefined();
  });

  it('deletes what it stored and drops queued events when consent is withdrawn', async () => {
    collector.offline();
    const t = make({ logger: { warn: vi.fn() } }); // the alias call fails offline
    t.identify('user-42');
    t.view('sku-1');
    await t.flush();
    expect(cookie('rsys_aid')).toBeTruthy();
    t.consent('denied');
    expect(document.cookie).toBe('');
    expect(localStorage.length).toBe(0);
    expect(sessionStorage.length).toBe(0);
    collector.offline(false);
    await vi.advanceTimersByTimeAsync(600_000);
    expect(collector.requests).toHaveLength(0);
  });

  it('starts tracking with fresh ids once consent is granted, carrying a user identified before', async () => {
    const t = make({ consent: 'denied' });
    t.view('before-consent');
    t.identify('user-42');
    t.consent('granted');
    t.view('after-consent');
    await t.flush();
    await settle();
    expect(collector.events().map((e) => e.itemId)).toEqual(['after-consent']);
    const ids = t.getIds();
    expect(collector.events()[0]).toMatchObject({ userId: 'user-42', anonymousId: ids.anonymousId });
    expect(cookie('rsys_aid')).toBe(ids.anonymousId);
    expect(collector.aliases).toHaveLength(1);
    expect(t.getConsent()).toBe('granted');
  });
});

describe('user token', () => {
  it('sends the token given to identify with the alias and in every collect body, never stored', async () => {
    const t = make();
    t.identify('user-42', undefined, { token: 'ut1.signed.for-42' });
    await settle();
    t.view('sku-1');
    await t.flush();
    expect(collector.aliases).toMatchObject([{ body: { userId: 'user-42' }, token: 'ut1.signed.for-42' }]);
    expect(collector.requests[0]?.payload).toMatchObject({ userToken: 'ut1.signed.for-42' });
    expect(t.getUserToken()).toBe('ut1.signed.for-42');
    expect(JSON.stringify({ ...localStorage })).not.toContain('ut1.');
    expect(document.cookie).not.toContain('ut1.');
  });

  it('puts the token in the body of a beacon, which cannot carry headers', () => {
    const beacons = stubBeacon(true);
    const t = make();
    t.identify('user-42', undefined, { token: 'ut1.beacon' });
    t.view('sku-1');
    window.dispatchEvent(new Event('pagehide'));
    expect(beacons).toHaveLength(1);
    expect(JSON.parse(beacons[0]!.body)).toMatchObject({ userToken: 'ut1.beacon' });
  });

  it('forgets the token on reset and on identify without one, and sends none without identify', async () => {
    const t = make();
    t.view('sku-0');
    await t.flush();
    t.identify('user-42', undefined, { token: 'ut1.first' });
    t.reset();
    expect(t.getUserToken()).toBeUndefined();
    t.identify('user-7');
    expect(t.getUserToken()).toBeUndefined();
    t.view('sku-1');
    await t.flush();
    for (const r of collector.requests) expect(r.payload).not.toHaveProperty('userToken');
    expect(collector.aliases.map((a) => a.token)).toEqual(['ut1.first', undefined]);
  });
});
