import { limits, normalizeTag } from '@recsys/engine/protocol';
import { z } from 'zod';
import { currencySchema, idSchema, isCountryCode } from './common';
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

/** The item in one market: sold there or not, at its own price and currency when they differ. */
const marketOfferSchema = z
  .object({
    /** Sold in this market now. @default true */
    available: z.boolean().default(true),
    /** The market's price; omitted: the item's `price`. */
    price: z.number().finite().nonnegative().optional(),
    /** The market's currency; omitted: the item's `currency`. */
    currency: currencySchema.optional(),
  })
  .strict();

/** Most markets one item may list. */
export const MAX_MARKETS = 250;

/**
 * Where the item is sold, keyed by ISO 3166-1 alpha-2 country code (any case; stored upper case).
 * Null (or never set): sold everywhere at `price`. Set: sold only in the countries listed.
 */
const marketsSchema = z
  .record(z.string(), marketOfferSchema)
  .superRefine((markets, ctx) => {
    const keys = Object.keys(markets);
    if (keys.length === 0) {
      ctx.addIssue({
        code: 'custom',
        message:
          'lists no country; send null to sell the item everywhere, or name the countries it is sold in',
      });
    }
    if (keys.length > MAX_MARKETS) {
      ctx.addIssue({
        code: 'custom',
        message: `may list at most ${MAX_MARKETS} countries (has ${keys.length})`,
      });
    }
    const seen = new Set<string>();
    for (const key of keys) {
      const code = key.toUpperCase();
      if (!isCountryCode(code)) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: 'is not an ISO 3166-1 alpha-2 country code; use codes such as DE, US or GB',
        });
      } else if (seen.has(code)) {
        ctx.addIssue({ code: 'custom', path: [key], message: `repeats ${code} in another case` });
      }
      seen.add(code);
    }
  })
  .transform((markets) => Object.fromEntries(Object.entries(markets).map(([k, v]) => [k.toUpperCase(), v])));

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
    /**
     * Where the item is sold and at what price there, by country; null: everywhere (the default).
     * @example { DE: { price: 79, currency: 'EUR' }, CH: { price: 85, currency: 'CHF' }, US: { available: false } }
     */
    markets: marketsSchema.nullish(),
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
  /** Where the item is sold (country → offer); null: everywhere. */
  markets: Record<string, { available: boolean; price?: number; currency?: string }> | null;
  parentId: string | null;
  createdAt: string;
  updatedAt: string;
  archivedAt: string | null;
}
