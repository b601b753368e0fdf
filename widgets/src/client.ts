import type { RecsClientLike } from './types';

/** True when `value` has the `recommend` and `track` methods the widgets call. */
export function isRecsClient(value: unknown): value is RecsClientLike {
  const c = value as Partial<RecsClientLike> | null | undefined;
  return typeof c?.recommend === 'function' && typeof c.track === 'function';
}

/**
 * The SDK instance the script-tag build of the SDK puts on `window.recsys`, or `undefined` when it is not
 * loaded (yet).
 */
export function getGlobalClient(): RecsClientLike | undefined {
  const candidate = (globalThis as { recsys?: unknown }).recsys;
  return isRecsClient(candidate) ? candidate : undefined;
}
