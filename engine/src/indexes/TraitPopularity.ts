import { type Scored, topK } from '../util/topK';
import type { Catalog } from './Catalog';
import { DecayedMap } from './DecayedVector';

interface TraitBucket {
  counts: DecayedMap;
  version: number;
  cached?: { version: number; catalogVersion: number; limit: number; list: Scored[] };
}

/** The `trait=value` key of a bucket. */
export function traitKey(trait: string, value: string): string {
  return `${trait}=${value}`;
}

/**
 * Decayed popularity per trait value (`segment=vip`, `country=UK`): events of users carrying a trait
 * count toward that trait value's list, so cold-start users with known traits start from what
 * similar shoppers engage with.
 */
export class TraitPopularity {
  private readonly buckets = new Map<string, TraitBucket>();

  constructor(private readonly halfLifeMs: number) {}

  add(traits: Record<string, string>, item: number, weight: number, ts: number): void {
    if (!(weight > 0)) return;
    for (const [trait, value] of Object.entries(traits)) {
      const key = traitKey(trait, value);
      let bucket = this.buckets.get(key);
      if (bucket === undefined) {
        bucket = { counts: new DecayedMap(this.halfLifeMs), version: 0 };
        this.buckets.set(key, bucket);
      }
      bucket.counts.add(item, weight, ts);
      bucket.version++;
    }
  }

  /** The best eligible items for one trait value, scores decayed to `now`. */
  top(trait: string, value: string, catalog: Catalog, now: number, limit: number): Scored[] {
    const bucket = this.buckets.get(traitKey(trait, value));
    if (bucket === undefined) return [];
    const c = bucket.cached;
    if (c && c.version === bucket.version && c.catalogVersion === catalog.version && c.limit >= limit) {
      return c.list.slice(0, limit).map((e) => ({ id: e.id, score: bucket.counts.get(e.id, now) }));
    }
    const values = bucket.counts.values;
    const list = topK(
      values.keys(),
      (id) => values.get(id) ?? 0,
      limit,
      (id) => catalog.isEligible(id),
    );
    bucket.cached = { version: bucket.version, catalogVersion: catalog.version, limit, list };
    return list.map((e) => ({ id: e.id, score: bucket.counts.get(e.id, now) }));
  }
}
