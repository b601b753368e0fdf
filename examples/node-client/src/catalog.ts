import type { ItemInput } from '@recsys/server';

/** A tiny coffee-and-kitchen shop: enough for co-purchases and text similarity to show. */
export const CATALOG: ItemInput[] = [
  {
    itemId: 'beans-house',
    title: 'House Blend Coffee Beans 1 kg',
    description: 'Medium roast whole coffee beans with notes of chocolate and hazelnut.',
    price: 18.5,
    category: 'coffee',
    brand: 'Roastery',
  },
  {
    itemId: 'beans-ethiopia',
    title: 'Ethiopia Single-origin Coffee Beans 250 g',
    description: 'Light roast whole coffee beans, floral and citrus, from Yirgacheffe.',
    price: 12.9,
    category: 'coffee',
    brand: 'Roastery',
  },
  {
    itemId: 'beans-decaf',
    title: 'Swiss Water Decaf Coffee Beans 500 g',
    description: 'Decaffeinated medium roast coffee beans, smooth and sweet.',
    price: 11.5,
    category: 'coffee',
    brand: 'Roastery',
  },
  {
    itemId: 'grinder-burr',
    title: 'Conical Burr Coffee Grinder',
    description: 'Electric burr grinder for coffee beans with 40 grind settings, espresso to French press.',
    price: 129,
    category: 'equipment',
    brand: 'Baratto',
  },
  {
    itemId: 'kettle-gooseneck',
    title: 'Gooseneck Pour-over Kettle',
    description: 'Temperature-controlled electric kettle with a precise spout for pour-over coffee.',
    price: 79,
    category: 'equipment',
    brand: 'Pourwell',
  },
  {
    itemId: 'dripper-v60',
    title: 'Ceramic Pour-over Coffee Dripper',
    description: 'Cone dripper for filter coffee; use with paper filters size 02.',
    price: 24,
    category: 'equipment',
    brand: 'Pourwell',
  },
  {
    itemId: 'filters-02',
    title: 'Paper Coffee Filters Size 02 (100 pack)',
    description: 'Bleached paper filters for cone pour-over coffee drippers.',
    price: 5.5,
    category: 'supplies',
    brand: 'Pourwell',
  },
  {
    itemId: 'mug-stoneware',
    title: 'Stoneware Coffee Mug 350 ml',
    description: 'Handmade glazed stoneware mug, dishwasher safe.',
    price: 16,
    category: 'kitchen',
    brand: 'Claywork',
  },
  {
    itemId: 'tea-sencha',
    title: 'Japanese Sencha Green Tea 100 g',
    description: 'Loose-leaf green tea, grassy and sweet, steamed in Shizuoka.',
    price: 9.9,
    category: 'tea',
    brand: 'Leafhouse',
  },
  {
    itemId: 'teapot-cast-iron',
    title: 'Cast Iron Teapot 800 ml',
    description: 'Enamelled cast iron teapot with a stainless steel infuser for loose-leaf tea.',
    price: 45,
    category: 'tea',
    brand: 'Leafhouse',
  },
  {
    itemId: 'descaler',
    title: 'Coffee Machine Descaler',
    description: 'Citric acid descaler for kettles and espresso machines, 4 uses.',
    price: 8.9,
    category: 'supplies',
    brand: 'Baratto',
  },
  {
    itemId: 'scale-timer',
    title: 'Coffee Scale with Timer',
    description: 'Digital scale with 0.1 g precision and a brew timer for pour-over coffee.',
    price: 35,
    category: 'equipment',
    brand: 'Baratto',
  },
].map((item) => ({ ...item, currency: 'EUR', available: true }));

/**
 * Past behaviour, as a shop backend would backfill it: each basket is one
 * customer's order, so items bought together become neighbours.
 */
export const PAST_ORDERS: Array<{ userId: string; items: string[] }> = [
  { userId: 'ana', items: ['dripper-v60', 'filters-02', 'kettle-gooseneck'] },
  { userId: 'ben', items: ['dripper-v60', 'filters-02', 'beans-ethiopia'] },
  { userId: 'chloe', items: ['grinder-burr', 'beans-house', 'scale-timer'] },
  { userId: 'dev', items: ['beans-house', 'mug-stoneware'] },
  { userId: 'emma', items: ['tea-sencha', 'teapot-cast-iron'] },
  { userId: 'femi', items: ['kettle-gooseneck', 'scale-timer', 'dripper-v60'] },
  { userId: 'gus', items: ['beans-house', 'filters-02', 'dripper-v60'] },
  { userId: 'hana', items: ['beans-decaf', 'mug-stoneware', 'descaler'] },
];
