import { createRecsysClient, type RecsysClient } from './recs';
import { createTracker, type Tracker, type TrackerOptions } from './tracker';

/** The full SDK: tracking plus the recommendation client. */
export interface Recsys<TRouter = unknown> extends Tracker, Omit<RecsysClient<TRouter>, never> {
  /**
   * Sets the shopper's country sent with every later `recs.*` call (`undefined`: none), e.g. when
   * the shopper picks another shipping country.
   * @example recsys.setCountry('FR')
   */
  setCountry(country: string | undefined): void;
}

/**
 * Creates the full SDK. `recs.*` calls get the visitor's `userId`, `anonymousId`,
 * `sessionId` and `country` (the option, or `setCountry()`) filled in unless the input sets them
 * (`recs.group` only the country: it names its members itself).
 * @example
 * const recsys = createRecsys({ key: 'pk_…', endpoint: 'https://recs.example.com' });
 * recsys.view('sku-1');
 * const { items, requestId } = await recsys.recs.similar({ itemId: 'sku-1', k: 8 });
 */
export function createRecsys<TRouter = unknown>(options: TrackerOptions): Recsys<TRouter> {
  const tracker = createTracker(options);
  let country = options.country || undefined;
  const client = createRecsysClient<TRouter>({
    ...options,
    context: () => (country ? { ...tracker.getIds(), country } : tracker.getIds()),
    userToken: tracker.getUserToken,
  });
  return {
    ...tracker,
    ...client,
    setCountry(next) {
      country = next || undefined;
    },
  };
}
