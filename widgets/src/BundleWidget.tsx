import type { BundleInput, BundleResponse, BundleResponseItem } from '@recsys/protocol';
import { type ComponentChild, h } from 'preact';
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { defaultLocale, formatPrice } from './format';
import { Media, type WidgetStatus } from './Recommendations';
import { injectStyles } from './styles';
import { useImpressions } from './useImpressions';

/** One bundle item as the widget receives it. */
export type BundleItem = BundleResponseItem;

/** Event meta of the bundle's impressions, clicks and cart adds: joins them to the served bundle. */
export type BundleTrackMeta = {
  recommended: true;
  requestId: string;
  rank: number;
  widget: string;
  surface: 'bundle';
  /** The item's price and currency on cart adds, as the SDK's `addToCart` sends them. */
  unitPrice?: number;
  currency?: string;
  /** The bundle experiment and variant the bundle was served under, when it was. */
  experiment?: string;
  variant?: string;
};

/** What the bundle widget needs of a client: the bundle itself and event tracking. */
export interface BundleClientLike {
  bundle(input: BundleInput): Promise<BundleResponse>;
  track(
    type: 'impression' | 'click' | 'add',
    props: { itemId: string; value?: number; meta: BundleTrackMeta },
  ): void;
  flush?(): Promise<void>;
}

const adapters = new WeakMap<object, BundleClientLike>();

/**
 * Returns `value` as a {@link BundleClientLike}: as is when it has `bundle`, adapted when it is the SDK
 * instance (`recs.bundle()` and `track()`), else `undefined`.
 * @example toBundleClient(window.recsys)?.bundle({ itemId: 'sku-1' })
 */
export function toBundleClient(value: unknown): BundleClientLike | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const c = value as Partial<BundleClientLike> & {
    recs?: { bundle?: (input: BundleInput) => Promise<BundleResponse> };
    track?: (type: string, props: object) => void;
  };
  if (typeof c.track !== 'function') return undefined;
  if (typeof c.bundle === 'function') return c as BundleClientLike;
  const bundle = c.recs?.bundle;
  if (typeof bundle !== 'function') return undefined;
  let adapter = adapters.get(value);
  if (!adapter) {
    adapter = {
      bundle: (input) => bundle(input),
      track: (type, props) => c.track?.(type, props),
      flush: () => c.flush?.() ?? Promise.resolve(),
    };
    adapters.set(value, adapter);
  }
  return adapter;
}

/** What `onAddToCart` receives besides the item. */
export interface BundleAddContext {
  requestId: string;
  /** The item's place in the bundle (1: the page's item). */
  rank: number;
  /** Every item of the bundle, anchor first. */
  items: readonly BundleItem[];
}

/** Props of {@link BundleWidget}. */
export interface BundleWidgetProps {
  /**
   * The Recsys SDK instance (`createRecsys()`, `window.recsys`) or any object with `bundle` and `track`.
   * @default none: required
   * @example client={recsys}
   */
  client: unknown;
  /**
   * The product page's item: the bundle is built around it and shows it first.
   * @default none: required
   * @example itemId="sku-1"
   */
  itemId: string;
  /**
   * The shop's add-to-cart, called once per item, in bundle order, when the shopper presses "Add all to
   * cart". The widget sends the `add` events itself (attributed to the bundle): the callback must not
   * send them again.
   * @default none: required
   * @example onAddToCart={(item) => cart.add(item.itemId, 1)}
   */
  onAddToCart: (item: BundleItem, ctx: BundleAddContext) => void;
  /**
   * Most items in the bundle, the page's item included (2–4).
   * @default the shop's `bundle.maxItems` (3)
   * @example maxItems={4}
   */
  maxItems?: number;
  /**
   * Heading of the widget, also the accessible name of its region.
   * @default "Frequently bought together"
   * @example title="Complete the set"
   */
  title?: string;
  /**
   * Heading level of the title, to fit the page's outline.
   * @default 2
   * @example headingLevel={3}
   */
  headingLevel?: 2 | 3 | 4 | 5 | 6;
  /**
   * Locale for prices.
   * @default navigator.language, else "en-US"
   * @example locale="de-DE"
   */
  locale?: string;
  /**
   * Name of this placement in tracking events (`meta.widget`).
   * @default "bundle"
   * @example widget="pdp-bundle"
   */
  widget?: string;
  /**
   * Called whenever the widget's status changes (`empty`: no bundle for this item, nothing rendered).
   * @default undefined
   * @example onStatus={(s) => (box.hidden = s === 'empty')}
   */
  onStatus?: (status: WidgetStatus) => void;
}

type Load = { status: 'loading' } | { status: 'error' } | { status: 'ready'; res: BundleResponse };

let idSeq = 0;

/**
 * "Frequently bought together": the page's item and the items usually bought with it, the total and the
 * bundle price, and one button that adds them all to the cart (the shop's callback per item) and sends an
 * `add` event per item carrying the bundle's `requestId`, so acceptance can be counted per bundle.
 * Impressions and clicks are tracked as in the list widgets. Renders nothing when there is no bundle.
 * @example <BundleWidget client={recsys} itemId="sku-1" onAddToCart={(item) => cart.add(item.itemId)} />
 */
export function BundleWidget(props: BundleWidgetProps): ComponentChild {
  const client = useMemo(() => toBundleClient(props.client), [props.client]);
  const [titleId] = useState(() => `recsys-bundle-${++idSeq}`);
  const [load, setLoad] = useState<Load>({ status: 'loading' });
  const [added, setAdded] = useState(false);
  const listRef = useRef<HTMLUListElement>(null);
  const locale = props.locale || defaultLocale();
  const widget = props.widget || 'bundle';

  useLayoutEffect(() => injectStyles(), []);

  useEffect(() => {
    if (!client || !props.itemId) {
      console.error(
        `[recsys] ${client ? 'The bundle widget needs a product id: set data-item-id="…" (or the itemId prop).' : 'The client prop must be the Recsys SDK instance or have bundle() and track().'}`,
      );
      setLoad({ status: 'error' });
      return;
    }
    let live = true;
    setLoad({ status: 'loading' });
    setAdded(false);
    const input: BundleInput = { itemId: props.itemId };
    if (props.maxItems) input.maxItems = props.maxItems;
    client.bundle(input).then(
      (res) => live && setLoad({ status: 'ready', res }),
      (err: unknown) => {
        if (!live) return;
        console.warn('[recsys] the bundle could not be loaded', err);
        setLoad({ status: 'error' });
      },
    );
    return () => {
      live = false;
    };
  }, [client, props.itemId, props.maxItems]);

  const ready = load.status === 'ready' && load.res.items.length >= 2 ? load.res : undefined;
  const status: WidgetStatus = load.status === 'ready' && !ready ? 'empty' : load.status;
  const onStatus = props.onStatus;
  useEffect(() => onStatus?.(status), [status, onStatus]);

  const meta = (item: BundleItem): BundleTrackMeta => {
    const m: BundleTrackMeta = {
      recommended: true,
      requestId: ready?.requestId ?? '',
      rank: item.rank,
      widget,
      surface: 'bundle',
    };
    // Like every list's events: attributed to the variant that served the bundle.
    if (ready?.experiment) {
      m.experiment = ready.experiment.id;
      m.variant = ready.experiment.variant;
    }
    return m;
  };

  useImpressions(listRef, ready?.requestId, (el) => {
    const item = ready?.items[Number((el as HTMLElement).dataset.idx)];
    if (item) client?.track('impression', { itemId: item.itemId, meta: meta(item) });
  });

  // A bundle is an upsell beside the product: on an error or without one, the page shows nothing here.
  if (!ready) {
    if (status !== 'loading') return null;
    return (
      <section class="recsys recsys-bundle" aria-busy="true" data-status="loading">
        <ul class="recsys-bundle-items recsys-sk" aria-hidden="true">
          {[0, 1, 2].map((i) => (
            <li class="recsys-bundle-item" key={i}>
              <div class="recsys-media" />
              <div class="recsys-name" />
              <div class="recsys-price" />
            </li>
          ))}
        </ul>
      </section>
    );
  }

  const addAll = () => {
    if (added) return;
    for (const item of ready.items) {
      const m = meta(item);
      if (item.price !== null) m.unitPrice = item.price;
      if (item.currency !== null) m.currency = item.currency;
      client?.track('add', { itemId: item.itemId, value: 1, meta: m });
      try {
        props.onAddToCart(item, { requestId: ready.requestId, rank: item.rank, items: ready.items });
      } catch (err) {
        console.error('[recsys] onAddToCart threw', err);
      }
    }
    setAdded(true);
    client?.flush?.()?.catch(() => {});
  };

  const price = ready.price;
  const n = ready.items.length;
  return (
    <section
      class="recsys recsys-bundle"
      aria-labelledby={titleId}
      data-status="ready"
      data-request-id={ready.requestId}
    >
      <div class="recsys-head">
        {h(
          `h${props.headingLevel ?? 2}`,
          { id: titleId, class: 'recsys-title' },
          props.title || 'Frequently bought together',
        )}
      </div>
      {/* biome-ignore lint/a11y/noRedundantRoles: Safari drops list semantics from lists styled list-style:none */}
      <ul class="recsys-bundle-items" role="list" ref={listRef}>
        {ready.items.map((item, index) => {
          const body = (
            <>
              <Media src={item.imageUrl} alt={item.title ?? ''} />
              <p class="recsys-name">
                {item.role === 'anchor' ? `This item: ${item.title ?? ''}` : item.title}
              </p>
              <p class="recsys-price">{formatPrice(item.price, item.currency, locale)}</p>
              {item.role === 'partner' && <p class="recsys-why">{item.reason.text}</p>}
            </>
          );
          return (
            <li class="recsys-bundle-item" key={item.itemId} data-idx={index} data-item-id={item.itemId}>
              {item.url && item.role === 'partner' ? (
                <a
                  class="recsys-card"
                  href={item.url}
                  onClick={() => {
                    client?.track('click', { itemId: item.itemId, meta: meta(item) });
                    client?.flush?.()?.catch(() => {});
                  }}
                >
                  {body}
                </a>
              ) : (
                <div class="recsys-card">{body}</div>
              )}
            </li>
          );
        })}
      </ul>
      <div class="recsys-bundle-buy">
        {price && (
          <p class="recsys-bundle-total">
            {price.bundlePrice !== null ? (
              <>
                <span>Bundle price </span>
                <strong data-bundle-price>{formatPrice(price.bundlePrice, price.currency, locale)}</strong>{' '}
                <s data-bundle-total>{formatPrice(price.total, price.currency, locale)}</s>{' '}
                <span class="recsys-note">
                  You save {formatPrice(price.savings, price.currency, locale)} ({price.discountPercent}%)
                </span>
              </>
            ) : (
              <>
                <span>Total for all {n} </span>
                <strong data-bundle-total>{formatPrice(price.total, price.currency, locale)}</strong>
              </>
            )}
          </p>
        )}
        <button type="button" class="recsys-btn recsys-bundle-add" disabled={added} onClick={addAll}>
          {added ? `Added all ${n} to your cart` : `Add all ${n} to cart`}
        </button>
      </div>
    </section>
  );
}
