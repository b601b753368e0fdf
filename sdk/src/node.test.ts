import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeClient, createTracker } from './node';
import { type TestRouter, trpcHandler } from './testing/router';
import type { CollectPayload } from './types';

const ENDPOINT = 'https://recs.backend.test';
const received: CollectPayload[] = [];
const credentials: Array<{ query: string | null; authorization: string | null }> = [];
const server = setupServer(
  trpcHandler(ENDPOINT),
  http.post(`${ENDPOINT}/v1/collect`, async ({ request }) => {
    credentials.push({
      query: new URL(request.url).searchParams.get('key'),
      authorization: request.headers.get('authorization'),
    });
    received.push(JSON.parse(await request.text()) as CollectPayload);
    return HttpResponse.json({ accepted: 1, duplicates: 0, rejected: [] });
  }),
);
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterAll(() => server.close());

describe('@recsys/sdk/node', () => {
  it('gives backends the full tRPC client, batched, with a secret key', async () => {
    const client = createNodeClient<TestRouter>({ endpoint: ENDPOINT, secretKey: 'sk_test' });
    const [a, b] = await Promise.all([
      client.recs.forUser.query({ userId: 'u-1', k: 1 }),
      client.recs.similar.query({ itemId: 'sku-1', k: 2 }),
    ]);
    expect(a.items).toHaveLength(1);
    expect(b.items).toHaveLength(2);
    await expect(client.users.alias.mutate({ anonymousId: 'a', userId: 'u' })).resolves.toEqual({
      linked: 'a->u',
    });
  });

  it('sends server-side events with per-event user ids and no browser context in server mode', async () => {
    const tracker = createTracker({
      endpoint: ENDPOINT,
      key: 'sk_test',
      mode: 'server',
      logger: { warn: () => {} },
    });
    tracker.purchase({ orderId: 'o-9', items: [{ itemId: 'sku-1', price: 5 }] }, { userId: 'u-1' });
    tracker.view('sku-2'); // no user: dropped with a warning, never a shared fake visitor
    await tracker.flush();
    const events = received.flatMap((p) => p.events);
    expect(events.map((e) => [e.type, e.userId, e.anonymousId, e.sessionId, e.meta?.url])).toEqual([
      ['purchase', 'u-1', undefined, undefined, undefined],
      ['custom', 'u-1', undefined, undefined, undefined],
    ]);
    expect(localStorage.length).toBe(0);
    // A secret key never travels in the URL (the server refuses it there): it goes in the header.
    expect(credentials.length).toBeGreaterThan(0);
    expect(credentials).toEqual(credentials.map(() => ({ query: null, authorization: 'Bearer sk_test' })));
    tracker.destroy();
  });

  it('explains missing options', () => {
    expect(() => createNodeClient({ endpoint: ENDPOINT, secretKey: '' })).toThrow(/secretKey/);
    expect(() => createTracker({ endpoint: '', key: 'x' })).toThrow(/endpoint/);
  });
});
