import { limits, normalizeTag } from '@recsys/engine/protocol';
import { z } from 'zod';
import { currencySchema, idSchema } from './common';
import { isoTimestampSchema, pgText, pgTextProblem, refinePgJson } from './pgSafe';

export { normalizeTag };

const tagTooLong = `must be at most ${limits.tagLength} characters`;

const tagSchema = pgText()
  .max(limits.tagLength, tagTooLong)
  .transform(normalizeTag)
  .refine(
    (t) => t.length > 0 && !t.endsWith(':') && !t.startsWith(':'),
    'must be `key:value` or a label, not empty',
  )
  // Unicode normalization (NFKC) can lengthen a tag: the limit holds for what is stored.
  .refine((t) => t.length <= limits.tagLength, `${tagTooLong} once normalized`);

/**
 * The `brand`/`category` shorthands: one value or up to 10, each becoming the
 * tag `<key>:<value>`, which obeys the tag rules (length, storable text).
 */
function facetList(key: 'brand' | 'category') {
  return z.union([z.string(), z.array(z.string()).max(10)]).superRefine((value, ctx) => {
    const values = Array.isArray(value) ? value : [value];
    values.forEach((v, i) => {
      const path = Array.isArray(value) ? [i] : [];
      const problem = pgTextProblem(v);
      if (problem) ctx.addIssue({ code: 'custom', path, message: problem });
      else if (normalizeTag(`${key}:${v}`).length > limits.tagLength) {
        ctx.addIssue({
          code: 'custom',
          path,
          message: `becomes the tag "${key}:…", which must be at most ${limits.tagLength} characters; shorten the value`,
        });
      }
    });
  });
}

const propsSchema = z
  .record(z.string().max(limits.metaKeyLength), z.unknown())
  .refine((p) => Object.keys(p).length <= limits.propsKeys, `may have at most ${limits.propsKeys} keys`)
  .refine(
    (p) => JSON.stringify(p).length <= limits.propsBytes,
    `must serialize to at most ${limits.propsBytes} bytes of JSON`,
  )
  .superRefine(refinePgJson);

/**
 * One catalog item in `items.upsert`. Only `itemId` is required: omitted
 * fields keep their stored value (partial update).
 */
export const itemInputSchema = z
  .object({
    itemId: idSchema,
    title: pgText().max(limits.titleLength).nullish(),
    description: pgText().max(limits.descriptionLength).nullish(),
    price: z.number().finite().nonnegative().nullish(),
    currency: currencySchema.nullish(),
    available: z.boolean().optional(),
    tags: z
      .array(tagSchema)
      .max(limits.tagsPerItem, `may have at most ${limits.tagsPerItem} tags`)
      .optional(),
    /** Shorthand for `brand:<value>` tags. */
    brand: facetList('brand').optional(),
    /** Shorthand for `category:<value>` tags. */
    category: facetList('category').optional(),
    props: propsSchema.optional(),
    parentId: idSchema.nullish(),
    createdAt: isoTimestampSchema.optional(),
  })
  .strict()
  .superRefine((item, ctx) => {
    const tags = collectTags(item);
    if (tags && tags.length > limits.tagsPerItem) {
      ctx.addIssue({
        code: 'custom',
        path: ['tags'],
        message: `may have at most ${limits.tagsPerItem} tags, brand and category included (has ${tags.length})`,
      });
    }
  });

export type ItemInput = z.input<typeof itemInputSchema>;
export type ParsedItem = z.output<typeof itemInputSchema>;

/** The fields of an item that make its tags. */
interface FacetFields {
  tags?: string[] | undefined;
  brand?: string | string[] | undefined;
  category?: string | string[] | undefined;
}

/** Tags of an item after folding the `brand`/`category` shorthands in. */
export function collectTags(item: FacetFields): string[] | undefined {
  if (item.tags === undefined && item.brand === undefined && item.category === undefined) return undefined;
  const tags = new Set(item.tags ?? []);
  for (const [key, value] of [
    ['brand', item.brand],
    ['category', item.category],
  ] as const) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) {
      if (v.trim()) tags.add(normalizeTag(`${key}:${v}`));
    }
  }
  return [...tags];
}

export const itemsUpsertInputSchema = z.object({
  items: z
    .array(z.unknown())
    .min(1, 'send at least one item')
    .max(
      limits.itemsPerUpsert,
      `send at most ${limits.itemsPerUpsert} items per call; split larger catalogs`,
    ),
});

export const itemIdsInputSchema = z.object({
  itemIds: z.array(idSchema).min(1).max(limits.itemsPerUpsert),
});

export interface ItemView {
  itemId: string;
  title: string | null;
  description: string | null;
  price: number | null;
  currency: string | null;
  available: boolean;
  tags: string[];
  props: Record<string, unknown>;
  parentId: string | null;
  createdAt: string;
  updatedAt: string;
  archivedAt: string | null;
}
