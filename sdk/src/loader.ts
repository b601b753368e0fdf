import type { TrackerOptions } from './tracker';

type Command = unknown[] | ((sdk: object) => void);
type Api = object & { destroy(): void };

/**
 * Boots the script-tag build: reads `data-key`, `data-endpoint` (default: the
 * script's own origin), `data-consent`, `data-cookie-domain` and `data-country` from the
 * script tag, or takes options from a queued `['init', options]` command;
 * replaces the stub at `window.recsys` with the SDK and replays queued calls
 * in order. A failing queued call is logged and skipped, never fatal.
 */
export function installGlobal<T extends Api>(
  create: (options: TrackerOptions) => T,
  script: Element | null,
): T | undefined {
  const w = window as unknown as { recsys?: unknown };
  const existing = w.recsys as Command[] | T | undefined;
  if (existing && !Array.isArray(existing)) return existing; // the script was included twice
  const pending: Command[] = Array.isArray(existing) ? existing.slice() : [];
  const el = script ?? document.querySelector('script[data-key][src*="recsys"]');
  const attr = (n: string) => el?.getAttribute(`data-${n}`) ?? undefined;
  let options: Partial<TrackerOptions> = {};
  const src = attr('key') ? el?.getAttribute('src') : null;
  if (attr('key')) {
    options = {
      key: attr('key'),
      endpoint: attr('endpoint') ?? (src ? new URL(src, location.href).origin : ''),
    };
    const consent = attr('consent');
    if (consent === 'denied' || consent === 'granted') options.consent = consent;
    const domain = attr('cookie-domain');
    if (domain) options.cookieDomain = domain;
    const country = attr('country');
    if (country) options.country = country;
  }
  const init = pending.findIndex((c) => Array.isArray(c) && c[0] === 'init');
  if (init >= 0) options = { ...options, ...((pending.splice(init, 1)[0] as unknown[])[1] as object) };
  let sdk: T;
  try {
    sdk = create(options as TrackerOptions);
  } catch (e) {
    console.warn('[recsys] not started: set data-key or push(["init",{key,endpoint}])', e);
    return undefined;
  }
  const run = (cmd: Command): void => {
    try {
      if (typeof cmd === 'function') {
        cmd(sdk);
        return;
      }
      const [name, ...args] = cmd;
      const fn = (sdk as Record<string, unknown>)[String(name)];
      if (typeof fn === 'function') fn.apply(sdk, args);
      else console.warn(`[recsys] unknown command ${String(name)}`);
    } catch (e) {
      console.warn('[recsys] queued call failed:', e);
    }
  };
  w.recsys = Object.assign(sdk, { push: (...cmds: Command[]) => cmds.forEach(run) });
  for (const cmd of pending) run(cmd);
  return sdk;
}
