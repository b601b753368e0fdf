import { type ComponentChild, h } from 'preact';
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { type RecsClientSource, toRecsClient } from './client';
import { defaultLocale, formatPrice } from './format';
import { injectStyles } from './styles';
import type { ItemContext, RecItem, RecParams, RecResponse, RenderItem, Surface, TrackMeta } from './types';
import { useImpressions } from './useImpressions';
import { buildParams, DEFAULT_TITLES, toSurface, type WidgetType } from './widgetTypes';

/** What a widget is showing: `empty` means it rendered nothing because there was nothing to show. */
export type WidgetStatus = 'loading' | 'ready' | 'empty' | 'error';

/** Props of {@link Recommendations}. */
export interface RecommendationsProps {
  /**
   * Which recommendations to show (camelCase or kebab-case).
   * @default none: required
   * @example type="similar"
   */
  type: WidgetType;
  /**
   * The Recsys SDK instance (`createRecsys()`, `window.recsys`) or any object with `recommend` and `track`.
   * @default none: required
   * @example client={createRecsys({ key: 'pk_…', endpoint: 'https://recs.example.com' })}
   */
  client: RecsClientSource;
  /**
   * The product the page is about; required for `similar`, which never shows this product itself.
   * @default undefined
   * @example itemId="sku-1"
   */
  itemId?: string;
  /**
   * The cart contents; required for `cart`, which never shows these items.
   * @default undefined
   * @example itemIds={['sku-1', 'sku-2']}
   */
  itemIds?: readonly string[];
  /**
   * Restricts `trending` (or other surfaces that accept it) to one category.
   * @default undefined
   * @example category="shoes"
   */
  category?: string;
  /**
   * How many items to request and show.
   * @default 8
   * @example limit={4}
   */
  limit?: number;
  /**
   * Heading of the widget, also the accessible name of its region.
   * @default a per-type heading such as "You may also like"
   * @example title="Complete the look"
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
   * Extra filters passed through to `recommend` unchanged.
   * @default undefined
   * @example filters={{ priceMax: 50 }}
   */
  filters?: Record<string, unknown>;
  /**
   * Asks for reasons and shows the first one under each item.
   * @default false
   * @example explain
   */
  explain?: boolean;
  /**
   * Small note shown beside the title when the list is the non-personalized fallback. Nothing is shown
   * when unset.
   * @default undefined
   * @example fallbackLabel="Popular right now"
   */
  fallbackLabel?: string;
  /**
   * Name of this placement in tracking events (`meta.widget`).
   * @default the `type` as given
   * @example widget="pdp-similar"
   */
  widget?: string;
  /**
   * Custom item template; the widget keeps list semantics and tracking around it.
   * @default the built-in card (image, title, price)
   * @example renderItem={(item, ctx) => <a href={item.url}>{item.title} {ctx.formatPrice(item.price, item.currency)}</a>}
   */
  renderItem?: RenderItem;
  /**
   * Called whenever the widget's status changes, e.g. to hide a surrounding container when `empty`.
   * @default undefined
   * @example onStatus={(s) => (box.hidden = s === 'empty')}
   */
  onStatus?: (status: WidgetStatus) => void;
}

interface Config {
  surface: Surface;
  params: RecParams;
  exclude: Set<string>;
}

type Load =
  | { status: 'loading' }
  | { status: 'error' }
  | { status: 'ready'; res: RecResponse; items: RecItem[]; key: string };

let idSeq = 0;
const FOCUSABLE = 'a[href],button:not([disabled]),[tabindex]:not([tabindex="-1"])';
const NAV_KEYS: Record<string, number> = { ArrowRight: 1, ArrowLeft: -1, Home: -2, End: 2 };

/**
 * A list of recommendations for one surface, with loading skeleton, error + retry, fallback handling,
 * impression/click tracking and keyboard navigation. Renders nothing when there is nothing to show.
 * @example <Recommendations type="similar" itemId="sku-1" limit={8} title="You may also like" client={recsys} />
 */
export function Recommendations(props: RecommendationsProps): ComponentChild {
  const { limit = 8, explain = false, renderItem } = props;
  const client = useMemo(() => toRecsClient(props.client), [props.client]);
  // Not useId(): auto-mount renders each widget as its own root, and useId() repeats across roots.
  const [titleId] = useState(() => `recsys-title-${++idSeq}`);
  const listRef = useRef<HTMLUListElement>(null);
  const [attempt, setAttempt] = useState(0);
  const [load, setLoad] = useState<Load>({ status: 'loading' });
  const [edges, setEdges] = useState({ start: true, end: true });
  const locale = props.locale || defaultLocale();
  const widget = props.widget || props.type;

  const itemIdsKey = props.itemIds?.join('\u0000');
  const filtersKey = JSON.stringify(props.filters);
  // Config errors are the page author's to fix: log them and collapse, rather than offer shoppers a Retry.
  // Keyed on content so a re-render with new-but-equal arrays/objects does not refetch.
  const config = useMemo((): Config | Error => {
    if (!client)
      return new Error('The client prop must be the Recsys SDK instance or have recommend() and track().');
    try {
      const surface = toSurface(props.type);
      const params = buildParams(surface, { ...props, limit });
      const exclude = new Set(props.itemIds ?? []);
      if (surface === 'similar' && props.itemId) exclude.add(props.itemId);
      return { surface, params, exclude };
    } catch (err) {
      return err instanceof Error ? err : new Error(String(err));
    }
  }, [client, props.type, props.itemId, itemIdsKey, props.category, limit, filtersKey, explain]);

  useLayoutEffect(() => injectStyles(), []);

  useEffect(() => {
    if (config instanceof Error || !client) {
      if (config instanceof Error) console.error(`[recsys] ${config.message}`);
      return;
    }
    let live = true;
    setLoad((s) => (s.status === 'loading' ? s : { status: 'loading' }));
    client.recommend(config.surface, config.params).then(
      (res) => {
        if (!live) return;
        const items = res.items.filter((i) => !config.exclude.has(i.itemId)).slice(0, limit);
        setLoad({ status: 'ready', res, items, key: res.requestId || String(Math.random()) });
      },
      (err: unknown) => {
        if (!live) return;
        console.warn('[recsys] recommendations could not be loaded', err);
        setLoad({ status: 'error' });
      },
    );
    return () => {
      live = false;
    };
  }, [client, config, attempt, limit]);

  const status: WidgetStatus | 'invalid' =
    config instanceof Error
      ? 'invalid'
      : load.status === 'ready' && !load.items.length
        ? 'empty'
        : load.status;
  const onStatus = props.onStatus;
  useEffect(() => onStatus?.(status === 'invalid' ? 'empty' : status), [status, onStatus]);

  const ready = load.status === 'ready' && !(config instanceof Error) ? load : undefined;
  const surface = config instanceof Error ? 'forUser' : config.surface;

  const meta = (item: RecItem): TrackMeta => {
    const m: TrackMeta = {
      recommended: true,
      requestId: ready?.res.requestId ?? '',
      rank: item.rank,
      widget,
      surface,
    };
    const experiment = ready?.res.experiment;
    // Carried back with every impression and click so results count them for the served variant.
    if (experiment) {
      m.experiment = experiment.id;
      m.variant = experiment.variant;
    }
    return m;
  };

  useImpressions(listRef, ready?.key, (el) => {
    const item = ready?.items[Number((el as HTMLElement).dataset.idx)];
    if (item) client?.track('view', { itemId: item.itemId, meta: meta(item) });
  });

  const updateEdges = () => {
    const t = listRef.current;
    if (!t) return;
    // scrollLeft is negative in right-to-left layouts, hence abs().
    const left = Math.abs(t.scrollLeft);
    setEdges({ start: left <= 1, end: left + t.clientWidth >= t.scrollWidth - 1 });
  };
  // Re-measure whenever a new list is rendered.
  useLayoutEffect(() => {
    if (!ready) return;
    updateEdges();
    addEventListener('resize', updateEdges);
    return () => removeEventListener('resize', updateEdges);
  }, [ready?.key]);

  if (status === 'empty' || status === 'invalid') return null;

  const isRtl = () => listRef.current?.closest('[dir]')?.getAttribute('dir') === 'rtl';
  const scroll = (dir: 1 | -1) => {
    const t = listRef.current;
    if (t) t.scrollBy({ left: dir * (isRtl() ? -1 : 1) * t.clientWidth * 0.9 });
  };

  const trackClick = (item: RecItem) => {
    client?.track('click', { itemId: item.itemId, meta: meta(item) });
    // Ask the SDK to send now (it uses keepalive), but never hold up the navigation for it.
    client?.flush?.()?.catch(() => {});
  };

  const onListKey = (e: KeyboardEvent) => {
    const step = NAV_KEYS[e.key];
    const list = listRef.current;
    if (!step || !list) return;
    const lis = Array.from(list.children);
    const from = lis.findIndex((li) => li.contains(e.target as Node));
    if (from < 0) return;
    const dir = Math.abs(step) === 2 ? -Math.sign(step) : isRtl() ? -step : step;
    // Home/End scan inward from the far end; arrows scan outward from the current item.
    let i = step === -2 ? 0 : step === 2 ? lis.length - 1 : from + dir;
    for (; i >= 0 && i < lis.length; i += dir) {
      const target = lis[i]?.querySelector<HTMLElement>(FOCUSABLE);
      if (target) {
        e.preventDefault();
        target.focus();
        target.scrollIntoView?.({ block: 'nearest', inline: 'nearest' });
        return;
      }
    }
  };

  const ctx = (item: RecItem, index: number): ItemContext => ({
    rank: item.rank,
    index,
    requestId: ready?.res.requestId ?? '',
    surface,
    widget,
    locale,
    fallback: !!ready?.res.fallback.used,
    formatPrice: (price, currency) => formatPrice(price, currency, locale),
  });

  const skeleton = Array.from({ length: Math.min(limit, 6) }, (_, i) => (
    <li class="recsys-item" key={i}>
      <div class="recsys-media" />
      <div class="recsys-name" />
      <div class="recsys-price" />
      {explain && <div class="recsys-why" />}
    </li>
  ));

  return (
    <section
      class="recsys"
      aria-labelledby={titleId}
      aria-busy={status === 'loading'}
      data-status={status}
      data-fallback={ready?.res.fallback.used ? '' : undefined}
    >
      <div class="recsys-head">
        {h(
          `h${props.headingLevel ?? 2}`,
          { id: titleId, class: 'recsys-title' },
          props.title || DEFAULT_TITLES[surface],
        )}
        {ready?.res.fallback.used && props.fallbackLabel && (
          <span class="recsys-note">{props.fallbackLabel}</span>
        )}
        <div class="recsys-nav" hidden={!ready || (edges.start && edges.end)}>
          <button
            type="button"
            class="recsys-btn"
            aria-label="Previous items"
            disabled={edges.start}
            onClick={() => scroll(-1)}
          >
            ‹
          </button>
          <button
            type="button"
            class="recsys-btn"
            aria-label="Next items"
            disabled={edges.end}
            onClick={() => scroll(1)}
          >
            ›
          </button>
        </div>
      </div>
      <div class="recsys-body">
        {ready ? (
          // biome-ignore lint/a11y/noRedundantRoles: Safari drops list semantics from lists styled list-style:none
          <ul class="recsys-track" role="list" ref={listRef} onKeyDown={onListKey} onScroll={updateEdges}>
            {ready.items.map((item, index) => (
              <li
                class="recsys-item"
                key={item.itemId}
                data-idx={index}
                data-item-id={item.itemId}
                onClick={() => trackClick(item)}
                onAuxClick={(e) => e.button === 1 && trackClick(item)}
                onKeyDown={(e) => {
                  // Links and buttons turn Enter into a click already; count Enter only on other targets.
                  const t = e.target as Element;
                  if (e.key === 'Enter' && !t.closest('a,button')) trackClick(item);
                }}
              >
                {renderItem ? (
                  renderItem(item, ctx(item, index))
                ) : (
                  <Card item={item} locale={locale} explain={explain} />
                )}
              </li>
            ))}
          </ul>
        ) : (
          <ul class="recsys-track recsys-sk" aria-hidden="true">
            {skeleton}
          </ul>
        )}
        {status === 'error' && (
          <div class="recsys-msg">
            <p>Recommendations could not be loaded.</p>
            <button type="button" class="recsys-btn" onClick={() => setAttempt((n) => n + 1)}>
              Retry
            </button>
          </div>
        )}
      </div>
    </section>
  );
}

function Card({ item, locale, explain }: { item: RecItem; locale: string; explain: boolean }) {
  const body = (
    <>
      <Media src={item.imageUrl} alt={item.title ?? ''} />
      <p class="recsys-name">{item.title}</p>
      <p class="recsys-price">{formatPrice(item.price, item.currency, locale)}</p>
      {explain && <p class="recsys-why">{item.reasons?.[0]?.text}</p>}
    </>
  );
  return item.url ? (
    <a class="recsys-card" href={item.url}>
      {body}
    </a>
  ) : (
    <div class="recsys-card">{body}</div>
  );
}

/** A lazy image that swaps to a CSS placeholder when missing or broken (never a remote fallback URL); shared with the bundle widget. */
export function Media({ src, alt }: { src: string | null; alt: string }) {
  const [failed, setFailed] = useState(false);
  useEffect(() => setFailed(false), [src]);
  if (!src || failed) {
    return (
      <div
        class="recsys-media recsys-ph"
        role="img"
        aria-label={alt || undefined}
        aria-hidden={!alt || undefined}
      />
    );
  }
  return (
    <div class="recsys-media">
      <img
        src={src}
        alt={alt}
        loading="lazy"
        decoding="async"
        width={200}
        height={200}
        onError={() => setFailed(true)}
      />
    </div>
  );
}
