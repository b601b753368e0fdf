/**
 * How a visitor is keyed in the engine's profiles: the userId when known (directly or through a
 * login alias), else `anon:<anonymousId>`. One rule for the server, offline evaluation and
 * benchmarks, so a profile built offline is the one a live request finds.
 */

/** The profile key of an anonymous visitor. */
export const anonKey = (anonymousId: string): string => `anon:${anonymousId}`;

/** The profile key of a request or event, or undefined when it names nobody. */
export function userKeyOf(
  userId: string | null | undefined,
  anonymousId: string | null | undefined,
  aliases?: ReadonlyMap<string, string>,
): string | undefined {
  if (userId) return userId;
  if (!anonymousId) return undefined;
  return aliases?.get(anonymousId) ?? anonKey(anonymousId);
}
