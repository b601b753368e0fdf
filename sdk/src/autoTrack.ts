// Script-tag entry of dist/recsys-track.js: tracking only, for pages without widgets.
import { installGlobal } from './loader';
import { createTracker } from './tracker';

installGlobal(createTracker, document.currentScript);
