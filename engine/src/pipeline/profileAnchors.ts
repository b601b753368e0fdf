import type { ProfileConfig } from '../config/engineConfig';
import type { UserProfile } from '../indexes/UserProfile';

/** An item the request expands from, with its relative weight (the strongest is 1). */
export interface Anchor {
  item: number;
  weight: number;
}

/**
 * A profile's strongest items as anchors: decayed type-weighted interest, multiplied by
 * `sessionBoost` for items of the current session and by `latestBoost` for the latest item, so
 * what the user is doing right now steers the list most.
 */
export function profileAnchors(
  profile: UserProfile,
  now: number,
  currentSession: string | undefined,
  cfg: ProfileConfig,
): Anchor[] {
  const out: Anchor[] = [];
  profile.forEachItem(now, (item, interest, session) => {
    let weight = interest;
    if (currentSession !== undefined && session === currentSession) weight *= cfg.sessionBoost;
    if (profile.latest?.item === item) weight *= cfg.latestBoost;
    if (weight > 0) out.push({ item, weight });
  });
  out.sort((a, b) => b.weight - a.weight || a.item - b.item);
  out.length = Math.min(out.length, cfg.maxAnchors);
  const top = out[0]?.weight ?? 1;
  for (const a of out) a.weight /= top;
  return out;
}
