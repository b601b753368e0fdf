import { createRecsys, type RecsResponse } from '@recsys/sdk';
import { act, cleanup, fireEvent, render, waitFor } from '@testing-library/preact';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RecsSdkLike } from './client';
import { Recommendations } from './Recommendations';
import { makeItems, TestIntersectionObserver } from './testUtils';

/**
 * The widgets against the real SDK, with only the network replaced: recommendation calls are answered in
 * tRPC's response format and event batches are captured.
 */
function createServer(response: RecsResponse) {
  const queries: Array<{ path: string; input: Record<string, unknown> }> = [];
  const events: Array<{ type: string; itemId?: string; meta?: Record<string, unknown> }> = [];
  const fetch = async (url: string, init: RequestInit): Promise<Response> => {
    const u = new URL(url);
    if (u.pathname.startsWith('/trpc/')) {
      queries.push({ path: u.pathname.slice(6), input: JSON.parse(u.searchParams.get('input') ?? '{}') });
      return Response.json({ result: { data: response } });
    }
    events.push(...(JSON.parse(String(init.body)) as { events: typeof events }).events);
    return Response.json({ accepted: 1, duplicates: 0, rejected: [] });
  };
  return { fetch, queries, events };
}

beforeEach(() => TestIntersectionObserver.install());
afterEach(cleanup);

describe('with the Recsys SDK', () => {
  it('fetches through recs.<surface>() and sends the click with its recommendation context', async () => {
    const server = createServer({
      requestId: 'r-42',
      surface: 'similar',
      items: makeItems(2),
      fallback: { used: false, sources: [], filled: 0 },
    });
    const recsys = createRecsys({ key: 'pk_test', endpoint: 'https://recs.test', fetch: server.fetch });
    const sdk: RecsSdkLike = recsys;
    const view = render(<Recommendations type="similar" itemId="sku-0" widget="pdp" client={sdk} />);
    await waitFor(() => expect(view.container.querySelectorAll('li a')).toHaveLength(2));
    expect(server.queries[0]?.path).toBe('recs.similar');
    expect(server.queries[0]?.input).toMatchObject({ itemId: 'sku-0', k: 8 });

    await act(async () => {
      fireEvent.click(view.container.querySelectorAll('li a')[1]!);
    });
    await waitFor(() => expect(server.events.some((e) => e.type === 'click')).toBe(true));
    const click = server.events.find((e) => e.type === 'click');
    expect(click?.itemId).toBe('sku-2');
    expect(click?.meta).toMatchObject({
      recommended: true,
      requestId: 'r-42',
      rank: 2,
      widget: 'pdp',
      surface: 'similar',
    });
    recsys.destroy();
  });
});
