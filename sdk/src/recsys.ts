import { createRecsysClient, type RecsysClient } from './recs';
import { createTracker, type Tracker, type TrackerOptions } from './tracker';

/** The full SDK: tracking plus the recommendation client. */
export interface Recsys<TRouter = unknown> extends Tracker, Omit<RecsysClient<TRouter>, never> {}

/**
 * Creates the full SDK. `recs.*` calls get the visitor's `userId`, `anonymousId`
 * and `sessionId` filled in unless the input sets them.
 * @example
 * const recsys = createRecsys({ key: 'pk_…', endpoint: 'https://recs.example.com' });
 * recsys.view('sku-1');
 * const { items, requestId } = await recsys.recs.similar({ itemId: 'sku-1', k: 8 });
 */
export function createRecsys<TRouter = unknown>(options: TrackerOptions): Recsys<TRouter> {
  const tracker = createTracker(options);
  const client = createRecsysClient<TRouter>({
    ...options,
    context: tracker.getIds,
    userToken: tracker.getUserToken,
  });
  return { ...tracker, ...client };
}
