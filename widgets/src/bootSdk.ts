import { createRecsys, type TrackerOptions } from '@recsys/sdk';
import { toRecsClient } from './client';

type Command = unknown[] | ((sdk: object) => void);

/**
 * Starts the SDK for the all-in-one script tag, the way the SDK's own script-tag build does: options from
 * the tag's `data-key`, `data-endpoint` (default: the script's origin), `data-consent` and
 * `data-cookie-domain`, or from a queued `['init', options]`; then replaces the pre-load queue on
 * `window.recsys` with the SDK and replays the queued calls in order. An SDK already on `window.recsys`
 * (its own script loaded first) is kept.
 * Kept here because the SDK's public entry does not export its script-tag installer.
 */
export function bootSdk(script: Element | null): void {
  const w = globalThis as { recsys?: unknown };
  if (toRecsClient(w.recsys)) return;
  const queue: Command[] = Array.isArray(w.recsys) ? [...(w.recsys as Command[])] : [];
  const attr = (name: string) => script?.getAttribute(`data-${name}`) ?? undefined;
  const src = script?.getAttribute('src');
  const options: Partial<TrackerOptions> = {
    key: attr('key'),
    endpoint: attr('endpoint') ?? (src ? new URL(src, location.href).origin : ''),
  };
  const consent = attr('consent');
  if (consent === 'granted' || consent === 'denied') options.consent = consent;
  const cookieDomain = attr('cookie-domain');
  if (cookieDomain) options.cookieDomain = cookieDomain;
  const init = queue.findIndex((c) => Array.isArray(c) && c[0] === 'init');
  if (init >= 0) Object.assign(options, (queue.splice(init, 1)[0] as unknown[])[1]);

  let sdk: ReturnType<typeof createRecsys>;
  try {
    sdk = createRecsys(options as TrackerOptions);
  } catch (err) {
    console.warn(
      '[recsys] not started: add data-key="pk_…" to the script tag or push ["init", { key, endpoint }].',
      err,
    );
    return;
  }
  const run = (cmd: Command) => {
    try {
      if (typeof cmd === 'function') return cmd(sdk);
      const fn = (sdk as unknown as Record<string, unknown>)[String(cmd[0])];
      if (typeof fn === 'function') fn.apply(sdk, cmd.slice(1));
      else console.warn(`[recsys] unknown command ${String(cmd[0])}`);
    } catch (err) {
      console.warn('[recsys] queued call failed:', err);
    }
  };
  w.recsys = Object.assign(sdk, { push: (...cmds: Command[]) => cmds.forEach(run), __recsys: sdk });
  for (const cmd of queue) run(cmd);
}
