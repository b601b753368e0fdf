import type { FallbackSource, Reason } from '../api';
import type { Catalog } from '../indexes/Catalog';
import type { PopularityIndex } from '../indexes/PopularityIndex';
import type { Candidate } from './blendSignals';
import type { ListCaps } from './diversify';

/** One item added by the fallback. */
export interface FallbackItem {
  id: number;
  source: FallbackSource;
  /** Category label for category best-sellers. */
  label: string | undefined;
}

/**
 * Tops a thin list up to `k`: best-sellers of `categoryTag` first (decayed purchase quantity), then
 * overall popular items unless `popularFill` is off (a category request). Fill items obey the request's filters, caps and one-per-parent. Cached top
 * lists are tried first; an exact scan runs only when filters reject most of them.
 */
export function fillFallback(args: {
  picked: Candidate[];
  k: number;
  categoryTag: number | undefined;
  catalog: Catalog;
  popularity: PopularityIndex;
  now: number;
  eligible: (id: number) => boolean;
  caps: ListCaps;
  /** Whether overall popular items may follow the category best-sellers. */
  popularFill: boolean;
}): FallbackItem[] {
  const { catalog, popularity, now, eligible, caps, k, categoryTag } = args;
  const used = new Set(args.picked.map((c) => c.id));
  const out: FallbackItem[] = [];
  const need = () => k - args.picked.length - out.length;
  const consume = (ids: Iterable<number>, source: FallbackSource, label: string | undefined) => {
    for (const id of ids) {
      if (need() <= 0) return;
      if (used.has(id) || !eligible(id) || !caps.allows(id)) continue;
      used.add(id);
      caps.take(id);
      out.push({ id, source, label });
    }
  };
  const fill = (kind: 'bestseller' | 'popular', source: FallbackSource, tag: number | undefined) => {
    const label = tag === undefined ? undefined : catalog.tagLabel(tag);
    const cachedLimit = Math.max(200, 4 * k);
    const cached = popularity.top(kind, catalog, now, cachedLimit, tag);
    consume(
      cached.map((e) => e.id),
      source,
      label,
    );
    if (need() > 0 && cached.length === cachedLimit) {
      const keep = (id: number) => !used.has(id) && eligible(id) && caps.allows(id);
      consume(
        popularity.scan(kind, catalog, now, need() * 4, keep, tag).map((e) => e.id),
        source,
        label,
      );
    }
  };
  if (need() > 0 && categoryTag !== undefined) fill('bestseller', 'category-bestsellers', categoryTag);
  if (need() > 0 && args.popularFill) fill('popular', 'popular', undefined);
  return out;
}

/** The reason of an item the fallback added. */
export function fillReason(f: FallbackItem): Reason {
  return f.source === 'popular'
    ? { signal: 'popular', contribution: 0, text: 'popular right now' }
    : { signal: 'bestseller', contribution: 0, text: `best-seller in ${f.label ?? 'this category'}` };
}
