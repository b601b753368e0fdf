import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { installGlobal } from './loader';
import { createRecsys } from './recsys';
import { LOADER_SNIPPET } from './snippet';
import { ENDPOINT, KEY, settle, useCollector } from './testing/collector';
import { createTracker, type Tracker, type TrackerOptions } from './tracker';

const collector = useCollector();
type Global = { recsys?: unknown };
const g = window as unknown as Global;
const sdk = () => g.recsys as Tracker & { push(...cmds: unknown[]): void };

afterEach(() => {
  if (g.recsys && !Array.isArray(g.recsys)) (g.recsys as Tracker).destroy();
  delete g.recsys;
  for (const s of document.querySelectorAll('script')) s.remove();
});

function scriptTag(attrs: Record<string, string>): HTMLScriptElement {
  const s = document.createElement('script');
  s.type = 'text/x-not-loaded'; // happy-dom would try to fetch a JavaScript src
  for (const [k, v] of Object.entries(attrs)) s.setAttribute(k, v);
  document.head.append(s);
  return s;
}
const runSnippet = () => new Function(LOADER_SNIPPET)();
const withFetch = (create: (o: TrackerOptions) => Tracker) => (o: TrackerOptions) =>
  create({ ...o, fetch: collector.fetch });

describe('script-tag loader', () => {
  it('replays calls made through the inline stub in order, then behaves as the SDK', async () => {
    runSnippet();
    const stub = g.recsys as Tracker & { push(cmd: unknown): void };
    const ready = vi.fn();
    stub.identify('user-1');
    stub.view('sku-1');
    stub.push(['click', 'sku-2', { rec: { requestId: 'r-1', rank: 2, surface: 'home' } }]);
    stub.push(ready);
    stub.custom('queued-last');
    const el = scriptTag({ src: 'https://cdn.test/recsys.js', 'data-key': KEY, 'data-endpoint': ENDPOINT });
    installGlobal(withFetch(createRecsys), el);
    expect(ready).toHaveBeenCalledWith(g.recsys);
    sdk().view('sku-3');
    sdk().push(['view', 'sku-4']);
    await sdk().flush();
    await settle();
    const events = collector.events();
    expect(events.map((e) => [e.type, e.itemId ?? e.meta?.name])).toEqual([
      ['view', 'sku-1'],
      ['click', 'sku-2'],
      ['custom', 'queued-last'],
      ['view', 'sku-3'],
      ['view', 'sku-4'],
    ]);
    expect(events.every((e) => e.userId === 'user-1')).toBe(true);
    expect(events[1]!.meta).toMatchObject({ recommended: true, requestId: 'r-1', rank: 2 });
    expect(collector.aliases).toHaveLength(1);
  });

  it('boots from the real script-tag entry module using the tag’s attributes', async () => {
    runSnippet();
    (g.recsys as Tracker).view('early');
    scriptTag({ src: `${ENDPOINT}/recsys.js`, 'data-key': KEY }); // endpoint defaults to the script's origin
    await import('./auto');
    const r = g.recsys as ReturnType<typeof createRecsys>;
    expect(typeof r.recs.similar).toBe('function');
    await vi.advanceTimersByTimeAsync(2_000);
    expect(collector.events().map((e) => e.itemId)).toEqual(['early']);
    expect(collector.requests[0]!.url.origin).toBe(ENDPOINT);
  });

  it('honours data-consent="denied" until consent is granted', async () => {
    runSnippet();
    (g.recsys as Tracker).view('not-sent');
    (g.recsys as Tracker).consent('granted');
    (g.recsys as Tracker).view('sent');
    const el = scriptTag({
      src: 'https://cdn.test/recsys-track.js',
      'data-key': KEY,
      'data-endpoint': ENDPOINT,
      'data-consent': 'denied',
    });
    installGlobal(withFetch(createTracker), el);
    await sdk().flush();
    expect(collector.events().map((e) => e.itemId)).toEqual(['sent']);
  });

  it('passes data-country to the SDK as its country option', () => {
    runSnippet();
    const el = scriptTag({
      src: 'https://cdn.test/recsys.js',
      'data-key': KEY,
      'data-endpoint': ENDPOINT,
      'data-country': 'DE',
    });
    let options: TrackerOptions | undefined;
    installGlobal((o) => {
      options = o;
      return createTracker({ ...o, fetch: collector.fetch });
    }, el);
    expect(options).toMatchObject({ key: KEY, endpoint: ENDPOINT, country: 'DE' });
  });

  it('takes options from a queued init command when the tag has no data-key', async () => {
    runSnippet();
    (g.recsys as unknown[]).push(['init', { key: KEY, endpoint: ENDPOINT }]);
    (g.recsys as Tracker).view('sku-1');
    installGlobal(withFetch(createTracker), null);
    await sdk().flush();
    expect(collector.events().map((e) => e.itemId)).toEqual(['sku-1']);
  });

  it('skips a failing or unknown queued call and replays the rest', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    runSnippet();
    const stub = g.recsys as unknown[];
    stub.push(['noSuchMethod']);
    stub.push(() => {
      throw new Error('user callback bug');
    });
    stub.push(['view', 'sku-1']);
    installGlobal(
      withFetch(createTracker),
      scriptTag({ src: 'x/recsys.js', 'data-key': KEY, 'data-endpoint': ENDPOINT }),
    );
    await sdk().flush();
    expect(collector.events().map((e) => e.itemId)).toEqual(['sku-1']);
    expect(warn).toHaveBeenCalledTimes(2);
  });

  it('keeps the first SDK when the script is included twice', () => {
    const el = scriptTag({ src: 'x/recsys.js', 'data-key': KEY, 'data-endpoint': ENDPOINT });
    const first = installGlobal(withFetch(createTracker), el);
    expect(installGlobal(withFetch(createTracker), el)).toBe(first);
  });

  it('does not start, and says why, without a key', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    runSnippet();
    expect(installGlobal(createTracker, scriptTag({ src: 'x/recsys.js' }))).toBeUndefined();
    expect(warn.mock.calls[0]![0]).toContain('data-key');
    expect(Array.isArray(g.recsys)).toBe(true);
  });

  it('documents the exact stub snippet in the README', () => {
    const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8');
    expect(readme).toContain(LOADER_SNIPPET);
  });
});
