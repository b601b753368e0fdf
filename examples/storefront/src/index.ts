/**
 * The demo storefront: a small shop using Recsys exactly as a customer would
 * (script tag + `data-recsys-widget` elements), served by the Recsys process.
 */
export { ensureWidgetBundle, widgetBundlePath } from './bundle';
export type { DemoSeedOptions } from './seed';
export {
  type RunningShoppers,
  type ShopperOptions,
  type ShopperStats,
  simulateVisit,
  startShoppers,
} from './shoppers';
export { type RunningStorefront, type StorefrontOptions, startStorefront } from './startStorefront';
