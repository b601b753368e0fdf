/**
 * Over ~450 lines because every widget behaviour (states, widget types, impressions, clicks,
 * keyboard, rendering, theming) shares one test client and one IntersectionObserver stand-in set up
 * here; split, each file would repeat that set-up.
 */
import { act, cleanup, fireEvent, render } from '@testing-library/preact';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Recommendations, type RecommendationsProps } from './Recommendations';
import { widgetStyles } from './styles';
import { createTestClient, makeItems, TestIntersectionObserver } from './testUtils';

type Client = ReturnType<typeof createTestClient>;

function setup(props: Partial<Omit<RecommendationsProps, 'client'>> = {}) {
  const t = createTestClient();
  const view = render(<Recommendations type="similar" itemId="sku-0" {...props} client={t.client} />);
  return { ...t, ...view };
}

async function answer(t: Client, items = makeItems(3), extra = {}) {
  await act(async () => t.respond(items, extra));
}

const section = (c: Element) => c.querySelector('section.recsys') as HTMLElement;
const items = (c: Element) =>
  Array.from(c.querySelectorAll<HTMLLIElement>('ul.recsys-track:not(.recsys-sk) > li'));
const cardShape = (li: Element) =>
  Array.from(li.querySelectorAll('[class^="recsys-"]'), (e) => e.classList[0]);

beforeEach(() => {
  TestIntersectionObserver.install();
  document.head.innerHTML = '';
});
afterEach(() => {
  cleanup();
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('states', () => {
  it('shows an aria-busy skeleton built from the same fixed-size parts as the loaded cards', async () => {
    const t = setup({ limit: 4 });
    const sec = section(t.container);
    expect(sec.getAttribute('aria-busy')).toBe('true');
    const skeleton = Array.from(sec.querySelectorAll('ul.recsys-sk > li'));
    expect(skeleton).toHaveLength(4);
    expect(sec.querySelector('ul.recsys-sk')?.getAttribute('aria-hidden')).toBe('true');
    const skeletonParts = skeleton[0]!.querySelectorAll('.recsys-media, .recsys-name, .recsys-price');
    expect(skeletonParts).toHaveLength(3);

    await answer(t, makeItems(4));
    expect(section(t.container).getAttribute('aria-busy')).toBe('false');
    expect(section(t.container)).toBe(sec);
    const li = items(t.container)[0]!;
    expect(li.className).toBe(skeleton[0]!.className);
    expect(cardShape(li).filter((c) => c !== 'recsys-card' && c !== 'recsys-ph')).toEqual([
      'recsys-media',
      'recsys-name',
      'recsys-price',
    ]);
    // The box size comes from CSS: fixed card width, media aspect-ratio, fixed-height text lines.
    expect(widgetStyles).toMatch(
      /\.recsys-item\{flex:0 0 var\(--recsys-card-width\);width:var\(--recsys-card-width\)/,
    );
    expect(widgetStyles).toMatch(/\.recsys-media\{[^}]*aspect-ratio:var\(--recsys-media-ratio\)/);
    expect(widgetStyles).toMatch(/\.recsys-name\{height:2\.7em/);
    expect(widgetStyles).toMatch(/\.recsys-price,\.recsys-why\{height:1\.4em/);
  });

  it('shows an error with a Retry button that fetches again and then shows the list', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    const t = setup();
    await act(async () => t.fail());
    const retry = t.getByRole('button', { name: 'Retry' });
    expect(t.getByText('Recommendations could not be loaded.')).toBeTruthy();
    expect(t.calls).toHaveLength(1);

    fireEvent.click(retry);
    await act(async () => {});
    expect(t.calls).toHaveLength(2);
    expect(t.calls[1]).toEqual(t.calls[0]);
    expect(section(t.container).getAttribute('aria-busy')).toBe('true');
    expect(t.queryByRole('button', { name: 'Retry' })).toBeNull();

    await answer(t, makeItems(2));
    expect(items(t.container)).toHaveLength(2);
  });

  it('shows the fallback list, with its label, when personalization is cold', async () => {
    const t = setup({ type: 'for-user', itemId: undefined, fallbackLabel: 'Popular right now' });
    await answer(t, makeItems(3), { fallback: { used: true, sources: ['popular'], filled: 3 } });
    expect(items(t.container)).toHaveLength(3);
    expect(t.getByText('Popular right now')).toBeTruthy();
    expect(section(t.container).hasAttribute('data-fallback')).toBe(true);
  });

  it('shows no fallback label for a personalized list', async () => {
    const t = setup({ fallbackLabel: 'Popular right now' });
    await answer(t);
    expect(t.queryByText('Popular right now')).toBeNull();
  });

  it('renders nothing and reports "empty" when there is nothing to show', async () => {
    const onStatus = vi.fn();
    const t = setup({ onStatus });
    expect(onStatus).toHaveBeenLastCalledWith('loading');
    await answer(t, []);
    expect(t.container.innerHTML).toBe('');
    expect(onStatus).toHaveBeenLastCalledWith('empty');
  });

  it('renders nothing and explains the fix when a similar widget has no product id', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    const t = setup({ itemId: undefined });
    await act(async () => {});
    expect(t.container.innerHTML).toBe('');
    expect(t.calls).toHaveLength(0);
    expect(error.mock.calls[0]?.[0]).toMatch(/needs a product id: set data-item-id/);
  });

  it('ignores a stale response that arrives after the props changed', async () => {
    const t = createTestClient();
    const view = render(<Recommendations type="similar" itemId="a" client={t.client} />);
    view.rerender(<Recommendations type="similar" itemId="b" client={t.client} />);
    await act(async () => {});
    expect(t.calls.map((c) => c.params.itemId)).toEqual(['a', 'b']);
    await answer(t, makeItems(1, { itemId: 'from-a', title: 'From A' }));
    expect(view.queryByText('From A')).toBeNull();
    await answer(t, makeItems(1, { itemId: 'from-b', title: 'From B' }));
    expect(view.getByText('From B')).toBeTruthy();
  });
});

describe('widget types', () => {
  it.each([
    [{ type: 'similar', itemId: 'sku-9', limit: 4 }, 'similar', { itemId: 'sku-9', k: 4 }],
    [{ type: 'for-user' }, 'forUser', { k: 8 }],
    [{ type: 'forUser' }, 'forUser', { k: 8 }],
    [{ type: 'cart', itemIds: ['a', 'b'] }, 'cart', { itemIds: ['a', 'b'], k: 8 }],
    [{ type: 'buy-again', limit: 3 }, 'buyAgain', { k: 3 }],
    [{ type: 'trending', category: 'shoes' }, 'trending', { category: 'shoes', k: 8 }],
    [{ type: 'recently-viewed' }, 'recentlyViewed', { k: 8 }],
    [
      { type: 'trending', explain: true, filters: { priceMax: 50 } },
      'trending',
      { k: 8, explain: true, filters: { priceMax: 50 } },
    ],
  ] as const)('%o requests surface %s with %o', async (props, surface, params) => {
    const t = createTestClient();
    render(<Recommendations {...(props as Omit<RecommendationsProps, 'client'>)} client={t.client} />);
    await act(async () => {});
    expect(t.calls).toEqual([{ surface, params }]);
  });

  it('never shows cart items even when the client returns them', async () => {
    const t = setup({ type: 'cart', itemId: undefined, itemIds: ['sku-1', 'sku-3'] });
    await answer(t, makeItems(4));
    expect(items(t.container).map((li) => li.dataset.itemId)).toEqual(['sku-2', 'sku-4']);
  });

  it('never shows the product itself among its similar items', async () => {
    const t = setup({ itemId: 'sku-2' });
    await answer(t, makeItems(3));
    expect(items(t.container).map((li) => li.dataset.itemId)).toEqual(['sku-1', 'sku-3']);
  });

  it('labels its region with the given title, or a per-type default', async () => {
    const t = setup({ title: 'More like this', headingLevel: 3 });
    const sec = section(t.container);
    const heading = t.container.querySelector(`#${CSS.escape(sec.getAttribute('aria-labelledby')!)}`);
    expect(heading?.tagName).toBe('H3');
    expect(heading?.textContent).toBe('More like this');
    cleanup();
    const d = setup({ type: 'trending', itemId: undefined });
    expect(d.getByRole('heading', { level: 2 }).textContent).toBe('Trending now');
  });
});

describe('impression tracking', () => {
  beforeEach(() => vi.useFakeTimers());

  it('tracks a view only after an item has been at least half visible for one second', async () => {
    const t = setup();
    await answer(t);
    const [first, second] = items(t.container);
    act(() => {
      TestIntersectionObserver.show(first!, 0.5);
      TestIntersectionObserver.show(second!, 0.4);
      vi.advanceTimersByTime(999);
    });
    expect(t.tracked).toEqual([]);
    act(() => {
      vi.advanceTimersByTime(1);
    });
    expect(t.tracked).toEqual([
      {
        type: 'impression',
        itemId: 'sku-1',
        meta: { recommended: true, requestId: 'req-1', rank: 1, widget: 'similar', surface: 'similar' },
      },
    ]);
    act(() => {
      vi.advanceTimersByTime(5000);
    });
    expect(t.tracked).toHaveLength(1);
  });

  it('restarts the one-second clock when the item scrolls out before the second is up', async () => {
    const t = setup();
    await answer(t);
    const first = items(t.container)[0]!;
    act(() => {
      TestIntersectionObserver.show(first, 0.8);
      vi.advanceTimersByTime(700);
      TestIntersectionObserver.show(first, 0.2);
      vi.advanceTimersByTime(700);
      TestIntersectionObserver.show(first, 1);
      vi.advanceTimersByTime(700);
    });
    expect(t.tracked).toEqual([]);
    act(() => {
      vi.advanceTimersByTime(300);
    });
    expect(t.tracked.map((e) => e.itemId)).toEqual(['sku-1']);
  });

  it('tracks each item once per response, however often it comes back into view', async () => {
    const t = setup();
    await answer(t);
    const first = items(t.container)[0]!;
    for (let i = 0; i < 3; i++) {
      act(() => {
        TestIntersectionObserver.show(first, 1);
        vi.advanceTimersByTime(1500);
        TestIntersectionObserver.show(first, 0);
      });
    }
    expect(t.tracked).toHaveLength(1);
  });

  it('counts items again for a new response', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    const t = createTestClient();
    const view = render(<Recommendations type="similar" itemId="a" client={t.client} />);
    await answer(t);
    act(() => {
      TestIntersectionObserver.show(items(view.container)[0]!, 1);
      vi.advanceTimersByTime(1000);
    });
    view.rerender(<Recommendations type="similar" itemId="b" client={t.client} />);
    await answer(t);
    act(() => {
      TestIntersectionObserver.show(items(view.container)[0]!, 1);
      vi.advanceTimersByTime(1000);
    });
    expect(t.tracked.map((e) => e.meta.requestId)).toEqual(['req-1', 'req-2']);
  });

  it('does not count time while the tab is hidden', async () => {
    const t = setup();
    await answer(t);
    const first = items(t.container)[0]!;
    const hidden = vi.spyOn(document, 'hidden', 'get').mockReturnValue(false);
    act(() => {
      TestIntersectionObserver.show(first, 1);
      vi.advanceTimersByTime(500);
      hidden.mockReturnValue(true);
      document.dispatchEvent(new Event('visibilitychange'));
      vi.advanceTimersByTime(5000);
    });
    expect(t.tracked).toEqual([]);
    act(() => {
      hidden.mockReturnValue(false);
      document.dispatchEvent(new Event('visibilitychange'));
      TestIntersectionObserver.show(first, 1);
      vi.advanceTimersByTime(1000);
    });
    expect(t.tracked).toHaveLength(1);
  });

  it('uses an IntersectionObserver with a 50% threshold', async () => {
    const t = setup();
    await answer(t);
    const [io] = TestIntersectionObserver.instances;
    expect(io?.options.threshold).toBe(0.5);
    expect(io?.observed.size).toBe(3);
  });
});

describe('click tracking', () => {
  it('tracks a click with requestId and rank, asks for a flush, and lets the navigation happen', async () => {
    const t = setup({ widget: 'pdp-similar' });
    await answer(t);
    const link = items(t.container)[1]!.querySelector('a')!;
    expect(link.getAttribute('href')).toBe('/p/sku-2');
    const event = new MouseEvent('click', { bubbles: true, cancelable: true });
    link.dispatchEvent(event);
    expect(event.defaultPrevented).toBe(false);
    expect(t.tracked).toEqual([
      {
        type: 'click',
        itemId: 'sku-2',
        meta: { recommended: true, requestId: 'req-1', rank: 2, widget: 'pdp-similar', surface: 'similar' },
      },
    ]);
    expect(t.counters.flushes).toBe(1);
  });

  it('sends the experiment and variant the list was served under with the click', async () => {
    const t = setup({ widget: 'pdp-similar' });
    await answer(t, makeItems(3), { experiment: { id: 'pdp-test', variant: 'b' } });
    items(t.container)[0]!
      .querySelector('a')!
      .dispatchEvent(new MouseEvent('click', { bubbles: true, cancelable: true }));
    expect(t.tracked[0]?.meta).toMatchObject({ requestId: 'req-1', experiment: 'pdp-test', variant: 'b' });
  });

  it('tracks a middle-click (open in new tab) but not a right-click', async () => {
    const t = setup();
    await answer(t);
    const link = items(t.container)[0]!.querySelector('a')!;
    fireEvent(link, new MouseEvent('auxclick', { bubbles: true, button: 2 }));
    expect(t.tracked).toHaveLength(0);
    fireEvent(link, new MouseEvent('auxclick', { bubbles: true, button: 1 }));
    expect(t.tracked.map((e) => [e.type, e.itemId])).toEqual([['click', 'sku-1']]);
  });

  it('tracks Enter on a custom template element that is not a link, and leaves Enter on links to their click', async () => {
    const t = setup({
      renderItem: (item) => (
        // biome-ignore lint/a11y/useSemanticElements: exercising a template that is not a real link
        <div role="link" tabIndex={0} data-testid={item.itemId}>
          {item.title}
        </div>
      ),
    });
    await answer(t);
    fireEvent.keyDown(t.getByTestId('sku-3'), { key: 'Enter' });
    expect(t.tracked.map((e) => [e.type, e.itemId, e.meta.rank])).toEqual([['click', 'sku-3', 3]]);

    cleanup();
    const d = setup();
    await answer(d);
    fireEvent.keyDown(items(d.container)[0]!.querySelector('a')!, { key: 'Enter' });
    expect(d.tracked).toEqual([]);
  });

  it('keeps working when flush rejects', async () => {
    const t = createTestClient();
    const client = { ...t.client, flush: () => Promise.reject(new Error('offline')) };
    const view = render(<Recommendations type="trending" client={client} />);
    await answer(t);
    fireEvent.click(items(view.container)[0]!.querySelector('a')!);
    await act(async () => {});
    expect(t.tracked).toHaveLength(1);
  });
});

describe('keyboard and carousel', () => {
  it('moves focus between items with the arrow keys, Home and End', async () => {
    const t = setup();
    await answer(t, makeItems(4));
    const links = items(t.container).map((li) => li.querySelector('a')!);
    links[0]!.focus();
    fireEvent.keyDown(links[0]!, { key: 'ArrowRight' });
    expect(document.activeElement).toBe(links[1]);
    fireEvent.keyDown(links[1]!, { key: 'ArrowLeft' });
    expect(document.activeElement).toBe(links[0]);
    fireEvent.keyDown(links[0]!, { key: 'ArrowLeft' });
    expect(document.activeElement).toBe(links[0]);
    fireEvent.keyDown(links[0]!, { key: 'End' });
    expect(document.activeElement).toBe(links[3]);
    fireEvent.keyDown(links[3]!, { key: 'Home' });
    expect(document.activeElement).toBe(links[0]);
  });

  it('skips items that have nothing to focus and mirrors the arrows in right-to-left pages', async () => {
    const t = createTestClient();
    const view = render(
      <div dir="rtl">
        <Recommendations type="trending" client={t.client} />
      </div>,
    );
    const list = makeItems(3);
    list[1]!.url = null;
    await answer(t, list);
    const [a, b, c] = items(view.container);
    expect(b!.querySelector('a')).toBeNull();
    a!.querySelector('a')!.focus();
    fireEvent.keyDown(a!.querySelector('a')!, { key: 'ArrowLeft' });
    expect(document.activeElement).toBe(c!.querySelector('a'));
  });

  it('uses list semantics and keeps every item link reachable with Tab', async () => {
    const t = setup();
    await answer(t);
    const list = t.getByRole('list');
    expect(list.tagName).toBe('UL');
    expect(list.querySelectorAll('li')).toHaveLength(3);
    for (const a of list.querySelectorAll('a')) expect(a.getAttribute('tabindex')).toBeNull();
  });

  it('shows labelled Previous/Next buttons only when the list overflows, and scrolls by a page', async () => {
    const t = setup();
    await answer(t, makeItems(8));
    const nav = t.container.querySelector('.recsys-nav') as HTMLElement;
    expect(nav.hidden).toBe(true);

    const list = t.container.querySelector('ul.recsys-track') as HTMLUListElement;
    Object.defineProperties(list, {
      clientWidth: { configurable: true, value: 400 },
      scrollWidth: { configurable: true, value: 1600 },
    });
    const scrollBy = vi.fn();
    list.scrollBy = scrollBy as unknown as typeof list.scrollBy;
    fireEvent.scroll(list);
    expect(nav.hidden).toBe(false);
    const prev = t.getByRole('button', { name: 'Previous items' }) as HTMLButtonElement;
    const next = t.getByRole('button', { name: 'Next items' }) as HTMLButtonElement;
    expect(prev.disabled).toBe(true);
    expect(next.disabled).toBe(false);
    fireEvent.click(next);
    expect(scrollBy).toHaveBeenCalledWith({ left: 360 });
  });
});

describe('rendering items', () => {
  it('formats prices with the currency of each item and the widget locale', async () => {
    const t = setup({ locale: 'de-DE' });
    await answer(t, [
      ...makeItems(1, { price: 1234.5, currency: 'EUR' }),
      ...makeItems(1, { itemId: 'jp', price: 1200, currency: 'JPY' }),
    ]);
    const prices = Array.from(t.container.querySelectorAll('.recsys-price'), (p) =>
      p.textContent?.replace(/\s/g, ' '),
    );
    expect(prices).toEqual(['1.234,50 €', '1.200 ¥']);
    cleanup();
    const us = setup({ locale: 'en-US' });
    await answer(us, makeItems(1, { price: 1234.5, currency: 'USD' }));
    expect(us.container.querySelector('.recsys-price')?.textContent).toBe('$1,234.50');
  });

  it('renders lazy images with size and alt text, and a placeholder when an image fails to load', async () => {
    const t = setup();
    await answer(t, makeItems(2));
    const img = items(t.container)[0]!.querySelector('img')!;
    expect(img.getAttribute('alt')).toBe('Item 1');
    expect(img.getAttribute('loading')).toBe('lazy');
    expect(img.getAttribute('width')).toBe('200');
    expect(img.getAttribute('height')).toBe('200');

    fireEvent.error(img);
    const first = items(t.container)[0]!;
    expect(first.querySelector('img')).toBeNull();
    const ph = first.querySelector('.recsys-ph')!;
    expect(ph.getAttribute('role')).toBe('img');
    expect(ph.getAttribute('aria-label')).toBe('Item 1');
    expect(items(t.container)[1]!.querySelector('img')).not.toBeNull();
    expect(widgetStyles).not.toMatch(/url\(/);
  });

  it('shows the placeholder straight away for items without an image', async () => {
    const t = setup();
    await answer(t, makeItems(1, { imageUrl: undefined }));
    expect(t.container.querySelector('img')).toBeNull();
    expect(t.container.querySelector('.recsys-ph')).not.toBeNull();
  });

  it('renders a custom template with the item context and still tracks clicks inside it', async () => {
    const seen: unknown[] = [];
    const t = setup({
      locale: 'en-US',
      renderItem: (item, ctx) => {
        seen.push({ rank: ctx.rank, index: ctx.index, requestId: ctx.requestId, surface: ctx.surface });
        return (
          <a class="my-card" href={item.url ?? undefined}>
            {item.title} – {ctx.formatPrice(item.price, 'USD')}
          </a>
        );
      },
    });
    await answer(t, makeItems(2));
    const custom = t.container.querySelectorAll('li.recsys-item > a.my-card');
    expect(custom).toHaveLength(2);
    expect(custom[0]!.textContent).toBe('Item 1 – $10.00');
    expect(seen[0]).toEqual({ rank: 1, index: 0, requestId: 'req-1', surface: 'similar' });
    fireEvent.click(custom[1]!);
    expect(t.tracked.map((e) => [e.type, e.itemId])).toEqual([['click', 'sku-2']]);
  });

  it('shows the first reason under each item when explain is on', async () => {
    const t = setup({ explain: true });
    await answer(
      t,
      makeItems(1, {
        reasons: [{ signal: 'covisit', contribution: 1, text: 'Bought together with your cart' }],
      }),
    );
    expect(t.container.querySelector('.recsys-why')?.textContent).toBe('Bought together with your cart');
  });
});

describe('theming', () => {
  it('injects one namespaced stylesheet with the theme variables, however many widgets mount', async () => {
    setup();
    setup({ type: 'trending' });
    const styles = document.head.querySelectorAll('style#recsys-widgets-css');
    expect(styles).toHaveLength(1);
    const css = styles[0]!.textContent ?? '';
    for (const v of [
      '--recsys-accent',
      '--recsys-radius',
      '--recsys-font',
      '--recsys-card-width',
      '--recsys-gap',
      '--recsys-text',
      '--recsys-muted',
      '--recsys-bg',
    ]) {
      expect(css).toContain(`${v}:`);
      expect(css).toContain(`var(${v})`);
    }
    const selectors = css.replace(/\{[^}]*\}/g, '\n');
    for (const sel of selectors
      .split(/[\n,]/)
      .map((s) => s.trim())
      .filter(Boolean)) {
      expect(sel).toMatch(/^(:where\(:root\)|\.recsys|@keyframes recsys-|@media|}|\d+%)/);
    }
  });

  it('gives the default theme text colours with at least 4.5:1 contrast on the background', () => {
    const hex = (name: string) => widgetStyles.match(new RegExp(`${name}:(#[0-9a-f]{3,6})`))?.[1] ?? '';
    const lum = (h: string) => {
      const full = h.length === 4 ? [...h.slice(1)].map((c) => c + c).join('') : h.slice(1);
      const [r, g, b] = [0, 2, 4].map((i) => {
        const c = Number.parseInt(full.slice(i, i + 2), 16) / 255;
        return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
      });
      return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
    };
    const contrast = (a: string, b: string) => {
      const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
      return (hi! + 0.05) / (lo! + 0.05);
    };
    const bg = hex('--recsys-bg');
    for (const fg of ['--recsys-text', '--recsys-muted', '--recsys-accent']) {
      expect(contrast(hex(fg), bg)).toBeGreaterThanOrEqual(4.5);
    }
  });
});
