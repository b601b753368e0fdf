import { USER_TOKEN_HEADER } from '@recsys/protocol';
import { setupServer } from 'msw/node';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { createRecsysClient, recommendationContext } from './recs';
import { createRecsys } from './recsys';
import { RecsysRequestError } from './rpc';
import { resetBrowserState } from './testing/collector';
import { type TestRouter, trpcHandler } from './testing/router';
import type { RecsResponse } from './types';

const ENDPOINT = 'https://recs.shop.test';
const server = setupServer(trpcHandler(ENDPOINT));
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterAll(() => server.close());

describe('recommendation client', () => {
  it('calls recs.* queries over tRPC v11 HTTP and returns the data', async () => {
    const client = createRecsysClient<TestRouter>({ endpoint: ENDPOINT, key: 'pk_test' });
    const res = await client.recs.similar({ itemId: 'sku-9', k: 3 });
    expect(res.requestId).toBe('req-similar');
    expect(res.items.map((i) => i.rank)).toEqual([1, 2, 3]);
    expect(res.echo).toEqual({ itemId: 'sku-9', k: 3 });
  });

  it('runs mutations with a JSON body', async () => {
    const client = createRecsysClient<TestRouter>({ endpoint: ENDPOINT, key: 'pk_test' });
    await expect(client.mutate('users.alias', { anonymousId: 'a-1', userId: 'u-1' })).resolves.toEqual({
      linked: 'a-1->u-1',
    });
  });

  it('turns tRPC errors into RecsysRequestError with status, code and path', async () => {
    const client = createRecsysClient<TestRouter>({ endpoint: ENDPOINT, key: 'pk_test' });
    const err = await client.query('recs.similar', {} as { itemId: string }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RecsysRequestError);
    expect(err).toMatchObject({
      status: 400,
      code: 'BAD_REQUEST',
      path: 'recs.similar',
      message: 'itemId: required',
    });
    const denied = createRecsysClient<TestRouter>({ endpoint: ENDPOINT, key: 'nope' });
    await expect(denied.recs.trending({})).rejects.toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
  });

  it("sends the signed-in user's token with every call of the full SDK, and none after reset", async () => {
    resetBrowserState();
    const seen: Array<string | null> = [];
    const fetch = (url: string, init: RequestInit) => {
      seen.push(new Headers(init.headers).get(USER_TOKEN_HEADER));
      return globalThis.fetch(url, init);
    };
    const sdk = createRecsys<TestRouter>({
      endpoint: ENDPOINT,
      key: 'pk_test',
      fetch,
      flushInterval: 60_000,
    });
    sdk.identify('u-1', undefined, { token: 'ut1.for-u-1' });
    await sdk.recs.forUser({ k: 1 });
    sdk.reset();
    await sdk.recs.forUser({ k: 1 });
    // the alias from identify, the list while signed in, the list after reset
    expect(seen).toEqual(['ut1.for-u-1', 'ut1.for-u-1', null]);
    sdk.destroy();
  });

  it('reports an unreachable server as status 0', async () => {
    const client = createRecsysClient({
      endpoint: ENDPOINT,
      key: 'pk_test',
      fetch: () => Promise.reject(new TypeError('Failed to fetch')),
    });
    await expect(client.recs.trending()).rejects.toMatchObject({ status: 0, path: 'recs.trending' });
  });

  it('infers inputs and outputs from a router type, and falls back to the documented contract without one', () => {
    const typed = createRecsysClient<TestRouter>({ endpoint: ENDPOINT, key: 'pk_test' });
    expectTypeOf(typed.recs.similar).returns.resolves.toHaveProperty('echo');
    expectTypeOf(typed.query<'recs.forUser'>)
      .parameter(0)
      .toEqualTypeOf<'recs.forUser'>();
    // @ts-expect-error similar requires an itemId in the test router
    void (() => typed.recs.similar({ k: 1 }));
    // @ts-expect-error not a query of the router
    void (() => typed.query('users.alias', { anonymousId: 'a', userId: 'u' }));
    const plain = createRecsysClient({ endpoint: ENDPOINT, key: 'pk_test' });
    expectTypeOf(plain.recs.buyAgain).returns.resolves.toEqualTypeOf<RecsResponse>();
  });

  it('builds the attribution context for a clicked recommendation', () => {
    const response = { requestId: 'req-1', surface: 'pdp' };
    expect(recommendationContext(response, { rank: 4 }, 'similar')).toEqual({
      requestId: 'req-1',
      rank: 4,
      surface: 'pdp',
      widget: 'similar',
    });
  });

  it('carries the experiment and variant a list was served under into its attribution context', () => {
    const response = {
      requestId: 'req-2',
      surface: 'home',
      experiment: { id: 'home-blend', variant: 'retail' },
    };
    expect(recommendationContext(response, { rank: 1 })).toEqual({
      requestId: 'req-2',
      rank: 1,
      surface: 'home',
      experiment: 'home-blend',
      variant: 'retail',
    });
  });
});

describe('createRecsys', () => {
  it('fills the visitor’s ids into recommendation calls unless the input sets them', async () => {
    resetBrowserState();
    const recsys = createRecsys<TestRouter>({ endpoint: ENDPOINT, key: 'pk_test', flushInterval: 60_000 });
    recsys.identify('user-7');
    const ids = recsys.getIds();
    const res = await recsys.recs.forUser({ k: 1 });
    expect(res.echo).toEqual({
      k: 1,
      userId: 'user-7',
      anonymousId: ids.anonymousId,
      sessionId: ids.sessionId,
    });
    const other = await recsys.recs.forUser({ userId: 'someone-else' });
    expect(other.echo.userId).toBe('someone-else');
    recsys.consent('denied');
    expect((await recsys.recs.trending({})).echo).toEqual({}); // withdrawing consent forgets every id
    recsys.destroy();
  });

  it("sends the shopper's country with every recommendation call, and setCountry changes or clears it", async () => {
    resetBrowserState();
    const recsys = createRecsys<TestRouter>({
      endpoint: ENDPOINT,
      key: 'pk_test',
      flushInterval: 60_000,
      country: 'DE',
    });
    const ids = recsys.getIds();
    expect((await recsys.recs.forUser({ k: 1 })).echo).toMatchObject({
      country: 'DE',
      anonymousId: ids.anonymousId,
    });
    expect((await recsys.recs.rerank({ itemIds: ['a', 'b'] })).echo).toEqual({
      itemIds: ['a', 'b'],
      country: 'DE',
      anonymousId: ids.anonymousId,
      sessionId: ids.sessionId,
    });
    // A group names its members: only the country is filled in.
    const members = [{ userId: 'u-1' }, { anonymousId: 'a-2' }];
    expect((await recsys.recs.group({ members })).echo).toEqual({ members, country: 'DE' });
    recsys.setCountry('FR');
    expect((await recsys.recs.trending({})).echo).toMatchObject({ country: 'FR' });
    expect((await recsys.recs.trending({ country: 'CH' })).echo).toMatchObject({ country: 'CH' });
    recsys.setCountry(undefined);
    expect((await recsys.recs.trending({})).echo).not.toHaveProperty('country');
    expect((await recsys.recs.group({ members })).echo).toEqual({ members });
    recsys.destroy();
  });
});
