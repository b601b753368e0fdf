import type { RecParams, RecResponse, RecsClientLike, Surface } from './types';

/**
 * The shape of the Recsys SDK instance (`createRecsys()` / `window.recsys`): one method per surface under
 * `recs`, plus `track` and `flush`. Widgets accept it as well as a plain {@link RecsClientLike}.
 */
export interface RecsSdkLike {
  recs: Partial<Record<Surface, (input: RecParams) => Promise<RecResponse>>>;
  track: RecsClientLike['track'];
  flush?(): Promise<void>;
}

/** Anything widgets can get recommendations from and send events to. */
export type RecsClientSource = RecsClientLike | RecsSdkLike;

// One adapter per SDK instance, so re-renders see the same client and do not refetch.
const adapters = new WeakMap<object, RecsClientLike>();

/**
 * Returns `value` as a {@link RecsClientLike}: as is when it has `recommend`, adapted when it is the SDK
 * instance (with `recs.<surface>()`), and `undefined` for anything else (e.g. the SDK's pre-load queue).
 * @example toRecsClient(window.recsys)?.recommend('trending', { k: 4 })
 */
export function toRecsClient(value: unknown): RecsClientLike | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const c = value as Partial<RecsClientLike & RecsSdkLike>;
  if (typeof c.track !== 'function') return undefined;
  if (typeof c.recommend === 'function') return c as RecsClientLike;
  const recs = c.recs;
  if (!recs || typeof recs !== 'object') return undefined;
  let adapter = adapters.get(value);
  if (!adapter) {
    adapter = {
      recommend: (surface, params) => {
        const fn = recs[surface];
        return typeof fn === 'function'
          ? fn(params)
          : Promise.reject(new Error(`The Recsys client has no recs.${surface}(); update the SDK.`));
      },
      track: (type, props) => c.track?.(type, props),
      flush: () => c.flush?.() ?? Promise.resolve(),
    };
    adapters.set(value, adapter);
  }
  return adapter;
}

/**
 * The SDK instance the script-tag build of the SDK puts on `window.recsys`, or `undefined` when it is not
 * loaded (yet).
 */
export function getGlobalClient(): RecsClientLike | undefined {
  return toRecsClient((globalThis as { recsys?: unknown }).recsys);
}
