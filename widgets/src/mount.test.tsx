import { act } from '@testing-library/preact';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { getGlobalClient } from './client';
import { autoMount, mount, readWidgetProps } from './mount';
import { createTestClient, makeItems, TestIntersectionObserver } from './testUtils';

/** Lets MutationObserver callbacks and effects run. */
const settle = () => act(async () => {});

/** Runs `fn` inside act() so Preact flushes the renders and effects it causes, and returns its result. */
function inAct<T>(fn: () => T): T {
  let out: T | undefined;
  act(() => {
    out = fn();
  });
  return out as T;
}

function add(html: string, parent: Element = document.body): HTMLElement {
  const tpl = document.createElement('template');
  tpl.innerHTML = html.trim();
  const el = tpl.content.firstElementChild as HTMLElement;
  parent.appendChild(el);
  return el;
}

let stop: (() => void) | undefined;

beforeEach(() => {
  TestIntersectionObserver.install();
  document.body.innerHTML = '';
});
afterEach(() => {
  stop?.();
  stop = undefined;
  vi.restoreAllMocks();
  delete (globalThis as { recsys?: unknown }).recsys;
  delete (globalThis as { recsysWidgets?: unknown }).recsysWidgets;
});

describe('readWidgetProps', () => {
  it('reads every supported data attribute', () => {
    const el = add(
      `<div data-recsys-widget="cart" data-item-ids=" a, b ,,c" data-limit="6" data-title="Complete the look"
        data-locale="fr-FR" data-category="shoes" data-fallback-label="Popular" data-explain
        data-widget-name="cart-drawer" data-heading-level="3" data-item-id="x"></div>`,
    );
    expect(readWidgetProps(el)).toEqual({
      type: 'cart',
      itemId: 'x',
      itemIds: ['a', 'b', 'c'],
      category: 'shoes',
      limit: 6,
      headingLevel: 3,
      title: 'Complete the look',
      locale: 'fr-FR',
      fallbackLabel: 'Popular',
      widget: 'cart-drawer',
      explain: true,
    });
  });

  it('rejects a bad limit, naming the attribute, the element and the accepted range', () => {
    const el = add('<div data-recsys-widget="trending" data-limit="lots"></div>');
    expect(() => readWidgetProps(el)).toThrow(
      'data-limit="lots" on <div data-recsys-widget="trending"> must be a whole number from 1 to 50.',
    );
  });

  it('rejects an unknown widget type and lists the accepted ones', () => {
    const el = add('<div data-recsys-widget="bestsellers"></div>');
    expect(() => readWidgetProps(el)).toThrow(
      /Unknown recommendation widget type "bestsellers". Use one of: for-user/,
    );
  });

  it('rejects a template name that nobody registered', () => {
    const el = add('<div data-recsys-widget="trending" data-template="nope"></div>');
    expect(() => readWidgetProps(el)).toThrow(
      /data-template="nope" .* window\.recsysWidgets\.templates\["nope"\]/,
    );
  });
});

describe('mount', () => {
  it('renders a widget from data attributes with the client on window.recsys', async () => {
    const t = createTestClient();
    (globalThis as { recsys?: unknown }).recsys = t.client;
    expect(getGlobalClient()).toBe(t.client);
    const el = add(
      '<div data-recsys-widget="similar" data-item-id="sku-1" data-limit="8" data-title="You may also like"></div>',
    );
    const unmount = inAct(() => mount(el));
    await settle();
    expect(t.calls).toEqual([{ surface: 'similar', params: { itemId: 'sku-1', k: 8 } }]);
    expect(el.dataset.recsysStatus).toBe('loading');
    await act(async () => t.respond(makeItems(3)));
    expect(el.querySelector('h2')?.textContent).toBe('You may also like');
    expect(el.querySelectorAll('li')).toHaveLength(2);
    expect(el.dataset.recsysStatus).toBe('ready');
    act(() => unmount());
    expect(el.innerHTML).toBe('');
  });

  it('explains how to fix a page where the SDK is missing', () => {
    const el = add('<div data-recsys-widget="trending"></div>');
    expect(() => mount(el)).toThrow(/No Recsys client: load the Recsys SDK script before the widgets script/);
  });

  it('hides the element while the widget has nothing to show, and shows it again when it has', async () => {
    const t = createTestClient();
    const el = add('<div data-recsys-widget="trending"></div>');
    inAct(() => mount(el, { client: t.client }));
    await act(async () => t.respond([]));
    expect(el.hidden).toBe(true);
    expect(el.dataset.recsysStatus).toBe('empty');
    el.dataset.category = 'shoes';
    inAct(() => mount(el, { client: t.client }));
    await settle();
    expect(el.hidden).toBe(false);
    await act(async () => t.respond(makeItems(2)));
    expect(el.hidden).toBe(false);
    expect(el.querySelectorAll('li')).toHaveLength(2);
  });

  it('never unhides an element the page hid itself', async () => {
    const t = createTestClient();
    const el = add('<div data-recsys-widget="trending" hidden></div>');
    inAct(() => mount(el, { client: t.client }));
    await act(async () => t.respond(makeItems(1)));
    expect(el.hidden).toBe(true);
  });

  it('uses a template registered on window.recsysWidgets.templates', async () => {
    const t = createTestClient();
    (globalThis as { recsysWidgets?: unknown }).recsysWidgets = {
      templates: { compact: (item: { title?: string }) => <span class="compact">{item.title}</span> },
    };
    const el = add('<div data-recsys-widget="trending" data-template="compact"></div>');
    inAct(() => mount(el, { client: t.client }));
    await act(async () => t.respond(makeItems(2)));
    expect(Array.from(el.querySelectorAll('li > span.compact'), (s) => s.textContent)).toEqual([
      'Item 1',
      'Item 2',
    ]);
  });
});

describe('autoMount', () => {
  it('mounts every widget element already on the page', async () => {
    const t = createTestClient();
    add('<div data-recsys-widget="for-user"></div>');
    add('<section><div data-recsys-widget="cart" data-item-ids="a,b"></div></section>');
    stop = inAct(() => autoMount({ client: t.client }));
    await settle();
    expect(t.calls.map((c) => c.surface)).toEqual(['forUser', 'cart']);
    expect(t.calls[1]?.params.itemIds).toEqual(['a', 'b']);
  });

  it('mounts widget elements added later, also deep inside added subtrees', async () => {
    const t = createTestClient();
    stop = inAct(() => autoMount({ client: t.client }));
    add('<div data-recsys-widget="trending" data-category="shoes"></div>');
    add('<div><aside><div data-recsys-widget="recently-viewed"></div></aside></div>');
    await settle();
    expect(t.calls).toEqual([
      { surface: 'trending', params: { category: 'shoes', k: 8 } },
      { surface: 'recentlyViewed', params: { k: 8 } },
    ]);
  });

  it('unmounts a widget whose element is removed, stopping its impression tracking', async () => {
    const t = createTestClient();
    const el = add('<div data-recsys-widget="trending"></div>');
    stop = inAct(() => autoMount({ client: t.client }));
    await act(async () => t.respond(makeItems(2)));
    expect(TestIntersectionObserver.instances.size).toBe(1);
    el.remove();
    await settle();
    expect(el.innerHTML).toBe('');
    expect(TestIntersectionObserver.instances.size).toBe(0);
  });

  it('re-renders when a data attribute changes, as a single-page app swaps products', async () => {
    const t = createTestClient();
    const el = add('<div data-recsys-widget="similar" data-item-id="sku-1"></div>');
    stop = inAct(() => autoMount({ client: t.client }));
    await settle();
    el.setAttribute('data-item-id', 'sku-2');
    await settle();
    expect(t.calls.map((c) => c.params.itemId)).toEqual(['sku-1', 'sku-2']);
    expect(el.querySelectorAll('section')).toHaveLength(1);
  });

  it('asks "recently viewed" on a product page to leave that product out', async () => {
    const t = createTestClient();
    add('<div data-recsys-widget="recently-viewed" data-item-id="sku-9"></div>');
    add('<div data-recsys-widget="recently-viewed"></div>');
    stop = inAct(() => autoMount({ client: t.client }));
    await settle();
    expect(t.calls.map((c) => c.params.filters)).toEqual([{ excludeIds: ['sku-9'] }, undefined]);
    expect(t.calls.map((c) => c.params.itemId)).toEqual([undefined, undefined]);
  });

  it('logs a bad element and still mounts the others', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    const t = createTestClient();
    const bad = add('<div data-recsys-widget="trending" data-limit="0"></div>');
    add('<div data-recsys-widget="trending"></div>');
    stop = inAct(() => autoMount({ client: t.client }));
    await settle();
    expect(t.calls).toHaveLength(1);
    expect(bad.dataset.recsysStatus).toBe('error');
    expect(error).toHaveBeenCalledWith(expect.stringContaining('data-limit="0"'));
  });

  it('gives each widget its own heading id, so every region has its own name', async () => {
    const t = createTestClient();
    add('<div data-recsys-widget="trending" data-title="A"></div>');
    add('<div data-recsys-widget="for-user" data-title="B"></div>');
    stop = inAct(() => autoMount({ client: t.client }));
    const names = Array.from(document.querySelectorAll('section'), (s) => {
      const id = s.getAttribute('aria-labelledby') ?? '';
      return document.getElementById(id)?.textContent;
    });
    expect(names).toEqual(['A', 'B']);
  });

  it('only watches the given root', async () => {
    const t = createTestClient();
    const root = add('<div id="root"></div>');
    add('<div data-recsys-widget="trending"></div>');
    stop = inAct(() => autoMount({ client: t.client, root }));
    add('<div data-recsys-widget="for-user"></div>', root);
    await settle();
    expect(t.calls.map((c) => c.surface)).toEqual(['forUser']);
  });

  it('stops observing and unmounts everything when stopped', async () => {
    const t = createTestClient();
    const el = add('<div data-recsys-widget="trending"></div>');
    stop = inAct(() => autoMount({ client: t.client }));
    await settle();
    act(() => stop?.());
    stop = undefined;
    expect(el.innerHTML).toBe('');
    add('<div data-recsys-widget="for-user"></div>');
    await settle();
    expect(t.calls).toHaveLength(1);
  });
});
