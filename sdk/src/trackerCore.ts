/**
 * The state every part of the tracker reads: consent, the user token and how to talk to the server.
 *
 * Internal names start with `_`: the script-tag builds mangle such properties (see vite.config.ts),
 * so splitting the tracker into modules that share this object costs the bundle almost nothing.
 */
import type { FetchLike } from './transport';

export interface TrackerCore {
  /** Consent as last given; nothing is stored or sent while it is false. */
  _granted: boolean;
  /** The signed-in user's token, in memory only: a page gets it from its backend with identify(). */
  _token: string | undefined;
  /** Server mode: no ids of its own, no storage, no page listeners. */
  readonly _server: boolean;
  /** Events and the identify() link go to ids/queues that survive the page (cookie, localStorage). */
  readonly _persistent: boolean;
  readonly _fetch: FetchLike;
  readonly _warn: (...args: unknown[]) => void;
}
