/**
 * Entry of `dist/recsys-full.js` (SDK + widgets + Preact): starts the SDK from this script tag's data
 * attributes, then the widgets. Runs synchronously so `document.currentScript` is still this script.
 */
import { bootSdk } from './bootSdk';
import { startWidgets } from './startWidgets';

bootSdk(document.currentScript);
startWidgets();
