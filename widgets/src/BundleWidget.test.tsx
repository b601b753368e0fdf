import type { BundleInput, BundleResponse } from '@recsys/protocol';
import { act, cleanup, fireEvent, render } from '@testing-library/preact';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type BundleClientLike, type BundleItem, BundleWidget, type BundleWidgetProps } from './BundleWidget';
import { autoMount, BUNDLE_ADD_EVENT, type BundleAddDetail } from './mount';
import { TestIntersectionObserver } from './testUtils';

function bundleItems(): BundleItem[] {
  return [
    {
      itemId: 'tent',
      title: 'Dome tent',
      price: 200,
      role: 'anchor',
      reason: { signal: 'anchor', text: 'The item' },
    },
    {
      itemId: 'pegs',
      title: 'Tent pegs',
      price: 10,
      role: 'partner',
      reason: { signal: 'boughtTogether', text: 'Often bought with Dome tent', relatedItemId: 'tent' },
    },
    {
      itemId: 'mat',
      title: 'Sleeping mat',
      price: 40,
      role: 'partner',
      reason: { signal: 'boughtTogether', text: 'Often bought with Dome tent', relatedItemId: 'tent' },
    },
  ].map((item, i) => ({
    ...item,
    rank: i + 1,
    score: 1,
    currency: 'EUR',
    url: `/p/${item.itemId}`,
    imageUrl: null,
  })) as BundleItem[];
}

const withDiscount = {
  total: 250,
  currency: 'EUR',
  discountPercent: 10,
  bundlePrice: 225,
  savings: 25,
};

/** A client whose `bundle` calls stay pending until the test answers them. */
function createBundleClient() {
  const calls: BundleInput[] = [];
  const tracked: Array<{ type: string; itemId: string; value?: number; meta: Record<string, unknown> }> = [];
  const pending: Array<(res: BundleResponse) => void> = [];
  let flushes = 0;
  const client: BundleClientLike = {
    bundle(input) {
      calls.push(input);
      return new Promise((resolve) => pending.push(resolve));
    },
    track(type, props) {
      tracked.push({ type, ...props });
    },
    flush() {
      flushes++;
      return Promise.resolve();
    },
  };
  const respond = async (extra: Partial<BundleResponse> = {}) =>
    act(async () =>
      pending.shift()?.({
        requestId: 'req-b1',
        surface: 'bundle',
        anchorItemId: 'tent',
        items: bundleItems(),
        price: withDiscount,
        ...extra,
      }),
    );
  return { client, calls, tracked, respond, flushes: () => flushes };
}

function setup(props: Partial<BundleWidgetProps> = {}) {
  const t = createBundleClient();
  const added: Array<{ itemId: string; requestId: string; rank: number }> = [];
  const view = render(
    <BundleWidget
      client={t.client}
      itemId="tent"
      locale="en-GB"
      onAddToCart={(item, ctx) =>
        added.push({ itemId: item.itemId, requestId: ctx.requestId, rank: ctx.rank })
      }
      {...props}
    />,
  );
  return { ...t, ...view, added };
}

const section = (c: Element) => c.querySelector('section.recsys-bundle') as HTMLElement | null;
const button = (c: Element) => c.querySelector('button.recsys-bundle-add') as HTMLButtonElement;

beforeEach(() => {
  TestIntersectionObserver.install();
  document.head.innerHTML = '';
});
afterEach(() => {
  cleanup();
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('BundleWidget', () => {
  it('asks for the bundle of its item and shows a skeleton while it loads', async () => {
    const t = setup({ maxItems: 4 });
    expect(t.calls).toEqual([{ itemId: 'tent', maxItems: 4 }]);
    expect(section(t.container)?.getAttribute('aria-busy')).toBe('true');
    await t.respond();
    expect(section(t.container)?.getAttribute('aria-busy')).toBeNull();
  });

  it('shows the items, the page item first, with the total, the bundle price and the saving', async () => {
    const t = setup();
    await t.respond();
    const names = Array.from(
      t.container.querySelectorAll('.recsys-bundle-item .recsys-name'),
      (e) => e.textContent,
    );
    expect(names).toEqual(['This item: Dome tent', 'Tent pegs', 'Sleeping mat']);
    expect(t.container.querySelector('[data-bundle-price]')?.textContent).toBe('€225.00');
    expect(t.container.querySelector('[data-bundle-total]')?.textContent).toBe('€250.00');
    expect(t.container.textContent).toContain('You save €25.00 (10%)');
    expect(t.container.querySelector('h2')?.textContent).toBe('Frequently bought together');
    expect(button(t.container).textContent).toBe('Add all 3 to cart');
  });

  it('shows the plain total when the shop offers no bundle discount', async () => {
    const t = setup();
    await t.respond({ price: { ...withDiscount, discountPercent: 0, bundlePrice: null, savings: 0 } });
    expect(t.container.querySelector('[data-bundle-price]')).toBeNull();
    expect(t.container.textContent).toContain('Total for all 3 €250.00');
  });

  it('"Add all to cart" calls the shop once per item and sends an add event per item with the bundle requestId', async () => {
    const t = setup({ widget: 'pdp-bundle' });
    await t.respond();
    fireEvent.click(button(t.container));
    expect(t.added).toEqual([
      { itemId: 'tent', requestId: 'req-b1', rank: 1 },
      { itemId: 'pegs', requestId: 'req-b1', rank: 2 },
      { itemId: 'mat', requestId: 'req-b1', rank: 3 },
    ]);
    expect(t.tracked).toEqual(
      [
        ['tent', 1, 200],
        ['pegs', 2, 10],
        ['mat', 3, 40],
      ].map(([itemId, rank, unitPrice]) => ({
        type: 'add',
        itemId,
        value: 1,
        meta: {
          recommended: true,
          requestId: 'req-b1',
          rank,
          widget: 'pdp-bundle',
          surface: 'bundle',
          unitPrice,
          currency: 'EUR',
        },
      })),
    );
    expect(t.flushes()).toBe(1);
    // Once: a second press adds nothing more.
    expect(button(t.container).disabled).toBe(true);
    expect(button(t.container).textContent).toBe('Added all 3 to your cart');
    fireEvent.click(button(t.container));
    expect(t.added).toHaveLength(3);
  });

  it('sends the experiment and variant a bundle was served under with its events', async () => {
    const t = setup({ widget: 'pdp-bundle' });
    await t.respond({ experiment: { id: 'tent-kit', variant: 'kit' } });
    fireEvent.click(button(t.container));
    expect(
      t.tracked.filter((e) => e.type === 'add').map((e) => [e.itemId, e.meta.experiment, e.meta.variant]),
    ).toEqual([
      ['tent', 'tent-kit', 'kit'],
      ['pegs', 'tent-kit', 'kit'],
      ['mat', 'tent-kit', 'kit'],
    ]);
  });

  it('tracks impressions and partner clicks attributed to the bundle', async () => {
    vi.useFakeTimers();
    const t = setup();
    await t.respond();
    const items = Array.from(t.container.querySelectorAll('.recsys-bundle-item'));
    act(() => {
      TestIntersectionObserver.show(items[1]!, 1);
      vi.advanceTimersByTime(1000);
    });
    expect(t.tracked).toEqual([
      {
        type: 'impression',
        itemId: 'pegs',
        meta: { recommended: true, requestId: 'req-b1', rank: 2, widget: 'bundle', surface: 'bundle' },
      },
    ]);
    fireEvent.click(items[2]!.querySelector('a')!);
    expect(t.tracked[1]).toMatchObject({
      type: 'click',
      itemId: 'mat',
      meta: { requestId: 'req-b1', rank: 3 },
    });
  });

  it('renders nothing and reports empty when the item has no bundle', async () => {
    const statuses: string[] = [];
    const t = setup({ onStatus: (s) => statuses.push(s) });
    await t.respond({
      items: [],
      price: null,
      emptyReason: 'no-partners',
      message: 'Nothing has been bought…',
    });
    expect(t.container.innerHTML).toBe('');
    expect(statuses).toEqual(['loading', 'empty']);
  });

  it('keeps the page working when the shop callback throws', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const t = setup({
      onAddToCart: () => {
        throw new Error('cart is down');
      },
    });
    await t.respond();
    fireEvent.click(button(t.container));
    expect(t.tracked.filter((e) => e.type === 'add')).toHaveLength(3);
    expect(console.error).toHaveBeenCalledTimes(3);
  });
});

describe('data-recsys-widget="bundle"', () => {
  afterEach(() => {
    document.body.innerHTML = '';
  });

  it('mounts from data attributes and dispatches one add-to-cart event per item for the shop', async () => {
    const t = createBundleClient();
    document.body.innerHTML =
      '<div data-recsys-widget="bundle" data-item-id="tent" data-max-items="3" data-title="Complete the set" data-widget-name="pdp-bundle" data-locale="en-GB"></div>';
    const el = document.body.firstElementChild as HTMLElement;
    const details: BundleAddDetail[] = [];
    document.addEventListener(BUNDLE_ADD_EVENT, (e) =>
      details.push((e as CustomEvent<BundleAddDetail>).detail),
    );
    let stop: () => void = () => {};
    act(() => {
      stop = autoMount({ client: t.client });
    });
    expect(t.calls).toEqual([{ itemId: 'tent', maxItems: 3 }]);
    await t.respond();
    expect(el.dataset.recsysStatus).toBe('ready');
    expect(el.querySelector('h2')?.textContent).toBe('Complete the set');
    fireEvent.click(button(el));
    expect(details.map((d) => [d.itemId, d.requestId, d.rank, d.price])).toEqual([
      ['tent', 'req-b1', 1, 200],
      ['pegs', 'req-b1', 2, 10],
      ['mat', 'req-b1', 3, 40],
    ]);
    expect(t.tracked.filter((e) => e.type === 'add').map((e) => e.meta.widget)).toEqual([
      'pdp-bundle',
      'pdp-bundle',
      'pdp-bundle',
    ]);
    act(() => stop());
  });

  it('hides the element when there is no bundle, and refuses a bundle widget without data-item-id', async () => {
    const t = createBundleClient();
    vi.spyOn(console, 'error').mockImplementation(() => {});
    document.body.innerHTML =
      '<div data-recsys-widget="bundle" data-item-id="kettle"></div><div data-recsys-widget="bundle"></div>';
    const [withItem, without] = Array.from(document.body.children) as HTMLElement[];
    let stop: () => void = () => {};
    act(() => {
      stop = autoMount({ client: t.client });
    });
    await t.respond({ items: [], price: null, emptyReason: 'no-partners' });
    expect(withItem!.hidden).toBe(true);
    expect(without!.dataset.recsysStatus).toBe('error');
    expect(console.error).toHaveBeenCalledWith(expect.stringMatching(/needs a product id: set data-item-id/));
    act(() => stop());
  });
});
