export {
  type BundleAddContext,
  type BundleClientLike,
  type BundleItem,
  type BundleTrackMeta,
  BundleWidget,
  type BundleWidgetProps,
  toBundleClient,
} from './BundleWidget';
export { getGlobalClient, type RecsClientSource, type RecsSdkLike, toRecsClient } from './client';
export { defaultLocale, formatPrice } from './format';
export {
  type AutoMountOptions,
  autoMount,
  BUNDLE_ADD_EVENT,
  type BundleAddDetail,
  type MountOptions,
  mount,
  type RecsysWidgetsGlobal,
  readWidgetProps,
  WIDGET_SELECTOR,
} from './mount';
export { Recommendations, type RecommendationsProps, type WidgetStatus } from './Recommendations';
export { injectStyles, widgetStyles } from './styles';
export type {
  ItemContext,
  RecItem,
  RecParams,
  RecReason,
  RecResponse,
  RecsClientLike,
  RenderItem,
  Surface,
  TrackMeta,
} from './types';
export { IMPRESSION_MS, IMPRESSION_RATIO } from './useImpressions';
export { DEFAULT_TITLES, toSurface, type WidgetType } from './widgetTypes';
