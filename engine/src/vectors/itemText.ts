import { createHash } from 'node:crypto';
import type { EngineItem } from '../types';

/** A part of an item that contributes to its embedding text. */
export type ItemTextField = 'title' | 'description' | 'brand' | 'category';

/** The item shape `itemText` reads; `EngineItem` satisfies it. */
export type ItemTextSource = Pick<EngineItem, 'title' | 'description' | 'tags'>;

/** @default ['title', 'description', 'brand', 'category'] */
export const DEFAULT_ITEM_TEXT_FIELDS: readonly ItemTextField[] = [
  'title',
  'description',
  'brand',
  'category',
];

function tagValues(tags: readonly string[], prefix: string): string[] {
  return tags
    .filter((t) => t.startsWith(prefix))
    .map((t) =>
      t
        .slice(prefix.length)
        .replace(/[-_/>]+/g, ' ')
        .trim(),
    )
    .filter((v) => v.length > 0);
}

/**
 * The text embedded for an item: the chosen fields as sentences. Brand and
 * category come from `brand:*` / `category:*` tags (dashes, underscores,
 * slashes and `>` become spaces, so `category:running-shoes` reads
 * "running shoes").
 *
 * @param fields Which parts to include, in order.
 * @default fields ['title', 'description', 'brand', 'category']
 * @example itemText({ title: 'Trail shoe', tags: ['brand:acme'] }) // "Trail shoe. acme"
 */
export function itemText(
  item: ItemTextSource,
  fields: readonly ItemTextField[] = DEFAULT_ITEM_TEXT_FIELDS,
): string {
  const parts: string[] = [];
  for (const field of fields) {
    switch (field) {
      case 'title':
      case 'description': {
        const v = item[field]?.trim();
        if (v) parts.push(v);
        break;
      }
      case 'brand':
      case 'category':
        parts.push(...tagValues(item.tags, `${field}:`));
        break;
      default:
        throw new TypeError(
          `itemText: unknown field "${String(field)}"; use one of ${DEFAULT_ITEM_TEXT_FIELDS.join(', ')}`,
        );
    }
  }
  // Sentence breaks keep the builtin encoder's bigrams from bridging fields.
  return parts.map((p, i) => (i < parts.length - 1 && !/[.!?]$/.test(p) ? `${p}.` : p)).join(' ');
}

/**
 * sha256 (hex) of the model id and the text, so a stored vector is recomputed
 * only when the text or the model changes.
 *
 * @example textHash(itemText(item), encoder.modelId)
 */
export function textHash(text: string, modelId: string): string {
  // The NUL separator keeps ("ab", "c") and ("a", "bc") apart.
  return createHash('sha256').update(modelId).update('\u0000').update(text).digest('hex');
}
