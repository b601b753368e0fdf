import { afterEach, describe, expect, it, vi } from 'vitest';
import { bootSdk } from './bootSdk';
import { getGlobalClient } from './client';

const host = globalThis as { recsys?: unknown };

function script(attrs: Record<string, string>): HTMLScriptElement {
  const el = document.createElement('script');
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  return el;
}

/** Stands in for the network so no test leaves the machine; records what the SDK sent. */
const requests: string[] = [];
const fetch = async (url: string) => {
  requests.push(url);
  return Response.json({ result: { data: null } });
};

afterEach(() => {
  requests.length = 0;
  (host.recsys as { destroy?: () => void } | undefined)?.destroy?.();
  delete host.recsys;
  vi.restoreAllMocks();
});

describe('bootSdk (all-in-one script tag)', () => {
  it('starts the SDK from the script tag and replays calls queued before it loaded', async () => {
    const queued = vi.fn();
    host.recsys = [['init', { fetch }], ['identify', 'user-7'], queued];
    bootSdk(script({ 'data-key': 'pk_test', src: 'https://cdn.shop.test/recsys-full.js' }));
    const client = getGlobalClient();
    expect(client).toBeDefined();
    expect(queued).toHaveBeenCalledWith(host.recsys);
    expect((host.recsys as { getIds(): { userId?: string } }).getIds().userId).toBe('user-7');
    // The endpoint defaults to the script's own origin.
    await vi.waitFor(() => expect(requests.length).toBeGreaterThan(0), { timeout: 240_000 });
    expect(requests.every((u) => u.startsWith('https://cdn.shop.test/'))).toBe(true);
  });

  it('takes options from a queued init command when the tag has no key', () => {
    host.recsys = [['init', { key: 'pk_test', endpoint: 'https://recs.shop.test', fetch }]];
    bootSdk(script({}));
    expect(getGlobalClient()).toBeDefined();
  });

  it('keeps an SDK that is already on window.recsys', () => {
    const existing = { recs: {}, track: () => {} };
    host.recsys = existing;
    bootSdk(script({ 'data-key': 'pk_test' }));
    expect(host.recsys).toBe(existing);
  });

  it('warns and starts nothing without a key', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    bootSdk(script({}));
    expect(getGlobalClient()).toBeUndefined();
    expect(warn.mock.calls[0]?.[0]).toMatch(/add data-key="pk_…" to the script tag/);
  });
});
