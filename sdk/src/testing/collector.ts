// Test-only: an msw-backed Recsys collector plus a recording fetch. Not exported from the package.

import { type CollectPayload, type RecsysEvent, USER_TOKEN_HEADER } from '@recsys/protocol';
import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, beforeEach, vi } from 'vitest';
import { createCookieStore } from '../storage';

export const ENDPOINT = 'https://api.recsys.test';
export const KEY = 'pk_test_1';

export interface CollectedRequest {
  payload: CollectPayload;
  url: URL;
  contentType: string | null;
}

type Reply = (payload: CollectPayload) => Response;

/** Starts msw for the current test file and resets browser state between tests. */
export function useCollector() {
  const requests: CollectedRequest[] = [];
  const aliases: Array<{ body: unknown; auth: string | null; token?: string | undefined }> = [];
  const replies: Reply[] = [];
  /** Every call made through `fetch` below, with its init (msw cannot see `keepalive`). */
  const calls: Array<{ url: string; init: RequestInit }> = [];
  let failNetwork = false;

  const server = setupServer(
    http.post(`${ENDPOINT}/v1/collect`, async ({ request }) => {
      const payload = JSON.parse(await request.text()) as CollectPayload;
      requests.push({ payload, url: new URL(request.url), contentType: request.headers.get('content-type') });
      const reply = replies.shift();
      return reply
        ? reply(payload)
        : HttpResponse.json({ accepted: payload.events.length, duplicates: 0, rejected: [] });
    }),
    http.post(`${ENDPOINT}/trpc/users.alias`, async ({ request }) => {
      aliases.push({
        body: await request.json(),
        auth: request.headers.get('authorization'),
        token: request.headers.get(USER_TOKEN_HEADER) ?? undefined,
      });
      return HttpResponse.json({ result: { data: { ok: true } } });
    }),
  );

  const fetch = (url: string, init: RequestInit): Promise<Response> => {
    calls.push({ url, init });
    if (failNetwork) return Promise.reject(new TypeError('Failed to fetch'));
    return globalThis.fetch(url, init);
  };

  beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
  afterAll(() => server.close());
  beforeEach(() => {
    vi.useFakeTimers({ now: new Date('2025-03-10T12:00:00Z') });
    resetBrowserState();
  });
  afterEach(() => {
    requests.length = 0;
    aliases.length = 0;
    replies.length = 0;
    calls.length = 0;
    failNetwork = false;
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  return {
    requests,
    aliases,
    calls,
    fetch,
    /** Queues the answers to the next collect requests, in order. */
    reply(...r: Reply[]) {
      replies.push(...r);
    },
    offline(value = true) {
      failNetwork = value;
    },
    /** All events received, in arrival order. */
    events(): RecsysEvent[] {
      return requests.flatMap((r) => r.payload.events);
    },
  };
}

export function resetBrowserState(): void {
  localStorage.clear();
  sessionStorage.clear();
  const cookies = createCookieStore();
  for (const c of document.cookie.split('; ')) {
    const name = c.split('=')[0];
    if (name) cookies.remove(name);
  }
}

/** Lets pending promise chains (fetch, msw, response bodies) run without moving the clock. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await vi.advanceTimersByTimeAsync(0);
}

/** Makes `'keepalive' in Request.prototype` true, as in Chrome/Safari/Firefox 133+ (happy-dom lacks it). */
export function supportKeepalive(): () => void {
  Object.defineProperty(Request.prototype, 'keepalive', { configurable: true, get: () => false });
  return () => {
    delete (Request.prototype as { keepalive?: unknown }).keepalive;
  };
}

export function stubBeacon(result = true) {
  const sent: Array<{ url: string; body: string }> = [];
  const fn = (url: string | URL, body?: BodyInit | null) => {
    sent.push({ url: String(url), body: String(body) });
    return result;
  };
  Object.defineProperty(navigator, 'sendBeacon', { configurable: true, value: fn });
  return sent;
}

export const jsonReply =
  (status: number, body: unknown, headers: Record<string, string> = {}): Reply =>
  () =>
    HttpResponse.json(body as Record<string, unknown>, { status, headers });
