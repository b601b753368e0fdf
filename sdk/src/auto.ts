// Script-tag entry of dist/recsys.js: tracking + recommendation client.
import { installGlobal } from './loader';
import { createRecsys } from './recsys';

installGlobal(createRecsys, document.currentScript);
