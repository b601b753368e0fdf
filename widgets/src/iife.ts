/**
 * Entry of the script-tag build: exposes `window.recsysWidgets` and mounts every `[data-recsys-widget]`
 * element once the DOM is ready, using the SDK instance on `window.recsys`.
 */
import { autoMount, mount, type RecsysWidgetsGlobal } from './mount';

const host = globalThis as { recsysWidgets?: RecsysWidgetsGlobal };
// Keep templates a page registered before this script loaded.
const api: RecsysWidgetsGlobal = Object.assign(host.recsysWidgets ?? {}, { mount, autoMount });
api.templates ??= {};
host.recsysWidgets = api;

const start = () => {
  api.stop?.();
  api.stop = autoMount();
};
if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start, { once: true });
else start();
