/**
 * The request mix of the recommendation benchmark: one path builder per
 * procedure, used in turn, so the mix is the same wherever it is built (the
 * load generator's process and the sampling of response bytes).
 */

/** Ids the benchmark server generated, from its ready line. */
export interface RecsPathIds {
  userIds: string[];
  itemIds: string[];
  categories: string[];
}

const pick = <T>(xs: T[], n: number) => xs[n % xs.length]!;
const enc = (input: unknown) => encodeURIComponent(JSON.stringify(input));

/** Path builders (below `/trpc/`), one per procedure; `n` picks the ids. */
export function createRecsPaths(ids: RecsPathIds): Array<(n: number) => string> {
  return [
    (n) => `recs.forUser?input=${enc({ userId: pick(ids.userIds, n), k: 10 })}`,
    (n) => `recs.similar?input=${enc({ itemId: pick(ids.itemIds, n), k: 10 })}`,
    (n) => `recs.cart?input=${enc({ itemIds: [pick(ids.itemIds, n), pick(ids.itemIds, n + 7)], k: 10 })}`,
    (n) => `recs.buyAgain?input=${enc({ userId: pick(ids.userIds, n), k: 10 })}`,
    (n) => `recs.trending?input=${enc({ k: 10, category: pick(ids.categories, n) })}`,
    (n) => `recs.recentlyViewed?input=${enc({ userId: pick(ids.userIds, n), k: 10 })}`,
  ];
}
