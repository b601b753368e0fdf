import { render } from 'preact';
import {
  type BundleAddContext,
  type BundleClientLike,
  type BundleItem,
  BundleWidget,
  toBundleClient,
} from './BundleWidget';
import { getGlobalClient, type RecsClientSource, toRecsClient } from './client';
import { Recommendations, type RecommendationsProps, type WidgetStatus } from './Recommendations';
import type { RecsClientLike, RenderItem } from './types';
import { toSurface, type WidgetType } from './widgetTypes';

/** Selector of the elements auto-mount turns into widgets. */
export const WIDGET_SELECTOR = '[data-recsys-widget]';

/** Data attributes whose change re-renders a mounted widget (e.g. a SPA swapping `data-item-id`). */
const WATCHED = [
  'data-recsys-widget',
  'data-item-id',
  'data-item-ids',
  'data-category',
  'data-limit',
  'data-title',
  'data-locale',
  'data-template',
  'data-fallback-label',
  'data-explain',
  'data-widget-name',
  'data-heading-level',
  'data-max-items',
];

/** The `window.recsysWidgets` object of the script-tag build; pages may create it first to add templates. */
export interface RecsysWidgetsGlobal {
  /**
   * Named item templates for `data-template="name"`.
   * @example window.recsysWidgets = { templates: { compact: (item) => item.title } }
   */
  templates?: Record<string, RenderItem>;
  /**
   * {@link mount}, set by the script-tag build.
   * @default set on load
   * @example window.recsysWidgets.mount(document.getElementById('recs'))
   */
  mount?: typeof mount;
  /**
   * {@link autoMount}, set by the script-tag build, e.g. to watch a shadow root.
   * @default set on load
   * @example window.recsysWidgets.autoMount({ root: shadowRoot })
   */
  autoMount?: typeof autoMount;
  /**
   * Stops the auto-mount started by the script-tag build and unmounts its widgets.
   * @default set once the DOM is ready
   * @example window.recsysWidgets.stop()
   */
  stop?: () => void;
}

/** Options for {@link mount} and {@link autoMount}. */
export interface MountOptions {
  /**
   * The SDK instance (or any {@link RecsClientLike}), or a function returning it when a widget mounts.
   * @default the instance on `window.recsys`
   * @example autoMount({ client: createRecsys({ key: 'pk_…', endpoint: 'https://recs.example.com' }) })
   */
  client?: RecsClientSource | BundleClientLike | (() => RecsClientSource | BundleClientLike | undefined);
  /**
   * Item templates for `data-template`, looked up before `window.recsysWidgets.templates`.
   * @default {}
   */
  templates?: Record<string, RenderItem>;
}

function describe(el: Element): string {
  return `<${el.tagName.toLowerCase()} data-recsys-widget="${el.getAttribute('data-recsys-widget') ?? ''}">`;
}

function intAttr(el: HTMLElement, name: string, min: number, max: number): number | undefined {
  const raw = el.getAttribute(name);
  if (raw === null || raw.trim() === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new Error(`${name}="${raw}" on ${describe(el)} must be a whole number from ${min} to ${max}.`);
  }
  return n;
}

/** Options for {@link autoMount}. */
export interface AutoMountOptions extends MountOptions {
  /**
   * Where to look for and watch `[data-recsys-widget]` elements.
   * @default document
   * @example autoMount({ root: document.getElementById('app')! })
   */
  root?: ParentNode;
}

/**
 * Reads widget props from an element's data attributes.
 * @throws Error saying which attribute on which element is wrong and what it accepts.
 * @example readWidgetProps(document.querySelector('[data-recsys-widget]')!)
 */
export function readWidgetProps(
  el: HTMLElement,
  templates: Record<string, RenderItem> = {},
): Omit<RecommendationsProps, 'client'> {
  const d = el.dataset;
  const type = d.recsysWidget ?? '';
  try {
    toSurface(type);
  } catch (err) {
    throw new Error(`${(err as Error).message} (on ${describe(el)})`);
  }
  const props: Omit<RecommendationsProps, 'client'> = { type: type as WidgetType };
  if (d.itemId) props.itemId = d.itemId;
  if (d.itemIds !== undefined)
    props.itemIds = d.itemIds
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  if (d.category) props.category = d.category;
  const limit = intAttr(el, 'data-limit', 1, 50);
  if (limit) props.limit = limit;
  const level = intAttr(el, 'data-heading-level', 2, 6);
  if (level) props.headingLevel = level as 2 | 3 | 4 | 5 | 6;
  if (d.title) props.title = d.title;
  if (d.locale) props.locale = d.locale;
  if (d.fallbackLabel) props.fallbackLabel = d.fallbackLabel;
  if (d.widgetName) props.widget = d.widgetName;
  if (d.explain !== undefined && d.explain !== 'false') props.explain = true;
  if (d.template) {
    const template = templates[d.template] ?? globalTemplates()[d.template];
    if (!template) {
      throw new Error(
        `data-template="${d.template}" on ${describe(el)} names no template: define window.recsysWidgets.templates["${d.template}"] before the widgets load, or pass it in options.templates.`,
      );
    }
    props.renderItem = template;
  }
  return props;
}

function globalTemplates(): Record<string, RenderItem> {
  return (globalThis as { recsysWidgets?: RecsysWidgetsGlobal }).recsysWidgets?.templates ?? {};
}

function resolveClient(option: MountOptions['client']): RecsClientLike {
  const client =
    toRecsClient(typeof option === 'function' ? option() : option) ??
    (option ? undefined : getGlobalClient());
  if (!client) {
    throw new Error(
      'No Recsys client: load the Recsys SDK script before the widgets script (it sets window.recsys), or pass { client }.',
    );
  }
  return client;
}

/** Mirrors a widget's status on its element: `data-recsys-status`, and `hidden` while it is empty. */
function statusSetter(el: HTMLElement) {
  return (status: WidgetStatus) => {
    el.dataset.recsysStatus = status;
    // Only undo a `hidden` we set ourselves; a page may hide the element for its own reasons.
    if (status === 'empty' && !el.hidden) {
      el.hidden = true;
      el.dataset.recsysHidden = '';
    } else if (status !== 'empty' && el.dataset.recsysHidden !== undefined) {
      el.hidden = false;
      delete el.dataset.recsysHidden;
    }
  };
}

/**
 * Renders a widget into `el` from its data attributes. Calling it again on the same element re-reads the
 * attributes and updates the widget in place. The element gets `data-recsys-status` and is `hidden` while the
 * widget has nothing to show.
 * @returns a function that unmounts the widget.
 * @throws Error on a bad attribute or when no client is available.
 * @example const unmount = mount(document.getElementById('recs')!, { client: recsys });
 */
export function mount(el: HTMLElement, options: MountOptions = {}): () => void {
  if (isBundleWidget(el)) return mountBundle(el, options);
  const props = readWidgetProps(el, options.templates);
  const client = resolveClient(options.client);
  render(<Recommendations {...props} client={client} onStatus={statusSetter(el)} />, el);
  return () => render(null, el);
}

/** Event a mounted bundle widget dispatches (bubbling) on its element for each item "Add all to cart" adds. */
export const BUNDLE_ADD_EVENT = 'recsys:add-to-cart';

/** `detail` of {@link BUNDLE_ADD_EVENT}: the item, and the bundle it was added from. */
export interface BundleAddDetail {
  itemId: string;
  title: string | null;
  price: number | null;
  currency: string | null;
  quantity: 1;
  requestId: string;
  rank: number;
}

function isBundleWidget(el: HTMLElement): boolean {
  return (el.dataset.recsysWidget ?? '').trim().toLowerCase() === 'bundle';
}

/**
 * `data-recsys-widget="bundle"`: the shop's add-to-cart is the {@link BUNDLE_ADD_EVENT} the element
 * dispatches per item, so a page without a framework adds to its cart from one listener.
 */
function mountBundle(el: HTMLElement, options: MountOptions): () => void {
  const itemId = el.dataset.itemId;
  if (!itemId) {
    throw new Error(`The bundle widget needs a product id: set data-item-id="…" on ${describe(el)}.`);
  }
  const client = toBundleClient(
    (typeof options.client === 'function' ? options.client() : options.client) ??
      (globalThis as { recsys?: unknown }).recsys,
  );
  if (!client) {
    throw new Error(
      'No Recsys client with recs.bundle(): load the Recsys SDK script (version with bundles) before the widgets script, or pass { client }.',
    );
  }
  const maxItems = intAttr(el, 'data-max-items', 2, 4);
  const level = intAttr(el, 'data-heading-level', 2, 6);
  const onAddToCart = (item: BundleItem, ctx: BundleAddContext) => {
    const detail: BundleAddDetail = {
      itemId: item.itemId,
      title: item.title,
      price: item.price,
      currency: item.currency,
      quantity: 1,
      requestId: ctx.requestId,
      rank: ctx.rank,
    };
    el.dispatchEvent(new CustomEvent(BUNDLE_ADD_EVENT, { bubbles: true, detail }));
  };
  render(
    <BundleWidget
      client={client}
      itemId={itemId}
      onAddToCart={onAddToCart}
      onStatus={statusSetter(el)}
      {...(maxItems ? { maxItems } : {})}
      {...(level ? { headingLevel: level as 2 | 3 | 4 | 5 | 6 } : {})}
      {...(el.dataset.title ? { title: el.dataset.title } : {})}
      {...(el.dataset.locale ? { locale: el.dataset.locale } : {})}
      {...(el.dataset.widgetName ? { widget: el.dataset.widgetName } : {})}
    />,
    el,
  );
  return () => render(null, el);
}

/**
 * Mounts a widget on every `[data-recsys-widget]` element under `root`, and keeps doing so for elements added
 * later; widgets whose element leaves the document are unmounted, and attribute changes re-render.
 * Errors for one element are logged and do not stop the others.
 * @returns a function that stops observing and unmounts every widget it mounted.
 * @example const stop = autoMount({ client: recsys });
 */
export function autoMount(options: AutoMountOptions = {}): () => void {
  const root = options.root ?? document;
  const mounted = new Map<HTMLElement, () => void>();

  const mountOne = (el: HTMLElement) => {
    try {
      mounted.set(el, mount(el, options));
    } catch (err) {
      el.dataset.recsysStatus = 'error';
      console.error(`[recsys] ${(err as Error).message}`);
    }
  };
  const scan = (node: Node) => {
    if (!(node instanceof HTMLElement)) return;
    if (node.matches(WIDGET_SELECTOR) && !mounted.has(node)) mountOne(node);
    for (const el of node.querySelectorAll<HTMLElement>(WIDGET_SELECTOR)) if (!mounted.has(el)) mountOne(el);
  };

  for (const el of root.querySelectorAll<HTMLElement>(WIDGET_SELECTOR)) mountOne(el);

  const observer = new MutationObserver((records) => {
    for (const r of records) {
      if (r.type === 'attributes') {
        const el = r.target as HTMLElement;
        if (el.isConnected && el.matches(WIDGET_SELECTOR)) mountOne(el);
      } else {
        for (const node of r.addedNodes) scan(node);
      }
    }
    for (const [el, unmount] of mounted) {
      if (!el.isConnected || !el.matches(WIDGET_SELECTOR)) {
        unmount();
        mounted.delete(el);
      }
    }
  });
  observer.observe(root, { childList: true, subtree: true, attributes: true, attributeFilter: WATCHED });

  return () => {
    observer.disconnect();
    for (const unmount of mounted.values()) unmount();
    mounted.clear();
  };
}
