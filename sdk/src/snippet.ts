/**
 * The inline stub to paste before the async script tag. It queues calls made
 * before the SDK loads; the SDK replays them in order. Both styles work:
 * `recsys.track('view', { itemId: 'sku-1' })` and `recsys.push(['view', 'sku-1'])`;
 * `recsys.push(function (sdk) { … })` runs a function once the SDK is ready.
 */
export const LOADER_SNIPPET =
  'window.recsys=window.recsys||[];["track","view","click","addToCart","purchase","custom","rate","identify","reset","consent","flush"].forEach(function(m){recsys[m]=recsys[m]||function(){recsys.push([m].concat([].slice.call(arguments)))}});';
