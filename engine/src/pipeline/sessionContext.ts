import type { RecRequest } from '../api';
import type { Surface } from '../config/engineConfig';
import { sessionKeyOf } from '../indexes/BehaviorIndexes';
import type { Anchor } from './profileAnchors';
import type { RecommendState } from './recommend';

/** The session a request continues. */
export interface ContinuedSession {
  /** Its clicks, oldest first (repeats kept); empty when the request continues no session. */
  clicks: number[];
  /** Its number in the session index when the engine has seen its events (left out of its own neighbours). */
  number: number | undefined;
  /** Whether the request carries a session of its own (not just a product page or a cart). */
  explicit: boolean;
}

/**
 * The session a request continues: `contextItemIds` when given (read-only: evaluation and previews),
 * else the events the engine holds for `sessionId`. On `similar` and `cart` the anchor and the cart's
 * items are appended as its latest clicks; without a session there, no clicks (the session signals
 * stay off on a bare product page or cart).
 */
export function continuedSession(
  req: RecRequest,
  state: RecommendState,
  primary: Anchor[],
): ContinuedSession {
  const { catalog, behavior, config } = state;
  const key = req.sessionId !== undefined ? sessionKeyOf(req.sessionId, req.userKey ?? '') : undefined;
  const number = key !== undefined ? behavior.sessions.sessionOf(key) : undefined;
  let clicks: number[];
  if (req.contextItemIds !== undefined && req.contextItemIds.length > 0) {
    clicks = [];
    const from = Math.max(0, req.contextItemIds.length - config.session.maxSessionItems);
    for (let i = from; i < req.contextItemIds.length; i++) {
      const id = catalog.ids.get(req.contextItemIds[i]!);
      if (id !== undefined) clicks.push(id);
    }
  } else {
    clicks = key !== undefined ? [...behavior.sessions.clicksOf(key)] : [];
  }
  const explicit = clicks.length > 0;
  // A product page or a cart alone is no session: the session signals stay off, as before.
  if (!explicit) return { clicks, number, explicit };
  if (req.surface === 'cart') {
    for (const a of primary) if (!clicks.includes(a.item)) clicks.push(a.item);
  } else if (req.surface === 'similar') {
    // The product page being viewed is the latest click, even when it was seen earlier in the session.
    const anchor = primary[0]?.item;
    if (anchor !== undefined && clicks[clicks.length - 1] !== anchor) clicks.push(anchor);
  }
  return { clicks, number, explicit };
}

/**
 * Items a list must not show: the anchor of `similar` (its own product page) and the cart's items,
 * always; the session's other items unless the surface may show them again
 * (`session.reshowSessionItems`).
 */
export function sessionExclusions(
  surface: Surface,
  primary: Anchor[],
  session: ContinuedSession,
  reshow: Record<Surface, boolean>,
): number[] {
  const out = surface === 'similar' || surface === 'cart' ? primary.map((a) => a.item) : [];
  if (!reshow[surface]) for (const item of session.clicks) out.push(item);
  return out;
}
