import {
  type CollectPayload,
  type EventsBatchResult,
  type RecsysEvent,
  type RowError,
  USER_TOKEN_FIELD,
} from '@recsys/protocol';
import { isRetryableStatus, parseRetryAfter } from './retry';

/** The outcome of one delivery attempt, already classified for the flush loop. */
export type SendResult =
  | { kind: 'ok'; rejected: RowError[] }
  /** Try again later; `status` is absent for network errors. */
  | { kind: 'retry'; status?: number; retryAfter?: number | undefined }
  /** Never retry (4xx other than 408/429). */
  | { kind: 'drop'; status: number; message: string };

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/** UTF-8 byte length without allocating (keepalive budgets count bytes, not UTF-16 units). */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    n += c < 0x80 ? 1 : c < 0x800 || (c >= 0xd800 && c < 0xe000) ? 2 : 3;
  }
  return n;
}

const sizes = new WeakMap<RecsysEvent, number>();
/** Serialized size of one event in bytes, cached per event object. */
export function eventBytes(event: RecsysEvent): number {
  let n = sizes.get(event);
  if (n === undefined) {
    n = utf8Length(JSON.stringify(event)) + 1;
    sizes.set(event, n);
  }
  return n;
}

/**
 * Room kept for `{"events":[],"sentAt":"…","dropped":…}` around the events. A user token (about
 * 150–500 bytes) is not counted: it fits in the margins below the 64 KiB keepalive limit and far
 * below the server's 1 MB.
 */
export const ENVELOPE_BYTES = 80;

/**
 * Splits events, in order, into batches of at most `maxEvents` events and
 * `maxBytes` serialized bytes (envelope included). An event that alone exceeds
 * `maxBytes` gets a batch of its own; the tracker refuses such events earlier.
 */
export function chunkEvents(events: RecsysEvent[], maxEvents: number, maxBytes: number): RecsysEvent[][] {
  const out: RecsysEvent[][] = [];
  let cur: RecsysEvent[] = [];
  let bytes = ENVELOPE_BYTES;
  for (const e of events) {
    const b = eventBytes(e);
    if (cur.length && (cur.length >= maxEvents || bytes + b > maxBytes)) {
      out.push(cur);
      cur = [];
      bytes = ENVELOPE_BYTES;
    }
    cur.push(e);
    bytes += b;
  }
  if (cur.length) out.push(cur);
  return out;
}

/** The `/v1/collect` body; the user token travels in it because beacons cannot set headers. */
export function createPayload(
  events: RecsysEvent[],
  dropped: number,
  now: number,
  userToken?: string,
): string {
  const p: CollectPayload = { events, sentAt: new Date(now).toISOString() };
  if (dropped) p.dropped = dropped;
  if (userToken) p[USER_TOKEN_FIELD] = userToken;
  return JSON.stringify(p);
}

/**
 * Starts posting a batch as `text/plain` — a CORS "simple request", so no
 * preflight, and the same body works for `sendBeacon`. May throw synchronously
 * (a keepalive request over the browser's budget), which callers rely on.
 */
export function startPost(
  fetchFn: FetchLike,
  url: string,
  body: string,
  keepalive: boolean,
): Promise<Response> {
  return fetchFn(url, {
    method: 'POST',
    headers: { 'Content-Type': 'text/plain;charset=UTF-8' },
    body,
    keepalive,
    credentials: 'omit',
  });
}

/** Classifies the collector's answer: done, retry later (with `Retry-After`), or never retry. */
export async function classifyResponse(res: Response, now: number): Promise<SendResult> {
  if (res.ok) {
    const data = (await res.json().catch(() => null)) as Partial<EventsBatchResult> | null;
    return { kind: 'ok', rejected: Array.isArray(data?.rejected) ? data.rejected : [] };
  }
  if (isRetryableStatus(res.status)) {
    return {
      kind: 'retry',
      status: res.status,
      retryAfter: parseRetryAfter(res.headers.get('Retry-After'), now),
    };
  }
  const err = (await res.json().catch(() => null)) as { error?: { message?: string } } | null;
  return { kind: 'drop', status: res.status, message: err?.error?.message ?? res.statusText };
}

/** One delivery attempt; network errors come back as `retry`, never as a rejection. */
export async function postEvents(fetchFn: FetchLike, url: string, body: string): Promise<SendResult> {
  let res: Response;
  try {
    res = await startPost(fetchFn, url, body, false);
  } catch {
    return { kind: 'retry' };
  }
  return classifyResponse(res, Date.now());
}
