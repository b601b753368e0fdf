/** Entry of `dist/recsys-widgets.js`: widgets + Preact, for pages that load the SDK script first. */
import { startWidgets } from './startWidgets';

startWidgets();
