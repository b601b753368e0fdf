import { autoMount, mount, type RecsysWidgetsGlobal } from './mount';

/**
 * What the script-tag builds run: exposes `window.recsysWidgets` (keeping templates a page registered
 * before the script loaded) and auto-mounts every `[data-recsys-widget]` element once the DOM is ready,
 * using the SDK instance on `window.recsys`.
 */
export function startWidgets(): RecsysWidgetsGlobal {
  const host = globalThis as { recsysWidgets?: RecsysWidgetsGlobal };
  const api: RecsysWidgetsGlobal = Object.assign(host.recsysWidgets ?? {}, { mount, autoMount });
  api.templates ??= {};
  host.recsysWidgets = api;
  const start = () => {
    api.stop?.();
    api.stop = autoMount();
  };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start, { once: true });
  else start();
  return api;
}
